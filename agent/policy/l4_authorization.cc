#include "agent/policy/l4_authorization.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace weft::agent::policy {
namespace {

using common::identity::SpiffeId;

// Istio's wildcard: "*" alone, "prefix*" or "*suffix".
bool wildcardMatches(absl::string_view pattern, absl::string_view value) {
  if (pattern == "*") {
    return true;
  }
  if (absl::EndsWith(pattern, "*")) {
    return absl::StartsWith(value, pattern.substr(0, pattern.size() - 1));
  }
  if (absl::StartsWith(pattern, "*")) {
    return absl::EndsWith(value, pattern.substr(1));
  }
  return pattern == value;
}

// `principal` is "<trust-domain>/ns/<ns>/sa/<sa>"; a pattern may carry "spiffe://".
bool principalPatternMatches(absl::string_view pattern, absl::string_view principal) {
  absl::ConsumePrefix(&pattern, "spiffe://");
  return wildcardMatches(pattern, principal);
}

template <typename T, typename Pred>
bool anyOf(const std::vector<T>& values, Pred pred) {
  return std::any_of(values.begin(), values.end(), pred);
}

// `principal`: the peer's "<trust-domain>/ns/<ns>/sa/<sa>", made once per decision.
bool sourceMatches(const PolicySource& source, const ConnectionAttributes& connection,
                   absl::string_view principal) {
  const bool names_identity = !source.principals.empty() || !source.not_principals.empty() ||
                              !source.namespaces.empty() || !source.not_namespaces.empty();
  if (!names_identity) {
    return true;
  }
  if (!connection.source.has_value()) {
    return false;  // identity conditions need an authenticated peer
  }
  const SpiffeId& id = *connection.source;
  auto is_principal = [principal](const std::string& p) {
    return principalPatternMatches(p, principal);
  };
  auto in_namespace = [&id](const std::string& ns) {
    return wildcardMatches(ns, id.namespace_name);
  };
  return (source.principals.empty() || anyOf(source.principals, is_principal)) &&
         !anyOf(source.not_principals, is_principal) &&
         (source.namespaces.empty() || anyOf(source.namespaces, in_namespace)) &&
         !anyOf(source.not_namespaces, in_namespace);
}

bool portsMatch(const PolicyOperation& operation, uint16_t port) {
  auto is_port = [port](uint16_t p) { return p == port; };
  return (operation.ports.empty() || anyOf(operation.ports, is_port)) &&
         !anyOf(operation.not_ports, is_port);
}

// L7 fields: an ALLOW cannot be granted on them at L4; DENY and AUDIT ignore them.
bool operationMatches(const PolicyOperation& operation, PolicyAction action, uint16_t port) {
  if (operation.has_l7_fields && action == PolicyAction::kAllow) {
    return false;
  }
  return portsMatch(operation, port);
}

// What a decision needs of the connection, prepared once for all the policies it walks.
struct Peer {
  const ConnectionAttributes& connection;
  std::string principal;  // empty for plaintext
};

bool ruleMatches(const PolicyRule& rule, PolicyAction action, const Peer& peer) {
  if (rule.has_l7_conditions && action == PolicyAction::kAllow) {
    return false;
  }
  const bool from = rule.from.empty() || anyOf(rule.from, [&](const PolicySource& s) {
                      return sourceMatches(s, peer.connection, peer.principal);
                    });
  const bool to = rule.to.empty() || anyOf(rule.to, [&](const PolicyOperation& o) {
                    return operationMatches(o, action, peer.connection.destination_port);
                  });
  return from && to;
}

bool policyMatches(const AuthorizationPolicy& policy, const Peer& peer) {
  return anyOf(policy.rules,
               [&](const PolicyRule& rule) { return ruleMatches(rule, policy.action, peer); });
}

// (namespace, name) order, without building the "<namespace>/<name>" strings.
bool nameLess(const AuthorizationPolicy& a, const AuthorizationPolicy& b) {
  return std::tie(a.namespace_name, a.name) < std::tie(b.namespace_name, b.name);
}

// Policies are few per workload; the first match in name order keeps decisions (and the
// policy named in logs) independent of the order the operator sent them in.
const AuthorizationPolicy* firstMatch(absl::Span<const AuthorizationPolicy* const> policies,
                                      PolicyAction action, const Peer& peer, bool* any_of_action) {
  const AuthorizationPolicy* match = nullptr;
  for (const AuthorizationPolicy* policy : policies) {
    if (policy->action != action) {
      continue;
    }
    *any_of_action = true;
    if ((match == nullptr || nameLess(*policy, *match)) && policyMatches(*policy, peer)) {
      match = policy;
    }
  }
  return match;
}

std::string principalOf(const SpiffeId& identity) {
  return absl::StrCat(identity.trust_domain, "/ns/", identity.namespace_name, "/sa/",
                      identity.service_account);
}

}  // namespace

const char* actionName(PolicyAction action) {
  switch (action) {
    case PolicyAction::kAllow:
      return "ALLOW";
    case PolicyAction::kDeny:
      return "DENY";
    case PolicyAction::kAudit:
      return "AUDIT";
  }
  return "UNKNOWN";
}

bool principalMatches(const std::string& pattern, const SpiffeId& identity) {
  return principalPatternMatches(pattern, principalOf(identity));
}

AuthorizationDecision authorize(absl::Span<const AuthorizationPolicy* const> policies,
                                const ConnectionAttributes& connection) {
  const Peer peer{.connection = connection,
                  .principal = connection.source ? principalOf(*connection.source) : ""};
  AuthorizationDecision decision;
  for (const AuthorizationPolicy* policy : policies) {
    if (policy->action == PolicyAction::kAudit && policyMatches(*policy, peer)) {
      decision.audited.push_back(policy);
    }
  }
  bool any_deny = false;
  if (const AuthorizationPolicy* deny = firstMatch(policies, PolicyAction::kDeny, peer, &any_deny)) {
    decision.allowed = false;
    decision.policy = deny;
    decision.reason = absl::StrCat("denied by DENY policy ", deny->qualifiedName());
    return decision;
  }
  bool any_allow = false;
  const AuthorizationPolicy* allow = firstMatch(policies, PolicyAction::kAllow, peer, &any_allow);
  if (allow != nullptr) {
    decision.policy = allow;
    decision.reason = absl::StrCat("allowed by ALLOW policy ", allow->qualifiedName());
  } else if (any_allow) {
    decision.allowed = false;
    decision.reason = "denied: ALLOW policies select the workload and none matched";
  } else {
    decision.reason = "allowed: no ALLOW policy selects the workload";
  }
  return decision;
}

}  // namespace weft::agent::policy
