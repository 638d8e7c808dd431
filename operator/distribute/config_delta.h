#pragma once

// The operator's half of the delta protocol (api/weft/v1alpha1/config_service.proto), pure:
// what a node should have and what its agent has → the response that closes the gap.
// A response's size depends only on what changed, never on how much is unchanged: one
// endpoint change sends the one service it belongs to, whatever the cluster's size.

#include "common/config/config_resources.h"
#include "weft/v1alpha1/config_service.pb.h"

namespace weft::op {

// Changed and new resources and removed names, per type; a type without change is left
// out. No deltas: the agent is up to date. Nonce and config_version are the caller's.
api::v1alpha1::ConfigResponse computeDelta(const common::config::ResourceSet& desired,
                                           const common::config::VersionMap& has);

// What the agent holds once it has ACKed `response`.
void applyToVersions(const api::v1alpha1::ConfigResponse& response,
                     common::config::VersionMap& has);

}  // namespace weft::op
