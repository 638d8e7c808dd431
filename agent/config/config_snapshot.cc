#include "agent/config/config_snapshot.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace weft::agent::config {

using api::v1alpha1::NodeConfig;

const ServiceTarget* ConfigSnapshot::findService(const common::SocketAddress& vip) const {
  auto it = target_by_vip_.find(vip);
  return it == target_by_vip_.end() ? nullptr : &targets_[it->second];
}

const WorkloadInfo* ConfigSnapshot::findWorkload(const common::IpAddress& ip) const {
  auto it = workload_by_ip_.find(ip);
  return it == workload_by_ip_.end() ? nullptr : &workloads_[it->second];
}

const WorkloadInfo* ConfigSnapshot::findWorkloadByUid(absl::string_view uid) const {
  auto it = workload_by_uid_.find(uid);
  return it == workload_by_uid_.end() ? nullptr : &workloads_[it->second];
}

namespace {

constexpr absl::string_view kDefaultTrustDomain = "cluster.local";

std::string quoted(absl::string_view s) {
  return absl::StrCat("\"", s, "\"");
}

absl::Status invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

absl::Status requireNonEmpty(absl::string_view path, const std::string& value) {
  if (value.empty()) {
    return invalid(path, "must not be empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<common::IpAddress> parseIp(absl::string_view path, const std::string& text) {
  auto ip = common::IpAddress::Parse(text);
  if (!ip.ok()) {
    return invalid(path, absl::StrCat(quoted(text), " is not an IP address"));
  }
  return *ip;
}

absl::StatusOr<uint16_t> parsePort(absl::string_view path, uint32_t port) {
  if (port < 1 || port > 65535) {
    return invalid(path, absl::StrCat(port, " is not a port (1-65535)"));
  }
  return static_cast<uint16_t>(port);
}

// True for TCP ports (captured), false for the protocols the mesh passes through.
absl::StatusOr<bool> isTcp(absl::string_view path, const std::string& protocol) {
  if (protocol.empty() || protocol == "TCP") {
    return true;
  }
  if (protocol == "UDP" || protocol == "SCTP") {
    return false;
  }
  return invalid(path, absl::StrCat(quoted(protocol), " is not a protocol (TCP, UDP, SCTP)"));
}

std::string labelOr(const std::string& preferred, const std::string& fallback) {
  return preferred.empty() ? fallback : preferred;
}

}  // namespace

// Validates while building, so every check sees the field path it reports.
class SnapshotBuilder {
 public:
  SnapshotBuilder(NodeConfig config, absl::Time loaded_at) : snapshot_(new ConfigSnapshot()) {
    snapshot_->config_ = std::move(config);
    snapshot_->loaded_at_ = loaded_at;
  }

  absl::StatusOr<ConfigSnapshotPtr> build(absl::string_view node_name) {
    const NodeConfig& config = snapshot_->config_;
    if (config.node_name() != node_name) {
      return invalid("node_name", absl::StrCat(quoted(config.node_name()), " is not this node (",
                                               quoted(node_name), ")"));
    }
    snapshot_->trust_domain_ =
        config.mesh().trust_domain().empty() ? std::string(kDefaultTrustDomain)
                                          : config.mesh().trust_domain();
    if (auto valid = common::identity::validateTrustDomain(snapshot_->trust_domain_);
        !valid.ok()) {
      return invalid("mesh.trust_domain", valid.message());
    }
    for (int i = 0; i < config.authorization_policies_size(); ++i) {
      RETURN_IF_ERROR(addAuthorizationPolicy(i, config.authorization_policies(i)));
    }
    for (int i = 0; i < config.workloads_size(); ++i) {
      RETURN_IF_ERROR(addWorkload(i, config.workloads(i)));
    }
    for (int i = 0; i < config.services_size(); ++i) {
      RETURN_IF_ERROR(addService(i, config.services(i)));
    }
    return ConfigSnapshotPtr(std::move(snapshot_));
  }

 private:
  absl::Status addWorkload(int index, const api::v1alpha1::Workload& w) {
    const std::string path = absl::StrCat("workloads[", index, "]");
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".name"), w.name()));
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".namespace"), w.namespace_()));
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".uid"), w.uid()));
    ASSIGN_OR_RETURN(const common::IpAddress ip, parseIp(absl::StrCat(path, ".ip"), w.ip()));
    if (auto [it, fresh] = snapshot_->workload_by_uid_.try_emplace(w.uid(), index); !fresh) {
      return invalid(
          absl::StrCat(path, ".uid"),
          absl::StrCat(quoted(w.uid()), " is already used by workloads[", it->second, "]"));
    }
    const size_t slot = snapshot_->workloads_.size();
    if (auto [it, fresh] = snapshot_->workload_by_ip_.try_emplace(ip, slot); !fresh) {
      return invalid(
          absl::StrCat(path, ".ip"),
          absl::StrCat(quoted(w.ip()), " is already used by workloads[", it->second, "]"));
    }
    std::optional<common::identity::SpiffeId> identity;
    if (w.mesh_enabled()) {
      ASSIGN_OR_RETURN(identity, identityOf(path, w.namespace_(),
                                            labelOr(w.service_account(), "default")));
    }
    ASSIGN_OR_RETURN(std::vector<int> policies, policiesOf(path, w));
    RETURN_IF_ERROR(checkMtls(path, w));
    snapshot_->workloads_.push_back(WorkloadInfo{
        .name = w.name(),
        .namespace_name = w.namespace_(),
        .uid = w.uid(),
        .service_account = w.service_account(),
        .ip = ip,
        .workload_label = labelOr(w.workload_name(), w.name()),
        .mesh_enabled = w.mesh_enabled(),
        .identity = std::move(identity),
        .authorization_policies = std::move(policies),
    });
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<int>> policiesOf(const std::string& path,
                                              const api::v1alpha1::Workload& w) {
    std::vector<int> indexes;
    for (int p = 0; p < w.authorization_policies_size(); ++p) {
      const std::string& name = w.authorization_policies(p);
      auto it = policy_by_name_.find(name);
      if (it == policy_by_name_.end()) {
        return invalid(absl::StrCat(path, ".authorization_policies[", p, "]"),
                       absl::StrCat(quoted(name), " is not in authorization_policies"));
      }
      indexes.push_back(it->second);
    }
    return indexes;
  }

  static absl::Status checkMtls(const std::string& path, const api::v1alpha1::Workload& w) {
    if (!api::v1alpha1::MtlsMode_IsValid(w.mtls_mode())) {
      return invalid(absl::StrCat(path, ".mtls_mode"),
                     absl::StrCat(w.mtls_mode(), " is not an mTLS mode"));
    }
    for (const auto& [port, mode] : w.port_mtls_modes()) {
      const std::string port_path = absl::StrCat(path, ".port_mtls_modes[", port, "]");
      RETURN_IF_ERROR(parsePort(port_path, port).status());
      if (!api::v1alpha1::MtlsMode_IsValid(mode)) {
        return invalid(port_path, absl::StrCat(mode, " is not an mTLS mode"));
      }
    }
    return absl::OkStatus();
  }

  // What the evaluator relies on: a known action and real ports. Patterns need no check: one
  // that cannot match (a typo) is the operator's to refuse, and matches nothing here.
  absl::Status addAuthorizationPolicy(int index, const api::v1alpha1::AuthorizationPolicy& p) {
    const std::string path = absl::StrCat("authorization_policies[", index, "]");
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".name"), p.name()));
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".namespace"), p.namespace_()));
    if (!api::v1alpha1::AuthorizationPolicy::Action_IsValid(p.action())) {
      return invalid(absl::StrCat(path, ".action"), absl::StrCat(p.action(), " is not an action"));
    }
    for (int r = 0; r < p.rules_size(); ++r) {
      for (int o = 0; o < p.rules(r).to_size(); ++o) {
        const api::v1alpha1::AuthorizationOperation& op = p.rules(r).to(o);
        const std::string op_path = absl::StrCat(path, ".rules[", r, "].to[", o, "]");
        for (int i = 0; i < op.ports_size(); ++i) {
          RETURN_IF_ERROR(parsePort(absl::StrCat(op_path, ".ports[", i, "]"), op.ports(i)).status());
        }
        for (int i = 0; i < op.not_ports_size(); ++i) {
          RETURN_IF_ERROR(
              parsePort(absl::StrCat(op_path, ".not_ports[", i, "]"), op.not_ports(i)).status());
        }
      }
    }
    const std::string name = absl::StrCat(p.namespace_(), "/", p.name());
    if (auto [it, fresh] = policy_by_name_.try_emplace(name, index); !fresh) {
      return invalid(path, absl::StrCat(quoted(name), " is already authorization_policies[",
                                        it->second, "]"));
    }
    return absl::OkStatus();
  }

  absl::Status addService(int index, const api::v1alpha1::Service& s) {
    const std::string path = absl::StrCat("services[", index, "]");
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".name"), s.name()));
    RETURN_IF_ERROR(requireNonEmpty(absl::StrCat(path, ".namespace"), s.namespace_()));
    if (!api::v1alpha1::LoadBalancer_IsValid(s.load_balancer())) {
      return invalid(absl::StrCat(path, ".load_balancer"),
                     absl::StrCat(s.load_balancer(), " is not a load balancer"));
    }
    std::vector<common::IpAddress> vips;
    for (int v = 0; v < s.vips_size(); ++v) {
      ASSIGN_OR_RETURN(auto vip, parseIp(absl::StrCat(path, ".vips[", v, "]"), s.vips(v)));
      vips.push_back(vip);
    }
    std::vector<EndpointInfo> endpoints;
    for (int e = 0; e < s.endpoints_size(); ++e) {
      ASSIGN_OR_RETURN(EndpointInfo endpoint,
                       endpointOf(absl::StrCat(path, ".endpoints[", e, "]"), s, s.endpoints(e)));
      endpoints.push_back(std::move(endpoint));
    }
    for (int p = 0; p < s.ports_size(); ++p) {
      RETURN_IF_ERROR(addServicePort(index, s, p, vips, endpoints));
    }
    return absl::OkStatus();
  }

  absl::Status addServicePort(int index, const api::v1alpha1::Service& s, int p,
                              const std::vector<common::IpAddress>& vips,
                              const std::vector<EndpointInfo>& endpoints) {
    const std::string path = absl::StrCat("services[", index, "].ports[", p, "]");
    const api::v1alpha1::ServicePort& sp = s.ports(p);
    ASSIGN_OR_RETURN(const uint16_t port, parsePort(absl::StrCat(path, ".port"), sp.port()));
    uint16_t target_port = port;
    if (sp.target_port() != 0) {
      ASSIGN_OR_RETURN(target_port,
                       parsePort(absl::StrCat(path, ".target_port"), sp.target_port()));
    }
    ASSIGN_OR_RETURN(const bool tcp, isTcp(absl::StrCat(path, ".protocol"), sp.protocol()));
    if (!tcp) {
      return absl::OkStatus();
    }
    ServiceTarget target{
        .name = s.name(),
        .namespace_name = s.namespace_(),
        .fqdn = absl::StrCat(s.name(), ".", s.namespace_(), ".svc.cluster.local"),
        .port = port,
        .target_port = target_port,
        .load_balancer = s.load_balancer() == api::v1alpha1::ROUND_ROBIN
                             ? LoadBalancerPolicy::kRoundRobin
                             : LoadBalancerPolicy::kLeastConnections,
        .endpoints = {},
    };
    for (int e = 0; e < s.endpoints_size(); ++e) {
      if (!s.endpoints(e).ready() || !routable(endpoints[e])) {
        continue;
      }
      EndpointInfo endpoint = endpoints[e];
      endpoint.address.port = target_port;
      target.has_local_endpoint = target.has_local_endpoint || endpoint.local;
      target.endpoints.push_back(std::move(endpoint));
    }
    const size_t slot = snapshot_->targets_.size();
    snapshot_->targets_.push_back(std::move(target));
    for (size_t v = 0; v < vips.size(); ++v) {
      const common::SocketAddress vip{vips[v], port};
      auto [it, fresh] = vip_owner_.try_emplace(vip, index);
      if (!fresh) {
        const auto& owner = snapshot_->config_.services(it->second);
        return invalid(absl::StrCat("services[", index, "].vips[", v, "]"),
                       absl::StrCat(vip.toString(), " is already used by services[", it->second,
                                    "] (", owner.namespace_(), "/", owner.name(), ")"));
      }
      snapshot_->target_by_vip_.emplace(vip, slot);
      snapshot_->service_addresses_.push_back(vip);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<common::identity::SpiffeId> identityOf(absl::string_view path,
                                                        const std::string& namespace_name,
                                                        const std::string& service_account) {
    auto id = common::identity::SpiffeId::fromParts(snapshot_->trust_domain_, namespace_name,
                                                    service_account);
    if (!id.ok()) {
      return invalid(absl::StrCat(path, ".service_account"), id.status().message());
    }
    return *std::move(id);
  }

  // One endpoint as the data path sees it; its port is the service port's target port,
  // filled in per port.
  absl::StatusOr<EndpointInfo> endpointOf(absl::string_view path, const api::v1alpha1::Service& s,
                                          const api::v1alpha1::Endpoint& ep) {
    ASSIGN_OR_RETURN(const common::IpAddress ip, parseIp(absl::StrCat(path, ".ip"), ep.ip()));
    EndpointInfo endpoint{
        .address = {ip, 0},
        .pod_name = ep.workload(),
        .namespace_name = labelOr(ep.namespace_(), s.namespace_()),
        .node = ep.node(),
        .workload_label = labelOr(ep.workload_name(), labelOr(ep.workload(), "unknown")),
        .local = !ep.node().empty() && ep.node() == snapshot_->config_.node_name(),
    };
    if (ep.mesh_enabled()) {
      ASSIGN_OR_RETURN(endpoint.identity,
                       identityOf(path, endpoint.namespace_name,
                                  labelOr(ep.service_account(), "default")));
      if (!endpoint.local && !ep.node_ip().empty()) {
        ASSIGN_OR_RETURN(endpoint.node_ip, parseIp(absl::StrCat(path, ".node_ip"), ep.node_ip()));
      }
    }
    return endpoint;
  }

  // An enrolled endpoint on another node is only reached through its node's agent; without
  // the node's address there is no safe way to it (plaintext would bypass its mTLS).
  static bool routable(const EndpointInfo& endpoint) {
    return endpoint.local || !endpoint.identity.has_value() || endpoint.node_ip.has_value();
  }

  std::shared_ptr<ConfigSnapshot> snapshot_;
  absl::flat_hash_map<common::SocketAddress, int> vip_owner_;
  absl::flat_hash_map<std::string, int> policy_by_name_;  // "<namespace>/<name>" → index
};

absl::StatusOr<ConfigSnapshotPtr> buildSnapshot(NodeConfig config, absl::string_view node_name,
                                                absl::Time loaded_at) {
  return SnapshotBuilder(std::move(config), loaded_at).build(node_name);
}

}  // namespace weft::agent::config
