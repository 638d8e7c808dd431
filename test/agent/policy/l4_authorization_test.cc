#include "agent/policy/l4_authorization.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace weft::agent::policy {
namespace {

using common::identity::SpiffeId;

SpiffeId id(const std::string& ns, const std::string& sa) {
  return SpiffeId{.trust_domain = "cluster.local", .namespace_name = ns, .service_account = sa};
}

ConnectionAttributes from(const std::string& ns, const std::string& sa, uint16_t port = 8080) {
  return ConnectionAttributes{.source = id(ns, sa), .destination_port = port};
}

ConnectionAttributes plaintext(uint16_t port = 8080) {
  return ConnectionAttributes{.source = std::nullopt, .destination_port = port};
}

AuthorizationPolicy policy(const std::string& name, PolicyAction action,
                           std::vector<PolicyRule> rules) {
  return AuthorizationPolicy{
      .name = name, .namespace_name = "demo", .action = action, .rules = std::move(rules)};
}

PolicyRule fromPrincipals(std::vector<std::string> principals) {
  return PolicyRule{.from = {PolicySource{.principals = std::move(principals)}}};
}

PolicyRule fromNamespaces(std::vector<std::string> namespaces) {
  return PolicyRule{.from = {PolicySource{.namespaces = std::move(namespaces)}}};
}

PolicyRule toPorts(std::vector<uint16_t> ports) {
  return PolicyRule{.to = {PolicyOperation{.ports = std::move(ports)}}};
}

AuthorizationDecision decide(const std::vector<AuthorizationPolicy>& policies,
                             const ConnectionAttributes& connection) {
  std::vector<const AuthorizationPolicy*> pointers;
  for (const auto& p : policies) {
    pointers.push_back(&p);
  }
  return authorize(pointers, connection);
}

TEST_CASE("without policies every connection is allowed, plaintext too") {
  CHECK(decide({}, from("demo", "client")).allowed);
  const auto decision = decide({}, plaintext());
  CHECK(decision.allowed);
  CHECK(decision.policy == nullptr);
  CHECK(decision.reason == "allowed: no ALLOW policy selects the workload");
}

TEST_CASE("an ALLOW policy admits what it matches and denies everything else") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("clients", PolicyAction::kAllow,
             {fromPrincipals({"cluster.local/ns/demo/sa/client"})})};
  const auto allowed = decide(policies, from("demo", "client"));
  CHECK(allowed.allowed);
  REQUIRE(allowed.policy != nullptr);
  CHECK(allowed.policy->qualifiedName() == "demo/clients");
  CHECK(allowed.reason == "allowed by ALLOW policy demo/clients");

  const auto denied = decide(policies, from("demo", "intruder"));
  CHECK_FALSE(denied.allowed);
  CHECK(denied.policy == nullptr);
  CHECK(denied.reason == "denied: ALLOW policies select the workload and none matched");
  CHECK_FALSE(decide(policies, plaintext()).allowed);
}

TEST_CASE("DENY wins over a matching ALLOW") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("all-of-demo", PolicyAction::kAllow, {fromNamespaces({"demo"})}),
      policy("not-the-batch", PolicyAction::kDeny,
             {fromPrincipals({"cluster.local/ns/demo/sa/batch"})})};
  CHECK(decide(policies, from("demo", "client")).allowed);
  const auto denied = decide(policies, from("demo", "batch"));
  CHECK_FALSE(denied.allowed);
  REQUIRE(denied.policy != nullptr);
  CHECK(denied.policy->action == PolicyAction::kDeny);
  CHECK(denied.reason == "denied by DENY policy demo/not-the-batch");
}

TEST_CASE("a DENY policy alone denies only what it matches") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("no-admin-port", PolicyAction::kDeny, {toPorts({9090})})};
  CHECK(decide(policies, from("demo", "client", 8080)).allowed);
  CHECK_FALSE(decide(policies, from("demo", "client", 9090)).allowed);
  CHECK_FALSE(decide(policies, plaintext(9090)).allowed);
}

TEST_CASE("AUDIT never changes the outcome and reports what it matched") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("watch-batch", PolicyAction::kAudit, {fromNamespaces({"batch"})})};
  const auto audited = decide(policies, from("batch", "job"));
  CHECK(audited.allowed);
  REQUIRE(audited.audited.size() == 1);
  CHECK(audited.audited[0]->name == "watch-batch");
  CHECK(decide(policies, from("demo", "client")).audited.empty());

  const std::vector<AuthorizationPolicy> with_deny = {
      policies[0], policy("deny-batch", PolicyAction::kDeny, {fromNamespaces({"batch"})})};
  const auto denied = decide(with_deny, from("batch", "job"));
  CHECK_FALSE(denied.allowed);
  CHECK(denied.audited.size() == 1);
}

