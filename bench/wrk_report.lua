-- wrk reporter for bench/run.sh: after the run, prints one line "WEFT_BENCH {json}" with the
-- exact counts and latency percentiles (microseconds), so the script does not have to parse
-- wrk's rounded human-readable output.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WEFT_BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
