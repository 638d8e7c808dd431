#!/usr/bin/env bash
# PeerAuthentication and AuthorizationPolicy as a user applies them in the lab:
#  - STRICT on the backends: a pod outside the mesh can no longer reach a backend directly
#    (its SYN is dropped in the kernel and counted), while mesh clients still reach it through
#    the agents (across nodes through the mTLS tunnel);
#  - a DENY policy for the client's identity blocks it and is counted on both agents;
#  - an ALLOW policy that does not match the client denies it (default deny under ALLOW);
#  - an AUDIT policy that matches changes nothing but is counted and logged.
# The backend used is backend-node2-1, reached from client-node1 (another node).
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

readonly POLICY_DIR=$(mktemp -d)
cleanup_before_teardown 'rm -rf "$POLICY_DIR"'
readonly BACKEND=http://10.244.2.11:8080/
readonly CLIENT_PRINCIPAL=cluster.local/ns/demo/sa/client

# Applies YAML (stdin) as the lab's file NAME.yaml, replacing what that file held before.
apply_policy() {
  cat >"$POLICY_DIR/$1.yaml"
  lab apply "$POLICY_DIR/$1.yaml"
}

# What node2's agent applies to backend-node2-1 (jq path into /config_dump's inbound entry).
backend_inbound() {
  lab admin node2 /config_dump | jq -c --arg p demo/backend-node2-1 ".inbound[\$p]$1"
}
inbound_is() { [ "$(backend_inbound "$1")" = "$2" ]; }

request() {  # POD URL: prints the answer, fails when the request fails
  lab exec "$1" -- curl -fsS --max-time 3 "$2"
}
refused() { ! request "$@" >/dev/null 2>&1; }

step "a service whose only pod, backend-node2-1, runs on node2"
lab_add_service web-node2 10.96.1.2 lab.weft.io/pod=backend-node2-1 http:80:8080

step "before any policy: the mesh client and the pod outside the mesh both get through"
expect_eq "$(request client-node1 http://10.96.1.2/)" backend-node2-1 "mesh client via the service"
expect_eq "$(request outside-node1 "$BACKEND")" backend-node2-1 "outside pod, directly"

step "STRICT for the backends: plaintext from outside the mesh is dropped in the kernel"
apply_policy strict <<'YAML'
apiVersion: weft.io/v1alpha1
kind: PeerAuthentication
metadata: {name: backends-strict, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  mtls: {mode: STRICT}
YAML
wait_until 10 "node2's agent applying STRICT to backend-node2-1" inbound_is .mtls_mode '"STRICT"'
dropped0=$(metric_sum node2 weft_bpf_events_total 'reason="strict_plaintext_dropped"')
refused outside-node1 "$BACKEND" || fail "the pod outside the mesh still reaches a STRICT pod"
wait_until 10 "the drop counted on node2" counter_reached node2 weft_bpf_events_total \
  "$dropped0" 1 'reason="strict_plaintext_dropped"'
expect_eq "$(request client-node1 http://10.96.1.2/)" backend-node2-1 \
  "mesh client through the tunnel to the STRICT pod"
ok "outside pod refused, mesh client served"

step "DENY for the client's identity: the client is refused, both agents count it"
denied0=$(metric_sum node1 weft_proxy_failures_total 'reason="tunnel_denied"')
apply_policy authz <<YAML
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-client, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: DENY
  rules: [{from: [{source: {principals: ["$CLIENT_PRINCIPAL"]}}]}]
YAML
wait_until 10 "node2's agent applying demo/deny-client" inbound_is \
  '.authorization_policies | index("demo/deny-client") != null' true
refused client-node1 http://10.96.1.2/ || fail "the DENY policy let the client through"
expect_eq "$(metric_sum node2 weft_authorization_decisions_total \
  'action="DENY",decision="deny",policy="demo/deny-client"')" 1 "DENY decisions on node2"
wait_until 10 "tunnel_denied on node1" counter_reached node1 weft_proxy_failures_total \
  "$denied0" 1 'reason="tunnel_denied"'
grep -q 'denied by DENY policy demo/deny-client' /run/weft-lab/node2/agent.log ||
  fail "node2's agent did not log the denial"
ok "denied, counted and logged"

step "an ALLOW policy that does not match the client denies it (default deny under ALLOW)"
apply_policy authz <<'YAML'
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-nobody, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  rules: [{from: [{source: {principals: ["cluster.local/ns/demo/sa/nobody"]}}]}]
YAML
wait_until 10 "node2's agent applying demo/allow-nobody only" inbound_is \
  '.authorization_policies | index("demo/deny-client") == null and index("demo/allow-nobody") != null' true
none0=$(metric_sum node2 weft_authorization_decisions_total 'action="none",decision="deny",policy=""')
refused client-node1 http://10.96.1.2/ || fail "an ALLOW policy that matches nothing let the client in"
expect_eq "$(metric_sum node2 weft_authorization_decisions_total \
  'action="none",decision="deny",policy=""')" $((none0 + 1)) "default-deny decisions on node2"
ok "denied by default"

step "ALLOW for the client plus an AUDIT of demo: allowed, the audit counted and logged"
apply_policy authz <<YAML
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-client, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  rules: [{from: [{source: {principals: ["$CLIENT_PRINCIPAL"]}}]}]
---
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: audit-demo, namespace: demo}
spec:
  selector: {matchLabels: {app: backend}}
  action: AUDIT
  rules: [{from: [{source: {namespaces: [demo]}}]}]
YAML
wait_until 10 "node2's agent applying demo/allow-client and demo/audit-demo" inbound_is \
  '.authorization_policies | index("demo/allow-client") != null and index("demo/audit-demo") != null' true
expect_eq "$(request client-node1 http://10.96.1.2/)" backend-node2-1 "client allowed"
expect_eq "$(metric_sum node2 weft_authorization_decisions_total \
  'action="ALLOW",decision="allow",policy="demo/allow-client"')" 1 "ALLOW decisions on node2"
expect_eq "$(metric_sum node2 weft_authorization_decisions_total \
  'action="AUDIT",decision="allow",policy="demo/audit-demo"')" 1 "AUDIT matches on node2"
grep -q 'audited by AUDIT policy demo/audit-demo' /run/weft-lab/node2/agent.log ||
  fail "node2's agent did not log the audit"
ok "allowed, audited and logged"
