#pragma once

// A workload's X.509-SVID as the agent holds it: the key, the certificate and intermediates it
// presents, and the trust bundle it verifies peers with. Move-only (it owns the key); share
// one with std::shared_ptr<const Svid>.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/openssl_ptr.h"
#include "common/identity/spiffe_id.h"
#include "common/identity/trust_bundle.h"

namespace weft::common::identity {

struct Svid {
  SpiffeId id;
  EvpPkeyPtr key;
  X509Ptr leaf;
  CertChain intermediates;  // presented after the leaf
  TrustBundle bundle;
  absl::Time not_before;
  absl::Time not_after;

  // Checks what the CA sent back before it is used: `chain_pem` (leaf first) must hold `key`'s
  // public key, verify against `bundle` at `now` for both TLS roles, and name `expected`.
  static absl::StatusOr<Svid> assemble(const SpiffeId& expected, EvpPkeyPtr key,
                                       absl::string_view chain_pem, TrustBundle bundle,
                                       absl::Time now);

  // Time left until notAfter; negative once expired.
  absl::Duration expiresIn(absl::Time now) const { return not_after - now; }
};

}  // namespace weft::common::identity
