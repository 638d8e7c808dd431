#!/usr/bin/env bash
# The local demo: installs missing Debian packages, builds, brings up a 2-node lab with a
# weft-agent per node, sends traffic from the client pods to the service VIP, and prints
# what the agents measured. The lab stays up for you to explore (`--down` removes it at the
# end); it is removed anyway if the demo fails.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly VIP=10.96.0.10
readonly REQUESTS=20
LAB=$PWD/build/bin/weft-lab
PROBE=$PWD/build/bin/weft-probe   # a small TCP client that reports getpeername()
DOWN=false

usage() {
  echo "usage: sudo ./scripts/demo.sh [--down]   (--down: remove the lab when the demo ends)"
}

lab() { "$LAB" "$@"; }

headline() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "demo.sh: failed (status $rc); removing the lab" >&2
    lab down >/dev/null 2>&1 || true
  elif $DOWN; then
    headline "Removing the lab (--down)"
    lab down
  fi
  exit "$rc"
}

# REQUESTS requests from a client pod, one connection each; counts answers per backend and
# shows the peer address the pod's socket reports (getpeername).
show_requests() {
  local pod=$1
  echo "$pod -> http://$VIP/ ($REQUESTS requests, one connection each); answers by backend pod:"
  # shellcheck disable=SC2016  # expanded by sh inside the pod
  lab exec "$pod" -- sh -c '
    i=0
    while [ $i -lt "$1" ]; do
      curl -sS --max-time 5 "$2" || echo "(request failed)"
      i=$((i + 1))
    done' sh "$REQUESTS" "http://$VIP/" | sort | uniq -c | sed 's/^/   /'
  echo "   getpeername() on the pod's socket: $(lab exec "$pod" -- "$PROBE" connect "$VIP:80" \
    --http-get / | jq -r .peer) (the VIP it dialled, not the agent's address)"
}

# Applies a service whose only endpoints run on node2 and shows client-node1 reaching it
# once the operator has put it in node1's config.
apply_only_node2() {
  local dir i
  dir=$(mktemp -d)
  cat >"$dir/only-node2.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: only-node2, namespace: demo}
spec:
  clusterIP: 10.96.1.2
  selector: {app: backend, lab.weft.io/node: node2}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
  sed 's/^/   /' "$dir/only-node2.yaml"
  lab apply "$dir/only-node2.yaml" 2>/dev/null
  rm -rf "$dir"
  for ((i = 0; i < 50; i++)); do
    lab admin node1 /config_dump | jq -e '.config.services[] | select(.name == "only-node2")' \
      >/dev/null && break
    sleep 0.1
  done
  echo "   node1's agent now runs config version $(lab admin node1 /config_dump | jq -r .version)"
  echo "   client-node1 -> http://10.96.1.2/ (5 requests):"
  # shellcheck disable=SC2016  # expanded by sh inside the pod
  lab exec client-node1 -- sh -c 'for i in 1 2 3 4 5; do curl -sS --max-time 5 "$1" ||
    echo "(request failed)"; done' sh http://10.96.1.2/ | sort | uniq -c | sed 's/^/   /'
}

# A readable digest of one agent's /metrics: per source -> destination, connections and
# bytes, and the RTT sockops measured.
summarize_metrics() {
  local node=$1
  echo "$node's agent ('weft-lab admin $node /metrics' for everything):"
  lab admin "$node" /metrics | awk '
    function label(line, name,    m) {
      if (match(line, name "=\"[^\"]*\"")) { m = substr(line, RSTART, RLENGTH); sub(/^[^"]*"/, "", m); sub(/"$/, "", m); return m }
      return "?"
    }
    /^weft_tcp_(connections_opened|connections_closed|sent_bytes|received_bytes)_total\{/ {
      key = label($0, "source_workload") "." label($0, "source_namespace") " -> " \
            label($0, "destination_service") " (" label($0, "destination_workload") ")"
      keys[key] = 1
      metric = $0; sub(/\{.*/, "", metric)
      value[key, metric] += $NF
    }
    /^weft_tcp_rtt_seconds_sum\{/   { rtt_sum += $NF }
    /^weft_tcp_rtt_seconds_count\{/ { rtt_count += $NF }
    END {
      for (k in keys) {
        printf "   %s\n", k
        printf "      connections: %.0f opened, %.0f closed\n",
          value[k, "weft_tcp_connections_opened_total"], value[k, "weft_tcp_connections_closed_total"]
        printf "      bytes: %.0f received from the client, %.0f sent back to it\n",
          value[k, "weft_tcp_received_bytes_total"], value[k, "weft_tcp_sent_bytes_total"]
        n++
      }
      if (n == 0) print "   no proxied connection yet"
      if (rtt_count > 0) printf "   RTT from sockops: %.0f samples, mean %.0f us\n", rtt_count, rtt_sum / rtt_count * 1e6
    }'
}

main() {
  case ${1:-} in
    --down) DOWN=true ;;
    "") ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  [ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (sudo ./scripts/demo.sh)" >&2; exit 1; }

  headline "Installing missing Debian packages and building"
  ./scripts/deps.sh
  mkdir -p build
  ./scripts/build.sh >build/build.log 2>&1 ||
    { tail -n 30 build/build.log; echo "build failed (build/build.log)"; exit 1; }
  echo "built into ./build (log: build/build.log)"

  trap on_exit EXIT
  headline "Bringing up the lab: 2 nodes, a weft-agent on each, weft-operator streaming their configs"
  lab up

  headline "Traffic from the client pods to the service backend.demo ($VIP:80)"
  show_requests client-node1
  show_requests client-node2

  headline "A pod outside the mesh is not captured"
  echo "outside-node1 (namespace 'outside', not enrolled) -> http://$VIP/:"
  lab exec outside-node1 -- curl -sS --max-time 3 "http://$VIP/" 2>&1 | sed 's/^/   /' || true
  echo "   (fails inside the pod: the service range is blackholed there, and only the mesh"
  echo "    can reach a VIP)"

  headline "A new service, applied like kubectl apply: the operator streams it to every agent"
  apply_only_node2

  headline "What the agents measured"
  summarize_metrics node1
  summarize_metrics node2

  if ! $DOWN; then
    headline "The lab is still up; try (as root, from here)"
    cat <<EOF
  build/bin/weft-lab status
  build/bin/weft-lab exec client-node1 -- curl -s http://$VIP/
  build/bin/weft-lab admin node1 /metrics
  build/bin/weft-lab admin operator /metrics    # connected agents, pushes, NACKs
  ls /run/weft-lab/cluster/          # the cluster's objects; edit them, or weft-lab apply
  build/bin/weft-lab agent kill node1 && build/bin/weft-lab agent start node1   # pins adopted
  build/bin/weft-lab down                                                       # removes it all
EOF
  fi
}

main "$@"
