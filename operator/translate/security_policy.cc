#include "operator/translate/security_policy.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/identity/spiffe_id.h"
#include "common/util/status_macros.h"
#include "operator/model/source_snapshot.h"

namespace weft::op {
namespace {

using Json = nlohmann::json;
namespace api = ::weft::api::v1alpha1;

// Errors carry the path of the field, e.g. "spec.rules[0].from[1].source.principals[0]".
absl::Status fieldError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Fields the CRD defines but weft does not implement: refused with a clear message rather
// than silently ignored, so a policy never means less than its author thinks.
absl::Status checkKnownFields(const Json& object, const std::string& path,
                              std::initializer_list<absl::string_view> known,
                              std::initializer_list<absl::string_view> unsupported = {}) {
  if (!object.is_object()) {
    return fieldError(path, "must be an object");
  }
  for (const auto& [key, value] : object.items()) {
    const auto is = [&key](absl::string_view k) { return k == key; };
    if (std::any_of(unsupported.begin(), unsupported.end(), is)) {
      return fieldError(absl::StrCat(path, ".", key), "is not supported by weft yet");
    }
    if (std::none_of(known.begin(), known.end(), is)) {
      return fieldError(absl::StrCat(path, ".", key),
                        absl::StrCat("unknown field (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> stringList(const Json& object, const char* key,
                                                    const std::string& path) {
  std::vector<std::string> out;
  if (!object.contains(key) || object[key].is_null()) {
    return out;
  }
  const std::string field = absl::StrCat(path, ".", key);
  if (!object[key].is_array()) {
    return fieldError(field, "must be a list of strings");
  }
  for (size_t i = 0; i < object[key].size(); ++i) {
    const Json& item = object[key][i];
    if (!item.is_string() || item.get<std::string>().empty()) {
      return fieldError(absl::StrCat(field, "[", i, "]"), "must be a non-empty string");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Istio patterns: exact, "*", "prefix*" or "*suffix" - one wildcard, at an end.
absl::Status checkPattern(const std::string& value, const std::string& path) {
  const size_t stars = std::count(value.begin(), value.end(), '*');
  if (stars == 0 || value == "*") {
    return absl::OkStatus();
  }
  if (stars == 1 && (value.front() == '*' || value.back() == '*')) {
    return absl::OkStatus();
  }
  return fieldError(path, absl::StrCat("'", value,
                                       "': a wildcard '*' may appear once, at the start or the "
                                       "end"));
}

// A principal without wildcard must be a valid identity: a typo would otherwise silently
// never match.
absl::Status checkPrincipal(const std::string& value, const std::string& path) {
  if (auto status = checkPattern(value, path); !status.ok()) {
    return status;
  }
  if (absl::StrContains(value, '*')) {
    return absl::OkStatus();
  }
  absl::string_view bare = value;
  absl::ConsumePrefix(&bare, "spiffe://");
  auto id = common::identity::SpiffeId::parse(absl::StrCat("spiffe://", bare));
  if (!id.ok()) {
    return fieldError(path, absl::StrCat("'", value,
                                         "' is not <trust-domain>/ns/<namespace>/sa/<account>: ",
                                         id.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint32_t>> portList(const Json& object, const char* key,
                                               const std::string& path) {
  std::vector<uint32_t> out;
  if (!object.contains(key) || object[key].is_null()) {
    return out;
  }
  const std::string field = absl::StrCat(path, ".", key);
  if (!object[key].is_array()) {
    return fieldError(field, "must be a list of ports");
  }
  for (size_t i = 0; i < object[key].size(); ++i) {
    const Json& item = object[key][i];
    uint32_t port = 0;
    const bool parsed = item.is_number_unsigned()
                            ? (port = item.get<uint32_t>(), true)
                            : item.is_string() && absl::SimpleAtoi(item.get<std::string>(), &port);
    if (!parsed || port == 0 || port > 65535) {
      return fieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat(item.dump(), " is not a port (1-65535)"));
    }
    out.push_back(port);
  }
  return out;
}

template <typename Repeated>
void assign(Repeated* field, const std::vector<typename Repeated::value_type>& values) {
  field->Assign(values.begin(), values.end());
}

absl::StatusOr<api::AuthorizationSource> parseSource(const Json& json, const std::string& path) {
  RETURN_IF_ERROR(checkKnownFields(
      json, path, {"principals", "notPrincipals", "namespaces", "notNamespaces"},
      {"requestPrincipals", "notRequestPrincipals", "ipBlocks", "notIpBlocks", "remoteIpBlocks",
       "notRemoteIpBlocks"}));
  api::AuthorizationSource source;
  ASSIGN_OR_RETURN(auto principals, stringList(json, "principals", path));
  ASSIGN_OR_RETURN(auto not_principals, stringList(json, "notPrincipals", path));
  ASSIGN_OR_RETURN(auto namespaces, stringList(json, "namespaces", path));
  ASSIGN_OR_RETURN(auto not_namespaces, stringList(json, "notNamespaces", path));
  for (size_t i = 0; i < principals.size(); ++i) {
    RETURN_IF_ERROR(checkPrincipal(principals[i], absl::StrCat(path, ".principals[", i, "]")));
  }
  for (size_t i = 0; i < not_principals.size(); ++i) {
    RETURN_IF_ERROR(
        checkPrincipal(not_principals[i], absl::StrCat(path, ".notPrincipals[", i, "]")));
  }
  for (size_t i = 0; i < namespaces.size(); ++i) {
    RETURN_IF_ERROR(checkPattern(namespaces[i], absl::StrCat(path, ".namespaces[", i, "]")));
  }
  for (size_t i = 0; i < not_namespaces.size(); ++i) {
    RETURN_IF_ERROR(
        checkPattern(not_namespaces[i], absl::StrCat(path, ".notNamespaces[", i, "]")));
  }
  assign(source.mutable_principals(), principals);
  assign(source.mutable_not_principals(), not_principals);
  assign(source.mutable_namespaces(), namespaces);
  assign(source.mutable_not_namespaces(), not_namespaces);
  return source;
}

absl::StatusOr<api::AuthorizationOperation> parseOperation(const Json& json,
                                                           const std::string& path) {
  RETURN_IF_ERROR(checkKnownFields(json, path,
                                        {"ports", "notPorts", "methods", "notMethods", "paths",
                                         "notPaths", "hosts", "notHosts"}));
  api::AuthorizationOperation operation;
  ASSIGN_OR_RETURN(auto ports, portList(json, "ports", path));
  ASSIGN_OR_RETURN(auto not_ports, portList(json, "notPorts", path));
  assign(operation.mutable_ports(), ports);
  assign(operation.mutable_not_ports(), not_ports);
  const std::pair<const char*, google::protobuf::RepeatedPtrField<std::string>*> l7[] = {
      {"methods", operation.mutable_methods()}, {"notMethods", operation.mutable_not_methods()},
      {"paths", operation.mutable_paths()},     {"notPaths", operation.mutable_not_paths()},
      {"hosts", operation.mutable_hosts()},     {"notHosts", operation.mutable_not_hosts()},
  };
  for (const auto& [key, field] : l7) {
    ASSIGN_OR_RETURN(auto values, stringList(json, key, path));
    for (size_t i = 0; i < values.size(); ++i) {
      RETURN_IF_ERROR(checkPattern(values[i], absl::StrCat(path, ".", key, "[", i, "]")));
    }
    assign(field, values);
  }
  return operation;
}

absl::StatusOr<api::AuthorizationCondition> parseCondition(const Json& json,
                                                           const std::string& path) {
  RETURN_IF_ERROR(checkKnownFields(json, path, {"key", "values", "notValues"}));
  if (!json.contains("key") || !json["key"].is_string() || json["key"].get<std::string>().empty()) {
    return fieldError(path + ".key", "is required (e.g. request.headers[x-user])");
  }
  api::AuthorizationCondition condition;
  condition.set_key(json["key"].get<std::string>());
  ASSIGN_OR_RETURN(auto values, stringList(json, "values", path));
  ASSIGN_OR_RETURN(auto not_values, stringList(json, "notValues", path));
  if (values.empty() && not_values.empty()) {
    return fieldError(path, "needs values or notValues");
  }
  assign(condition.mutable_values(), values);
  assign(condition.mutable_not_values(), not_values);
  return condition;
}

// Walks `json[key]`, a list of objects each holding `wrapper` (e.g. from[].source), or the
// items themselves when wrapper is null (when[]).
template <typename Parse>
absl::Status forEachItem(const Json& json, const char* key, const char* wrapper,
                         const std::string& path, Parse parse) {
  if (!json.contains(key) || json[key].is_null()) {
    return absl::OkStatus();
  }
  const std::string field = absl::StrCat(path, ".", key);
  if (!json[key].is_array()) {
    return fieldError(field, "must be a list");
  }
  for (size_t i = 0; i < json[key].size(); ++i) {
    const std::string item_path = absl::StrCat(field, "[", i, "]");
    const Json& item = json[key][i];
    if (wrapper == nullptr) {
      RETURN_IF_ERROR(parse(item, item_path));
      continue;
    }
    RETURN_IF_ERROR(checkKnownFields(item, item_path, {wrapper}));
    if (!item.contains(wrapper)) {
      return fieldError(item_path, absl::StrCat("needs '", wrapper, "'"));
    }
    RETURN_IF_ERROR(parse(item[wrapper], absl::StrCat(item_path, ".", wrapper)));
  }
  return absl::OkStatus();
}

absl::StatusOr<api::AuthorizationRule> parseRule(const Json& json, const std::string& path) {
  RETURN_IF_ERROR(checkKnownFields(json, path, {"from", "to", "when"}));
  api::AuthorizationRule rule;
  RETURN_IF_ERROR(forEachItem(json, "from", "source", path, [&](const Json& j, auto p) {
    auto source = parseSource(j, p);
    if (source.ok()) *rule.add_from() = *std::move(source);
    return source.status();
  }));
  RETURN_IF_ERROR(forEachItem(json, "to", "operation", path, [&](const Json& j, auto p) {
    auto operation = parseOperation(j, p);
    if (operation.ok()) *rule.add_to() = *std::move(operation);
    return operation.status();
  }));
  RETURN_IF_ERROR(forEachItem(json, "when", nullptr, path, [&](const Json& j, auto p) {
    auto condition = parseCondition(j, p);
    if (condition.ok()) *rule.add_when() = *std::move(condition);
    return condition.status();
  }));
  return rule;
}

absl::StatusOr<PolicySelector> parseSelector(const Json& spec, const CustomResource& resource) {
  PolicySelector selector{.namespace_name = resource.namespace_name};
  if (!spec.contains("selector") || spec["selector"].is_null()) {
    return selector;
  }
  const Json& json = spec["selector"];
  RETURN_IF_ERROR(checkKnownFields(json, "spec.selector", {"matchLabels"}));
  Labels labels;
  if (json.contains("matchLabels") && !json["matchLabels"].is_null()) {
    if (!json["matchLabels"].is_object()) {
      return fieldError("spec.selector.matchLabels", "must be a map of label to value");
    }
    for (const auto& [key, value] : json["matchLabels"].items()) {
      if (!value.is_string()) {
        return fieldError(absl::StrCat("spec.selector.matchLabels.", key), "must be a string");
      }
      labels[key] = value.get<std::string>();
    }
  }
  selector.match_labels = std::move(labels);
  return selector;
}

absl::StatusOr<Json> parseSpec(const CustomResource& resource) {
  Json spec = Json::parse(resource.spec_json, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object()) {
    return fieldError("spec", "must be an object");
  }
  return spec;
}

absl::StatusOr<api::MtlsMode> parseMode(const Json& json, const std::string& path) {
  RETURN_IF_ERROR(checkKnownFields(json, path, {"mode"}));
  if (!json.contains("mode")) {
    return api::MTLS_MODE_UNSPECIFIED;
  }
  const std::string mode = json["mode"].is_string() ? json["mode"].get<std::string>() : "";
  if (mode == "UNSET") return api::MTLS_MODE_UNSPECIFIED;
  if (mode == "STRICT") return api::STRICT;
  if (mode == "PERMISSIVE") return api::PERMISSIVE;
  if (mode == "DISABLE") return api::DISABLE;
  return fieldError(path + ".mode", absl::StrCat(json["mode"].dump(),
                                                 " is not one of UNSET, STRICT, PERMISSIVE, "
                                                 "DISABLE"));
}

int specificity(const PolicySelector& selector) {
  if (selector.match_labels.has_value()) return 2;
  return selector.namespace_name == kRootNamespace ? 0 : 1;
}

}  // namespace

bool PolicySelector::selects(const Pod& pod) const {
  if (namespace_name != kRootNamespace || match_labels.has_value()) {
    if (pod.namespace_name != namespace_name) {
      return false;
    }
  }
  if (!match_labels.has_value()) {
    return true;
  }
  return std::all_of(match_labels->begin(), match_labels->end(), [&pod](const auto& label) {
    const auto it = pod.labels.find(label.first);
    return it != pod.labels.end() && it->second == label.second;
  });
}

absl::StatusOr<ValidAuthorizationPolicy> validateAuthorizationPolicy(
    const CustomResource& resource) {
  ASSIGN_OR_RETURN(auto spec, parseSpec(resource));
  RETURN_IF_ERROR(checkKnownFields(spec, "spec", {"selector", "action", "rules"},
                                        {"targetRef", "targetRefs", "provider"}));
  ValidAuthorizationPolicy out;
  ASSIGN_OR_RETURN(auto selector, parseSelector(spec, resource));
  out.selector = std::move(selector);
  out.policy.set_name(resource.name);
  out.policy.set_namespace_(resource.namespace_name);
  const std::string action =
      spec.contains("action") && spec["action"].is_string() ? spec["action"].get<std::string>()
      : spec.contains("action")                              ? "?"
                                                             : "ALLOW";
  if (action == "ALLOW") {
    out.policy.set_action(api::AuthorizationPolicy::ALLOW);
  } else if (action == "DENY") {
    out.policy.set_action(api::AuthorizationPolicy::DENY);
  } else if (action == "AUDIT") {
    out.policy.set_action(api::AuthorizationPolicy::AUDIT);
  } else if (action == "CUSTOM") {
    return fieldError("spec.action", "CUSTOM (external authorization) is not supported by weft");
  } else {
    return fieldError("spec.action", absl::StrCat(spec["action"].dump(),
                                                  " is not one of ALLOW, DENY, AUDIT"));
  }
  RETURN_IF_ERROR(forEachItem(spec, "rules", nullptr, "spec", [&](const Json& j, auto p) {
    auto rule = parseRule(j, p);
    if (rule.ok()) *out.policy.add_rules() = *std::move(rule);
    return rule.status();
  }));
  return out;
}

absl::StatusOr<ValidPeerAuthentication> validatePeerAuthentication(
    const CustomResource& resource) {
  ASSIGN_OR_RETURN(auto spec, parseSpec(resource));
  RETURN_IF_ERROR(checkKnownFields(spec, "spec", {"selector", "mtls", "portLevelMtls"}));
  ValidPeerAuthentication out;
  ASSIGN_OR_RETURN(auto selector, parseSelector(spec, resource));
  out.selector = std::move(selector);
  if (spec.contains("mtls") && !spec["mtls"].is_null()) {
    ASSIGN_OR_RETURN(auto mode, parseMode(spec["mtls"], "spec.mtls"));
    out.mode = mode;
  }
  if (spec.contains("portLevelMtls") && !spec["portLevelMtls"].is_null()) {
    if (!out.selector.match_labels.has_value()) {
      return fieldError("spec.portLevelMtls", "needs spec.selector (it applies to one workload's "
                                              "ports)");
    }
    if (!spec["portLevelMtls"].is_object()) {
      return fieldError("spec.portLevelMtls", "must be a map of port to {mode}");
    }
    for (const auto& [key, value] : spec["portLevelMtls"].items()) {
      const std::string path = absl::StrCat("spec.portLevelMtls.", key);
      uint32_t port = 0;
      if (!absl::SimpleAtoi(key, &port) || port == 0 || port > 65535) {
        return fieldError(path, "is not a port (1-65535)");
      }
      ASSIGN_OR_RETURN(auto mode, parseMode(value, path));
      out.port_modes[port] = mode;
    }
  }
  return out;
}

MtlsSettings resolveMtls(const Pod& pod, const std::vector<const ValidPeerAuthentication*>& all) {
  // The candidates that select the pod, most specific first; callers pass them sorted by
  // key, and stable_sort keeps that order among equals.
  std::vector<const ValidPeerAuthentication*> selecting;
  for (const ValidPeerAuthentication* policy : all) {
    if (policy->selector.selects(pod)) {
      selecting.push_back(policy);
    }
  }
  std::stable_sort(selecting.begin(), selecting.end(), [](const auto* a, const auto* b) {
    return specificity(a->selector) > specificity(b->selector);
  });
  MtlsSettings settings;
  for (const ValidPeerAuthentication* policy : selecting) {
    if (policy->mode != api::MTLS_MODE_UNSPECIFIED) {
      settings.mode = policy->mode;
      break;
    }
  }
  if (!selecting.empty() && selecting.front()->selector.match_labels.has_value()) {
    for (const auto& [port, mode] : selecting.front()->port_modes) {
      if (mode != api::MTLS_MODE_UNSPECIFIED) {
        settings.port_modes[port] = mode;
      }
    }
  }
  return settings;
}

SecurityPolicies validateSecurityPolicies(const SourceSnapshot& snapshot,
                                          std::vector<std::string>& warnings) {
  SecurityPolicies out;
  const auto left_out = [&warnings](const CustomResource& r, const absl::Status& status) {
    warnings.push_back(absl::StrCat(kindName(r.kind), " ", r.key().toString(),
                                    ": not applied: ", status.message()));
  };
  for (const auto& [key, resource] :
       snapshot.customResources(CustomResourceKind::kAuthorizationPolicy)) {
    auto policy = validateAuthorizationPolicy(resource);
    policy.ok() ? out.authorization.push_back(*std::move(policy))
                : left_out(resource, policy.status());
  }
  for (const auto& [key, resource] :
       snapshot.customResources(CustomResourceKind::kPeerAuthentication)) {
    auto policy = validatePeerAuthentication(resource);
    policy.ok() ? out.peer_authentication.push_back(*std::move(policy))
                : left_out(resource, policy.status());
  }
  return out;
}

void applySecurityPolicies(const SecurityPolicies& policies, const Pod& pod,
                           api::Workload& workload) {
  for (const ValidAuthorizationPolicy& policy : policies.authorization) {
    if (policy.selector.selects(pod)) {
      workload.add_authorization_policies(
          absl::StrCat(policy.policy.namespace_(), "/", policy.policy.name()));
    }
  }
  std::vector<const ValidPeerAuthentication*> peer;
  for (const ValidPeerAuthentication& policy : policies.peer_authentication) {
    peer.push_back(&policy);
  }
  const MtlsSettings mtls = resolveMtls(pod, peer);
  workload.set_mtls_mode(mtls.mode);
  for (const auto& [port, mode] : mtls.port_modes) {
    (*workload.mutable_port_mtls_modes())[port] = mode;
  }
}

void addReferencedPolicies(const SecurityPolicies& policies, api::NodeConfig& config) {
  absl::flat_hash_set<std::string> referenced;
  for (const api::Workload& workload : config.workloads()) {
    referenced.insert(workload.authorization_policies().begin(),
                      workload.authorization_policies().end());
  }
  // In "<namespace>/<name>" order, the order an agent on the config stream assembles them in,
  // so the file and the stream give the agent the same config.
  std::map<std::string, const api::AuthorizationPolicy*> by_name;
  for (const ValidAuthorizationPolicy& policy : policies.authorization) {
    std::string name = absl::StrCat(policy.policy.namespace_(), "/", policy.policy.name());
    if (referenced.contains(name)) {
      by_name.emplace(std::move(name), &policy.policy);
    }
  }
  for (const auto& [name, policy] : by_name) {
    *config.add_authorization_policies() = *policy;
  }
}

}  // namespace weft::op
