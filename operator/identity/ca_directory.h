#pragma once

// The operator's CA on disk (--ca-dir) and the certificate its gRPC server presents.
//
//   <dir>/ca.pem      the CA's chain (signing certificate first, root last)
//   <dir>/ca-key.pem  its private key (0600)
//   <dir>/root.pem    the trust bundle: what agents take with --operator-ca
//
// A directory without ca.pem gets a new self-signed root on first start, kept for the next
// starts so agents' bundles stay valid; a user-provided CA is used as it is.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity/certificate_authority.h"

namespace weft::op {

// The name agents check the server certificate against (and dial in Kubernetes).
inline constexpr char kOperatorDnsName[] = "weft-operator";
inline constexpr char kOperatorNamespace[] = "weft-system";
inline constexpr char kOperatorServiceAccount[] = "weft-operator";
inline constexpr absl::Duration kSelfSignedCaValidity = absl::Hours(24 * 365 * 10);
// The serving certificate is issued at every start; no rotation yet, so it outlives any
// realistic uptime.
inline constexpr absl::Duration kServingCertificateLifetime = absl::Hours(24 * 365);

absl::StatusOr<common::identity::CertificateAuthority> loadOrCreateCa(
    const std::string& dir, const std::string& trust_domain, absl::Time now);

// What grpc::SslServerCredentials takes.
struct ServingIdentity {
  std::string key_pem;
  std::string chain_pem;  // leaf first, then intermediates
  std::string root_pem;   // the trust bundle
};

// A fresh P-256 key and a certificate for spiffe://<td>/ns/weft-system/sa/weft-operator with
// the DNS name weft-operator.
absl::StatusOr<ServingIdentity> issueOperatorIdentity(
    const common::identity::CertificateAuthority& ca, absl::Time now);

}  // namespace weft::op
