# shellcheck shell=bash disable=SC2034,SC2016  # VIP is for the tests; sh -c scripts in ''
# Shared helpers for the e2e tests (sourced). Each test brings up its own lab with lab_up,
# asserts what a user would check, and the lab is removed when the test exits, pass or fail.
# ctest sets WEFT_LAB, WEFT_AGENT and WEFT_PROBE (test/e2e/CMakeLists.txt).
set -euo pipefail

: "${WEFT_LAB:?set WEFT_LAB to the weft-lab tool}"
: "${WEFT_PROBE:?set WEFT_PROBE to the weft-probe tool}"
WEFT_AGENT=${WEFT_AGENT:-}

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the e2e tests need root (network namespaces, cgroups, BPF)"
  exit 77
fi

# One lab per machine: e2e runs from other checkouts or build directories wait their turn.
mkdir -p /run/lock
exec {E2E_LOCK_FD}>/run/lock/weft-e2e.lock
flock -w 240 "$E2E_LOCK_FD" || {
  echo "FAIL: another e2e run has held /run/lock/weft-e2e.lock for 240 s" >&2
  exit 1
}

readonly VIP=10.96.0.10
CGROUP2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
readonly CGROUP2

lab() { "$WEFT_LAB" "$@"; }

step() { printf '\n=== %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
ok() { printf 'ok: %s\n' "$*"; }

expect_eq() {
  local actual=$1 expected=$2 what=$3
  [ "$actual" = "$expected" ] || fail "$what: expected '$expected', got '$actual'"
  if [[ $actual == *$'\n'* ]]; then
    ok "$what (the same $(wc -l <<<"$actual") lines)"
  else
    ok "$what ($actual)"
  fi
}

# Brings a lab up for this test and removes it on exit; on failure, shows the agents' logs.
lab_up() {
  trap lab_teardown EXIT
  lab up "$@"
}

lab_up_with_agents() {
  [ -x "$WEFT_AGENT" ] || fail "weft-agent not built (WEFT_AGENT='$WEFT_AGENT')"
  lab_up --agent-bin "$WEFT_AGENT"
}

lab_teardown() {
  local rc=$? log
  trap - EXIT
  if [ "$rc" -ne 0 ]; then
    printf '\n--- weft-lab status\n'
    lab status || true
    for log in /run/weft-lab/operator.log /run/weft-lab/*/agent.log; do
      [ -f "$log" ] || continue
      printf '\n--- last lines of %s\n' "$log"
      tail -n 30 "$log"
    done
  fi
  lab down || rc=1
  exit "$rc"
}

# Runs CLEANUP (a command string, evaluated on exit) before the lab is torn down, keeping the
# status the test exits with (lab_teardown reports it and shows the logs on failure).
cleanup_before_teardown() {
  # shellcheck disable=SC2064  # $1 is meant to be expanded now, its contents on exit
  trap "rc=\$?; set +e; $1; (exit \"\$rc\"); lab_teardown" EXIT
}

# Kills a background job the test started and reaps it: its status is not the test's.
stop_job() {
  [ -n "${1:-}" ] || return 0
  kill "$1" 2>/dev/null || true  # it may have ended already
  wait "$1" 2>/dev/null || true
}

# Removes the lab now (so the test can check what is left) and disarms the exit trap.
lab_down_now() {
  trap - EXIT
  lab down
}

# Fails unless nothing of the lab is left: namespaces, pins, cgroups, state, processes.
assert_lab_gone() {
  local left
  left=$(ip netns list | awk '{ print $1 }' | grep -E '^weft-(switch|node[0-9]+)' || true)
  [ -z "$left" ] || fail "namespaces left behind: $(echo "$left" | tr '\n' ' ')"
  [ ! -e /sys/fs/bpf/weft-lab ] || fail "bpffs pins left behind: $(find /sys/fs/bpf/weft-lab)"
  [ ! -e "$CGROUP2/weft-lab" ] || fail "cgroups left behind under $CGROUP2/weft-lab"
  [ ! -e /run/weft-lab ] || fail "/run/weft-lab left behind"
  left=$(pgrep -a -f 'nginx: .*/run/weft-lab/|bpffs-root=/sys/fs/bpf/weft-lab|weft-probe serve|dir=/run/weft-lab/cluster' ||
    true)
  [ -z "$left" ] || fail "processes left behind: $left"
  ok "nothing of the lab is left"
}

