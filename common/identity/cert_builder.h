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
  std::string common_name;
  std::string organization;
  bool ca = false;
  int path_length = -1;  // CA only; -1: unlimited
  std::string uri_san;   // with dns_sans and ip_sans empty too: no subjectAltName
  // Serving certificates, which clients check by the host name or address they dialled (the
  // operator's; an API server's, "127.0.0.1" or "::1" in tests).
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
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
// Adds a DNS name to `names`.
absl::Status addDnsName(GENERAL_NAMES* names, const std::string& dns_name);
// Adds an IPv4 or IPv6 address to `names`; anything else is an InvalidArgument error.
absl::Status addIpAddress(GENERAL_NAMES* names, const std::string& ip);

}  // namespace weft::common::identity
