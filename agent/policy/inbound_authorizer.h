#pragma once

// L4 authorization of inbound connections, for the tunnel server (15008) and the plaintext
// inbound listener (15006): may this peer reach this pod's port, which policy said so, and
// which AUDIT policies matched. Every decision is counted
// (weft_authorization_decisions_total); every deny and every AUDIT match is logged with its
// reason, rate-limited.
//
// An InboundAuthorizer belongs to one config snapshot and is built once for it: the
// snapshot's policies are compiled (l4_authorization.h), each workload's list of the
// policies that select it is resolved, and the policies' counters are looked up. A check is
// then a hash lookup by pod IP, a walk over the few policies of that pod, and counter
// increments; nothing is looked up by name.
//
// How the agent calls it: one InboundAuthorizerCache per worker, and per connection
//
//   std::shared_ptr<const InboundAuthorizer> authz = cache.forSnapshot(store.current());
//   // plaintext (15006) only: STRICT refuses before any policy is looked at
//   ASSIGN_OR_RETURN(MtlsMode mode, authz->mtlsMode(pod));
//   if (!peer && !acceptsPlaintext(mode)) { refuse }
//   ASSIGN_OR_RETURN(AuthorizationDecision d, authz->check({.destination = pod, .peer = peer}));
//   if (!d.allowed) return absl::PermissionDeniedError(d.reason);  // tunnel: answered 403
//
// `pod` is the pod IP and port the connection is for (the CONNECT target, or the original
// destination), `peer` the SPIFFE ID of the verified client certificate (none: plaintext).
// Errors: NOT_FOUND when the IP is not a workload of this node.

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/config/config_snapshot.h"
#include "agent/policy/l4_authorization.h"
#include "agent/policy/peer_authentication.h"
#include "agent/telemetry/log_limiter.h"
#include "agent/telemetry/metrics.h"
#include "common/identity/spiffe_id.h"
#include "common/net/address.h"

namespace weft::agent::policy {

// How many authorization lines (denies and audits) the agent logs: a burst of 10 a second;
// the lines held back are counted in the next one. Pass to the agent's one LogLimiter.
inline constexpr int kDecisionLogBurst = 10;
inline constexpr absl::Duration kDecisionLogInterval = absl::Seconds(1);

struct InboundConnection {
  common::SocketAddress destination;  // pod IP : port
  std::optional<common::identity::SpiffeId> peer = std::nullopt;  // verified; none: plaintext
};

class InboundAuthorizer {
 public:
  // `metrics` and `log_limiter` outlive the authorizer.
  InboundAuthorizer(config::ConfigSnapshotPtr snapshot, telemetry::Metrics& metrics,
                    telemetry::LogLimiter& log_limiter);

  // Thread-safe. The decision's policy pointers live as long as this authorizer.
  absl::StatusOr<AuthorizationDecision> check(const InboundConnection& connection) const;
  // The PeerAuthentication mode for connections to `destination` (pod IP : port).
  absl::StatusOr<MtlsMode> mtlsMode(const common::SocketAddress& destination) const;

  const config::ConfigSnapshotPtr& snapshot() const { return snapshot_; }
  // The compiled policies that select the workload with pod IP `ip` (empty for an unknown IP).
  absl::Span<const AuthorizationPolicy* const> policiesOf(const common::IpAddress& ip) const;

 private:
  // The counters a policy's decisions go to, by decision (only those its action can give).
  struct PolicyCounters {
    prometheus::Counter* allow = nullptr;
    prometheus::Counter* deny = nullptr;
  };

  // Index of the snapshot's workload with pod IP `ip`, or an error naming it.
  absl::StatusOr<size_t> workloadIndex(const common::IpAddress& ip) const;
  void record(const config::WorkloadInfo& workload, const InboundConnection& connection,
              const AuthorizationDecision& decision) const;
  const PolicyCounters& countersOf(const AuthorizationPolicy* policy) const {
    return policy_counters_[policy - policies_.data()];
  }

  config::ConfigSnapshotPtr snapshot_;
  telemetry::LogLimiter& log_limiter_;
  std::vector<AuthorizationPolicy> policies_;     // the config's authorization_policies
  std::vector<PolicyCounters> policy_counters_;   // parallel to policies_
  // Per workload (parallel to snapshot_->workloads()): the policies that select it.
  std::vector<std::vector<const AuthorizationPolicy*>> workload_policies_;
  PolicyCounters no_policy_;  // decisions no policy made: policy="", action="none"
};

// The authorizer of the current snapshot, built again only when the snapshot changes. One per
// worker (not thread-safe), so workers never share a lock for it.
class InboundAuthorizerCache {
 public:
  InboundAuthorizerCache(telemetry::Metrics& metrics, telemetry::LogLimiter& log_limiter)
      : metrics_(metrics), log_limiter_(log_limiter) {}

  std::shared_ptr<const InboundAuthorizer> forSnapshot(const config::ConfigSnapshotPtr& snapshot);

 private:
  telemetry::Metrics& metrics_;
  telemetry::LogLimiter& log_limiter_;
  std::shared_ptr<const InboundAuthorizer> current_;
};

}  // namespace weft::agent::policy
