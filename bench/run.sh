#!/usr/bin/env bash
# bench/run.sh: weft against the direct path and against HAProxy, in one go, inside the lab.
#
# Brings up a lab (weft-lab up; always weft-lab down on exit), adds services whose endpoints
# are only on one node, and measures from client-node1, interleaved over a few rounds:
#   cross-node  direct (pod IP), weft L4 (VIP → agent), HAProxy single (one haproxy on the
#               client's node) and HAProxy pair (haproxy node1 → haproxy node2 → pod);
#   same-node   direct and weft (the agent's same-node fast path, if it has one).
# Load: wrk (keep-alive, nginx's small body) and iperf3 (one bulk stream). Prints a table and
# writes a JSON summary. The exit status says whether the benchmark ran, never how fast
# anything was. `bench/run.sh --help` for options; bench/README.md explains the output.
# shellcheck disable=SC2016  # $names inside single quotes are jq variables
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
readonly BENCH_DIR REPO
readonly STATE_DIR=/run/weft-lab
readonly CLUSTER_FILE=$STATE_DIR/cluster.json
readonly CLIENT=client-node1
readonly HTTP_PORT=8080       # nginx in every backend pod (the lab starts it)
readonly IPERF_PORT=5201      # iperf3 -s, started by this script in the two backend pods
readonly HAPROXY_SINGLE=18080 # node1: → far backend pod        (+ 15201 for iperf3)
readonly HAPROXY_PAIR=18081   # node1: → node2's haproxy :18082 (+ 15202 → 15203)
readonly HAPROXY_HOP2=18082   # node2: → far backend pod
readonly MIB=1048576

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]          (as root; one lab at a time on a machine)

  --quick               1 round, 3 s wrk, 2 s iperf3 (about a minute)
  --rounds N            interleaved rounds per setup; medians are reported (default 3)
  --duration S          seconds per wrk run (default 5)
  --connections N       wrk keep-alive connections (default 16)
  --iperf-seconds S     seconds per iperf3 run (default 3)
  --out FILE            JSON summary (default bench/results/latest.json)
  --build-dir DIR       where bin/weft-lab and bin/weft-agent are (default <repo>/build);
                        $WEFT_LAB and $WEFT_AGENT override the two paths
  --no-weft             measure only the direct and HAProxy setups
  --replace-lab         remove a lab that is already up instead of refusing to start
  --wait S              when another lab is up, wait up to S seconds for it to be gone
                        (and stay gone for 20 s) instead of refusing to start
  --profile             after the rounds, one extra wrk run per weft setup (and one on
                        HAProxy single) under perf, not counted in the table; CPU profile
                        and syscalls per request go to agent-profile.txt beside --out
EOF
}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

ROUNDS=3 WRK_SECONDS=5 CONNECTIONS=16 IPERF_SECONDS=3 QUICK=false
OUT=$BENCH_DIR/results/latest.json BUILD_DIR=$REPO/build WITH_WEFT=true REPLACE_LAB=false
PROFILE=false WAIT_SECONDS=0

in_range() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --quick) QUICK=true ROUNDS=1 WRK_SECONDS=3 IPERF_SECONDS=2; shift ;;
      --rounds) ROUNDS=${2:?}; shift 2 ;;
      --duration) WRK_SECONDS=${2:?}; shift 2 ;;
      --connections) CONNECTIONS=${2:?}; shift 2 ;;
      --iperf-seconds) IPERF_SECONDS=${2:?}; shift 2 ;;
      --out) OUT=${2:?}; shift 2 ;;
      --build-dir) BUILD_DIR=${2:?}; shift 2 ;;
      --no-weft) WITH_WEFT=false; shift ;;
      --replace-lab) REPLACE_LAB=true; shift ;;
      --profile) PROFILE=true; shift ;;
      --wait) WAIT_SECONDS=${2:?}; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument '$1'" ;;
    esac
  done
  # Bounded so that a typo cannot turn the benchmark into an hour of load on a shared machine.
  in_range "$ROUNDS" 1 10 || die "--rounds must be 1..10"
  in_range "$WRK_SECONDS" 1 30 || die "--duration must be 1..30 seconds"
  in_range "$CONNECTIONS" 1 256 || die "--connections must be 1..256"
  in_range "$IPERF_SECONDS" 1 30 || die "--iperf-seconds must be 1..30"
  in_range "$WAIT_SECONDS" 0 3600 || die "--wait must be 0..3600 seconds"
}

