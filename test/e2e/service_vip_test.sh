#!/usr/bin/env bash
# A pod reaches the service VIP through the mesh: answers come from backends on both nodes,
# the application sees the VIP as its peer, and the client's agent counts each connection.
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_up_with_agents

opened0=$(metric_sum node1 weft_tcp_connections_opened_total)
closed0=$(metric_sum node1 weft_tcp_connections_closed_total)
failures0=$(metric_sum node1 weft_proxy_failures_total)

step "40 requests from client-node1 to http://$VIP/ all succeed"
answers=$(http_requests client-node1 40 "http://$VIP/")
sort <<<"$answers" | uniq -c
expect_eq "$(grep -c . <<<"$answers")" 40 "answers"
expect_eq "$(grep -vcE '^backend-node[0-9]+-[0-9]+$' <<<"$answers" || true)" 0 \
  "answers that are not a backend pod's name"

step "the answers come from backends on both nodes"
grep -q '^backend-node1-' <<<"$answers" || fail "no answer from a backend on node1"
grep -q '^backend-node2-' <<<"$answers" || fail "no answer from a backend on node2"
ok "both nodes answered"

step "node1's agent counted each connection once"
wait_until 10 "40 closed connections in node1's /metrics" \
  counter_reached node1 weft_tcp_connections_closed_total "$closed0" 40
expect_eq $(($(metric_sum node1 weft_tcp_connections_opened_total) - opened0)) 40 \
  "connections opened on node1"
expect_eq $(($(metric_sum node1 weft_tcp_connections_closed_total) - closed0)) 40 \
  "connections closed on node1"
expect_eq $(($(metric_sum node1 weft_proxy_failures_total) - failures0)) 0 \
  "failures on node1 (weft_proxy_failures_total) while every request succeeded"
series=$(lab admin node1 /metrics | grep '^weft_tcp_connections_opened_total{' | head -n 1)
for label in 'reporter="source"' 'source_workload="client"' 'source_namespace="demo"' \
    'destination_service="backend.demo' 'destination_workload="backend'; do
  grep -qF "$label" <<<"$series" || fail "label $label missing in: $series"
done
ok "labels: $series"

step "node1's /metrics passes promtool check metrics"
lab admin node1 /metrics | promtool check metrics
ok "promtool is happy"

step "getpeername() in the client returns the VIP it dialled"
for pod in client-node1 client-node2; do
  out=$(probe "$pod" connect "$VIP:80" --http-get /) || fail "GET through the VIP failed: $out"
  echo "$out"
  expect_eq "$(json .peer "$out")" "$VIP:80" "$pod: getpeername()"
  [[ $(json .http_body "$out") =~ ^backend-node[0-9]+-[0-9]+$ ]] || fail "unexpected answer"
  ip=$(lab status | awk -v p="$pod" '$1 == p { print $4 }')
  expect_eq "$(json .local "$out" | cut -d: -f1)" "$ip" "$pod: getsockname() address"
done

step "client-node2 reaches backends on both nodes too"
answers=$(http_requests client-node2 20 "http://$VIP/")
sort <<<"$answers" | uniq -c
expect_eq "$(grep -cE '^backend-node[0-9]+-[0-9]+$' <<<"$answers")" 20 "answers from backends"
grep -q '^backend-node1-' <<<"$answers" || fail "no answer from a backend on node1"
grep -q '^backend-node2-' <<<"$answers" || fail "no answer from a backend on node2"
ok "both nodes answered"
