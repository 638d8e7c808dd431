#include "operator/translate/security_policy.h"

#include <catch2/catch.hpp>
#include <string>

namespace weft::op {
namespace {

namespace api = ::weft::api::v1alpha1;

CustomResource resource(CustomResourceKind kind, const std::string& spec_json,
                        const std::string& ns = "demo", const std::string& name = "p") {
  return CustomResource{
      .kind = kind, .name = name, .namespace_name = ns, .generation = 1, .spec_json = spec_json};
}

absl::StatusOr<ValidAuthorizationPolicy> authz(const std::string& spec_json,
                                               const std::string& ns = "demo") {
  return validateAuthorizationPolicy(
      resource(CustomResourceKind::kAuthorizationPolicy, spec_json, ns));
}

absl::StatusOr<ValidPeerAuthentication> peer(const std::string& spec_json,
                                             const std::string& ns = "demo",
                                             const std::string& name = "p") {
  return validatePeerAuthentication(
      resource(CustomResourceKind::kPeerAuthentication, spec_json, ns, name));
}

Pod pod(const std::string& ns, Labels labels) {
  Pod p;
  p.name = "web-1";
  p.namespace_name = ns;
  p.labels = std::move(labels);
  return p;
}

std::string errorOf(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("an AuthorizationPolicy in Istio's shape becomes the agents' policy") {
  auto policy = authz(R"({
    "selector": {"matchLabels": {"app": "web"}},
    "action": "DENY",
    "rules": [{
      "from": [{"source": {"principals": ["cluster.local/ns/demo/sa/batch"],
                           "notNamespaces": ["kube-*"]}}],
      "to": [{"operation": {"ports": ["8080", 9090], "methods": ["DELETE"]}}],
      "when": [{"key": "request.headers[x-env]", "values": ["prod"]}]
    }]})");
  REQUIRE(policy.ok());
  CHECK(policy->policy.name() == "p");
  CHECK(policy->policy.namespace_() == "demo");
  CHECK(policy->policy.action() == api::AuthorizationPolicy::DENY);
  REQUIRE(policy->policy.rules_size() == 1);
  const auto& rule = policy->policy.rules(0);
  REQUIRE(rule.from_size() == 1);
  CHECK(rule.from(0).principals(0) == "cluster.local/ns/demo/sa/batch");
  CHECK(rule.from(0).not_namespaces(0) == "kube-*");
  REQUIRE(rule.to_size() == 1);
  CHECK(rule.to(0).ports_size() == 2);
  CHECK(rule.to(0).ports(0) == 8080);
  CHECK(rule.to(0).ports(1) == 9090);
  CHECK(rule.to(0).methods(0) == "DELETE");
  CHECK(rule.when(0).key() == "request.headers[x-env]");
  REQUIRE(policy->selector.match_labels.has_value());
  CHECK(policy->selector.match_labels->at("app") == "web");
}

TEST_CASE("action defaults to ALLOW; no rules stays no rules, an empty rule stays one rule") {
  auto deny_all = authz("{}");
  REQUIRE(deny_all.ok());
  CHECK(deny_all->policy.action() == api::AuthorizationPolicy::ALLOW);
  CHECK(deny_all->policy.rules_size() == 0);
  auto allow_all = authz(R"({"rules": [{}]})");
  REQUIRE(allow_all.ok());
  CHECK(allow_all->policy.rules_size() == 1);
  CHECK(authz(R"({"action": "AUDIT", "rules": [{}]})")->policy.action() ==
        api::AuthorizationPolicy::AUDIT);
}

TEST_CASE("bad AuthorizationPolicies are refused with the field and the reason") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"action": "ALOW"})", "spec.action: \"ALOW\" is not one of ALLOW, DENY, AUDIT"},
      {R"({"action": "CUSTOM"})", "spec.action: CUSTOM (external authorization) is not supported"},
      {R"({"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/demo"]}}]}]})",
       "spec.rules[0].from[0].source.principals[0]: 'cluster.local/ns/demo' is not "
       "<trust-domain>/ns/<namespace>/sa/<account>"},
      {R"({"rules": [{"from": [{"source": {"principals": ["a*b*"]}}]}]})",
       "spec.rules[0].from[0].source.principals[0]: 'a*b*': a wildcard '*' may appear once"},
      {R"({"rules": [{"to": [{"operation": {"ports": ["http"]}}]}]})",
       "spec.rules[0].to[0].operation.ports[0]: \"http\" is not a port (1-65535)"},
      {R"({"rules": [{"to": [{"operation": {"ports": [70000]}}]}]})",
       "spec.rules[0].to[0].operation.ports[0]: 70000 is not a port"},
      {R"({"rules": [{"from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}]}]})",
       "spec.rules[0].from[0].source.ipBlocks: is not supported by weft yet"},
      {R"({"rules": [{"form": []}]})", "spec.rules[0].form: unknown field (known: from, to, when)"},
      {R"({"rules": [{"from": [{"principals": ["x"]}]}]})",
       "spec.rules[0].from[0].principals: unknown field (known: source)"},
      {R"({"rules": [{"when": [{"values": ["a"]}]}]})", "spec.rules[0].when[0].key: is required"},
      {R"({"rules": {"from": []}})", "spec.rules: must be a list"},
      {R"({"selector": {"matchLabels": {"app": 3}}})",
       "spec.selector.matchLabels.app: must be a string"},
      {R"({"targetRef": {"kind": "Gateway"}})", "spec.targetRef: is not supported by weft yet"},
  };
  for (const auto& [spec, message] : cases) {
    INFO(spec);
    auto policy = authz(spec);
    REQUIRE_FALSE(policy.ok());
    CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(errorOf(policy.status()), Catch::StartsWith(message));
  }
}