# --- the lab --------------------------------------------------------------------------------

LAB="" AGENT="" LAB_VERSION="" TMP=""
BG_PIDS=()         # processes this script started (haproxy, iperf3 servers, wrk)
HAPROXY_PIDS=()

find_binaries() {
  LAB=${WEFT_LAB:-$BUILD_DIR/bin/weft-lab}
  [ -x "$LAB" ] || LAB=$REPO/lab/weft-lab
  LAB=$(readlink -f "$LAB")
  if $WITH_WEFT; then
    AGENT=$(readlink -f "${WEFT_AGENT:-$(dirname "$LAB")/weft-agent}")
    if [ ! -x "$AGENT" ]; then
      log "no weft-agent at $AGENT (build it, or set WEFT_AGENT); measuring without weft"
      WITH_WEFT=false AGENT=""
    fi
  fi
}

lab_present() { [ -e "$STATE_DIR" ] || ip netns list | grep -qE '^weft-(switch|node[0-9]+)\b'; }

# The lab this run made is still there (another run's `weft-lab up` replaces a lab).
lab_is_ours() {
  [ -f "$CLUSTER_FILE" ] && [ "$(jq -r .version "$CLUSTER_FILE" 2>/dev/null)" = "$LAB_VERSION" ]
}

require_our_lab() {
  lab_is_ours ||
    die "the lab was removed or replaced by another run (an e2e test?) during the benchmark; run again when no other lab is in use"
}

cluster() { jq -r "$@" "$CLUSTER_FILE"; }

