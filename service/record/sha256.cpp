#include "record/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace trawler::record {

namespace {

std::string to_hex(const unsigned char* digest, unsigned int size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(size) * 2, '\0');
  for (unsigned int i = 0; i < size; ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0x0F];
  }
  return out;
}

// These only fail on allocation failure or a broken OpenSSL install: not a per-page condition.
void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(what);
}

}  // namespace

void sha256::ctx_deleter::operator()(evp_md_ctx_st* ctx) const noexcept {
  EVP_MD_CTX_free(ctx);
}

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw std::runtime_error("EVP_MD_CTX_new failed");
  check(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex failed");
}

sha256::~sha256() = default;

void sha256::update(std::string_view data) {
  if (data.empty()) return;
  check(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()), "EVP_DigestUpdate failed");
}

std::string sha256::hex_final() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(ctx_.get(), digest, &size), "EVP_DigestFinal_ex failed");
  check(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex failed");
  return to_hex(digest, size);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  check(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr),
        "EVP_Digest failed");
  return to_hex(digest, size);
}

}  // namespace trawler::record