TEST_CASE("no rules match nothing; one empty rule matches everything") {
  const std::vector<AuthorizationPolicy> deny_all = {
      policy("deny-all", PolicyAction::kAllow, {})};
  CHECK_FALSE(decide(deny_all, from("demo", "client")).allowed);

  const std::vector<AuthorizationPolicy> allow_all = {
      policy("allow-all", PolicyAction::kAllow, {PolicyRule{}})};
  CHECK(decide(allow_all, from("demo", "client")).allowed);
  CHECK(decide(allow_all, plaintext()).allowed);

  const std::vector<AuthorizationPolicy> empty_deny = {
      policy("nothing", PolicyAction::kDeny, {})};
  CHECK(decide(empty_deny, from("demo", "client")).allowed);
}

TEST_CASE("within a rule, from and to must both match; lists are any-of") {
  PolicyRule rule = fromNamespaces({"demo", "web"});
  rule.to = {PolicyOperation{.ports = {8080}}, PolicyOperation{.ports = {9000}}};
  const std::vector<AuthorizationPolicy> policies = {
      policy("web-and-demo", PolicyAction::kAllow, {rule})};
  CHECK(decide(policies, from("web", "frontend", 9000)).allowed);
  CHECK(decide(policies, from("demo", "client", 8080)).allowed);
  CHECK_FALSE(decide(policies, from("demo", "client", 22)).allowed);
  CHECK_FALSE(decide(policies, from("other", "client", 8080)).allowed);
}

TEST_CASE("not-fields exclude, and need an authenticated peer") {
  const std::vector<AuthorizationPolicy> policies = {policy(
      "mesh-but-batch", PolicyAction::kAllow,
      {PolicyRule{.from = {PolicySource{.not_namespaces = {"batch"}}},
                  .to = {PolicyOperation{.not_ports = {9090}}}}})};
  CHECK(decide(policies, from("demo", "client")).allowed);
  CHECK_FALSE(decide(policies, from("batch", "job")).allowed);
  CHECK_FALSE(decide(policies, from("demo", "client", 9090)).allowed);
  // Not in "batch" - but not authenticated either, so not in any namespace.
  CHECK_FALSE(decide(policies, plaintext()).allowed);
}

TEST_CASE("a port-only ALLOW admits plaintext peers on that port") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("health-port", PolicyAction::kAllow, {toPorts({15021})})};
  CHECK(decide(policies, plaintext(15021)).allowed);
  CHECK_FALSE(decide(policies, plaintext(8080)).allowed);
}

TEST_CASE("principal patterns: exact, spiffe:// prefix, prefix and suffix wildcards, any") {
  const SpiffeId client = id("demo", "client");
  CHECK(principalMatches("cluster.local/ns/demo/sa/client", client));
  CHECK(principalMatches("spiffe://cluster.local/ns/demo/sa/client", client));
  CHECK(principalMatches("cluster.local/ns/demo/*", client));
  CHECK(principalMatches("*/sa/client", client));
  CHECK(principalMatches("*", client));
  CHECK_FALSE(principalMatches("cluster.local/ns/demo/sa/clien", client));
  CHECK_FALSE(principalMatches("other.domain/ns/demo/sa/client", client));
  CHECK_FALSE(principalMatches("cluster.local/ns/web/*", client));
}

TEST_CASE("\"*\" as principal means any authenticated peer") {
  const std::vector<AuthorizationPolicy> policies = {
      policy("mtls-only", PolicyAction::kAllow, {fromPrincipals({"*"})})};
  CHECK(decide(policies, from("anything", "at-all")).allowed);
  CHECK_FALSE(decide(policies, plaintext()).allowed);
}

TEST_CASE("L7 fields: an ALLOW rule needing them never matches at L4, a DENY rule ignores them") {
  PolicyRule get_only = fromNamespaces({"demo"});
  get_only.to = {PolicyOperation{.has_l7_fields = true}};
  const std::vector<AuthorizationPolicy> allow = {
      policy("get-only", PolicyAction::kAllow, {get_only})};
  CHECK_FALSE(decide(allow, from("demo", "client")).allowed);

  const std::vector<AuthorizationPolicy> deny = {
      policy("no-delete", PolicyAction::kDeny, {get_only})};
  CHECK_FALSE(decide(deny, from("demo", "client")).allowed);
  CHECK(decide(deny, from("web", "client")).allowed);

  PolicyRule when_header = fromNamespaces({"demo"});
  when_header.has_l7_conditions = true;
  CHECK_FALSE(
      decide({policy("hdr", PolicyAction::kAllow, {when_header})}, from("demo", "c")).allowed);
  CHECK_FALSE(
      decide({policy("hdr", PolicyAction::kDeny, {when_header})}, from("demo", "c")).allowed);
}

TEST_CASE("the deciding policy does not depend on the order policies arrive in") {
  AuthorizationPolicy b = policy("b-deny", PolicyAction::kDeny, {fromNamespaces({"demo"})});
  AuthorizationPolicy a = policy("a-deny", PolicyAction::kDeny, {fromNamespaces({"demo"})});
  CHECK(decide({a, b}, from("demo", "x")).policy->name == "a-deny");
  CHECK(decide({b, a}, from("demo", "x")).policy->name == "a-deny");
}

}  // namespace
}  // namespace weft::agent::policy
