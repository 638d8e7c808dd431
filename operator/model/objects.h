#pragma once

// The Kubernetes objects weft reads, reduced to the fields it uses. Both sources (the
// Kubernetes API and a directory of YAML) produce these; translation consumes them.
// Plain values: no behaviour beyond comparison, so snapshots can be compared for change.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"

namespace weft::op {

using Labels = absl::btree_map<std::string, std::string>;

// Namespaced objects are keyed (namespace, name); cluster-scoped ones have an empty
// namespace. Ordering is what makes every iteration over a snapshot deterministic.
struct ObjectKey {
  std::string namespace_name;
  std::string name;

  std::string toString() const {
    return namespace_name.empty() ? name : namespace_name + "/" + name;
  }
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
};

struct Namespace {
  std::string name;
  Labels labels;
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

struct ContainerPort {
  std::string name;  // may be empty; a Service's named targetPort refers to it
  uint16_t container_port = 0;
  std::string protocol = "TCP";
  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
};

struct Pod {
  std::string name;
  std::string namespace_name;
  std::string uid;
  Labels labels;
  std::string node_name;  // empty: not scheduled
  std::string service_account = "default";
  bool host_network = false;                   // shares the node's network namespace
  std::vector<std::string> ips;                // status.podIPs (podIP first); may be empty
  std::string host_ip;                         // status.hostIP: the node's address; may be empty
  std::string phase;                           // status.phase, e.g. "Running"
  bool ready = false;                          // condition Ready is "True"
  std::string workload_name;                   // owner (e.g. Deployment) or the pod name
  std::vector<ContainerPort> container_ports;  // of every container, in spec order

  ObjectKey key() const { return {namespace_name, name}; }
  friend bool operator==(const Pod&, const Pod&) = default;
};

// A Service's targetPort: a number, or the name of a container port.
struct TargetPort {
  uint16_t number = 0;  // 0 when named
  std::string name;     // empty when numeric

  static TargetPort Number(uint16_t number) { return {number, ""}; }
  static TargetPort Named(std::string name) { return {0, std::move(name)}; }
  friend bool operator==(const TargetPort&, const TargetPort&) = default;
};

struct ServicePort {
  std::string name;
  uint16_t port = 0;
  TargetPort target_port;  // defaults to `port`
  std::string protocol = "TCP";
  std::string app_protocol;
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct Service {
  std::string name;
  std::string namespace_name;
  std::vector<std::string> cluster_ips;  // empty for headless ("None") and ExternalName
  std::vector<ServicePort> ports;
  // Pods with all these labels back the service; empty: endpoints are managed elsewhere
  // (EndpointSlices written by hand or by another controller).
  Labels selector;

  ObjectKey key() const { return {namespace_name, name}; }
  friend bool operator==(const Service&, const Service&) = default;
};

struct EndpointSlicePort {
  std::string name;  // matches a ServicePort's name
  uint16_t port = 0;
  std::string protocol = "TCP";
  std::string app_protocol;
  friend bool operator==(const EndpointSlicePort&, const EndpointSlicePort&) = default;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;  // consumers may use only the first (Kubernetes API)
  bool ready = true;                   // conditions.ready; absent means ready
  std::string node_name;
  std::string pod_name;  // targetRef of kind Pod, else empty
  std::string pod_namespace;
  friend bool operator==(const SliceEndpoint&, const SliceEndpoint&) = default;
};

struct EndpointSlice {
  std::string name;
  std::string namespace_name;
  std::string service_name;  // label kubernetes.io/service-name; empty: belongs to none
  std::string address_type;  // IPv4, IPv6 or FQDN
  std::vector<SliceEndpoint> endpoints;
  std::vector<EndpointSlicePort> ports;

  ObjectKey key() const { return {namespace_name, name}; }
  friend bool operator==(const EndpointSlice&, const EndpointSlice&) = default;
};

// The weft CRDs (weft.io/v1alpha1). Kept as the user wrote them; each kind's translation
// validates its spec (later issues), so a bad spec can get a status condition instead of
// failing the whole file.
enum class CustomResourceKind { kTrafficPolicy, kAuthorizationPolicy, kPeerAuthentication };

struct CustomResource {
  CustomResourceKind kind = CustomResourceKind::kTrafficPolicy;
  std::string name;
  std::string namespace_name;
  int64_t generation = 0;
  std::string spec_json;  // the spec as compact JSON ("{}" when absent)

  ObjectKey key() const { return {namespace_name, name}; }
  friend bool operator==(const CustomResource&, const CustomResource&) = default;
};

const char* kindName(CustomResourceKind kind);

using SourceObject = std::variant<Namespace, Pod, Service, EndpointSlice, CustomResource>;

// "Service", "TrafficPolicy", ...: the object's kind as written in YAML.
std::string kindOf(const SourceObject& object);
// The object's key; a Namespace's key has an empty namespace.
ObjectKey keyOf(const SourceObject& object);

}  // namespace weft::op