TEST_CASE("selectors: namespace-wide, by labels, and mesh-wide from the root namespace") {
  auto ns_wide = authz("{}");
  REQUIRE(ns_wide.ok());
  CHECK(ns_wide->selector.selects(pod("demo", {})));
  CHECK_FALSE(ns_wide->selector.selects(pod("other", {})));

  auto by_label = authz(R"({"selector": {"matchLabels": {"app": "web", "tier": "front"}}})");
  REQUIRE(by_label.ok());
  CHECK(by_label->selector.selects(pod("demo", {{"app", "web"}, {"tier", "front"}, {"x", "y"}})));
  CHECK_FALSE(by_label->selector.selects(pod("demo", {{"app", "web"}})));
  CHECK_FALSE(by_label->selector.selects(pod("other", {{"app", "web"}, {"tier", "front"}})));

  auto mesh_wide = authz("{}", kRootNamespace);
  REQUIRE(mesh_wide.ok());
  CHECK(mesh_wide->selector.meshWide());
  CHECK(mesh_wide->selector.selects(pod("demo", {})));
  CHECK(mesh_wide->selector.selects(pod("other", {})));

  // A selector in the root namespace selects only the root namespace's pods.
  auto root_labels = authz(R"({"selector": {"matchLabels": {"app": "web"}}})", kRootNamespace);
  REQUIRE(root_labels.ok());
  CHECK_FALSE(root_labels->selector.selects(pod("demo", {{"app", "web"}})));
}

TEST_CASE("PeerAuthentication modes and port-level exceptions") {
  auto strict = peer(R"({"mtls": {"mode": "STRICT"}})");
  REQUIRE(strict.ok());
  CHECK(strict->mode == api::STRICT);
  auto unset = peer(R"({"mtls": {"mode": "UNSET"}})");
  REQUIRE(unset.ok());
  CHECK(unset->mode == api::MTLS_MODE_UNSPECIFIED);
  auto ports = peer(R"({"selector": {"matchLabels": {"app": "web"}},
                        "mtls": {"mode": "STRICT"},
                        "portLevelMtls": {"9090": {"mode": "PERMISSIVE"}}})");
  REQUIRE(ports.ok());
  CHECK(ports->port_modes.at(9090) == api::PERMISSIVE);

  const std::pair<const char*, const char*> bad[] = {
      {R"({"mtls": {"mode": "strict"}})",
       "spec.mtls.mode: \"strict\" is not one of UNSET, STRICT, PERMISSIVE, DISABLE"},
      {R"({"portLevelMtls": {"9090": {"mode": "DISABLE"}}})",
       "spec.portLevelMtls: needs spec.selector"},
      {R"({"selector": {"matchLabels": {}}, "portLevelMtls": {"0": {"mode": "DISABLE"}}})",
       "spec.portLevelMtls.0: is not a port"},
      {R"({"mtls": {"mode": "STRICT", "strict": true}})", "spec.mtls.strict: unknown field"},
      {R"([1, 2])", "spec: must be an object"},
  };
  for (const auto& [spec, message] : bad) {
    INFO(spec);
    auto policy = peer(spec);
    REQUIRE_FALSE(policy.ok());
    CHECK_THAT(errorOf(policy.status()), Catch::StartsWith(message));
  }
}

TEST_CASE("the most specific PeerAuthentication that sets a mode decides") {
  auto mesh = *peer(R"({"mtls": {"mode": "STRICT"}})", kRootNamespace, "mesh");
  auto ns = *peer(R"({"mtls": {"mode": "PERMISSIVE"}})", "demo", "ns");
  auto workload = *peer(R"({"selector": {"matchLabels": {"app": "web"}},
                            "mtls": {"mode": "DISABLE"},
                            "portLevelMtls": {"9090": {"mode": "STRICT"}}})",
                        "demo", "web");
  auto inherit = *peer(R"({"selector": {"matchLabels": {"app": "db"}}, "mtls": {"mode": "UNSET"}})",
                       "demo", "db");
  const Pod web = pod("demo", {{"app", "web"}});
  const Pod db = pod("demo", {{"app", "db"}});
  const Pod elsewhere = pod("other", {{"app", "web"}});

  const auto web_settings = resolveMtls(web, {&mesh, &ns, &workload});
  CHECK(web_settings.mode == api::DISABLE);
  CHECK(web_settings.port_modes.at(9090) == api::STRICT);
  CHECK(resolveMtls(db, {&mesh, &ns, &workload, &inherit}).mode ==
        api::PERMISSIVE);  // UNSET inherits the namespace's
  CHECK(resolveMtls(db, {&mesh, &inherit}).mode == api::STRICT);
  CHECK(resolveMtls(elsewhere, {&mesh, &ns, &workload}).mode == api::STRICT);
  // Nothing sets a mode: left unspecified, for the agent's default.
  CHECK(resolveMtls(elsewhere, {&ns, &workload}).mode == api::MTLS_MODE_UNSPECIFIED);
  CHECK(resolveMtls(elsewhere, {}).port_modes.empty());
}

}  // namespace
}  // namespace weft::op
