#pragma once

#include <string>

namespace trawler::testing {

// Which server certificate a TLS test server presents.
enum class cert {
  good,         // from the test CA, for DNS:localhost and IP:127.0.0.1, valid now
  expired,      // from the test CA, for localhost, expired yesterday
  wrong_host,   // from the test CA, valid now, but only for DNS:wrong.example
  self_signed,  // for localhost, valid now, signed by its own key (not by the CA)
};

// A certificate with its private key, both PEM.
struct credentials {
  std::string cert_pem;
  std::string key_pem;
};

// A CA and server certificates generated at runtime (EC P-256, SHA-256), so no key
// material lives in the repository and nothing expires in it.
class test_pki {
 public:
  std::string ca_cert_pem;
  std::string ca_key_pem;
  credentials good;
  credentials expired;
  credentials wrong_host;
  credentials self_signed;

  // Generated once per process; thread-safe.
  static const test_pki& instance();

  const credentials& leaf(cert which) const;

  // Writes <dir>/ca.pem (the CA certificate) and returns its path: tests hand it to the
  // crawler as SSL_CERT_FILE.
  std::string write_ca_file(const std::string& dir) const;

 private:
  test_pki();
};

}  // namespace trawler::testing
