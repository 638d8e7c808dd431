#pragma once

// L4 authorization: does an AuthorizationPolicy let this connection reach this workload?
// A pure function over the policies the operator says select the destination workload and
// what the agent knows of the connection at L4 (the peer's verified identity, the port).
//
// Semantics follow Istio's AuthorizationPolicy, so a user's expectations carry over:
//  - AUDIT policies never change the outcome; the ones that match are reported for logging.
//  - A matching DENY policy denies; DENY is evaluated before ALLOW.
//  - If any ALLOW policy selects the workload, the connection must match one of them;
//    otherwise it is allowed.
//  - A policy matches when any of its rules matches. No rules: matches nothing (so an ALLOW
//    policy without rules denies everything). One empty rule `{}`: matches everything.
//  - A rule matches when its `from` (any source) and its `to` (any operation) both match;
//    an empty list matches anything. Within a source or an operation every field that is
//    set must match (principals: any of; notPrincipals: none of; likewise namespaces, ports).
//  - Rules that need L7 (methods, paths, hosts, header conditions) cannot be decided here:
//    for ALLOW such a rule never matches (fail closed), for DENY and AUDIT its L7 fields are
//    ignored (deny more rather than less). The L7 proxy decides them fully.
//
// Principals are written as in Istio, "<trust-domain>/ns/<ns>/sa/<sa>" (a "spiffe://"
// prefix is accepted too), with one "*" allowed as a prefix or suffix wildcard; "*" alone
// matches any authenticated peer. A plaintext peer has no principal and no namespace: it
// matches only sources that name neither (e.g. `notPrincipals` alone does not match it,
// since it is not authenticated).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/identity/spiffe_id.h"

namespace weft::agent::policy {

enum class PolicyAction { kAllow, kDeny, kAudit };

const char* actionName(PolicyAction action);

struct PolicySource {
  std::vector<std::string> principals = {};
  std::vector<std::string> not_principals = {};
  std::vector<std::string> namespaces = {};
  std::vector<std::string> not_namespaces = {};
};

struct PolicyOperation {
  std::vector<uint16_t> ports = {};
  std::vector<uint16_t> not_ports = {};
  bool has_l7_fields = false;  // methods, paths or hosts were given
};

struct PolicyRule {
  std::vector<PolicySource> from = {};
  std::vector<PolicyOperation> to = {};
  bool has_l7_conditions = false;  // `when` conditions (request headers, ...) were given
};

struct AuthorizationPolicy {
  std::string name;
  std::string namespace_name;
  PolicyAction action = PolicyAction::kAllow;
  std::vector<PolicyRule> rules = {};

  std::string qualifiedName() const { return namespace_name + "/" + name; }
};

// What L4 knows of a connection.
struct ConnectionAttributes {
  // The peer's verified SVID; empty for plaintext.
  std::optional<common::identity::SpiffeId> source;
  uint16_t destination_port = 0;
};

struct AuthorizationDecision {
  bool allowed = true;
  // The policy that decided: the matching DENY, the matching ALLOW, or null (no ALLOW policy
  // selects the workload, or none matched; see reason).
  const AuthorizationPolicy* policy = nullptr;
  std::string reason;  // one line, for logs and the reset's counter
  std::vector<const AuthorizationPolicy*> audited = {};  // AUDIT policies that matched
};

// `policies`: every policy that selects the destination workload (order does not matter).
AuthorizationDecision authorize(absl::Span<const AuthorizationPolicy* const> policies,
                                const ConnectionAttributes& connection);

// One Istio-style principal pattern against an identity (exposed for tests and `weftctl
// check`).
bool principalMatches(const std::string& pattern, const common::identity::SpiffeId& identity);

}  // namespace weft::agent::policy
