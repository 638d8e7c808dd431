#pragma once

// The security CRDs, validated: AuthorizationPolicy and PeerAuthentication specs (kept by
// the sources as JSON) → what the agents receive, plus the selector that says which pods a
// policy applies to. Pure functions; every error names the field and what is wrong, and
// becomes the object's Accepted=False message.
//
// Scope, as in Istio: a policy in the root namespace (weft-system) without a selector applies
// to the whole mesh; one in another namespace without a selector to every pod of that
// namespace; with `selector.matchLabels`, to the pods of its namespace with those labels.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "operator/model/objects.h"
#include "operator/model/source_snapshot.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::op {

// Mesh-wide policies live here (Istio's rootNamespace).
inline constexpr char kRootNamespace[] = "weft-system";

struct PolicySelector {
  std::string namespace_name;
  std::optional<Labels> match_labels = std::nullopt;  // none: every pod in scope

  // True when `pod` is in this policy's scope.
  bool selects(const Pod& pod) const;
  bool meshWide() const { return namespace_name == kRootNamespace && !match_labels; }
};

struct ValidAuthorizationPolicy {
  PolicySelector selector;
  api::v1alpha1::AuthorizationPolicy policy;
};

absl::StatusOr<ValidAuthorizationPolicy> validateAuthorizationPolicy(
    const CustomResource& resource);

struct ValidPeerAuthentication {
  PolicySelector selector;
  api::v1alpha1::MtlsMode mode = api::v1alpha1::MTLS_MODE_UNSPECIFIED;  // unset: inherit
  std::map<uint32_t, api::v1alpha1::MtlsMode> port_modes;               // portLevelMtls
};

absl::StatusOr<ValidPeerAuthentication> validatePeerAuthentication(
    const CustomResource& resource);

// The mTLS mode of `pod`: the most specific PeerAuthentication that sets a mode wins
// (workload selector, then namespace-wide, then mesh-wide); unspecified when none does, and
// the agent applies its default (agent/policy/mtls_mode.h: the one place that decides it).
// Port-level modes come only from a workload-selector policy, as in Istio. Among policies of
// the same specificity the first in `all` wins (callers pass them sorted by key), so the
// result is deterministic.
struct MtlsSettings {
  api::v1alpha1::MtlsMode mode = api::v1alpha1::MTLS_MODE_UNSPECIFIED;
  std::map<uint32_t, api::v1alpha1::MtlsMode> port_modes = {};
};
MtlsSettings resolveMtls(const Pod& pod, const std::vector<const ValidPeerAuthentication*>& all);

// Every valid security policy of a snapshot, in key order; the invalid ones are left out
// with a warning (the rest of the config is still good).
struct SecurityPolicies {
  std::vector<ValidAuthorizationPolicy> authorization;
  std::vector<ValidPeerAuthentication> peer_authentication;
};
SecurityPolicies validateSecurityPolicies(const SourceSnapshot& snapshot,
                                          std::vector<std::string>& warnings);

// Fills `workload`'s policy names and mTLS settings from the policies that select `pod`.
void applySecurityPolicies(const SecurityPolicies& policies, const Pod& pod,
                           api::v1alpha1::Workload& workload);

// Adds to `config` every AuthorizationPolicy one of its workloads names.
void addReferencedPolicies(const SecurityPolicies& policies, api::v1alpha1::NodeConfig& config);

}  // namespace weft::op
