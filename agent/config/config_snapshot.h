#pragma once

// An immutable, validated view of one NodeConfig with the indexes the data path needs.
// Built once per config version on the control thread; workers hold a shared_ptr to one
// snapshot per connection, so a reload never changes what an open connection sees.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/spiffe_id.h"
#include "common/net/address.h"
#include "weft/v1alpha1/node_config.pb.h"

namespace weft::agent::config {

enum class LoadBalancerPolicy { kLeastConnections, kRoundRobin };

// A pod on this node.
struct WorkloadInfo {
  std::string name;  // pod name
  std::string namespace_name;
  std::string uid;
  std::string service_account;
  common::IpAddress ip;
  std::string workload_label;  // owner name when known, else the pod name (metrics label)
  bool mesh_enabled = false;
  // Enrolled workloads: the identity whose SVID this agent holds for them.
  std::optional<common::identity::SpiffeId> identity;
  // The AuthorizationPolicies that select this pod, as indexes into
  // config().authorization_policies(): resolved once here, so no one looks them up by name
  // per connection.
  std::vector<int> authorization_policies;
};

// A ready endpoint of a service port: where the proxy connects.
struct EndpointInfo {
  common::SocketAddress address;  // endpoint IP : the port's target_port
  std::string pod_name;
  std::string namespace_name;
  std::string node;
  std::string workload_label;  // owner name when known, else the pod name
  bool local = false;          // runs on this node (the same-node fast path may apply)
  // Enrolled endpoints: their identity. Those on other nodes are reached through the tunnel
  // to their node's agent at node_ip, which presents this identity's SVID.
  std::optional<common::identity::SpiffeId> identity;
  std::optional<common::IpAddress> node_ip;  // set for enrolled endpoints on other nodes only

  bool viaTunnel() const { return node_ip.has_value(); }
};

// One port of one service; every VIP of the service maps to it.
struct ServiceTarget {
  std::string name;
  std::string namespace_name;
  std::string fqdn;  // <name>.<namespace>.svc.cluster.local
  uint16_t port = 0;
  uint16_t target_port = 0;
  LoadBalancerPolicy load_balancer = LoadBalancerPolicy::kLeastConnections;
  std::vector<EndpointInfo> endpoints;  // ready endpoints only, in config order
  bool has_local_endpoint = false;      // some endpoint runs on this node
};

class ConfigSnapshot {
 public:
  const api::v1alpha1::NodeConfig& config() const { return config_; }
  const std::string& version() const { return config_.version(); }
  // The config's trust domain ("cluster.local" when it names none).
  const std::string& trustDomain() const { return trust_domain_; }
  absl::Time loadedAt() const { return loaded_at_; }

  // The service port a connection to `vip` (VIP:port) is for, or nullptr.
  const ServiceTarget* findService(const common::SocketAddress& vip) const;
  // The local workload with pod IP `ip`, or nullptr.
  const WorkloadInfo* findWorkload(const common::IpAddress& ip) const;
  // The local workload with pod UID `uid`, or nullptr.
  const WorkloadInfo* findWorkloadByUid(absl::string_view uid) const;

  // In config order: workloads()[i] is config().workloads(i).
  std::span<const WorkloadInfo> workloads() const { return workloads_; }
  // Every captured VIP:port (TCP), for the BPF service map.
  std::span<const common::SocketAddress> serviceAddresses() const { return service_addresses_; }

 private:
  friend class SnapshotBuilder;
  ConfigSnapshot() = default;

  api::v1alpha1::NodeConfig config_;
  absl::Time loaded_at_;
  std::string trust_domain_;
  std::vector<WorkloadInfo> workloads_;
  std::vector<ServiceTarget> targets_;
  std::vector<common::SocketAddress> service_addresses_;
  absl::flat_hash_map<common::SocketAddress, size_t> target_by_vip_;
  absl::flat_hash_map<common::IpAddress, size_t> workload_by_ip_;
  absl::flat_hash_map<std::string, size_t> workload_by_uid_;
};

using ConfigSnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

// Validates `config` for node `node_name` and builds its snapshot. Pure: no I/O, the load
// time is passed in. Errors name the field path and the bad value, e.g.
// `services[2].ports[0].port: 70000 is not a port (1-65535)`.
absl::StatusOr<ConfigSnapshotPtr> buildSnapshot(api::v1alpha1::NodeConfig config,
                                                absl::string_view node_name, absl::Time loaded_at);

}  // namespace weft::agent::config
