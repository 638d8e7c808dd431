#!/usr/bin/env bash
# Workload certificates rotate under traffic without a failed request: with 20 s certificates
# (the operator's --workload-cert-ttl) both agents renew them at about half-life while
# client-node1 keeps making new connections to a backend on node2 through the mTLS tunnel,
# and a connection opened before the rotation is still served after it.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

[ -x "$WEFT_AGENT" ] || fail "weft-agent not built (WEFT_AGENT='$WEFT_AGENT')"
lab_up --agent-bin "$WEFT_AGENT" --workload-cert-ttl 20s

readonly RESULTS=$(mktemp)
traffic_pid=
cleanup_before_teardown 'stop_job "$traffic_pid"; rm -f "$RESULTS"'

client_serial() {
  lab admin node1 /debug/certificates |
    jq -r '.certificates[] | select(.identity == "spiffe://cluster.local/ns/demo/sa/client") | .serial'
}
rotations() { metric_sum "$1" weft_workload_certificate_rotations_total; }

step "an echo server in backend-node2-1 and a service for it and its nginx"
lab exec backend-node2-1 -- "$WEFT_PROBE" serve --port 9000 &
wait_until 10 "backend-node2-1 listening on :9000" \
  lab exec backend-node2-1 -- sh -c 'ss -Hltn "sport = :9000" | grep -q .'
lab_add_service web-node2 10.96.1.2 lab.weft.io/pod=backend-node2-1 http:80:8080 echo:9000:9000

wait_until 20 "node1 holding the client's certificate" test -n "$(client_serial)"
serial0=$(client_serial)
rotations1=$(rotations node1)
rotations2=$(rotations node2)

step "a connection opened now, used after the rotation (it waits 25 s before sending)"
long_out=$(mktemp)
probe client-node1 connect 10.96.1.2:9000 --wait-ms 25000 --send 100000 --expect-echo \
  --timeout-ms 40000 >"$long_out" &
long_pid=$!

step "new connections every 100 ms while both agents rotate their certificates"
lab exec client-node1 -- sh -c 'while :; do
    curl -fsS --max-time 5 -o /dev/null http://10.96.1.2/ && echo ok || echo FAILED
    sleep 0.1
  done' >"$RESULTS" 2>&1 &
traffic_pid=$!
wait_until 30 "a rotation on node1" counter_reached node1 weft_workload_certificate_rotations_total \
  "$rotations1" 1
wait_until 30 "a rotation on node2" counter_reached node2 weft_workload_certificate_rotations_total \
  "$rotations2" 1
sleep 2  # requests after the rotation, on connections with the new certificates
stop_job "$traffic_pid"
traffic_pid=
wait "$long_pid" || fail "the connection opened before the rotation failed: $(cat "$long_out")"

requests=$(grep -c . "$RESULTS")
failed=$(grep -vc '^ok$' "$RESULTS" || true)
[ "$requests" -ge 20 ] || fail "only $requests requests were made"
expect_eq "$failed" 0 "failed requests out of $requests ($(grep -v '^ok$' "$RESULTS" | head -3))"
[ "$(client_serial)" != "$serial0" ] || fail "the client's certificate was not replaced"
ok "client certificate $serial0 replaced by $(client_serial)"
expect_eq "$(json '.echo_ok' "$(cat "$long_out")")" true \
  "the connection opened before the rotation echoed 100000 bytes after it"
rm -f "$long_out"
