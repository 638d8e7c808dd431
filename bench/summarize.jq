# bench/summarize.jq: turns bench/run.sh's per-run records (slurped) into the JSON summary:
# per-setup medians over the rounds, ratios against the direct path and HAProxy, and the
# issue's targets. Called with the run's parameters as --arg/--argjson (see run.sh).

def median:
  sort
  | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def round($n): if . == null then null else (. * pow(10; $n) | round) / pow(10; $n) end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b | round(3) end;
def minus($a; $b): if $a == null or $b == null then null else $a - $b | round(3) end;
def total: if length == 0 then null else add end;
def per($n; $d): if $n == null or $d == null or $d == 0 then null else $n / $d end;

. as $records
| ($setups | map(. + {proxy: (if (.id | test("weft")) then "weft"
                              elif (.id | test("haproxy")) then "haproxy"
                              else "none" end)})) as $setups

# Medians and per-request costs of one setup.
| def summary($s):
    ($records | map(select(.setup == $s.id and .kind == "wrk" and (.wrk.failed | not)))) as $w
    | ($records | map(select(.setup == $s.id and .kind == "iperf" and .iperf.error == null))) as $i
    | ($w | map(.wrk.requests) | total) as $requests
    | ($i | map(.iperf.bytes) | total) as $bytes
    | $s + {
        wrk_runs: ($w | length),
        iperf_runs: ($i | length),
        requests: $requests,
        requests_per_s: ($w | map(.wrk.requests / (.wrk.duration_us / 1e6)) | median | round(0)),
        p50_ms: ($w | map(.wrk.latency_us.p50 / 1000) | median | round(3)),
        p99_ms: ($w | map(.wrk.latency_us.p99 / 1000) | median | round(3)),
        throughput_gbps: ($i | map(.iperf.bits_per_second / 1e9) | median | round(2)),
        errors: ($w | map(.wrk.errors | add) | total),
        retransmits: ($i | map(.iperf.retransmits // 0) | total),
        # CPU of every node agent (and of both haproxies) while this setup ran; for setups
        # that do not use them it is their background cost.
        agent_cpu_s_per_10k: (if $weft then per($w | map(.agent_cpu_s) | total; $requests)
                              | if . then . * 1e4 | round(3) else . end else null end),
        haproxy_cpu_s_per_10k: (per($w | map(.haproxy_cpu_s) | total; $requests)
                                | if . then . * 1e4 | round(3) else . end),
        agent_cpu_s_per_gib: (if $weft then per($i | map(.agent_cpu_s) | total; $bytes)
                              | if . then . * 1073741824 | round(3) else . end else null end),
        haproxy_cpu_s_per_gib: (per($i | map(.haproxy_cpu_s) | total; $bytes)
                                | if . then . * 1073741824 | round(3) else . end),
        # Largest single agent (either node) sampled half-way through this setup's runs.
        agent_rss_mib_load: (if $weft then ($w + $i | map(.agent_rss_kib[]) | max
                                            | if . then . / 1024 | round(1) else . end)
                             else null end),
        haproxy_rss_mib_load: ($w + $i | map(.haproxy_rss_kib[]) | max
                               | if . then . / 1024 | round(1) else . end),
        # Connections seen in the client agent's same-node kernel fast path half-way through
        # the runs (null when the agent has no such map).
        fast_path_connections_max: ($w + $i | map(.fast_path_connections | numbers) | max)
      };

  ($setups | map(summary(.))) as $summaries
  | ($summaries | map({key: .id, value: .}) | from_entries) as $by_id
  # Latency added over the direct path of the same group (cross-node or same-node).
  | ($summaries | map(. as $s
      | ($summaries | map(select(.group == $s.group and .proxy == "none")) | first) as $d
      | $s + {p50_added_ms: minus($s.p50_ms; $d.p50_ms),
              p99_added_ms: minus($s.p99_ms; $d.p99_ms)})) as $summaries
  | ($summaries | map({key: .id, value: .}) | from_entries) as $by_id
  | def proxy_cpu($s): if $s.proxy == "weft" then $s.agent_cpu_s_per_10k
                       elif $s.proxy == "haproxy" then $s.haproxy_cpu_s_per_10k else null end;
    def compare($a; $b):
      $by_id[$a] as $x | $by_id[$b] as $y
      | if $x == null or $y == null then empty else {
          of: $a, against: $b, label: "\($x.group): \($x.label) / \($y.label)",
          requests_per_s: ratio($x.requests_per_s; $y.requests_per_s),
          p50: ratio($x.p50_ms; $y.p50_ms),
          p99: ratio($x.p99_ms; $y.p99_ms),
          throughput: ratio($x.throughput_gbps; $y.throughput_gbps),
          p50_added_ms: [$x.p50_added_ms, $y.p50_added_ms],
          proxy_cpu_per_10k: ratio(proxy_cpu($x); proxy_cpu($y))
        } end;
    def target($id; $text; $measured; $met):
      {id: $id, target: $text, measured: $measured,
       met: (if $measured == null then null else $met end)};
    [compare("cross.weft"; "cross.direct"),
     compare("cross.weft"; "cross.haproxy_single"),
     compare("cross.weft"; "cross.haproxy_pair"),
     compare("same.weft"; "same.direct"),
     compare("cross.haproxy_single"; "cross.direct"),
     compare("cross.haproxy_pair"; "cross.direct")] as $ratios
  | ($ratios | map({key: "\(.of) / \(.against)", value: .}) | from_entries) as $r
  | ($records | map(select(.kind == "idle"))) as $idle
  | ($idle | map(select(.when == "before-load")) | first | .agent_rss_kib // {}
     | map_values(. / 1024 | round(1))) as $idle_rss
  | ($idle | map(select(.when == "after-load")) | first | .agent_rss_kib // {}
     | map_values(. / 1024 | round(1))) as $after_rss
  | ($idle_rss | [.[]] | max) as $idle_max
  | def added_target($h; $name):
      $by_id["cross.weft"].p50_added_ms as $w | $by_id[$h].p50_added_ms as $hp
      | target("l4_p50_added_vs_\($h | sub("cross.haproxy_"; "haproxy_"))";
               "weft L4 p50 added latency ≤ HAProxy \($name)'s";
               (if $w == null or $hp == null then null else {weft_ms: $w, haproxy_ms: $hp} end);
               ($w != null and $hp != null and $w <= $hp));
    {
      schema: "weft-bench/1",
      started: $started, finished: $finished,
      host: {kernel: $kernel, cpus: $cpus, loadavg_at_end: $loadavg},
      parameters: {rounds: $rounds, wrk_seconds: $wrk_seconds, wrk_connections: $connections,
                   iperf_seconds: $iperf_seconds, client: "client-node1"},
      weft: {measured: $weft, agent: (if $weft then $agent else null end)},
      same_node_fast_path: ($by_id["same.weft"].fast_path_connections_max
                            | if . == null then "unknown" elif . > 0 then "used"
                              else "not used" end),
      agent_rss_mib_idle: $idle_rss,
      agent_rss_mib_after_load: $after_rss,
      setups: $summaries,
      ratios: $ratios,
      targets: [
        target("l4_rps_vs_haproxy_pair"; "weft L4 req/s ≥ 1.0× HAProxy pair";
               $r["cross.weft / cross.haproxy_pair"].requests_per_s;
               $r["cross.weft / cross.haproxy_pair"].requests_per_s >= 1.0),
        added_target("cross.haproxy_pair"; "pair"),
        target("l4_rps_vs_haproxy_single"; "weft L4 req/s ≥ 1.0× HAProxy single";
               $r["cross.weft / cross.haproxy_single"].requests_per_s;
               $r["cross.weft / cross.haproxy_single"].requests_per_s >= 1.0),
        added_target("cross.haproxy_single"; "single"),
        target("same_node_rps_vs_direct"; "same-node weft req/s ≥ 0.9× direct";
               $r["same.weft / same.direct"].requests_per_s;
               $r["same.weft / same.direct"].requests_per_s >= 0.9),
        target("same_node_throughput_vs_direct"; "same-node weft throughput ≥ 0.9× direct";
               $r["same.weft / same.direct"].throughput;
               $r["same.weft / same.direct"].throughput >= 0.9),
        target("idle_agent_rss"; "idle agent RSS ≤ 15 MiB (largest agent)";
               (if $weft then $idle_max else null end); $idle_max <= 15)
      ]
    }
