#!/usr/bin/env bash
# The same-node fast path: a connection from client-node1 to a backend on node1 takes the
# kernel fast path (sk_msg moves the pods' sends into the agent's sockets' send queues), one
# to a backend on node2 goes through the mTLS tunnel (relayed in user space); both carry every byte intact, and node1's
# byte counters equal what the client sent and received either way. Two services are added
# to the cluster for this: one whose only endpoint runs on node1 and one whose only
# endpoint runs on node2. Each serves
# an echo port (9000, content checked by the probe) and a port that writes everything back
# 3 times (9001, so the two directions carry different amounts).
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

readonly LOCAL_VIP=10.96.1.10 REMOTE_VIP=10.96.1.20
readonly SIZES=(1 1000 65536 1048577)

step "start an echo server (:9000) and a 3x server (:9001) in backend-node1-1 and backend-node2-1"
for pod in backend-node1-1 backend-node2-1; do
  for server in 9000:1 9001:3; do
    lab exec "$pod" -- "$WEFT_PROBE" serve --port "${server%:*}" --repeat "${server#*:}" &
    wait_until 10 "$pod listening on :${server%:*}" \
      lab exec "$pod" -- sh -c "ss -Hltn 'sport = :${server%:*}' | grep -q ."
  done
done

step "add services local-echo ($LOCAL_VIP, endpoint on node1) and remote-echo ($REMOTE_VIP, endpoint on node2)"
lab_add_service local-echo "$LOCAL_VIP" lab.weft.io/pod=backend-node1-1 echo:9000:9000 \
  triple:9001:9001
lab_add_service remote-echo "$REMOTE_VIP" lab.weft.io/pod=backend-node2-1 echo:9000:9000 \
  triple:9001:9001

mode_count() { metric_sum node1 weft_proxy_relays_total "mode=\"$1\""; }

# Sends each of SIZES to VIP's echo port (the probe checks every byte came back in order)
# and to its 3x port, then checks node1 counted exactly those bytes for SERVICE, and that
# every connection took relay mode MODE and none the other.
check_through() {
  local vip=$1 service=$2 mode=$3 other filter received0 sent0 closed0 mode0 other0 size out
  local connections=$((2 * ${#SIZES[@]})) total=0
  other=$([ "$mode" = fast_path ] && echo buffered || echo fast_path)
  filter="destination_service=\"$service.demo.svc.cluster.local\""
  received0=$(metric_sum node1 weft_tcp_received_bytes_total "$filter")
  sent0=$(metric_sum node1 weft_tcp_sent_bytes_total "$filter")
  closed0=$(metric_sum node1 weft_tcp_connections_closed_total "$filter")
  mode0=$(mode_count "$mode")
  other0=$(mode_count "$other")
  for size in "${SIZES[@]}"; do
    out=$(probe client-node1 connect "$vip:9000" --send "$size" --expect-echo \
      --timeout-ms 20000) || fail "echo of $size bytes through $vip failed: $out"
    echo "$out"
    expect_eq "$(json .echo_ok "$out")/$(json .received "$out")" "true/$size" \
      "$size bytes echoed intact"
    out=$(probe client-node1 connect "$vip:9001" --send "$size" --expect-bytes $((3 * size)) \
      --timeout-ms 20000) || fail "3x exchange of $size bytes through $vip failed: $out"
    echo "$out"
    expect_eq "$(json .sent "$out")/$(json .received "$out")" "$size/$((3 * size))" \
      "bytes sent/received by the client"
    total=$((total + size))
  done
  wait_until 20 "$connections closed connections to $service in node1's /metrics" \
    counter_reached node1 weft_tcp_connections_closed_total "$closed0" "$connections" "$filter"
  expect_eq $(($(metric_sum node1 weft_tcp_connections_closed_total "$filter") - closed0)) \
    "$connections" "connections to $service closed"
  expect_eq $(($(mode_count "$mode") - mode0)) "$connections" \
    "weft_proxy_relays_total{mode=\"$mode\"} growth"
  expect_eq $(($(mode_count "$other") - other0)) 0 "weft_proxy_relays_total{mode=\"$other\"} growth"
  expect_eq $(($(metric_sum node1 weft_tcp_received_bytes_total "$filter") - received0)) \
    $((2 * total)) "weft_tcp_received_bytes_total (bytes from client-node1)"
  expect_eq $(($(metric_sum node1 weft_tcp_sent_bytes_total "$filter") - sent0)) \
    $((4 * total)) "weft_tcp_sent_bytes_total (bytes back to client-node1)"
}

fallbacks0=$(metric_sum node1 weft_proxy_fast_path_fallbacks_total)
captured0=$(metric_sum node1 weft_bpf_events_total 'reason="captured_v4"')
enrolled0=$(metric_sum node1 weft_bpf_events_total 'reason="fast_path_enrolled"')
redirected0=$(metric_sum node1 weft_bpf_events_total 'reason="fast_path_redirected"')

step "same node: client-node1 -> $LOCAL_VIP -> backend-node1-1 takes the fast path"
check_through "$LOCAL_VIP" local-echo fast_path
# Both pods' sockets of every connection joined; the kernel moved the pods' sends.
wait_until 10 "node1's weft_bpf_events_total{reason=\"fast_path_enrolled\"} counting both ends" \
  counter_reached node1 weft_bpf_events_total "$enrolled0" $((4 * ${#SIZES[@]})) \
  'reason="fast_path_enrolled"'
expect_eq $(($(metric_sum node1 weft_bpf_events_total 'reason="fast_path_enrolled"') - enrolled0)) \
  $((4 * ${#SIZES[@]})) "weft_bpf_events_total{reason=\"fast_path_enrolled\"} growth (2 per connection)"
redirected=$(($(metric_sum node1 weft_bpf_events_total 'reason="fast_path_redirected"') - redirected0))
[ "$redirected" -gt 0 ] || fail "the kernel redirected no send (fast_path_redirected did not grow)"
ok "the kernel moved $redirected sends"
enrolled_local=$(metric_sum node1 weft_bpf_events_total 'reason="fast_path_enrolled"')

step "across nodes: client-node1 -> $REMOTE_VIP -> backend-node2-1 goes through the tunnel"
check_through "$REMOTE_VIP" remote-echo tunnel
expect_eq "$(metric_sum node1 weft_bpf_events_total 'reason="fast_path_enrolled"')" \
  "$enrolled_local" "fast_path_enrolled after the cross-node connections (none enrolled)"

step "no same-node connection fell back, and no send lost its target"
expect_eq $(($(metric_sum node1 weft_proxy_fast_path_fallbacks_total) - fallbacks0)) 0 \
  "weft_proxy_fast_path_fallbacks_total growth"
# The control thread copies the data plane's counters every second.
wait_until 10 "node1's weft_bpf_events_total{reason=\"captured_v4\"} counting the connects" \
  counter_reached node1 weft_bpf_events_total "$captured0" $((4 * ${#SIZES[@]})) \
  'reason="captured_v4"'
expect_eq $(($(metric_sum node1 weft_bpf_events_total 'reason="captured_v4"') - captured0)) \
  $((4 * ${#SIZES[@]})) "weft_bpf_events_total{reason=\"captured_v4\"} growth (one per connect)"
expect_eq "$(metric_sum node1 weft_bpf_events_total 'reason="fast_path_target_gone"')" 0 \
  "weft_bpf_events_total{reason=\"fast_path_target_gone\"}"

step "node1's /metrics passes promtool check metrics"
lab admin node1 /metrics | promtool check metrics
ok "promtool is happy"