# True when NODE's agent serves a service with cluster IP VIP (its /config_dump lists it).
agent_serves() {
  lab admin "$1" /config_dump 2>/dev/null |
    jq -e --arg vip "$2" 'any(.config.services[]?; .vips | index($vip))' >/dev/null
}

# Adds a Service to namespace demo the way a user would (a YAML file through `weft-lab
# apply`) and waits until every node's agent serves it:
#   lab_add_service NAME VIP SELECTOR PORT...
# SELECTOR is label=value[,label=value] (lab pods carry app, lab.weft.io/node and
# lab.weft.io/pod), each PORT name:port:targetPort.
lab_add_service() {
  local name=$1 vip=$2 selector=$3 dir kv port node
  shift 3
  dir=$(mktemp -d)
  {
    printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: demo\n' "$name"
    printf 'spec:\n  clusterIP: %s\n  selector:\n' "$vip"
    for kv in ${selector//,/ }; do
      printf '    %s: %s\n' "${kv%%=*}" "${kv#*=}"
    done
    printf '  ports:\n'
    for port in "$@"; do
      IFS=: read -r -a port <<<"$port"
      printf '  - name: %s\n    port: %s\n    targetPort: %s\n' "${port[0]}" "${port[1]}" "${port[2]}"
    done
  } >"$dir/$name.yaml"
  lab apply "$dir/$name.yaml"
  rm -rf "$dir"
  for node in $(jq -r '.nodes[].name' /run/weft-lab/cluster.json); do
    wait_until 10 "$node's agent serving $name ($vip)" agent_serves "$node" "$vip"
  done
  ok "service $name.demo ($vip, pods with $selector) served by every agent"
}

# Runs weft-probe in a pod; prints its JSON line. Use as: out=$(probe POD ARGS...) || rc=$?
probe() {
  local pod=$1
  shift
  lab exec "$pod" -- "$WEFT_PROBE" "$@"
}

json() { jq -r "$1" <<<"$2"; }

# Sum of every series of a counter in a node agent's /metrics, optionally only the series
# whose line contains FILTER (e.g. 'source_workload="client"').
metric_sum() {
  local node=$1 name=$2 filter=${3:-}
  lab admin "$node" /metrics |
    awk -v name="$name" -v filter="$filter" '
      index($0, name "{") == 1 || index($0, name " ") == 1 {
        if (filter == "" || index($0, filter) > 0) { sum += $NF }
      }
      END { printf "%.0f\n", sum }'
}

# Polls COMMAND until it succeeds; fails with WHAT after SECONDS. A deadline for something
# that must happen, never a measurement.
wait_until() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what did not happen within ${seconds}s"
    sleep 0.2
  done
}

# True when the counter (optionally only series matching FILTER) has grown by at least
# DELTA from BASE (for wait_until; the test then asserts the exact value).
counter_reached() {
  local node=$1 name=$2 base=$3 delta=$4 filter=${5:-}
  [ "$(metric_sum "$node" "$name" "$filter")" -ge $((base + delta)) ]
}

# N requests from POD to URL, one connection each; prints one answer per line (FAILED for
# a request that failed).
http_requests() {
  local pod=$1 count=$2 url=$3
  lab exec "$pod" -- sh -c \
    'i=0; while [ $i -lt "$1" ]; do curl -sS --max-time 5 "$2" || echo FAILED; i=$((i + 1)); done' \
    sh "$count" "$url"
}
