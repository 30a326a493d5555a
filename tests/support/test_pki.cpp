#include "support/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace trawler::testing {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct x509_ext_deleter {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using x509_ext_ptr = std::unique_ptr<X509_EXTENSION, x509_ext_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

[[noreturn]] void fail(const char* what) {
  char detail[256] = "";
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  throw std::runtime_error(std::string("test_pki: ") + what + ": " + detail);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EVP_PKEY_Q_keygen");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  x509_ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail("X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

struct cert_spec {
  const char* common_name;
  const char* subject_alt_name;  // nullptr for the CA
  bool is_ca = false;
  long not_before_days = -1;
  long not_after_days = 365;
  long serial = 1;
};

// Signs with issuer_key; when issuer is null the certificate is self-issued.
x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial), "serial");
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), spec.not_before_days, 0, nullptr))
    fail("notBefore");
  if (!X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.not_after_days, 0, nullptr))
    fail("notAfter");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("trawler tests"), -1, -1,
                                   0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(spec.common_name), -1, -1,
                                   0),
        "subject CN");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "issuer");

  if (spec.is_ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_ext(cert.get(), signer, NID_subject_alt_name, spec.subject_alt_name);
  }
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");

  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) fail("X509_sign");
  return cert;
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return bio_to_string(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return bio_to_string(bio.get());
}

}  // namespace

test_pki::test_pki() {
  const pkey_ptr ca_key = make_key();
  const x509_ptr ca = make_cert({.common_name = "trawler test CA",
                                 .subject_alt_name = nullptr,
                                 .is_ca = true,
                                 .not_before_days = -1,
                                 .not_after_days = 3650,
                                 .serial = 1},
                                ca_key.get(), nullptr, ca_key.get());
  ca_cert_pem = cert_pem(ca.get());
  ca_key_pem = key_pem(ca_key.get());

  // One key serves all leaves: the tests are about certificates, not keys.
  const pkey_ptr leaf_key = make_key();
  const std::string leaf_key_pem = key_pem(leaf_key.get());
  auto issue = [&](const cert_spec& spec, bool from_ca) {
    const x509_ptr leaf = from_ca ? make_cert(spec, leaf_key.get(), ca.get(), ca_key.get())
                                  : make_cert(spec, leaf_key.get(), nullptr, leaf_key.get());
    return credentials{cert_pem(leaf.get()), leaf_key_pem};
  };
  const char* local_san = "DNS:localhost,IP:127.0.0.1";
  good = issue({.common_name = "localhost", .subject_alt_name = local_san, .serial = 2}, true);
  expired = issue({.common_name = "localhost",
                   .subject_alt_name = local_san,
                   .not_before_days = -30,
                   .not_after_days = -1,
                   .serial = 3},
                  true);
  wrong_host = issue(
      {.common_name = "wrong.example", .subject_alt_name = "DNS:wrong.example", .serial = 4}, true);
  self_signed =
      issue({.common_name = "localhost", .subject_alt_name = local_san, .serial = 5}, false);
}

const test_pki& test_pki::instance() {
  static const test_pki pki;
  return pki;
}

const credentials& test_pki::leaf(cert which) const {
  switch (which) {
    case cert::good:
      return good;
    case cert::expired:
      return expired;
    case cert::wrong_host:
      return wrong_host;
    case cert::self_signed:
      return self_signed;
  }
  return good;
}

std::string test_pki::write_ca_file(const std::string& dir) const {
  std::string path = dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path += "ca.pem";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << ca_cert_pem;
  out.close();
  if (!out) throw std::runtime_error("test_pki: cannot write " + path);
  return path;
}

}  // namespace trawler::testing
