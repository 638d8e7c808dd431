#pragma once

// Builds and signs X.509 v3 certificates from a short description. Every extension is
// encoded from typed OpenSSL structures, never from config strings, so no identity text can
// inject another extension value.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/openssl_ptr.h"

namespace weft::common::identity {

struct CertSpec {
  EVP_PKEY* public_key = nullptr;
  // Subject name entries; both empty gives an empty subject (leaves: the SAN names them).
  std::string common_name{};
  std::string organization{};
  bool ca = false;
  int path_length = -1;   // CA only; -1: unlimited
  std::string uri_san{};  // empty: no URI subjectAltName
  // Serving certificates (an HTTPS server a client reaches by name or address): DNS names
  // ("localhost") and IP addresses ("127.0.0.1", "::1") for the subjectAltName.
  std::vector<std::string> dns_sans{};
  std::vector<std::string> ip_sans{};
  absl::Time not_before;
  absl::Time not_after;
};

// A certificate for `spec`, signed by `signing_key`. `issuer` is the signer's certificate,
// or null for a self-signed one (then `signing_key` must be the key in `spec`).
// Leaves get keyUsage digitalSignature and extKeyUsage serverAuth+clientAuth; CAs get
// keyCertSign+cRLSign. Serial numbers are 128 random bits.
absl::StatusOr<X509Ptr> buildCertificate(const CertSpec& spec, X509* issuer, EVP_PKEY* signing_key);

// A GENERAL_NAMES holding one URI.
absl::StatusOr<GeneralNamesPtr> uriSubjectAltName(const std::string& uri);

}  // namespace weft::common::identity
