-- wrk script: GET a path and print one RESULT line.
local label = os.getenv("LABEL") or "get"
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %s requests=%d rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f non2xx3xx=%d\n",
    label, summary.requests, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status))
end
