#include "operator/translate/service_translation.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/address.h"

namespace weft::op {

namespace {

// An endpoint and where it came from, for resolving target ports.
struct Backend {
  api::v1alpha1::Endpoint endpoint;
  const Pod* pod = nullptr;  // the endpoint's pod, when the snapshot has it
};

// The objects of `namespace_name` in a map sorted by (namespace, name).
template <typename T>
auto inNamespace(const SourceSnapshot::ByKey<T>& objects, const std::string& namespace_name) {
  struct Range {
    typename SourceSnapshot::ByKey<T>::const_iterator b, e;
    auto begin() const { return b; }
    auto end() const { return e; }
  };
  return Range{objects.lower_bound({namespace_name, ""}),
               objects.lower_bound({namespace_name + '\0', ""})};
}

bool selects(const Labels& selector, const Labels& labels) {
  return std::all_of(selector.begin(), selector.end(), [&labels](const auto& entry) {
    auto it = labels.find(entry.first);
    return it != labels.end() && it->second == entry.second;
  });
}

// What an endpoint's pod tells about it: whose identity it has, and whether its node's agent
// must be reached through the tunnel.
void describePodEndpoint(const SourceSnapshot& snapshot, const Pod& pod,
                         api::v1alpha1::Endpoint& e) {
  e.set_service_account(pod.service_account);
  e.set_workload_name(pod.workload_name);
  e.set_node_ip(pod.host_ip);
  e.set_mesh_enabled(meshEnabled(snapshot, pod));
}

api::v1alpha1::Endpoint endpointOf(const SourceSnapshot& snapshot, const Pod& pod) {
  api::v1alpha1::Endpoint e;
  e.set_ip(pod.ips.front());
  e.set_node(pod.node_name);
  e.set_workload(pod.name);
  e.set_namespace_(pod.namespace_name);
  e.set_ready(pod.ready);
  describePodEndpoint(snapshot, pod, e);
  return e;
}

std::vector<const EndpointSlice*> slicesOf(const SourceSnapshot& snapshot, const Service& service) {
  std::vector<const EndpointSlice*> slices;
  for (const auto& [key, slice] : inNamespace(snapshot.endpointSlices(), service.namespace_name)) {
    if (slice.service_name == service.name && slice.address_type != "FQDN") {
      slices.push_back(&slice);
    }
  }
  return slices;
}

std::vector<Backend> backendsFromSlices(const SourceSnapshot& snapshot,
                                        const std::vector<const EndpointSlice*>& slices) {
  std::vector<Backend> backends;
  for (const EndpointSlice* slice : slices) {
    for (const SliceEndpoint& se : slice->endpoints) {
      Backend b;
      b.endpoint.set_ip(se.addresses.front());
      b.endpoint.set_node(se.node_name);
      b.endpoint.set_ready(se.ready);
      if (!se.pod_name.empty()) {
        const std::string ns = se.pod_namespace.empty() ? slice->namespace_name : se.pod_namespace;
        b.endpoint.set_workload(se.pod_name);
        b.endpoint.set_namespace_(ns);
        b.pod = snapshot.findPod({ns, se.pod_name});
      }
      if (b.pod != nullptr) {
        describePodEndpoint(snapshot, *b.pod, b.endpoint);
      }
      backends.push_back(std::move(b));
    }
  }
  return backends;
}

std::vector<Backend> backendsFromSelector(const SourceSnapshot& snapshot, const Service& service) {
  std::vector<Backend> backends;
  if (service.selector.empty()) {
    return backends;  // Kubernetes manages no endpoints for a service without a selector
  }
  for (const auto& [key, pod] : inNamespace(snapshot.pods(), service.namespace_name)) {
    if (isRunning(pod) && selects(service.selector, pod.labels)) {
      backends.push_back(Backend{endpointOf(snapshot, pod), &pod});
    }
  }
  return backends;
}

// Sorted by (pod, IP) however the sources listed them; an IP listed twice (an endpoint in
// two slices while they are rebalanced) counts once.
void sortAndDedupe(std::vector<Backend>& backends) {
  std::stable_sort(backends.begin(), backends.end(), [](const Backend& a, const Backend& b) {
    return std::tie(a.endpoint.workload(), a.endpoint.ip()) <
           std::tie(b.endpoint.workload(), b.endpoint.ip());
  });
  absl::flat_hash_set<common::IpAddress> seen;
  std::erase_if(backends, [&seen](const Backend& b) {
    return !seen.insert(common::IpAddress::Parse(b.endpoint.ip()).value_or(common::IpAddress()))
                .second;
  });
}

std::string portLabel(const Service& service, const ServicePort& port) {
  return absl::StrCat("Service ", service.key().toString(), " port ",
                      port.name.empty() ? absl::StrCat(port.port) : port.name);
}

// EndpointSlices carry each service port's resolved number, by the service port's name.
std::optional<uint32_t> targetFromSlices(const Service& service, const ServicePort& port,
                                         const std::vector<const EndpointSlice*>& slices,
                                         std::vector<std::string>& warnings) {
  std::vector<uint32_t> numbers;
  for (const EndpointSlice* slice : slices) {
    for (const EndpointSlicePort& sp : slice->ports) {
      if (sp.name == port.name && sp.protocol == port.protocol &&
          std::find(numbers.begin(), numbers.end(), sp.port) == numbers.end()) {
        numbers.push_back(sp.port);
      }
    }
  }
  if (numbers.empty()) {
    if (port.target_port.number != 0) {
      return port.target_port.number;
    }
    warnings.push_back(absl::StrCat(portLabel(service, port), ": left out, no EndpointSlice has ",
                                    "a port named \"", port.name, "\""));
    return std::nullopt;
  }
  if (numbers.size() > 1) {
    warnings.push_back(absl::StrCat(
        portLabel(service, port), ": EndpointSlices disagree on the target port (",
        absl::StrJoin(numbers, ", "), "); using ", numbers.front(), " for every endpoint"));
  }
  return numbers.front();
}

std::optional<uint16_t> containerPort(const Pod& pod, const std::string& name,
                                      const std::string& protocol) {
  for (const ContainerPort& cp : pod.container_ports) {
    if (cp.name == name && cp.protocol == protocol) {
      return cp.container_port;
    }
  }
  return std::nullopt;
}

// A named targetPort is each endpoint pod's container port of that name. NodeConfig has
// one target port per service port, so pods must agree; the first pod's number is used.
std::optional<uint32_t> targetFromPods(const Service& service, const ServicePort& port,
                                       const std::vector<Backend>& backends,
                                       std::vector<std::string>& warnings) {
  if (port.target_port.number != 0) {
    return port.target_port.number;
  }
  std::optional<uint32_t> chosen;
  std::string chosen_from;
  std::vector<std::string> disagreeing;
  for (const Backend& b : backends) {
    const auto number =
        b.pod ? containerPort(*b.pod, port.target_port.name, port.protocol) : std::nullopt;
    if (!chosen && number) {
      chosen = *number;
      chosen_from = b.endpoint.workload();
    } else if (!number || *number != *chosen) {
      disagreeing.push_back(b.endpoint.workload());
    }
  }
  const std::string quoted = absl::StrCat("\"", port.target_port.name, "\"");
  if (!chosen) {
    warnings.push_back(absl::StrCat(portLabel(service, port), ": left out, no endpoint pod has ",
                                    "a container port named ", quoted));
  } else if (!disagreeing.empty()) {
    warnings.push_back(absl::StrCat(portLabel(service, port), ": container port ", quoted, " is ",
                                    *chosen, " on ", chosen_from, " but not on ",
                                    absl::StrJoin(disagreeing, ", "), "; using ", *chosen,
                                    " for every endpoint (one target port per service port)"));
  }
  return chosen;
}

}  // namespace

bool isRunning(const Pod& pod) {
  return !pod.ips.empty() && pod.phase != "Succeeded" && pod.phase != "Failed";
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

api::v1alpha1::Service translateService(const SourceSnapshot& snapshot, const Service& service,
                                        std::vector<std::string>& warnings) {
  const std::vector<const EndpointSlice*> slices = slicesOf(snapshot, service);
  std::vector<Backend> backends = slices.empty() ? backendsFromSelector(snapshot, service)
                                                 : backendsFromSlices(snapshot, slices);
  sortAndDedupe(backends);

  api::v1alpha1::Service out;
  out.set_name(service.name);
  out.set_namespace_(service.namespace_name);
  for (const std::string& vip : service.cluster_ips) {
    out.add_vips(vip);
  }
  for (const ServicePort& port : service.ports) {
    const std::optional<uint32_t> target = slices.empty()
                                               ? targetFromPods(service, port, backends, warnings)
                                               : targetFromSlices(service, port, slices, warnings);
    if (!target) {
      continue;
    }
    api::v1alpha1::ServicePort* p = out.add_ports();
    p->set_name(port.name);
    p->set_port(port.port);
    p->set_target_port(*target);
    p->set_protocol(port.protocol);
    p->set_app_protocol(port.app_protocol);
  }
  for (Backend& b : backends) {
    *out.add_endpoints() = std::move(b.endpoint);
  }
  return out;
}

}  // namespace weft::op
