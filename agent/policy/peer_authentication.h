#pragma once

// The PeerAuthentication mTLS mode of a workload's port, decided in one place. The operator
// resolves which PeerAuthentication applies to a pod (a workload selector over a namespace-wide
// policy over the root namespace's mesh-wide one) and sends the mode and the port exceptions;
// here the port exception is applied, and Istio's default, PERMISSIVE, when nothing set a mode.
//
// Inbound, a mode says which connections may reach the pod's port:
//   STRICT      only mesh connections (mTLS through the tunnel, 15008); plaintext is refused
//   PERMISSIVE  both
//   DISABLE     both at L4 (as in Istio's ambient mode, a tunnel connection is still accepted);
//               plaintext is what the workload's clients should use
// The tunnel verifies the peer before authorization runs; the plaintext listener (15006) asks
// acceptsPlaintext() before it asks for authorization.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::agent::policy {

enum class MtlsMode { kStrict, kPermissive, kDisable };

// "STRICT", "PERMISSIVE", "DISABLE".
absl::string_view mtlsModeName(MtlsMode mode);

// The workload's mode, for its ports without an exception (PERMISSIVE when nothing set one).
MtlsMode workloadMtlsMode(const api::v1alpha1::Workload& workload);
// The mode for connections to `port` of `workload`.
MtlsMode effectiveMtlsMode(const api::v1alpha1::Workload& workload, uint16_t port);

inline bool acceptsPlaintext(MtlsMode mode) {
  return mode != MtlsMode::kStrict;
}

}  // namespace weft::agent::policy
