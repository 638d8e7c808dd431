#pragma once

// Helpers for identity tests: a fixed clock, unwrapping StatusOr with the error shown, and a
// raw CSR builder that can produce requests the library itself would refuse to build.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/certificate_authority.h"
#include "common/identity/csr.h"
#include "common/identity/keys.h"
#include "common/identity/openssl_ptr.h"
#include "common/identity/pem.h"
#include "common/identity/spiffe_id.h"

namespace weft::common::identity::testing {

// 2030-01-01T00:00:00Z: far from the real clock, so no test depends on when it runs.
inline const absl::Time kNow = absl::FromUnixSeconds(1893456000);

template <typename T>
T take(absl::StatusOr<T> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *std::move(result);
}

inline SpiffeId id(const std::string& text) {
  return take(SpiffeId::parse(text));
}

inline std::string messageOf(const absl::Status& status) {
  return std::string(status.message());
}

// A CSR with the given subjectAltNames ({GEN_URI, "spiffe://..."}, {GEN_DNS, "a.b"}), signed
// with `key` whatever its type.
std::string rawCsrPem(EVP_PKEY* key, const std::vector<std::pair<int, std::string>>& sans);

// A key and a parsed CSR for `spiffe_id`.
struct Requester {
  EvpPkeyPtr key;
  CertificateRequest csr;
};
Requester requester(const std::string& spiffe_id);

// Issues a certificate for `spiffe_id` from `ca` at `now`.
IssuedCertificate issue(const CertificateAuthority& ca, const std::string& spiffe_id,
                        absl::Time now = kNow, absl::Duration lifetime = kDefaultSvidLifetime);

std::string toPem(X509* cert);

// A PEM block of type `name` around `der`, 64 base64 characters a line.
std::string derToPem(const std::string& name, const std::string& der);

}  // namespace weft::common::identity::testing
