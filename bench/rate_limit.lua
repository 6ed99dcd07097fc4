-- Where users feel speed: an export at Gong's rate limit (issue 14). Against
-- fake servers that answer 429 with Retry-After: 1 past 3 requests in any
-- second (the rate_limit setting) and delay every response by 50, 300 and
-- 800 ms, three ways to export the same library:
--
--   gong        `bin/gong-library export` as users run it: rate 3, the
--               default concurrency, the host's shared window (in a private
--               XDG_RUNTIME_DIR). Timed as a process, start-up and writing
--               the export included (bench/client.lua cli).
--   sequential  one request at a time with a fixed 340 ms pause before each
--               (bench/client.lua paced), as integrations that pace
--               themselves do.
--   burst       as fast as possible, concurrency 8, and on a 429 wait its
--               Retry-After and try again (bench/client.lua burst): gong's
--               retry with its limiter off, allowed 100 retries so that no
--               folder is lost (with the default 4 a few are).
--
-- The server counts requests and 429s. gong's targets: time within 1.07 ×
-- (requests − 1) / 3, no 429, and no request but the folder list and one per
-- folder with calls.
--
-- Every contender has a server of its own (a window of its own), and all
-- nine run at once: they spend their time sleeping (in the limiter, in a
-- pause, in a delay), so the scenario takes as long as its slowest, the
-- sequential export at 800 ms, and not the sum (alone or nine at once, gong
-- takes the same time to 0.1 s). One run: the times are set by the limit and
-- the delays, not by the machine (gong's repeated runs differ by less than
-- 0.5 s in 72 s), and each more run adds four minutes.

local core = require "gong.core"

local format = string.format
local concat = table.concat

-- Gong's limit, which every fake server enforces and gong keeps by default.
local RATE = 3
assert(core.options.rate.default == RATE, "gong's default rate is no longer Gong's limit")
-- The target: the time per request over the ideal (requests − 1) / RATE.
local SLACK = 1.07
-- The pace of sequential integrations: a little over 1 / RATE.
local PAUSE = 0.34
-- Retry on 429 with the limiter off.
local BURST_CONCURRENCY, BURST_RETRIES = 8, 100

-- gong's limiter starts at most 3 requests in any 1.05 s (1 s plus its
-- 50 ms margin, src/ratelimit.c), and the last response adds its latency,
-- so an export takes about 1.05 × (requests − 1) / 3 + up to two latencies:
-- 800 ms make the 7 % hold only from about 195 folders with calls on. 250
-- folders have 206 with calls (207 requests): the smallest library
-- of the fake's where the target holds at every latency, in whichever third of
-- the limiter's window the last request falls, with 0.3 s to spare at
-- 800 ms.
local SIZES = {
  full = { folders = 250, latencies = { 0.05, 0.3, 0.8 } },
  smoke = { folders = 10, latencies = { 0.05 } },
}

-- What the server saw: requests, and how many it answered 429.
local function counted(srv)
  local requests, refused = 0, 0
  for _, req in ipairs(srv:requests()) do
    requests = requests + 1
    if req.status == 429 then refused = refused + 1 end
  end
  return requests, refused
end

return function(b)
  local size = b.opts.smoke and SIZES.smoke or SIZES.full
  local with_calls = 0
  for _, f in ipairs(b.fake.library({ folders = size.folders }).folders) do
    if f.callCount > 0 then with_calls = with_calls + 1 end
  end
  local minimum = 1 + with_calls

  local contenders = {
    { name = "gong", words = function(url) return b.lua("cli", url) end },
    { name = "sequential", words = function(url) return b.lua("paced", url, PAUSE) end },
    { name = "burst", words = function(url) return b.lua("burst", url, BURST_CONCURRENCY, BURST_RETRIES) end },
  }
  local ms = {}
  for i, latency in ipairs(size.latencies) do ms[i] = format("%d", latency * 1000) end
  b.log("rate limit: %d folders (%d with calls), %s ms per response, server limit %d/s: %d exports at once",
        size.folders, with_calls, concat(ms, ", "), RATE, #size.latencies * #contenders)

  local servers, jobs, results = {}, {}, {}
  local ok, err = pcall(function()
    for _, latency in ipairs(size.latencies) do
      for _, c in ipairs(contenders) do
        -- Idle for as long as the slowest export takes, then read.
        local srv = b.fake.start { folders = size.folders, idle_exit = 900, max_records = 100000 }
        servers[#servers + 1] = srv
        srv:settings { rate_limit = RATE }
        srv:faults { { delay = latency, times = -1 } }
        jobs[#jobs + 1] = { latency = latency, name = c.name, srv = srv, words = c.words(srv.url) }
      end
    end
    local started = os.time()
    for _, job in ipairs(jobs) do job.process = b.start(job.words) end
    for _, job in ipairs(jobs) do
      local r = b.finish(job.process)
      r.requests, r.refused = counted(job.srv)
      results[job.latency .. job.name] = r
      b.log("  %4d ms %-10s %7.2f s, %d folders (%d lost), %d requests, %d × 429", job.latency * 1000, job.name,
            r.seconds, r.folders, r.errors, r.requests, r.refused)
    end
    b.log("  all done in %d s", os.time() - started)
  end)
  for _, srv in ipairs(servers) do srv:stop() end
  if not ok then error(err, 0) end

  local function line(r)
    local lost = r.errors > 0 and format(", %d folders lost", r.errors) or ""
    return format("%.2f s; %d requests, %d × 429%s", r.seconds, r.requests, r.refused, lost)
  end
  local scenario = format("Rate limit: an export of %d folders (%d with calls) from a fake server that answers "
                          .. "429 past %d requests in any second, every response delayed; one run, all at once",
                          size.folders, with_calls, RATE)
  for i, latency in ipairs(size.latencies) do
    local gong = results[latency .. "gong"]
    local ideal = (gong.requests - 1) / RATE
    local over = gong.seconds / ideal
    b.row(i == 1 and scenario or "",
          format("%s ms: gong `gong-library export` (rate %d, concurrency %d), the process's time", ms[i], RATE,
                 core.DEFAULT_CONCURRENCY),
          format("%.2f s", gong.seconds), format("%.3f× (requests − 1) / %d", over, RATE),
          format("≤ %.2f× (%.2f s)", SLACK, SLACK * ideal), over <= SLACK)
    b.row("", format("%s ms: gong, requests and 429s the server counted", ms[i]),
          format("%d requests, %d × 429", gong.requests, gong.refused), "",
          format("%d (1 + folders with calls), no 429", minimum),
          gong.requests == minimum and gong.refused == 0 and gong.errors == 0)
    for _, name in ipairs { "sequential", "burst" } do
      local r = results[latency .. name]
      local what = name == "sequential"
        and format("sequential, %d ms pause before each request", PAUSE * 1000)
        or format("as fast as possible (concurrency %d), Retry-After on 429", BURST_CONCURRENCY)
      b.row("", format("%s ms: %s", ms[i], what), line(r), format("%.2f× gong's time", r.seconds / gong.seconds))
    end
  end
end