# Another run's lab (an e2e test on a shared machine) comes and goes; wait for a quiet spell.
wait_for_no_lab() {
  local deadline=$((SECONDS + WAIT_SECONDS)) quiet_since=$SECONDS
  lab_present && log "another lab is up; waiting up to $WAIT_SECONDS s for it to be gone"
  while [ $((SECONDS - quiet_since)) -lt 20 ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 0
    lab_present && quiet_since=$SECONDS
    sleep 1
  done
}

lab_up() {
  if [ "$WAIT_SECONDS" -gt 0 ] && ! $REPLACE_LAB; then
    wait_for_no_lab
  fi
  if lab_present && ! $REPLACE_LAB; then
    die "a lab is already up (another run?); remove it with 'weft-lab down' or pass --replace-lab"
  fi
  local args=(up --nodes 2 --pods-per-node 2 --log-level warn)
  if $WITH_WEFT; then args+=(--agent-bin "$AGENT"); else args+=(--no-agents); fi
  LAB_VERSION=pending
  "$LAB" "${args[@]}" >"$TMP/lab-up.log" 2>&1 ||
    die "weft-lab up failed:$(printf '\n')$(tail -n 20 "$TMP/lab-up.log")"
  LAB_VERSION=$(cluster .version)
}

stop_background() {
  local pid deadline=$((SECONDS + 5))
  for pid in "${BG_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BG_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BG_PIDS=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_background
  # Only the lab this run made is removed (or what is left of it when `up` failed part-way);
  # a lab another run put up meanwhile is left alone.
  if lab_is_ours || { [ "$LAB_VERSION" = pending ] && [ ! -f "$CLUSTER_FILE" ]; }; then
    "$LAB" down >>"$TMP/lab-down.log" 2>&1 || log "weft-lab down failed: $(tail -n 5 "$TMP/lab-down.log")"
  elif [ -n "$LAB_VERSION" ]; then
    log "the lab is no longer this run's; leaving it alone"
  fi
  rm -rf "$TMP"
  exit "$rc"
}

# --- bench services (VIPs with endpoints on one node only) ----------------------------------

# The services bench-node<n>.demo (VIP 10.96.1.<n>, endpoints: node n's backend pods), as
# one YAML file through `weft-lab apply`; the operator puts them in every node's config.
write_bench_services() {
  local file=$1 node index
  : >"$file"
  for node in $(cluster '.nodes[].name'); do
    index=$(cluster --arg n "$node" '.nodes[] | select(.name == $n) | .index')
    cat >>"$file" <<EOF
---
apiVersion: v1
kind: Service
metadata:
  name: bench-$node
  namespace: demo
spec:
  clusterIP: 10.96.1.$index
  selector:
    app: backend
    lab.weft.io/node: $node
  ports:
  - name: http
    port: 80
    targetPort: $HTTP_PORT
    appProtocol: http
  - name: iperf
    port: $IPERF_PORT
    targetPort: $IPERF_PORT
EOF
  done
}

agent_serves_bench() {
  "$LAB" admin "$1" /config_dump 2>/dev/null |
    jq -e --argjson n "$(cluster '.nodes | length')" \
      '[.config.services[]? | select(.name | startswith("bench-"))] | length == $n' \
      >/dev/null 2>&1 && "$LAB" admin "$1" /ready >/dev/null 2>&1
}

add_bench_services() {
  local node deadline
  write_bench_services "$TMP/bench.yaml"
  "$LAB" apply "$TMP/bench.yaml" 2>/dev/null || die "weft-lab apply of the bench services failed"
  $WITH_WEFT || return 0
  for node in $(cluster '.nodes[].name'); do
    deadline=$((SECONDS + 10))
    until agent_serves_bench "$node"; do
      [ "$SECONDS" -lt "$deadline" ] ||
        die "the agent on $node does not serve the bench services 10 s after they were applied (see /run/weft-lab/operator.log)"
      sleep 0.2
    done
  done
}

# --- background servers --------------------------------------------------------------------

start_bg() {  # start_bg LOG CMD...: runs CMD in the background and remembers its pid
  local log=$1
  shift
  "$@" </dev/null >>"$log" 2>&1 &
  BG_PIDS+=("$!")
}

haproxy_config() {  # haproxy_config THREADS "bind target" ...
  local threads=$1 route
  shift
  printf 'global\n  nbthread %s\n  maxconn 8192\n' "$threads"
  printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
  local bind target
  for route in "$@"; do
    read -r bind target <<<"$route"
    printf 'listen l_%s\n  bind %s\n  server s1 %s\n' "${bind//[.:]/_}" "$bind" "$target"
  done
}

start_servers() {
  local pod threads gw1 node2_ip
  for pod in "$NEAR_POD" "$FAR_POD"; do
    start_bg "$TMP/iperf3-$pod.log" "$LAB" exec "$pod" -- iperf3 -s -p "$IPERF_PORT"
  done
  # As many threads as the agent has workers (one per core), on the same nodes as the agents.
  threads=$(nproc)
  gw1=$(cluster '.nodes[0].gateway')
  node2_ip=$(cluster '.nodes[1].ip')
  haproxy_config "$threads" \
    "$gw1:$HAPROXY_SINGLE $FAR_IP:$HTTP_PORT" "$gw1:15201 $FAR_IP:$IPERF_PORT" \
    "$gw1:$HAPROXY_PAIR $node2_ip:$HAPROXY_HOP2" "$gw1:15202 $node2_ip:15203" \
    >"$TMP/haproxy-node1.cfg"
  haproxy_config "$threads" \
    "$node2_ip:$HAPROXY_HOP2 $FAR_IP:$HTTP_PORT" "$node2_ip:15203 $FAR_IP:$IPERF_PORT" \
    >"$TMP/haproxy-node2.cfg"
  for node in node1 node2; do
    start_bg "$TMP/haproxy-$node.log" "$LAB" exec "$node" -- haproxy -db -q -f "$TMP/haproxy-$node.cfg"
    HAPROXY_PIDS+=("${BG_PIDS[-1]}")
  done
}

# --- setups ---------------------------------------------------------------------------------

NEAR_POD="" NEAR_IP="" FAR_POD="" FAR_IP=""
SETUPS=()  # "id|group|label|url|iperf-host|iperf-port|expected body|path"

plan_setups() {
  local gw1
  read -r NEAR_POD NEAR_IP < <(cluster '[.pods[] | select(.role == "backend" and .node == "node1")][0]
                                       | "\(.name) \(.ip)"')
  read -r FAR_POD FAR_IP < <(cluster '[.pods[] | select(.role == "backend" and .node == "node2")][0]
                                     | "\(.name) \(.ip)"')
  gw1=$(cluster '.nodes[0].gateway')
  SETUPS=(
    "cross.direct|cross-node|direct|http://$FAR_IP:$HTTP_PORT/|$FAR_IP|$IPERF_PORT|$FAR_POD|client → pod IP (no proxy)"
  )
  $WITH_WEFT && SETUPS+=(
    "cross.weft|cross-node|weft L4|http://10.96.1.2/|10.96.1.2|$IPERF_PORT|$FAR_POD|client → VIP → agent node1 → pod"
  )
  SETUPS+=(
    "cross.haproxy_single|cross-node|HAProxy single|http://$gw1:$HAPROXY_SINGLE/|$gw1|15201|$FAR_POD|client → haproxy node1 → pod"
    "cross.haproxy_pair|cross-node|HAProxy pair|http://$gw1:$HAPROXY_PAIR/|$gw1|15202|$FAR_POD|client → haproxy node1 → haproxy node2 → pod"
    "same.direct|same-node|direct|http://$NEAR_IP:$HTTP_PORT/|$NEAR_IP|$IPERF_PORT|$NEAR_POD|client → pod IP (no proxy)"
  )
  $WITH_WEFT && SETUPS+=(
    "same.weft|same-node|weft|http://10.96.1.1/|10.96.1.1|$IPERF_PORT|$NEAR_POD|client → VIP → agent node1 → pod"
  )
  return 0
}

# Every path must answer with the expected pod before anything is measured.
check_setups() {
  local setup id url expect got deadline
  for setup in "${SETUPS[@]}"; do
    IFS='|' read -r id _ _ url _ _ expect _ <<<"$setup"
    deadline=$((SECONDS + 10))
    until got=$("$LAB" exec "$CLIENT" -- curl -fsS --max-time 2 "$url" 2>&1) && [ "$got" = "$expect" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die "$id: $url answered '$got', expected '$expect'"
      sleep 0.3
    done
  done
}

# --- measurement ----------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

agent_pids() {  # agent_pids NODE
  local labcg
  labcg=$(cluster .labCgroup)
  cat "$labcg/$1/system/cgroup.procs" 2>/dev/null || true
}

all_agent_pids() { agent_pids node1; agent_pids node2; }

cpu_seconds() {  # cpu_seconds PID...: utime + stime of the processes (all their threads)
  local pid stat total=0
  local -a f
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }"  # fields 3.. (the command name may hold spaces)
    total=$((total + f[11] + f[12]))
  done
  awk -v t="$total" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }'
}

rss_kib() {  # rss_kib PID...: summed VmRSS
  local pid total=0 kib
  for pid in "$@"; do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || true
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

# Connections the client's agent has in its same-node kernel fast path right now (the pinned
# pair map, WEFT_MAP_MSG_PAIRS in bpf/include/weft_abi.h, holds one entry per pod socket, two
# per connection), or null.
fast_path_connections() {
  local pin=/sys/fs/bpf/weft-lab/node1/weft_msg_pairs
  if $WITH_WEFT && [ -e "$pin" ] && command -v bpftool >/dev/null 2>&1; then
    bpftool -j map dump pinned "$pin" 2>/dev/null | jq 'length / 2 | floor' 2>/dev/null ||
      echo null
  else
    echo null
  fi
}

# {"node1": kib, "node2": kib} of the agents, or {} without weft.
agent_rss_json() {
  local node args=()
  if $WITH_WEFT; then
    for node in node1 node2; do
      # shellcheck disable=SC2046
      args+=(--argjson "$node" "$(rss_kib $(agent_pids "$node"))")
    done
  fi
  jq -nc "${args[@]}" '$ARGS.named'
}

# [kib, ...] of each haproxy process.
haproxy_rss_json() {
  local pid
  for pid in "${HAPROXY_PIDS[@]}"; do
    rss_kib "$pid"
  done | jq -sc .
}

# Runs one load command (output to OUT) in the background, samples RSS half-way, and writes
# $TMP/record.json with the agents' and haproxies' CPU time spent meanwhile.
measure() {  # measure KIND SETUP ROUND SECONDS OUT CMD...
  local kind=$1 setup=$2 round=$3 secs=$4 out=$5 pid a0 a1 h0 h1 rss hrss fast
  shift 5
  require_our_lab
  # shellcheck disable=SC2046
  a0=$(cpu_seconds $(all_agent_pids))
  h0=$(cpu_seconds "${HAPROXY_PIDS[@]}")
  "$@" >"$out" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
  rss=$(agent_rss_json)
  hrss=$(haproxy_rss_json)
  fast=$(fast_path_connections)
  wait "$pid" || true
  unset 'BG_PIDS[-1]'
  # shellcheck disable=SC2046
  a1=$(cpu_seconds $(all_agent_pids))
  h1=$(cpu_seconds "${HAPROXY_PIDS[@]}")
  jq -nc --arg kind "$kind" --arg setup "$setup" --argjson round "$round" \
    --argjson agent_cpu "$(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.3f", b - a }')" \
    --argjson haproxy_cpu "$(awk -v a="$h0" -v b="$h1" 'BEGIN { printf "%.3f", b - a }')" \
    --argjson agent_rss "$rss" --argjson haproxy_rss "$hrss" --argjson fast "$fast" \
    '{kind: $kind, setup: $setup, round: $round, agent_cpu_s: $agent_cpu,
      haproxy_cpu_s: $haproxy_cpu, agent_rss_kib: $agent_rss, haproxy_rss_kib: $haproxy_rss,
      fast_path_connections: $fast}' \
    >"$TMP/record.json"
}

FAILURES=0

run_wrk() {  # run_wrk SETUP ROUND URL SECONDS [record?]
  local setup=$1 round=$2 url=$3 secs=$4 out="$TMP/wrk.out" result
  measure wrk "$setup" "$round" "$secs" "$out" \
    timeout $((secs + 20)) "$LAB" exec "$CLIENT" -- \
    wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --timeout 5s --latency \
    -s "$BENCH_DIR/wrk_report.lua" "$url"
  [ "$round" -gt 0 ] || return 0  # warm-up
  result=$(sed -n 's/^WEFT_BENCH //p' "$out")
  if [ -z "$result" ] || [ "$(jq .requests <<<"$result")" -eq 0 ]; then
    log "$setup: wrk completed no request: $(tail -n 3 "$out" | tr '\n' ' ')"
    FAILURES=$((FAILURES + 1))
    result='{"requests": 0, "failed": true}'
  fi
  jq -c --argjson wrk "$result" '. + {wrk: $wrk}' "$TMP/record.json" >>"$TMP/records.jsonl"
}

run_iperf() {  # run_iperf SETUP ROUND HOST PORT
  local setup=$1 round=$2 host=$3 port=$4 out="$TMP/iperf.out" result attempt
  for attempt in 1 2; do
    measure iperf "$setup" "$round" "$IPERF_SECONDS" "$out" \
      timeout $((IPERF_SECONDS + 20)) "$LAB" exec "$CLIENT" -- \
      iperf3 -c "$host" -p "$port" -t "$IPERF_SECONDS" -J
    result=$(jq -c '{bits_per_second: .end.sum_received.bits_per_second, bytes: .end.sum_received.bytes,
                     retransmits: .end.sum_sent.retransmits, error}' "$out" 2>/dev/null) ||
      result='{"error": "iperf3 printed no JSON"}'
    # The server takes a moment to be ready for the next test after one ends.
    [ "$(jq -r '.error // empty' <<<"$result")" != "" ] && [ "$attempt" -eq 1 ] && { sleep 1; continue; }
    break
  done
  if [ -n "$(jq -r '.error // empty' <<<"$result")" ]; then
    log "$setup: iperf3 failed: $(jq -r .error <<<"$result")"
    FAILURES=$((FAILURES + 1))
  fi
  jq -c --argjson iperf "$result" '. + {iperf: $iperf}' "$TMP/record.json" >>"$TMP/records.jsonl"
  sleep 0.5
}

record_idle() {  # record_idle WHEN
  $WITH_WEFT || return 0
  # shellcheck disable=SC2046
  jq -nc --arg when "$1" --argjson rss "$(agent_rss_json)" \
    --argjson cpu "$(cpu_seconds $(all_agent_pids))" \
    '{kind: "idle", when: $when, agent_rss_kib: $rss, agent_cpu_s_total: $cpu}' \
    >>"$TMP/records.jsonl"
}

run_rounds() {
  local round setup id url host port
  if ! $QUICK; then
    log "warm-up: 1 s of wrk per setup"
    for setup in "${SETUPS[@]}"; do
      IFS='|' read -r id _ _ url _ _ _ _ <<<"$setup"
      run_wrk "$id" 0 "$url" 1
    done
  fi
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round/$ROUNDS: wrk ${WRK_SECONDS}s and iperf3 ${IPERF_SECONDS}s per setup"
    # Interleaved: a slow minute on a shared machine then hurts every setup alike.
    for setup in "${SETUPS[@]}"; do
      IFS='|' read -r id _ _ url _ _ _ _ <<<"$setup"
      run_wrk "$id" "$round" "$url" "$WRK_SECONDS"
    done
    for setup in "${SETUPS[@]}"; do
      IFS='|' read -r id _ _ _ host port _ _ <<<"$setup"
      run_iperf "$id" "$round" "$host" "$port"
    done
  done
}

# --profile: where a proxy spends its CPU under wrk load (a flat profile by library and by
# symbol) and its system calls per request (tracepoint counts over the same window).
readonly SYSCALL_EVENTS=syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,\
syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_recvmsg,\
syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,\
syscalls:sys_enter_futex,context-switches
# System-wide (the whole machine, so other load shows too): kernel work items run by kworkers
# (the sockmap redirect to a socket's egress is one) and task switches.
readonly SYSTEM_EVENTS=workqueue:workqueue_execute_start,sched:sched_switch

per_request() {  # per_request CSV REQUESTS: perf stat -x, counts divided by the requests
  awk -F, -v n="$2" '!/^#/ && NF > 2 && n > 0 && $1 ~ /^[0-9]+$/ {
    sub(/^[a-z_]+:(sys_enter_)?/, "", $3); if ($1 / n >= 0.005) printf "  %-24s %6.2f\n", $3, $1 / n
  }' "$1"
}

profile_report() {  # profile_report DATA STAT_CSV SYSTEM_CSV WRK_OUT
  local requests
  requests=$(sed -n 's/^WEFT_BENCH //p' "$4" | jq '.requests // 0')
  echo "--- CPU by library (self time)"
  perf report -i "$1" --stdio -q --no-children -g none --sort dso --percent-limit 1 2>/dev/null |
    sed -E 's/[[:space:]]+$//' | grep -v '^$' || true
  echo "--- CPU by symbol (self time, top 25)"
  perf report -i "$1" --stdio -q --no-children -g none --sort dso,symbol --percent-limit 0.5 \
    2>/dev/null | sed -E 's/[[:space:]]+(-[[:space:]]+)*$//' | grep -v '^$' | head -n 25 || true
  echo "--- the process's system calls and context switches per request ($requests requests)"
  per_request "$2" "$requests"
  echo "--- system-wide per request: kworker work items, task switches"
  per_request "$3" "$requests"
}

# One extra wrk run on a setup under perf: a CPU profile and syscall counts of the proxy
# process(es) PIDS (comma-separated) and system-wide counters, appended to REPORT.
profile_setup() {  # profile_setup ID URL PIDS WHAT REPORT
  local id=$1 url=$2 pids=$3 what=$4 report=$5 rec_pid stat_pid sys_pid
  require_our_lab
  log "profiling $what during $WRK_SECONDS s of wrk on $id"
  perf record -q -F 999 -g -p "$pids" -o "$TMP/perf-$id.data" -- sleep "$WRK_SECONDS" \
    >/dev/null 2>&1 &
  rec_pid=$!
  perf stat -x, -o "$TMP/perf-stat-$id.csv" -e "$SYSCALL_EVENTS" -p "$pids" \
    -- sleep "$WRK_SECONDS" >/dev/null 2>&1 &
  stat_pid=$!
  perf stat -x, -o "$TMP/perf-system-$id.csv" -e "$SYSTEM_EVENTS" -a \
    -- sleep "$WRK_SECONDS" >/dev/null 2>&1 &
  sys_pid=$!
  BG_PIDS+=("$rec_pid" "$stat_pid" "$sys_pid")
  timeout $((WRK_SECONDS + 20)) "$LAB" exec "$CLIENT" -- \
    wrk -t1 -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --timeout 5s \
    -s "$BENCH_DIR/wrk_report.lua" "$url" >"$TMP/profile-wrk.out" 2>&1 || true
  wait "$rec_pid" "$stat_pid" "$sys_pid" || true
  unset 'BG_PIDS[-1]' 'BG_PIDS[-1]' 'BG_PIDS[-1]'
  {
    echo "=== $id: $what under wrk -c$CONNECTIONS, $WRK_SECONDS s (perf 999 Hz)"
    profile_report "$TMP/perf-$id.data" "$TMP/perf-stat-$id.csv" "$TMP/perf-system-$id.csv" \
      "$TMP/profile-wrk.out"
    echo
  } >>"$report"
}

# Where node1's agent spends its CPU in the weft setups, and node1's haproxy for comparison.
profile_proxies() {
  local setup id url report
  command -v perf >/dev/null 2>&1 || { log "--profile: perf not found; no profile"; return 0; }
  report="$(dirname "$OUT")/agent-profile.txt"
  mkdir -p "$(dirname "$OUT")"
  : >"$report"
  for setup in "${SETUPS[@]}"; do
    IFS='|' read -r id _ _ url _ _ _ _ <<<"$setup"
    case $id in
      *weft*) profile_setup "$id" "$url" "$(agent_pids node1 | paste -sd,)" \
                "node1's weft-agent" "$report" ;;
      cross.haproxy_single) profile_setup "$id" "$url" "${HAPROXY_PIDS[0]}" \
                              "node1's haproxy" "$report" ;;
    esac
  done
  log "profile: $report"
}

