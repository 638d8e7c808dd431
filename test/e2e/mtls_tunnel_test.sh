#!/usr/bin/env bash
# What crosses the wire between nodes is mutual TLS: a capture on the lab's switch (the link
# every node is plugged into) while a client on node1 talks to a backend on node2 holds only
# TLS on the tunnel port 15008 (and the operator's own TLS on 15012), TLS 1.3 with both
# sides' certificates, and a marker the client sends never appears in it. The client's agent
# labels the connection mutual_tls with both workloads' SPIFFE IDs.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

command -v tshark >/dev/null || fail "tshark is not installed (scripts/deps.sh installs it)"
lab_up_with_agents

readonly MARKER="weft-marker-$RANDOM$RANDOM-never-in-clear"
readonly CAPTURE_DIR=$(mktemp -d)
readonly PCAP=$CAPTURE_DIR/switch.pcap
capture_pid=
cleanup_before_teardown 'stop_job "$capture_pid"; rm -rf "$CAPTURE_DIR"'

step "a service whose only pod runs on node2"
lab_add_service web-node2 10.96.1.2 lab.weft.io/pod=backend-node2-1 http:80:8080

step "capture on the switch (br0 in weft-switch) while client-node1 sends the marker"
ip netns exec weft-switch tcpdump -i br0 -U -w "$PCAP" -s 0 tcp >"$CAPTURE_DIR/tcpdump.log" 2>&1 &
capture_pid=$!
wait_until 10 "tcpdump listening" grep -q "listening on br0" "$CAPTURE_DIR/tcpdump.log"
for i in 1 2 3; do
  answer=$(lab exec client-node1 -- curl -sS --max-time 5 -H "X-Marker: $MARKER" \
    "http://10.96.1.2/?marker=$MARKER") || fail "request $i through the tunnel failed"
  expect_eq "$answer" "backend-node2-1" "answer to request $i"
done
sleep 1  # let tcpdump write out the last packets (-U flushes per packet)
stop_job "$capture_pid"
capture_pid=

packets=$(tshark -r "$PCAP" -Y tcp 2>/dev/null | wc -l)
[ "$packets" -gt 0 ] || fail "the capture holds no TCP packets at all"
ok "$packets TCP packets crossed the switch"

step "every TCP packet between nodes is on 15008 (tunnel) or 15012 (operator)"
other=$(tshark -r "$PCAP" -Y 'tcp && !(tcp.port == 15008 || tcp.port == 15012)' 2>/dev/null)
[ -z "$other" ] || fail "TCP outside the tunnel and the operator's stream:
$other"
tunnel=$(tshark -r "$PCAP" -Y 'tcp.port == 15008' 2>/dev/null | wc -l)
[ "$tunnel" -gt 0 ] || fail "nothing went through the tunnel port"
ok "$tunnel packets on 15008, none to a pod port"

step "the tunnel speaks TLS 1.3 with h2, and nothing on it is readable"
hellos=$(tshark -r "$PCAP" -d tcp.port==15008,tls -Y 'tls.handshake.type == 1' \
  -T fields -e tls.handshake.extensions.supported_version -e tls.handshake.extensions_alpn_str \
  2>/dev/null)
[ -n "$hellos" ] || fail "no TLS ClientHello on 15008"
grep -q '0x0304' <<<"$hellos" || fail "the ClientHello does not offer TLS 1.3: $hellos"
grep -q 'h2' <<<"$hellos" || fail "the ClientHello does not offer h2: $hellos"
plain=$(tshark -r "$PCAP" -d tcp.port==15008,tls -Y 'tcp.port == 15008 && http' 2>/dev/null)
[ -z "$plain" ] || fail "HTTP in clear on the tunnel port:
$plain"
ok "TLS 1.3 ClientHello with ALPN h2"

step "the marker never appears in clear"
if grep -aq "$MARKER" "$PCAP"; then fail "the marker $MARKER is readable in the capture"; fi
ok "the marker is nowhere in $(stat -c %s "$PCAP") bytes of capture"

step "node1's agent labels the connections mutual_tls with both SPIFFE IDs"
filter='connection_security_policy="mutual_tls",destination_namespace="demo",destination_principal="spiffe://cluster.local/ns/demo/sa/backend",destination_service="web-node2.demo.svc.cluster.local"'
wait_until 10 "3 closed mTLS connections in node1's /metrics" \
  counter_reached node1 weft_tcp_connections_closed_total 0 3 "$filter"
expect_eq "$(metric_sum node1 weft_tcp_connections_opened_total "$filter")" 3 \
  "mutual_tls connections opened to web-node2"
src=$(lab admin node1 /metrics | grep '^weft_tcp_connections_opened_total' | grep -c \
  'source_principal="spiffe://cluster.local/ns/demo/sa/client"')
[ "$src" -ge 1 ] || fail "no series with the client's source_principal"
expect_eq "$(metric_sum node2 weft_tunnel_streams_total 'side="server",result="opened"')" 3 \
  "streams node2's agent accepted"
ok "labelled and counted on both ends"
