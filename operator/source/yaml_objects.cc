#include "operator/source/yaml_objects.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/net/address.h"
#include "common/util/status_macros.h"
#include "operator/model/workload_name.h"
#include "operator/source/yaml_reader.h"

namespace weft::op {

namespace {

// --- names ---------------------------------------------------------------------------------

bool isDnsLabel(absl::string_view s, size_t max_size) {
  if (s.empty() || s.size() > max_size || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// RFC 1123 subdomain, what most object names (and node names) must be. It also keeps a
// node name safe to use as a file name: no "/", no "..".
bool isDnsSubdomain(absl::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (!isDnsLabel(label, 63)) {
      return false;
    }
  }
  return true;
}

// IANA service name: what a named port (container port name, targetPort) must be.
bool isPortName(absl::string_view s) {
  return isDnsLabel(s, 15) && s.find("--") == absl::string_view::npos &&
         std::any_of(s.begin(), s.end(), [](char c) { return absl::ascii_islower(c); });
}

absl::StatusOr<std::string> readName(const YamlValue& value, bool required) {
  ASSIGN_OR_RETURN(std::string name, value.string());
  if (name.empty() && required) {
    return value.error("required");
  }
  if (name.empty()) {
    return name;
  }
  if (!isDnsSubdomain(name)) {
    return value.error(absl::StrCat(
        "\"", absl::CEscape(name),
        "\" is not a valid name (lowercase letters, digits, '-' and '.', at most 253)"));
  }
  return name;
}

absl::StatusOr<std::string> readPortName(const YamlValue& value) {
  ASSIGN_OR_RETURN(std::string name, value.string());
  if (!name.empty() && !isPortName(name)) {
    return value.error(absl::StrCat("\"", absl::CEscape(name),
                                    "\" is not a valid port name (at most 15 lowercase letters, "
                                    "digits and '-', with a letter)"));
  }
  return name;
}

absl::StatusOr<std::string> readIp(const YamlValue& value) {
  ASSIGN_OR_RETURN(std::string ip, value.string());
  if (!common::IpAddress::Parse(ip).ok()) {
    return value.error(absl::StrCat("\"", absl::CEscape(ip), "\" is not an IP address"));
  }
  return ip;
}

absl::StatusOr<std::string> readProtocol(const YamlValue& value) {
  ASSIGN_OR_RETURN(std::string protocol, value.string());
  if (protocol.empty()) {
    return std::string("TCP");
  }
  if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
    return value.error(
        absl::StrCat("must be TCP, UDP or SCTP, got \"", absl::CEscape(protocol), "\""));
  }
  return protocol;
}

// --- metadata ------------------------------------------------------------------------------

struct Metadata {
  std::string name;
  std::string namespace_name;
  std::string uid;
  int64_t generation = 0;
  Labels labels;
  std::vector<OwnerReference> owners;
};

absl::StatusOr<std::vector<OwnerReference>> readOwners(const YamlValue& value) {
  std::vector<OwnerReference> owners;
  ASSIGN_OR_RETURN(const std::vector<YamlValue> items, value.list());
  for (const YamlValue& item : items) {
    ASSIGN_OR_RETURN(const YamlMap ref, item.map());
    OwnerReference owner;
    ASSIGN_OR_RETURN(owner.kind, ref.get("kind").string());
    ASSIGN_OR_RETURN(owner.name, ref.get("name").string());
    ASSIGN_OR_RETURN(owner.controller, ref.get("controller").boolean(false));
    owners.push_back(std::move(owner));
  }
  return owners;
}

absl::StatusOr<Metadata> readMetadata(const YamlMap& object, bool namespaced) {
  ASSIGN_OR_RETURN(const YamlMap meta, object.get("metadata").map());
  Metadata out;
  ASSIGN_OR_RETURN(out.name, readName(meta.get("name"), /*required=*/true));
  if (namespaced) {
    const YamlValue ns = meta.get("namespace");
    ASSIGN_OR_RETURN(out.namespace_name, readName(ns, /*required=*/false));
    if (out.namespace_name.empty()) {
      out.namespace_name = "default";  // as kubectl apply does
    } else if (!isDnsLabel(out.namespace_name, 63)) {
      return ns.error("must be a DNS label (no '.')");
    }
  }
  ASSIGN_OR_RETURN(out.uid, meta.get("uid").string());
  if (meta.get("generation").present()) {
    ASSIGN_OR_RETURN(out.generation, meta.get("generation").integer(0, INT64_MAX));
  }
  ASSIGN_OR_RETURN(out.labels, meta.get("labels").stringMap());
  ASSIGN_OR_RETURN(out.owners, readOwners(meta.get("ownerReferences")));
  return out;
}

// --- kinds ---------------------------------------------------------------------------------

absl::StatusOr<SourceObject> readNamespace(const YamlMap& object) {
  ASSIGN_OR_RETURN(Metadata meta, readMetadata(object, /*namespaced=*/false));
  if (!isDnsLabel(meta.name, 63)) {
    ASSIGN_OR_RETURN(const YamlMap fields, object.get("metadata").map());
    return fields.get("name").error("must be a DNS label (no '.')");
  }
  return Namespace{.name = std::move(meta.name), .labels = std::move(meta.labels)};
}

absl::StatusOr<std::vector<ContainerPort>> readContainerPorts(const YamlMap& spec) {
  std::vector<ContainerPort> out;
  ASSIGN_OR_RETURN(const std::vector<YamlValue> containers, spec.get("containers").list());
  for (const YamlValue& container : containers) {
    ASSIGN_OR_RETURN(const YamlMap c, container.map());
    ASSIGN_OR_RETURN(const std::vector<YamlValue> ports, c.get("ports").list());
    for (const YamlValue& port : ports) {
      ASSIGN_OR_RETURN(const YamlMap p, port.map());
      ContainerPort cp;
      ASSIGN_OR_RETURN(cp.name, readPortName(p.get("name")));
      ASSIGN_OR_RETURN(cp.container_port, p.get("containerPort").port());
      ASSIGN_OR_RETURN(cp.protocol, readProtocol(p.get("protocol")));
      out.push_back(std::move(cp));
    }
  }
  return out;
}

// status.podIPs when given (podIP must be its first entry, as the API server checks), else
// status.podIP.
absl::StatusOr<std::vector<std::string>> readPodIps(const YamlMap& status) {
  ASSIGN_OR_RETURN(const std::string pod_ip,
                   status.get("podIP").present() ? readIp(status.get("podIP")) : std::string());
  ASSIGN_OR_RETURN(const std::vector<YamlValue> items, status.get("podIPs").list());
  std::vector<std::string> ips;
  for (const YamlValue& item : items) {
    ASSIGN_OR_RETURN(const YamlMap entry, item.map());
    ASSIGN_OR_RETURN(ips.emplace_back(), readIp(entry.get("ip")));
  }
  if (ips.empty()) {
    if (!pod_ip.empty()) {
      ips.push_back(pod_ip);
    }
  } else if (ips.front() != pod_ip) {
    return status.get("podIPs").error(absl::StrCat("the first entry (", ips.front(),
                                                   ") must equal status.podIP (",
                                                   pod_ip.empty() ? "missing" : pod_ip, ")"));
  }
  return ips;
}

absl::StatusOr<bool> readPodReady(const YamlMap& status) {
  ASSIGN_OR_RETURN(const std::vector<YamlValue> conditions, status.get("conditions").list());
  for (const YamlValue& condition : conditions) {
    ASSIGN_OR_RETURN(const YamlMap c, condition.map());
    ASSIGN_OR_RETURN(const std::string type, c.get("type").string());
    if (type == "Ready") {
      ASSIGN_OR_RETURN(const std::string value, c.get("status").string());
      return value == "True";
    }
  }
  return false;  // no Ready condition yet: the kubelet has not reported the pod ready
}

absl::StatusOr<SourceObject> readPod(const YamlMap& object) {
  ASSIGN_OR_RETURN(Metadata meta, readMetadata(object, /*namespaced=*/true));
  if (meta.uid.empty()) {
    ASSIGN_OR_RETURN(const YamlMap fields, object.get("metadata").map());
    return fields.get("uid").error("required (the agent finds a pod's cgroup by it)");
  }
  ASSIGN_OR_RETURN(const YamlMap spec, object.get("spec").map());
  ASSIGN_OR_RETURN(const YamlMap status, object.get("status").map());
  Pod pod;
  ASSIGN_OR_RETURN(pod.node_name, readName(spec.get("nodeName"), /*required=*/false));
  ASSIGN_OR_RETURN(pod.service_account,
                   readName(spec.get("serviceAccountName"), /*required=*/false));
  if (pod.service_account.empty()) {
    pod.service_account = "default";
  }
  ASSIGN_OR_RETURN(pod.host_network, spec.get("hostNetwork").boolean(false));
  ASSIGN_OR_RETURN(pod.container_ports, readContainerPorts(spec));
  ASSIGN_OR_RETURN(pod.ips, readPodIps(status));
  ASSIGN_OR_RETURN(pod.host_ip,
                   status.get("hostIP").present() ? readIp(status.get("hostIP")) : std::string());
  ASSIGN_OR_RETURN(pod.phase, status.get("phase").string());
  ASSIGN_OR_RETURN(pod.ready, readPodReady(status));
  pod.workload_name = workloadNameOf(meta.name, meta.owners, meta.labels);
  pod.name = std::move(meta.name);
  pod.namespace_name = std::move(meta.namespace_name);
  pod.uid = std::move(meta.uid);
  pod.labels = std::move(meta.labels);
  return pod;
}

absl::StatusOr<TargetPort> readTargetPort(const YamlValue& value, uint16_t port) {
  if (!value.present()) {
    return TargetPort::Number(port);
  }
  if (value.isNumber()) {
    ASSIGN_OR_RETURN(const uint16_t number, value.port());
    return TargetPort::Number(number);
  }
  ASSIGN_OR_RETURN(std::string name, readPortName(value));
  return TargetPort::Named(std::move(name));
}

absl::StatusOr<ServicePort> readServicePort(const YamlValue& value) {
  ASSIGN_OR_RETURN(const YamlMap p, value.map());
  ServicePort port;
  ASSIGN_OR_RETURN(port.name, readPortName(p.get("name")));
  ASSIGN_OR_RETURN(port.port, p.get("port").port());
  ASSIGN_OR_RETURN(port.target_port, readTargetPort(p.get("targetPort"), port.port));
  ASSIGN_OR_RETURN(port.protocol, readProtocol(p.get("protocol")));
  ASSIGN_OR_RETURN(port.app_protocol, p.get("appProtocol").string());
  return port;
}

// Kubernetes' rules: with more than one port every port has a distinct name, and no two
// ports share a number and protocol.
absl::StatusOr<std::vector<ServicePort>> readServicePorts(const YamlValue& value) {
  ASSIGN_OR_RETURN(const std::vector<YamlValue> items, value.list());
  std::vector<ServicePort> ports;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::pair<uint16_t, std::string>> numbers;
  for (const YamlValue& item : items) {
    ASSIGN_OR_RETURN(ServicePort port, readServicePort(item));
    ASSIGN_OR_RETURN(const YamlMap fields, item.map());
    if (items.size() > 1 && port.name.empty()) {
      return fields.get("name").error("required when a service has more than one port");
    }
    if (!port.name.empty() && !names.insert(port.name).second) {
      return fields.get("name").error(absl::StrCat("\"", port.name, "\" is used by another port"));
    }
    if (!numbers.insert({port.port, port.protocol}).second) {
      return fields.get("port").error(
          absl::StrCat(port.port, "/", port.protocol, " is used by another port"));
    }
    ports.push_back(std::move(port));
  }
  return ports;
}

// spec.clusterIPs when given (clusterIP must be its first entry), else spec.clusterIP;
// "None" (headless) and absent give no VIP.
absl::StatusOr<std::vector<std::string>> readClusterIps(const YamlMap& spec) {
  ASSIGN_OR_RETURN(const std::string single, spec.get("clusterIP").string());
  ASSIGN_OR_RETURN(const std::vector<YamlValue> items, spec.get("clusterIPs").list());
  std::vector<std::string> ips;
  for (const YamlValue& item : items) {
    ASSIGN_OR_RETURN(const std::string ip, item.string());
    if (ip == "None") {
      continue;
    }
    ASSIGN_OR_RETURN(ips.emplace_back(), readIp(item));
  }
  if (!items.empty()) {
    ASSIGN_OR_RETURN(const std::string first, items.front().string());
    if (!single.empty() && single != first) {
      return spec.get("clusterIPs")
          .error(absl::StrCat("the first entry (", first, ") must equal spec.clusterIP (", single,
                              ")"));
    }
    return ips;
  }
  if (single.empty() || single == "None") {
    return ips;
  }
  ASSIGN_OR_RETURN(ips.emplace_back(), readIp(spec.get("clusterIP")));
  return ips;
}

absl::StatusOr<SourceObject> readService(const YamlMap& object) {
  ASSIGN_OR_RETURN(Metadata meta, readMetadata(object, /*namespaced=*/true));
  ASSIGN_OR_RETURN(const YamlMap spec, object.get("spec").map());
  Service service;
  ASSIGN_OR_RETURN(service.cluster_ips, readClusterIps(spec));
  ASSIGN_OR_RETURN(service.ports, readServicePorts(spec.get("ports")));
  ASSIGN_OR_RETURN(service.selector, spec.get("selector").stringMap());
  service.name = std::move(meta.name);
  service.namespace_name = std::move(meta.namespace_name);
  return service;
}

absl::StatusOr<SliceEndpoint> readSliceEndpoint(const YamlValue& value, bool ip_addresses) {
  ASSIGN_OR_RETURN(const YamlMap e, value.map());
  SliceEndpoint endpoint;
  ASSIGN_OR_RETURN(const std::vector<YamlValue> addresses, e.get("addresses").list());
  if (addresses.empty()) {
    return e.get("addresses").error("must hold at least one address");
  }
  for (const YamlValue& address : addresses) {
    ASSIGN_OR_RETURN(endpoint.addresses.emplace_back(),
                     ip_addresses ? readIp(address) : address.string());
  }
  ASSIGN_OR_RETURN(const YamlMap conditions, e.get("conditions").map());
  // Kubernetes: an unknown (absent) ready condition is to be read as ready.
  ASSIGN_OR_RETURN(endpoint.ready, conditions.get("ready").boolean(true));
  ASSIGN_OR_RETURN(endpoint.node_name, readName(e.get("nodeName"), /*required=*/false));
  ASSIGN_OR_RETURN(const YamlMap target, e.get("targetRef").map());
  ASSIGN_OR_RETURN(const std::string kind, target.get("kind").string());
  if (kind == "Pod") {
    ASSIGN_OR_RETURN(endpoint.pod_name, readName(target.get("name"), /*required=*/true));
    ASSIGN_OR_RETURN(endpoint.pod_namespace, readName(target.get("namespace"), /*required=*/false));
  }
  return endpoint;
}

absl::StatusOr<EndpointSlicePort> readSlicePort(const YamlValue& value) {
  ASSIGN_OR_RETURN(const YamlMap p, value.map());
  EndpointSlicePort port;
  ASSIGN_OR_RETURN(port.name, readPortName(p.get("name")));
  ASSIGN_OR_RETURN(port.port, p.get("port").port());
  ASSIGN_OR_RETURN(port.protocol, readProtocol(p.get("protocol")));
  ASSIGN_OR_RETURN(port.app_protocol, p.get("appProtocol").string());
  return port;
}

absl::StatusOr<SourceObject> readEndpointSlice(const YamlMap& object) {
  ASSIGN_OR_RETURN(Metadata meta, readMetadata(object, /*namespaced=*/true));
  EndpointSlice slice;
  ASSIGN_OR_RETURN(slice.address_type, object.get("addressType").string());
  if (slice.address_type != "IPv4" && slice.address_type != "IPv6" &&
      slice.address_type != "FQDN") {
    return object.get("addressType")
        .error(absl::StrCat("must be IPv4, IPv6 or FQDN, got \"", absl::CEscape(slice.address_type),
                            "\""));
  }
  ASSIGN_OR_RETURN(const std::vector<YamlValue> endpoints, object.get("endpoints").list());
  for (const YamlValue& endpoint : endpoints) {
    ASSIGN_OR_RETURN(slice.endpoints.emplace_back(),
                     readSliceEndpoint(endpoint, slice.address_type != "FQDN"));
  }
  ASSIGN_OR_RETURN(const std::vector<YamlValue> ports, object.get("ports").list());
  for (const YamlValue& port : ports) {
    ASSIGN_OR_RETURN(slice.ports.emplace_back(), readSlicePort(port));
  }
  if (auto it = meta.labels.find("kubernetes.io/service-name"); it != meta.labels.end()) {
    slice.service_name = it->second;
  }
  slice.name = std::move(meta.name);
  slice.namespace_name = std::move(meta.namespace_name);
  return slice;
}

absl::StatusOr<SourceObject> readCustomResource(const YamlMap& object, CustomResourceKind kind) {
  ASSIGN_OR_RETURN(Metadata meta, readMetadata(object, /*namespaced=*/true));
  CustomResource resource{.kind = kind,
                          .name = std::move(meta.name),
                          .namespace_name = std::move(meta.namespace_name),
                          .generation = meta.generation,
                          .spec_json = "{}"};
  const YamlValue spec = object.get("spec");
  if (spec.present()) {
    RETURN_IF_ERROR(spec.map().status());  // a spec is always a map
    ASSIGN_OR_RETURN(resource.spec_json, spec.json());
  }
  return resource;
}

// --- documents -----------------------------------------------------------------------------

struct KindEntry {
  const char* api_version;
  const char* kind;
  absl::StatusOr<SourceObject> (*read)(const YamlMap&);
};

constexpr KindEntry kKinds[] = {
    {"v1", "Namespace", readNamespace},
    {"v1", "Pod", readPod},
    {"v1", "Service", readService},
    {"discovery.k8s.io/v1", "EndpointSlice", readEndpointSlice},
    {"weft.io/v1alpha1", "TrafficPolicy",
     [](const YamlMap& o) { return readCustomResource(o, CustomResourceKind::kTrafficPolicy); }},
    {"weft.io/v1alpha1", "AuthorizationPolicy",
     [](const YamlMap& o) {
       return readCustomResource(o, CustomResourceKind::kAuthorizationPolicy);
     }},
    {"weft.io/v1alpha1", "PeerAuthentication",
     [](const YamlMap& o) {
       return readCustomResource(o, CustomResourceKind::kPeerAuthentication);
     }},
};

std::string supportedKinds() {
  std::vector<std::string> names;
  for (const KindEntry& entry : kKinds) {
    names.push_back(absl::StrCat(entry.kind, " (", entry.api_version, ")"));
  }
  return absl::StrJoin(names, ", ");
}

std::string stringOr(const YamlMap& map, absl::string_view key) {
  auto value = map.get(key).string();
  return value.ok() ? *value : "";
}

// "Service demo/backend": the document's kind and name as far as they can be read, so an
// error says which object it is about even when the object is malformed.
std::string describeObject(const YamlMap& object) {
  const std::string kind = stringOr(object, "kind");
  std::string out = kind.empty() ? "kind unknown" : kind;
  auto meta = object.get("metadata").map();
  if (!meta.ok()) {
    return out;
  }
  const std::string name = stringOr(*meta, "name");
  if (name.empty()) {
    return out;
  }
  std::string ns = stringOr(*meta, "namespace");
  if (ns.empty() && kind != "Namespace") {
    ns = "default";
  }
  return absl::StrCat(out, " ", ns.empty() ? "" : absl::StrCat(ns, "/"), name);
}

absl::StatusOr<SourceObject> readObject(const YamlMap& object) {
  ASSIGN_OR_RETURN(const std::string api_version, object.get("apiVersion").string());
  ASSIGN_OR_RETURN(const std::string kind, object.get("kind").string());
  if (kind.empty()) {
    return object.get("kind").error("required");
  }
  for (const KindEntry& entry : kKinds) {
    if (kind != entry.kind) {
      continue;
    }
    if (api_version != entry.api_version) {
      return object.get("apiVersion")
          .error(absl::StrCat("must be ", entry.api_version, " for a ", kind, ", got \"",
                              absl::CEscape(api_version), "\""));
    }
    return entry.read(object);
  }
  return object.get("kind").error(absl::StrCat(
      "\"", absl::CEscape(kind), "\" is not a kind weft reads; it reads ", supportedKinds()));
}

constexpr char kNotAnObject[] = "must be a map with apiVersion, kind and metadata";

absl::StatusOr<SourceObject> readDocument(const YAML::Node& document, size_t index,
                                          absl::string_view file) {
  const YamlValue root(document);
  auto object = root.map();
  if (!object.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": document ", index, ": ", kNotAnObject));
  }
  auto read = readObject(*object);
  if (!read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": document ", index, " (", describeObject(*object), "): ", read.status().message()));
  }
  return read;
}

