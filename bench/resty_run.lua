-- The bench location of bench/resty.conf.in, in an nginx worker: N rounds of
-- the static server's small response, each round one client:folders() of
-- every contender (in an order that turns from round to round, so no
-- contender always follows the same one), each timed alone on the monotonic
-- clock. Answers one line, the median µs of each contender's N requests
-- (a median, because a busy machine stalls a few requests for milliseconds):
--
--   requests=N direct_us=T hop_us=T slot_us=T floor_us=T seconds=S (all requests' time)
--
-- or the error, with status 500.
--
--   direct  a blocking gong client in the worker: the request made directly
--   hop     gong.resty without the shared window (shared_dict = false,
--           rate = false): the same request on the thread pool
--   slot    gong.resty with the shared window (lua_shared_dict gong) at
--           rate 10000, which never waits here. Before each of its requests
--           (untimed) the window is put back to what a tenant at Gong's own
--           3 requests a second leaves in it over a minute: a window keeps a
--           minute of starts, so at this rate it would otherwise grow by
--           every request the bench makes
--   floor   ngx.run_worker_thread of this module's `floor`, which returns
--           the same folders, fetched once in the thread's VM and kept: what
--           any thread-pool hop with that answer costs, with no request
--
-- Each contender first makes untimed requests, so that every connection is
-- open and every thread VM has its client.

-- luacheck: globals ngx

local ffi = require "ffi"
local gong = require "gong"
local core = require "gong.core"

local concat, format = table.concat, string.format

ffi.cdef [[
  typedef struct { long sec; long nsec; } gong_bench_timespec;
  int clock_gettime(int clock, gong_bench_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("gong_bench_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.sec) + tonumber(ts.nsec) * 1e-9
end

local _M = {}

-- The highest rate gong accepts: its window (10,000 starts a second) never
-- fills in a benchmark of sequential requests, so no request waits for it.
local NEVER_WAITS = 10000
-- Gong's own limit, and how far back a window keeps its starts (RATESTATE_KEEP).
local GONG_RATE, KEPT_SECONDS = 3, 60
local WARM_UP = 20
local CONTENDERS = { "direct", "hop", "slot", "floor" }

local function options(base)
  return { base_url = base, token = "bench", rate = false }
end

-- The window a tenant leaves after a minute at `GONG_RATE`, taking every
-- start the window allowed: made by core.rate_window itself, so it is the
-- state the shared window really holds at Gong's rate (about 170 starts),
-- on ngx.now()'s clock, as gong.resty's window is.
local function busy_minute()
  ngx.update_time()
  local t, last = ngx.now() - KEPT_SECONDS + 1, ngx.now() - 1.1
  local state
  while t < last do
    local delay, next_state = core.rate_window(state, t, GONG_RATE)
    if delay == 0 then state = next_state else t = t + delay end
  end
  return state
end

-- In a thread VM: the folders of `base`, fetched on the first call.
local kept
function _M.floor(base)
  if not kept then
    local client = gong.new(options(base))
    kept = assert(client:folders())
    client:close()
  end
  return kept
end

-- A fetch per contender, each raising when its request fails.
local function contenders(base)
  local resty = require "gong.resty"
  local function fetcher(client)
    return function()
      local folders, err = client:folders()
      if not folders then error(tostring(err), 0) end
    end
  end
  local hop_opts, slot_opts = options(base), options(base)
  hop_opts.shared_dict = false
  slot_opts.rate, slot_opts.shared_dict = NEVER_WAITS, "gong"
  local fetch = {
    direct = fetcher(gong.new(options(base))),
    hop = fetcher(resty.new(hop_opts)),
    slot = fetcher(resty.new(slot_opts)),
    floor = function()
      local ok, folders = ngx.run_worker_thread("gong", "bench.resty_run", "floor", base)
      if not ok then error(tostring(folders), 0) end
    end,
  }
  -- The dict holds nothing but the window, so the one key a request leaves is its window.
  local dict = ngx.shared.gong
  dict:flush_all()
  dict:flush_expired()
  fetch.slot()
  local keys = dict:get_keys(0)
  assert(#keys == 1, "the shared dict should hold one rate window, holds " .. #keys .. " keys")
  local key, state = keys[1], busy_minute()
  local before = { slot = function() assert(dict:set(key, state, 120)) end }
  return fetch, before
end

local function median(list)
  table.sort(list)
  local n = #list
  if n % 2 == 1 then return list[(n + 1) / 2] end
  return (list[n / 2] + list[n / 2 + 1]) / 2
end

local function run(base, n)
  local fetch, before = contenders(base)
  local times, total = {}, 0
  for _, name in ipairs(CONTENDERS) do
    times[name] = {}
    for _ = 1, WARM_UP do
      if before[name] then before[name]() end
      fetch[name]()
    end
  end
  for i = 1, n do
    for k = 1, #CONTENDERS do
      local name = CONTENDERS[(i + k) % #CONTENDERS + 1]
      if before[name] then before[name]() end
      local start = now()
      fetch[name]()
      local took = now() - start
      times[name][i], total = took, total + took
    end
  end
  local fields = { "requests=" .. n }
  for _, name in ipairs(CONTENDERS) do
    fields[#fields + 1] = format("%s_us=%.2f", name, median(times[name]) * 1e6)
  end
  fields[#fields + 1] = format("seconds=%.6f", total)
  return concat(fields, " ")
end

--- The location's handler: GET /bench?n=N, against the folders at `base`.
---@param base string the static server's base URL for the small response
function _M.handle(base)
  local ok, line = pcall(run, base, tonumber(ngx.var.arg_n) or 1)
  if not ok then
    ngx.status = 500
    ngx.say("bench/resty_run.lua: ", tostring(line))
    return
  end
  ngx.say(line)
end

return _M
