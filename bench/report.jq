# bench/report.jq: prints bench/run.sh's JSON summary as tables (jq -r -f report.jq FILE).

def fixed($d):
  if . == null then "-"
  elif $d == 0 then round | tostring
  else
    (if . < 0 then "-" else "" end) as $sign
    | ((if . < 0 then -. else . end) * pow(10; $d) | round | tostring) as $s
    | (("0" * ([0, $d + 1 - ($s | length)] | max)) // "") + $s
    | $sign + .[0:length - $d] + "." + .[length - $d:]
  end;
def signed($d): if . == null then "-" elif . >= 0 then "+" + fixed($d) else fixed($d) end;
def times: if . == null then "-" else fixed(2) + "x" end;
def pad($n): tostring | if length >= $n then . else . + (" " * ($n - length)) end;
def lpad($n): tostring | if length >= $n then . else (" " * ($n - length)) + . end;
def row($widths):
  [., $widths] | transpose
  | map(.[1] as $w | if $w < 0 then (.[0] | pad(-$w)) else (.[0] | lpad($w)) end)
  | join("  ");

def proxy_cpu: if .proxy == "weft" then .agent_cpu_s_per_10k
               elif .proxy == "haproxy" then .haproxy_cpu_s_per_10k else null end;
def proxy_rss: if .proxy == "weft" then .agent_rss_mib_load
               elif .proxy == "haproxy" then .haproxy_rss_mib_load else null end;

[-26, 7, 7, 7, 6, 9, 7, 7, 3] as $w
| [-38, 6, 22, 6, 6, 7] as $rw
| "",
  "weft bench: \(.parameters.rounds) round(s), medians; wrk \(.parameters.wrk_seconds) s, "
  + "\(.parameters.wrk_connections) keep-alive connections; iperf3 \(.parameters.iperf_seconds) s, "
  + "1 stream; \(.host.cpus) CPUs, load \(.host.loadavg_at_end)",
  (if .weft.measured then "weft-agent: \(.weft.agent)"
   else "weft: not measured (no weft-agent, or --no-weft)" end),
  "",
  (["SETUP", "REQ/S", "P50 ms", "P99 ms", "Gbit/s", "CPU s/10k", "RSS MiB", "+P50 ms", "ERR"]
   | row($w)),
  (.setups[]
   | ["\(.group) \(.label)", (.requests_per_s | fixed(0)), (.p50_ms | fixed(3)),
      (.p99_ms | fixed(3)), (.throughput_gbps | fixed(2)), (proxy_cpu | fixed(3)),
      (proxy_rss | fixed(1)), (if .proxy == "none" then "-" else .p50_added_ms | signed(3) end),
      (.errors // 0 | tostring)]
   | row($w)),
  "  CPU s/10k and RSS MiB (under load) are the proxy's own: both agents for weft, both",
  "  haproxies for HAProxy; +P50 is the p50 latency added over the direct path.",
  (if .weft.measured then
     "  idle agent RSS (MiB): \(.agent_rss_mib_idle | to_entries | map("\(.key) \(.value)")
                               | join(", ")); after the load: \(.agent_rss_mib_after_load
                               | to_entries | map("\(.key) \(.value)") | join(", "))",
     "  same-node kernel fast path (sockhash + sk_msg): \(.same_node_fast_path)"
   else empty end),
  "",
  (["RATIO", "REQ/S", "+P50 ms (this vs that)", "P99", "Gbit/s", "CPU/req"] | row($rw)),
  (.ratios[]
   | ["\(.label)", (.requests_per_s | times),
      "\(.p50_added_ms[0] | signed(3)) vs \(.p50_added_ms[1] | signed(3))",
      (.p99 | times), (.throughput | times), (.proxy_cpu_per_10k | times)]
   | row($rw)),
  "",
  "TARGETS (reported, never enforced)",
  (.targets[]
   | (if .met == true then "  met     " elif .met == false then "  MISSED  " else "  n/a     " end)
     + .target + ": "
     + (if .measured == null then "not measured"
        elif (.measured | type) == "object" then
          "weft \(.measured.weft_ms | signed(3)) ms vs HAProxy \(.measured.haproxy_ms | signed(3)) ms"
        elif (.id | test("rss")) then "\(.measured) MiB"
        else .measured | times end)),
  ""
