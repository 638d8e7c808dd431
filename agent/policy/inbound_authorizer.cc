#include "agent/policy/inbound_authorizer.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft::agent::policy {
namespace {

namespace api = ::weft::api::v1alpha1;

PolicyAction actionOf(api::AuthorizationPolicy::Action action) {
  switch (action) {
    case api::AuthorizationPolicy::DENY:
      return PolicyAction::kDeny;
    case api::AuthorizationPolicy::AUDIT:
      return PolicyAction::kAudit;
    default:
      return PolicyAction::kAllow;  // buildSnapshot refused any other value
  }
}

template <typename T>
std::vector<T> listOf(const google::protobuf::RepeatedPtrField<T>& values) {
  return {values.begin(), values.end()};
}

// Ports were checked by buildSnapshot (1-65535).
std::vector<uint16_t> portsOf(const google::protobuf::RepeatedField<uint32_t>& ports) {
  return {ports.begin(), ports.end()};
}

PolicyOperation operationOf(const api::AuthorizationOperation& op) {
  return PolicyOperation{
      .ports = portsOf(op.ports()),
      .not_ports = portsOf(op.not_ports()),
      .has_l7_fields = op.methods_size() > 0 || op.not_methods_size() > 0 ||
                       op.paths_size() > 0 || op.not_paths_size() > 0 || op.hosts_size() > 0 ||
                       op.not_hosts_size() > 0,
  };
}

AuthorizationPolicy compile(const api::AuthorizationPolicy& policy) {
  AuthorizationPolicy out{
      .name = policy.name(), .namespace_name = policy.namespace_(), .action = actionOf(policy.action())};
  for (const api::AuthorizationRule& rule : policy.rules()) {
    PolicyRule& compiled = out.rules.emplace_back();
    for (const api::AuthorizationSource& source : rule.from()) {
      compiled.from.push_back(PolicySource{
          .principals = listOf(source.principals()),
          .not_principals = listOf(source.not_principals()),
          .namespaces = listOf(source.namespaces()),
          .not_namespaces = listOf(source.not_namespaces()),
      });
    }
    for (const api::AuthorizationOperation& op : rule.to()) {
      compiled.to.push_back(operationOf(op));
    }
    compiled.has_l7_conditions = rule.when_size() > 0;
  }
  return out;
}

}  // namespace

InboundAuthorizer::InboundAuthorizer(config::ConfigSnapshotPtr snapshot,
                                     telemetry::Metrics& metrics,
                                     telemetry::LogLimiter& log_limiter)
    : snapshot_(std::move(snapshot)), log_limiter_(log_limiter) {
  const api::NodeConfig& config = snapshot_->config();
  policies_.reserve(config.authorization_policies_size());  // pointers into it stay valid
  for (const api::AuthorizationPolicy& policy : config.authorization_policies()) {
    const AuthorizationPolicy& compiled = policies_.emplace_back(compile(policy));
    // Only the label sets this policy can produce: the series exist (at 0) from the moment the
    // policy is in force, and nothing else is ever created.
    const std::string name = compiled.qualifiedName();
    const char* action = actionName(compiled.action);
    PolicyCounters& counters = policy_counters_.emplace_back();
    if (compiled.action != PolicyAction::kDeny) {
      counters.allow = metrics.authorizationDecisions(name, action, "allow");
    }
    if (compiled.action != PolicyAction::kAllow) {
      counters.deny = metrics.authorizationDecisions(name, action, "deny");
    }
  }
  no_policy_ = PolicyCounters{.allow = metrics.authorizationDecisions("", "none", "allow"),
                              .deny = metrics.authorizationDecisions("", "none", "deny")};
  for (const config::WorkloadInfo& workload : snapshot_->workloads()) {
    auto& list = workload_policies_.emplace_back();
    for (int index : workload.authorization_policies) {
      list.push_back(&policies_[index]);
    }
  }
}

absl::StatusOr<size_t> InboundAuthorizer::workloadIndex(const common::IpAddress& ip) const {
  const config::WorkloadInfo* workload = snapshot_->findWorkload(ip);
  if (workload == nullptr) {
    return absl::NotFoundError(absl::StrCat(ip.toString(), " is not a workload on node ",
                                            snapshot_->config().node_name()));
  }
  return static_cast<size_t>(workload - snapshot_->workloads().data());
}

absl::Span<const AuthorizationPolicy* const> InboundAuthorizer::policiesOf(
    const common::IpAddress& ip) const {
  auto index = workloadIndex(ip);
  if (!index.ok()) {
    return {};
  }
  return workload_policies_[*index];
}

absl::StatusOr<AuthorizationDecision> InboundAuthorizer::check(
    const InboundConnection& connection) const {
  auto index = workloadIndex(connection.destination.ip);
  if (!index.ok()) {
    return index.status();
  }
  AuthorizationDecision decision =
      authorize(workload_policies_[*index],
                ConnectionAttributes{.source = connection.peer,
                                     .destination_port = connection.destination.port});
  record(snapshot_->workloads()[*index], connection, decision);
  return decision;
}

absl::StatusOr<MtlsMode> InboundAuthorizer::mtlsMode(
    const common::SocketAddress& destination) const {
  auto index = workloadIndex(destination.ip);
  if (!index.ok()) {
    return index.status();
  }
  return effectiveMtlsMode(snapshot_->config().workloads(static_cast<int>(*index)),
                           destination.port);
}

void InboundAuthorizer::record(const config::WorkloadInfo& workload,
                               const InboundConnection& connection,
                               const AuthorizationDecision& decision) const {
  const bool allowed = decision.allowed;
  const PolicyCounters& decided = decision.policy ? countersOf(decision.policy) : no_policy_;
  (allowed ? decided.allow : decided.deny)->Increment();
  for (const AuthorizationPolicy* audit : decision.audited) {
    (allowed ? countersOf(audit).allow : countersOf(audit).deny)->Increment();
  }
  if (allowed && decision.audited.empty()) {
    return;
  }
  // One line per connection, denies and audits alike, so a flood of either is held back as one.
  const std::optional<uint64_t> held_back = log_limiter_.admit();
  if (!held_back.has_value()) {
    return;
  }
  std::string audited;
  if (!decision.audited.empty()) {
    audited = absl::StrCat(
        "; audited by AUDIT policy ",
        absl::StrJoin(decision.audited, ", ", [](std::string* out, const AuthorizationPolicy* p) {
          absl::StrAppend(out, p->qualifiedName());
        }));
  }
  const std::string held =
      *held_back == 0 ? "" : absl::StrCat(" (", *held_back, " earlier lines held back)");
  spdlog::info("authorization: {} -> {}/{} {}: {}{}{}",
               connection.peer ? connection.peer->toString() : "plaintext peer",
               workload.namespace_name, workload.name, connection.destination.toString(),
               decision.reason, audited, held);
}

std::shared_ptr<const InboundAuthorizer> InboundAuthorizerCache::forSnapshot(
    const config::ConfigSnapshotPtr& snapshot) {
  if (current_ == nullptr || current_->snapshot() != snapshot) {
    current_ = std::make_shared<const InboundAuthorizer>(snapshot, metrics_, log_limiter_);
  }
  return current_;
}

}  // namespace weft::agent::policy
