#!/usr/bin/env bash
# Only enrolled pods' connects to known service addresses are captured: a pod outside the
# mesh, an unknown VIP and an undeclared port all fail inside the lab (the pods' blackhole
# route for the service range), and the agent sees none of it.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

# Every weft_tcp_* series of node1's agent, to compare before and after.
tcp_metrics() { lab admin node1 /metrics | grep '^weft_tcp_' || true; }

# Connects from POD to ADDRESS and expects the connect itself to fail with EINVAL: the
# error the pod's blackhole route gives, so the connect was not redirected to the agent.
expect_blackholed() {
  local pod=$1 address=$2 rc=0 out
  out=$(probe "$pod" connect "$address" --timeout-ms 3000) || rc=$?
  echo "$out"
  expect_eq "$rc" 2 "$pod -> $address: probe exit status (connect failed)"
  expect_eq "$(json .errno "$out")" EINVAL "$pod -> $address: connect error (blackhole)"
}

before=$(tcp_metrics)

step "the outside pod (namespace outside, not enrolled) is not captured"
expect_blackholed outside-node1 "$VIP:80"

step "the outside pod still reaches a backend pod directly, outside the mesh"
expect_eq "$(lab exec outside-node1 -- curl -fsS --max-time 5 http://10.244.2.11:8080/)" \
  "backend-node2-1" "answer from 10.244.2.11:8080"

step "an enrolled pod's connect to an unknown VIP fails locally"
expect_blackholed client-node1 10.96.0.99:80

step "an enrolled pod's connect to a port the service does not declare fails locally"
expect_blackholed client-node1 "$VIP:81"

step "node1's agent counted none of these connections"
after=$(tcp_metrics)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") || true
  fail "node1's weft_tcp_* metrics changed"
fi
ok "weft_tcp_* metrics unchanged"

step "the mesh does capture client-node1's connects to the VIP (so the above is meaningful)"
answer=$(lab exec client-node1 -- curl -fsS --max-time 5 "http://$VIP/")
[[ $answer =~ ^backend-node[0-9]+-[0-9]+$ ]] || fail "unexpected answer '$answer'"
ok "answer from $answer"
