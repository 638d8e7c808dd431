#!/usr/bin/env bash
# The lab itself, without agents: the cluster it builds follows the safety rules, pods talk
# across nodes, `exec` runs in the pod, and `down` (or a failed or interrupted `up`) leaves
# nothing behind.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

step "weft-lab up --no-agents builds 2 nodes with a client and a backend pod each"
lab_up --no-agents
status=$(lab status)
echo "$status"
for pod in client-node1 backend-node1-1 client-node2 backend-node2-1 outside-node1; do
  grep -q "^$pod " <<<"$status" || fail "status does not list pod $pod"
done
ok "status lists every pod"

step "exec runs in the pod's cgroup and network namespace"
cgroup=$(lab exec client-node1 -- cat /proc/self/cgroup | grep '^0::')
[[ $cgroup =~ ^0::/weft-lab/node1/kubepods/pod[0-9a-f-]{36}/app$ ]] ||
  fail "exec ran in cgroup '$cgroup', not the pod's app cgroup"
ok "cgroup $cgroup"
addr=$(lab exec client-node1 -- ip -4 -o addr show dev eth0 | awk '{ print $4 }')
expect_eq "$addr" "10.244.1.10/24" "client-node1's address"

step "no namespace of the lab has a default route; the service range is blackholed"
for target in client-node1 outside-node1 node1 node2; do
  expect_eq "$(lab exec "$target" -- ip route show default)" "" "default route in $target"
  expect_eq "$(lab exec "$target" -- ip route show 10.96.0.0/16)" "blackhole 10.96.0.0/16 " \
    "service range in $target"
done

step "a pod reaches a backend pod on the other node directly"
expect_eq "$(lab exec client-node1 -- curl -fsS --max-time 5 http://10.244.2.11:8080/)" \
  "backend-node2-1" "answer from 10.244.2.11:8080"

step "without agents, a connect to the VIP fails inside the lab (blackholed)"
rc=0
out=$(probe client-node1 connect "$VIP:80" --timeout-ms 3000) || rc=$?
echo "$out"
expect_eq "$rc" 2 "probe exit status (connect failed)"
expect_eq "$(json .errno "$out")" EINVAL "connect error"

step "down removes everything"
lab_down_now
assert_lab_gone

step "an up whose agent fails to start says why and removes what it made"
rc=0
err=$(lab up --agent-bin /bin/false 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "up with a failing agent succeeded"
grep -q "exited during start-up" <<<"$err" || fail "no clear reason in: $err"
ok "up failed: $(grep 'error:' <<<"$err")"
assert_lab_gone

step "an up interrupted half-way removes what it made"
"$WEFT_LAB" up --no-agents >/dev/null 2>&1 &
up_pid=$!
wait_until 10 "the lab starting to exist" test -s /run/weft-lab/netns.list
kill -TERM "$up_pid"
rc=0
wait "$up_pid" || rc=$?
[ "$rc" -ne 0 ] || fail "interrupted up exited 0"
ok "interrupted up exited $rc"
assert_lab_gone