absl::StatusOr<std::vector<SourceObject>> parseDocuments(const std::vector<YAML::Node>& documents,
                                                         absl::string_view file) {
  std::vector<SourceObject> objects;
  for (size_t i = 0; i < documents.size(); ++i) {
    if (!documents[i].IsDefined() || documents[i].IsNull()) {
      continue;  // "---" followed by nothing, or only comments
    }
    ASSIGN_OR_RETURN(objects.emplace_back(), readDocument(documents[i], i + 1, file));
  }
  return objects;
}

// yaml-cpp 0.7 can loop forever on some malformed input, producing empty documents
// without consuming any (found by fuzzing). Real input consumes bytes for every document
// and event, so a first pass that only counts events, stopping past a bound proportional
// to the size, keeps LoadAll away from such input.
class BoundedEvents : public YAML::EventHandler {
 public:
  explicit BoundedEvents(size_t text_size) : budget_(4 * text_size + 64) {}

  void OnDocumentStart(const YAML::Mark&) override { tick(); }
  void OnDocumentEnd() override { tick(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { tick(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { tick(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    tick();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    tick();
  }
  void OnSequenceEnd() override { tick(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    tick();
  }
  void OnMapEnd() override { tick(); }

 private:
  void tick() {
    if (budget_-- == 0) {
      throw std::length_error("the YAML parser stopped making progress");
    }
  }
  size_t budget_;
};

void checkParserProgress(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  BoundedEvents events(text.size());
  while (parser.HandleNextDocument(events)) {
  }
}

// yaml-cpp reports errors by throwing; `fn`'s exceptions become a status naming `file`.
template <typename Fn>
auto withYamlErrors(absl::string_view file, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<SourceObject> readObjectNode(const YAML::Node& node) {
  // yaml-cpp reports errors by throwing; nothing of it leaves this function.
  try {
    auto object = YamlValue(node).map();
    if (!object.ok() || !node.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat("object ", kNotAnObject));
    }
    auto read = readObject(*object);
    if (!read.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(describeObject(*object), ": ", read.status().message()));
    }
    return read;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

absl::StatusOr<std::vector<YAML::Node>> loadYamlDocuments(absl::string_view text,
                                                          absl::string_view file) {
  if (text.size() > kMaxYamlFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": larger than ", kMaxYamlFileBytes / (1024 * 1024), " MiB"));
  }
  return withYamlErrors(file, [&]() -> absl::StatusOr<std::vector<YAML::Node>> {
    const std::string copy(text);
    checkParserProgress(copy);
    return YAML::LoadAll(copy);
  });
}

absl::StatusOr<std::vector<SourceObject>> parseYamlObjects(absl::string_view text,
                                                           absl::string_view file) {
  ASSIGN_OR_RETURN(const std::vector<YAML::Node> documents, loadYamlDocuments(text, file));
  return withYamlErrors(file, [&] { return parseDocuments(documents, file); });
}

}  // namespace weft::op
