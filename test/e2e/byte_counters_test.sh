#!/usr/bin/env bash
# The byte counters of the client's agent equal what the application sent and received:
# weft_tcp_received_bytes_total counts bytes from the source workload, and
# weft_tcp_sent_bytes_total bytes back to it. Checked once to a backend on the client's node
# and once to a backend on the other node, each behind a service of its own (applied as a
# user would). The backends write every chunk back 3 times (node1) or 2 times (node2), so
# the two directions carry different amounts and the reply shows which backend served.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

readonly FILTER='source_workload="client"'
readonly SIZES=(1 1000 65536 100003 524288)

# Sends each of SIZES through VIP:9000 from client-node1, expecting REPEAT times as many
# bytes back, then checks node1's counters grew by exactly those amounts.
check_bytes_through() {
  local vip=$1 repeat=$2 received0 sent0 opened0 closed0 size out total=0
  received0=$(metric_sum node1 weft_tcp_received_bytes_total "$FILTER")
  sent0=$(metric_sum node1 weft_tcp_sent_bytes_total "$FILTER")
  opened0=$(metric_sum node1 weft_tcp_connections_opened_total "$FILTER")
  closed0=$(metric_sum node1 weft_tcp_connections_closed_total "$FILTER")
  for size in "${SIZES[@]}"; do
    out=$(probe client-node1 connect "$vip:9000" --send "$size" \
      --expect-bytes $((repeat * size)) --timeout-ms 10000) ||
      fail "exchange of $size bytes failed: $out"
    echo "$out"
    expect_eq "$(json .peer "$out")" "$vip:9000" "peer"
    expect_eq "$(json .sent "$out")/$(json .received "$out")" "$size/$((repeat * size))" \
      "bytes sent/received by the client"
    total=$((total + size))
  done
  wait_until 10 "${#SIZES[@]} closed connections in node1's /metrics" \
    counter_reached node1 weft_tcp_connections_closed_total "$closed0" "${#SIZES[@]}" "$FILTER"
  expect_eq $(($(metric_sum node1 weft_tcp_connections_closed_total "$FILTER") - closed0)) \
    "${#SIZES[@]}" "connections closed"
  expect_eq $(($(metric_sum node1 weft_tcp_connections_opened_total "$FILTER") - opened0)) \
    "${#SIZES[@]}" "connections opened"
  expect_eq $(($(metric_sum node1 weft_tcp_received_bytes_total "$FILTER") - received0)) \
    "$total" "weft_tcp_received_bytes_total (bytes from client-node1)"
  expect_eq $(($(metric_sum node1 weft_tcp_sent_bytes_total "$FILTER") - sent0)) \
    "$((repeat * total))" "weft_tcp_sent_bytes_total (bytes back to client-node1)"
}

step "start a server on :9000 in each backend pod (node1's repeats 3x, node2's 2x)"
for server in backend-node1-1:3 backend-node2-1:2; do
  pod=${server%:*}
  lab exec "$pod" -- "$WEFT_PROBE" serve --port 9000 --repeat "${server#*:}" &
  wait_until 10 "$pod listening on :9000" \
    lab exec "$pod" -- sh -c 'ss -Hltn "sport = :9000" | grep -q .'
done

step "add services echo-node1 (10.96.1.1) and echo-node2 (10.96.1.2), one backend pod each"
lab_add_service echo-node1 10.96.1.1 lab.weft.io/pod=backend-node1-1 echo:9000:9000
lab_add_service echo-node2 10.96.1.2 lab.weft.io/pod=backend-node2-1 echo:9000:9000

step "same node: client-node1 -> 10.96.1.1:9000 -> backend-node1-1"
check_bytes_through 10.96.1.1 3

step "across nodes: client-node1 -> 10.96.1.2:9000 -> backend-node2-1"
check_bytes_through 10.96.1.2 2
