-- wrk script: POST /login with the form and cookies given in the environment, optionally at a
-- paced rate, and print one RESULT line with the rate and the latency percentiles.
local body = os.getenv("BODY")
local cookie = os.getenv("COOKIE")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local label = os.getenv("LABEL") or "login"

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = cookie

if delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %s requests=%d rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f non2xx3xx=%d errors=%d\n",
    label, summary.requests, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
