#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace trawler::record {

// Streaming SHA-256 (OpenSSL EVP) for bodies that arrive in pieces.
class sha256 {
 public:
  sha256();
  sha256(sha256&&) noexcept = default;
  sha256& operator=(sha256&&) noexcept = default;
  ~sha256();

  void update(std::string_view data);
  // Lowercase hex digest of everything fed since construction or the last hex_final(); the
  // hasher then starts over, so one object can hash many bodies.
  std::string hex_final();

 private:
  struct ctx_deleter {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx_;
};

// Lowercase hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

}  // namespace trawler::record
