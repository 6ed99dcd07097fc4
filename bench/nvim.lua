-- One measurement in a real Neovim, run by bench/hosts.lua: how long a
-- request holds Neovim's main loop. A 1 ms repeating vim.loop timer notes the
-- longest gap between its ticks, and from its last tick to the answer, as
-- bench/client.lua's `loop` mode does for gong.loop: that gap is how long the
-- editor could not redraw. Neovim 0.7 has no `nvim -l`, hence luafile:
--
--   env -u LUA_PATH -u LUA_CPATH GONG_BENCH_ROOT=<repo> GONG_BENCH_BUILD=<luajit build> \
--     GONG_BENCH_BASE=<base_url> GONG_BENCH_MODE=<mode> GONG_BENCH_COUNT=<n> [GONG_BENCH_ID=<folder>] \
--     nvim --headless -u NONE -i NONE -n -c "luafile bench/nvim.lua"
--
--   mode folders   gong.nvim client:folders(), n times on one client
--   mode calls     gong.nvim client:calls(ID), n times on one client
--   mode blocking  gong's blocking client:calls(ID) called on the main loop, n
--                  times: the loop is held for the whole request
--
-- Each first makes one untimed client:folders() (it opens the connection).
-- Prints one key=value line to stdout: blocked_ms, the median of the n
-- fetches' longest holds; max_ms, the highest of them; seconds, the n
-- fetches' time in all. Exits 3 with the traceback on stderr when the
-- measurement fails, 4 when it hangs.

-- luacheck: globals vim

local uv = vim.loop

local function env(name)
  return (assert(os.getenv(name), name .. " is not set"))
end

local DEADLINE_MS = 240000

local function quit(status, text)
  local out = status == 0 and io.stdout or io.stderr
  out:write(text, "\n")
  out:flush()
  vim.cmd(status == 0 and "qa!" or ("cquit " .. status))
end

-- Resumes the running measurement with what `start`'s callback gets.
local function await(start)
  local co = assert(coroutine.running())
  local early, waiting = nil, false
  start(function(...)
    if waiting then
      assert(coroutine.resume(co, ...))
    else
      early = { n = select("#", ...), ... }
    end
  end)
  if early then return unpack(early, 1, early.n) end
  waiting = true
  return coroutine.yield()
end

local function sleep(ms)
  await(function(done) vim.defer_fn(done, ms) end)
end

-- The longest the loop was held while `fetch()` ran (it returns when the
-- answer is in), in ms, and the fetch's time in seconds. The 1 ms timer
-- ticks a few times first, so that its last tick before the request is a
-- fresh one.
local function held(fetch)
  local last, longest = uv.hrtime(), 0
  local timer = uv.new_timer()
  timer:start(1, 1, function()
    local t = uv.hrtime()
    if t - last > longest then longest = t - last end
    last = t
  end)
  sleep(5)
  local start = uv.hrtime()
  last, longest = start, 0
  fetch()
  -- The answer ends the last turn: the time since the last tick was held too.
  local t = uv.hrtime()
  if t - last > longest then longest = t - last end
  timer:stop()
  timer:close()
  return longest / 1e6, (t - start) / 1e9
end

local function median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

-- The fetch of `mode`, made ready (connection open) on one client.
local function fetcher(mode, base, id)
  local opts = { base_url = base, token = "bench", rate = false }
  if mode == "blocking" then
    local client = require("gong").new(opts)
    assert(client:folders())
    return function()
      local calls, err = client:calls(id)
      if not calls then error(tostring(err), 0) end
    end
  end
  local client = require("gong.nvim").client(opts)
  local function answered(list, err)
    if not list then error(tostring(err), 0) end
  end
  answered(await(function(done) client:folders(done) end))
  if mode == "folders" then
    return function() answered(await(function(done) client:folders(done) end)) end
  elseif mode == "calls" then
    return function() answered(await(function(done) client:calls(id, done) end)) end
  end
  error("GONG_BENCH_MODE must be folders, calls or blocking (got " .. mode .. ")")
end

local function measure()
  local root, build, count = env("GONG_BENCH_ROOT"), env("GONG_BENCH_BUILD"), tonumber(env("GONG_BENCH_COUNT"))
  package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
  package.cpath = build .. "/?.so;" .. package.cpath
  local fetch = fetcher(env("GONG_BENCH_MODE"), env("GONG_BENCH_BASE"), os.getenv("GONG_BENCH_ID"))
  local holds, longest, seconds = {}, 0, 0
  for i = 1, count do
    local hold, took = held(fetch)
    holds[i], seconds = hold, seconds + took
    if hold > longest then longest = hold end
  end
  return ("requests=%d seconds=%.6f blocked_ms=%.3f max_ms=%.3f"):format(count, seconds, median(holds), longest)
end

local watchdog = uv.new_timer()
watchdog:start(DEADLINE_MS, 0, vim.schedule_wrap(function()
  quit(4, "bench/nvim.lua: no answer within " .. DEADLINE_MS .. " ms")
end))

coroutine.wrap(function()
  local ok, line = xpcall(measure, debug.traceback)
  watchdog:stop()
  watchdog:close()
  if ok then quit(0, line) else quit(3, "bench/nvim.lua: " .. tostring(line)) end
end)()
