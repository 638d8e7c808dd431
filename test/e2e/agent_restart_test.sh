#!/usr/bin/env bash
# kill -9 an agent and start it again: capture never stops (connects made while it is down
# are still redirected to the node, where they are refused, never leaked), the new agent
# adopts the pinned programs instead of reloading them, new connections work, and `down`
# leaves nothing behind.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

kubepods=$CGROUP2/weft-lab/node1/kubepods
pins=/sys/fs/bpf/weft-lab/node1

attached() { bpftool cgroup show "$kubepods" | sort; }
# Each pin with its inode: re-pinning a map, program or link gives it a new inode.
pinned() { find "$pins" -printf '%i %p\n' | sort; }
log_since_last_start() {
  awk '/^--- .* weft-lab: starting / { text = "" } { text = text $0 "\n" } END { printf "%s", text }' \
    /run/weft-lab/node1/agent.log
}

expect_requests_work() {
  local pod=$1 count=$2 answers
  answers=$(http_requests "$pod" "$count" "http://$VIP/")
  expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' <<<"$answers")" "$count" \
    "$pod: answers from backends out of $count requests"
}

# While node1's agent is down, a connect to the VIP must still be redirected to node1's
# capture address, where nothing listens (refused, or no answer before the deadline); a
# connect that was not captured would fail with EINVAL on the blackhole route instead.
expect_captured_while_down() {
  local rc=0 out errno
  out=$(probe client-node1 connect "$VIP:80" --timeout-ms 3000) || rc=$?
  echo "$out"
  expect_eq "$rc" 2 "probe exit status (connect failed)"
  errno=$(json .errno "$out")
  [ "$errno" = ECONNREFUSED ] || [ "$errno" = ETIMEDOUT ] ||
    fail "connect failed with $errno, not ECONNREFUSED/ETIMEDOUT: it was not captured"
  ok "captured while the agent is down ($errno)"
}

step "before: the mesh works and node1's programs are attached and pinned"
expect_requests_work client-node1 5
attached_before=$(attached)
pinned_before=$(pinned)
echo "$attached_before"
[ -n "$(tail -n +2 <<<"$attached_before")" ] || fail "no program attached at $kubepods"
[ -n "$pinned_before" ] || fail "nothing pinned under $pins"

step "kill -9 node1's agent"
lab agent kill node1
lab status | grep '^node1 ' | grep -q 'not running' || fail "status does not say node1's agent is down"
ok "node1's agent is down"

step "while it is down, capture goes on and nothing changes in the kernel"
expect_captured_while_down
expect_eq "$(attached)" "$attached_before" "programs attached at node1's kubepods"
expect_eq "$(pinned)" "$pinned_before" "pins under $pins"

step "node2's agent is unaffected"
expect_requests_work client-node2 10

step "start node1's agent again: it adopts the pins"
lab agent start node1
log_since_last_start | grep -i 'adopt' || fail "the agent's log does not say it adopted the pins"
expect_eq "$(attached)" "$attached_before" "programs attached at node1's kubepods (same ids)"
expect_eq "$(pinned)" "$pinned_before" "pins under $pins (same inodes)"

step "new connections work"
expect_requests_work client-node1 20

step "a graceful stop keeps capture on too, and the next start adopts again"
lab agent stop node1
expect_captured_while_down
lab agent start node1
log_since_last_start | grep -i 'adopt' || fail "the agent's log does not say it adopted the pins"
expect_eq "$(attached)" "$attached_before" "programs attached at node1's kubepods (same ids)"
expect_requests_work client-node1 10

step "down leaves nothing behind"
lab_down_now
assert_lab_gone
