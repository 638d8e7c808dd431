#!/usr/bin/env bash
# The agents take their config from the operator's gRPC stream: a change to the cluster's
# objects reaches every agent (and is reported as the time it took), the data path keeps
# working while the operator is killed, a change made meanwhile waits, and a restarted
# operator brings every agent up to date again without disturbing connections.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents
held_output=/run/weft-lab/held-connection.json  # removed with the lab
for pod in backend-node1-1 backend-node2-1; do
  lab exec "$pod" -- "$WEFT_PROBE" serve --port 9000 &
  wait_until 10 "$pod listening on :9000" \
    lab exec "$pod" -- sh -c 'ss -Hltn "sport = :9000" | grep -q .'
done

operator_metric() {
  lab admin operator /metrics |
    awk -v name="$1" 'index($0, name " ") == 1 || index($0, name "{") == 1 { sum += $NF }
      END { printf "%.0f\n", sum }'
}
operator_has_agents() { [ "$(operator_metric weft_operator_connected_agents)" = "$1" ]; }
stream_connected() { [ "$(metric_sum "$1" weft_config_stream_connected)" = "$2" ]; }
config_source() { lab admin "$1" /config_dump | jq -r '"\(.source.kind) \(.source.location)"'; }
ms_now() { date +%s%3N; }

expect_requests_work() {
  local pod=$1 count=$2 answers
  answers=$(http_requests "$pod" "$count" "http://$VIP/")
  expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' <<<"$answers")" "$count" \
    "$pod: answers from backends out of $count requests"
}

step "every agent streams its config from the operator"
wait_until 10 "both agents connected to the operator" operator_has_agents 2
for node in node1 node2; do
  wait_until 10 "$node's stream reported connected" stream_connected "$node" 1
  source_of_config=$(config_source "$node")
  [[ $source_of_config == "operator 10.250.0.1:15012" ]] ||
    fail "$node's /config_dump names its config source '$source_of_config', not the operator"
  ok "$node: config from $source_of_config"
done
expect_requests_work client-node1 4

step "a new Service reaches every agent through the stream"
start=$(ms_now)
lab_add_service stream-a 10.96.5.1 app=backend http:80:8080
echo "applied to both agents in $(($(ms_now) - start)) ms (file written -> both /config_dumps)"
answers=$(http_requests client-node2 4 http://10.96.5.1/)
expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' <<<"$answers")" 4 "answers through stream-a"

step "kill -9 the operator while a client keeps requesting: nothing fails"
answers_file=$(mktemp)
http_requests client-node1 60 "http://$VIP/" >"$answers_file" &
requests=$!
sleep 0.3
lab operator kill
wait "$requests"
expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' "$answers_file")" 60 \
  "answers out of 60 requests across the operator's death"
rm -f "$answers_file"
for node in node1 node2; do
  wait_until 10 "$node's stream reported down" stream_connected "$node" 0
  lab admin "$node" /ready >/dev/null || fail "$node's agent is not ready without the operator"
done
ok "agents stay ready and keep their last config"
expect_requests_work client-node2 4

step "a change made while the operator is away waits for it"
lab_add_service_file() {
  local dir
  dir=$(mktemp -d)
  printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: stream-b\n  namespace: demo\n%s\n' \
    'spec: {clusterIP: 10.96.5.2, selector: {app: backend}, ports: [{name: http, port: 80, targetPort: 8080}]}' \
    >"$dir/stream-b.yaml"
  lab apply "$dir/stream-b.yaml"
  rm -rf "$dir"
}
lab_add_service_file
sleep 1
for node in node1 node2; do
  ! agent_serves "$node" 10.96.5.2 || fail "$node serves stream-b without an operator"
done
ok "no agent has stream-b yet"

step "the operator comes back: agents reconnect and catch up; old connections are untouched"
# A connection opened before the restart and used after it.
probe client-node1 connect "$VIP:9000" --send 65536 --expect-echo --wait-ms 3000 \
  >"$held_output" &
held=$!
start=$(ms_now)
lab operator start
for node in node1 node2; do
  wait_until 15 "$node serving stream-b after the operator's restart" \
    agent_serves "$node" 10.96.5.2
done
echo "both agents up to date $(($(ms_now) - start)) ms after the operator was started"
wait_until 10 "both agents connected again" operator_has_agents 2
agent_serves node1 10.96.5.1 || fail "node1 lost stream-a across the operator's restart"
answers=$(http_requests client-node1 4 http://10.96.5.2/)
expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' <<<"$answers")" 4 "answers through stream-b"
rc=0
wait "$held" || rc=$?
cat "$held_output"
expect_eq "$rc" 0 "the connection held across the operator's restart (echo of 64 KiB)"
nacks=$(operator_metric weft_operator_nacks_total)
expect_eq "$nacks" 0 "NACKs reported by the operator"
