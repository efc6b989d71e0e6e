-- wrk script: a password spray. Each request POSTs /login with a wrong password at a random
-- name, half of them known (spray1..KNOWN@bench.example.org) and half unknown, from a random
-- one of SOURCES addresses, sent as X-Forwarded-For through the trusted proxy (wrk's
-- 127.0.0.1). Prints one RESULT line with the rate, the median and the worst answer time.
local token = os.getenv("TOKEN")
local cookie = os.getenv("COOKIE")
local known = tonumber(os.getenv("KNOWN") or "20")
local sources = tonumber(os.getenv("SOURCES") or "4096")
local label = os.getenv("LABEL") or "spray"

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
end

local function urlenc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local name
  if math.random() < 0.5 then
    name = "spray" .. math.random(1, known) .. "@bench.example.org"
  else
    name = "ghost" .. math.random(1, 100000000) .. "@bench.example.org"
  end
  local n = math.random(0, sources - 1)
  local xff = string.format("10.%d.%d.%d", 100 + math.floor(n / 65536) % 100, math.floor(n / 256) % 256, n % 256)
  local body = "username=" .. urlenc(name) .. "&password=" .. urlenc("spray guess " .. math.random(1, 1000000000)) ..
    "&csrf_token=" .. urlenc(token)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = xff,
  }, body)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %s requests=%d rps=%.1f p50_ms=%.2f p95_ms=%.2f max_ms=%.2f non2xx3xx=%d errors=%d\n",
    label, summary.requests, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency.max / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