# --- report ---------------------------------------------------------------------------------

write_summary() {
  local started=$1 setups_json
  setups_json=$(printf '%s\n' "${SETUPS[@]}" | jq -R -s -c '
    split("\n") | map(select(length > 0) | split("|")
      | {id: .[0], group: .[1], label: .[2], url: .[3], path: .[7]})')
  mkdir -p "$(dirname "$OUT")"
  jq -s --argjson setups "$setups_json" \
    --arg started "$started" --arg finished "$(date -Is)" \
    --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson rounds "$ROUNDS" --argjson wrk_seconds "$WRK_SECONDS" \
    --argjson connections "$CONNECTIONS" --argjson iperf_seconds "$IPERF_SECONDS" \
    --argjson weft "$WITH_WEFT" --arg agent "$AGENT" \
    --argjson mib "$MIB" \
    -f "$BENCH_DIR/summarize.jq" "$TMP/records.jsonl" >"$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
}

main() {
  parse_args "$@"
  if [ "$(id -u)" -ne 0 ]; then
    log "skipped: needs root (network namespaces, cgroups, BPF)"
    exit 77
  fi
  local tool started
  for tool in ip jq curl wrk iperf3 haproxy nginx awk timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (run scripts/deps.sh)"
  done
  find_binaries
  started=$(date -Is)
  TMP=$(mktemp -d /tmp/weft-bench.XXXXXX)
  : >"$TMP/records.jsonl"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP

  log "lab up ($($WITH_WEFT && echo "weft-agent $AGENT" || echo "no agents"))"
  lab_up
  plan_setups
  add_bench_services
  start_servers
  check_setups
  sleep 1
  record_idle before-load
  run_rounds
  sleep 2
  record_idle after-load
  if $PROFILE; then profile_proxies; fi
  require_our_lab
  write_summary "$started"
  jq -r -f "$BENCH_DIR/report.jq" "$OUT"
  log "JSON summary: $OUT"
  [ "$FAILURES" -eq 0 ] || die "$FAILURES measurement(s) failed (see above); the table is incomplete"
}

main "$@"
