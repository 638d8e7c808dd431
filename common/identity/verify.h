#pragma once

// Verifies a peer's certificate chain as an X.509-SVID: chain to a CA in the trust bundle at
// a given time, TLS purpose, and exactly one SPIFFE ID in the expected trust domain,
// optionally a given identity or one a predicate allows. Independent of SSL objects; the TLS
// verify callback calls verifyFromStoreCtx.
//
// Error codes: UNAUTHENTICATED when the certificate cannot be trusted (unknown CA, expired,
// not yet valid, wrong purpose, a CA certificate as leaf, no SPIFFE ID); PERMISSION_DENIED
// when it is trusted but names the wrong peer (other trust domain, other identity, not
// allowed).

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/openssl_ptr.h"
#include "common/identity/spiffe_id.h"
#include "common/identity/trust_bundle.h"

namespace weft::common::identity {

// The role the peer plays in the TLS handshake; selects the extKeyUsage required.
enum class PeerRole { kClient, kServer };

struct PeerPolicy {
  std::string trust_domain;
  PeerRole role = PeerRole::kServer;
  // Optional; when both are set, both must pass.
  std::optional<SpiffeId> expected_id;         // exactly this identity
  std::function<bool(const SpiffeId&)> allow;  // any identity this accepts
};

// `untrusted` (may be null) holds the intermediates the peer sent after its leaf.
absl::StatusOr<SpiffeId> verifyPeer(X509* leaf, STACK_OF(X509) * untrusted,
                                    const TrustBundle& bundle, const PeerPolicy& policy,
                                    absl::Time now);
// `chain`: the leaf first, then intermediates.
absl::StatusOr<SpiffeId> verifyPeerChain(const CertChain& chain, const TrustBundle& bundle,
                                         const PeerPolicy& policy, absl::Time now);
absl::StatusOr<SpiffeId> verifyPeerPem(absl::string_view chain_pem, const TrustBundle& bundle,
                                       const PeerPolicy& policy, absl::Time now);

// For SSL_CTX_set_cert_verify_callback: verifies the peer chain held by `ctx` against
// `bundle` (not the SSL_CTX's own store) and, on failure, records
// X509_V_ERR_APPLICATION_VERIFICATION in `ctx` so the handshake fails.
absl::StatusOr<SpiffeId> verifyFromStoreCtx(X509_STORE_CTX* ctx, const TrustBundle& bundle,
                                            const PeerPolicy& policy, absl::Time now);

// Only the chain part: `leaf` must chain to a certificate in `store` at `now`; `purpose` is an
// X509_PURPOSE_* or 0 for none. Errors are UNAUTHENTICATED and name the failing certificate.
absl::Status verifyChain(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted, int purpose,
                         absl::Time now);

}  // namespace weft::common::identity
