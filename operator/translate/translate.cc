#include "operator/translate/translate.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/config/config_resources.h"
#include "common/net/address.h"
#include "operator/translate/service_translation.h"

namespace weft::op {

using api::v1alpha1::NodeConfig;

namespace {

// Addresses were validated when the objects were read; this only compares them the way the
// agent does (parsed, so "fd00::1" and "fd00:0::1" are the same address).
common::IpAddress ipOf(const std::string& text) {
  return common::IpAddress::Parse(text).value_or(common::IpAddress());
}

bool meshEnabled(const SourceSnapshot& snapshot, const Pod& pod) {
  const Namespace* ns = snapshot.findNamespace(pod.namespace_name);
  if (ns == nullptr) {
    return false;
  }
  auto enrolled = ns->labels.find(kMeshLabel);
  auto opt_out = pod.labels.find(kMeshLabel);
  return enrolled != ns->labels.end() && enrolled->second == "enabled" &&
         (opt_out == pod.labels.end() || opt_out->second != "disabled");
}

api::v1alpha1::Workload workloadOf(const SourceSnapshot& snapshot, const Pod& pod) {
  api::v1alpha1::Workload w;
  w.set_name(pod.name);
  w.set_namespace_(pod.namespace_name);
  w.set_uid(pod.uid);
  w.set_service_account(pod.service_account);
  w.set_ip(pod.ips.front());
  w.set_workload_name(pod.workload_name);
  w.set_mesh_enabled(meshEnabled(snapshot, pod));
  return w;
}

// Pods by node. A pod's uid and IP must be unique on its node (the agent finds pods by
// them and rejects a config that repeats one); a repeat is left out with a warning.
void addWorkloads(const SourceSnapshot& snapshot, Translation& out) {
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, std::string>> uids;
  absl::flat_hash_map<std::string, absl::flat_hash_map<common::IpAddress, std::string>> ips;
  for (const auto& [key, pod] : snapshot.pods()) {
    if (pod.node_name.empty()) {
      continue;  // not scheduled yet
    }
    NodeConfig& config = out.configs[pod.node_name];
    // A host-network pod has the node's address and no network of its own to capture
    // (several of them share one IP), so it is no workload; it can still be an endpoint.
    if (!isRunning(pod) || pod.host_network) {
      continue;
    }
    if (auto [it, fresh] = uids[pod.node_name].try_emplace(pod.uid, key.toString()); !fresh) {
      out.warnings.push_back(absl::StrCat("Pod ", key.toString(), ": left out, its uid ", pod.uid,
                                          " is also Pod ", it->second, "'s"));
      continue;
    }
    if (auto [it, fresh] = ips[pod.node_name].try_emplace(ipOf(pod.ips.front()), key.toString());
        !fresh) {
      out.warnings.push_back(absl::StrCat("Pod ", key.toString(), ": left out, its IP ",
                                          pod.ips.front(), " is also Pod ", it->second, "'s"));
      continue;
    }
    *config.add_workloads() = workloadOf(snapshot, pod);
  }
}

using VipPort = std::pair<common::IpAddress, uint32_t>;

// The agent refuses a config in which a VIP:port (TCP) is claimed twice, by two services or
// by one service listing the same address twice; the service that comes later in
// (namespace, name) order is left out.
std::optional<std::string> claimVips(const Service& service,
                                     absl::flat_hash_map<VipPort, std::string>& owners) {
  const std::string name = service.key().toString();
  absl::flat_hash_map<VipPort, std::string> claimed;
  for (const std::string& vip : service.cluster_ips) {
    for (const ServicePort& port : service.ports) {
      if (port.protocol != "TCP") {
        continue;
      }
      const VipPort key{ipOf(vip), port.port};
      auto it = owners.find(key);
      if (it != owners.end() || claimed.contains(key)) {
        const std::string& owner = it != owners.end() ? it->second : name;
        return absl::StrCat("Service ", name, ": left out, ", vip, ":", port.port,
                            " is already Service ", owner, "'s");
      }
      claimed.emplace(key, name);
    }
  }
  owners.merge(claimed);
  return std::nullopt;
}

// Every service with a VIP, translated once; nodes with an enrolled workload share them.
std::vector<api::v1alpha1::Service> translateServices(const SourceSnapshot& snapshot,
                                                      std::vector<std::string>& warnings) {
  std::vector<api::v1alpha1::Service> services;
  absl::flat_hash_map<VipPort, std::string> owners;
  for (const auto& [key, service] : snapshot.services()) {
    if (service.cluster_ips.empty()) {
      continue;  // headless or ExternalName: nothing to capture
    }
    if (auto conflict = claimVips(service, owners)) {
      warnings.push_back(*conflict);
      continue;
    }
    services.push_back(translateService(snapshot, service, warnings));
  }
  return services;
}

bool hasEnrolledWorkload(const NodeConfig& config) {
  return std::any_of(config.workloads().begin(), config.workloads().end(),
                     [](const api::v1alpha1::Workload& w) { return w.mesh_enabled(); });
}

}  // namespace

Translation translate(const SourceSnapshot& snapshot) {
  Translation out;
  addWorkloads(snapshot, out);
  const std::vector<api::v1alpha1::Service> services = translateServices(snapshot, out.warnings);
  for (auto& [node, config] : out.configs) {
    config.set_node_name(node);
    if (hasEnrolledWorkload(config)) {
      for (const api::v1alpha1::Service& service : services) {
        *config.add_services() = service;
      }
    }
    config.set_version(configVersion(config));
  }
  return out;
}

std::string configVersion(const NodeConfig& config) {
  NodeConfig unversioned = config;
  unversioned.clear_version();
  return common::config::contentVersion(unversioned);
}

}  // namespace weft::op
