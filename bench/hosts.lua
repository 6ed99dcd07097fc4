-- The `hosts` scenario of bench/bench.lua: what gong costs inside the hosts
-- it has adapters for, each with an event loop that must not wait for it.
--
-- OpenResty: a second nginx, with lua-nginx-module (bench/resty.conf.in),
-- times in its one worker (bench/resty_run.lua) rounds of client:folders()
-- of the static server's small response: made directly by a blocking gong
-- client, by gong.resty on the thread pool, by gong.resty with the shared
-- rate window, and the hop floor (nginx's thread hop with the same answer
-- and no request). Each figure is the median request of a run; the hop is
-- gong.resty less direct and the slot the window less gong.resty, per run.
--
-- Neovim: a headless Neovim (bench/nvim.lua) fetches through gong.nvim,
-- several times on one client after a request that opens the connection,
-- while a 1 ms timer notes the longest the main loop was held; each run
-- counts the median fetch, since the highest is the machine's noise and the
-- lowest hides the collector's work a user does wait for. The largest folder
-- is also fetched by the blocking API in the same Neovim (the same LuaJIT,
-- core and cjson), which holds the loop for its whole request.
--
-- Both load gong.core built for LuaJIT (make build LUA=luajit
-- BUILD=build/luajit, or $GONG_LUAJIT_BUILD).

local socket = require "socket"

local format = string.format

local LUAJIT_BUILD = os.getenv("GONG_LUAJIT_BUILD") or "build/luajit"
local NGINX = "/usr/sbin/nginx"
local LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function capture(command)
  local p = assert(io.popen(command))
  local out = p:read("a")
  p:close()
  return (out:gsub("\n$", ""))
end

local function readable(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function read_file(path)
  local f = io.open(path)
  if not f then return "" end
  local text = f:read("a")
  f:close()
  return text
end

-- The absolute path of gong.core's LuaJIT build, or an error saying how to make it.
local function luajit_build(root)
  local dir = LUAJIT_BUILD:sub(1, 1) == "/" and LUAJIT_BUILD or root .. "/" .. LUAJIT_BUILD
  if not readable(dir .. "/gong/core.so") then
    error(format("bench: %s/gong/core.so missing: nginx and Neovim load gong.core for LuaJIT; run "
                 .. "make build LUA=luajit BUILD=%s", dir, LUAJIT_BUILD), 0)
  end
  return dir
end

local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

-- Per run, field `key`.
local function field(list, key)
  local values = {}
  for i, r in ipairs(list) do values[i] = r[key] end
  return values
end

-- Per run, a[i] - c[i].
local function minus(a, c)
  local values = {}
  for i = 1, #a do values[i] = a[i] - c[i] end
  return values
end

-- The median of per-run µs and their lowest–highest, as b.us prints them.
local function micros(b, values)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(values) do lo, hi = math.min(lo, v), math.max(hi, v) end
  local text = format("%.1f µs", b.median(values))
  if #values > 1 then text = text .. format(" (%.0f–%.0f)", lo, hi) end
  return text
end

-- OpenResty ---------------------------------------------------------------------

local Nginx = {}
Nginx.__index = Nginx

-- Starts the bench's nginx with lua-nginx-module on a free loopback port, its
-- requests going to `base`, its files in a new directory in `dir`. It runs
-- as a child of this process that the kernel stops when this process ends
-- (setpriv --pdeathsig), so no exit, os.exit and signals included, leaves it
-- behind; stop() ends it sooner.
local function start_nginx(root, build, base, dir)
  for _, path in ipairs { NGINX, LUA_MODULE } do
    if not readable(path) then
      error("bench: " .. path .. " missing; run tools/deps.sh nginx-light libnginx-mod-http-lua", 0)
    end
  end
  local prefix = capture("mktemp -d " .. quote(dir .. "/nginx-resty.XXXXXX"))
  assert(prefix:match("/nginx%-resty%.%w+$"), "mktemp failed")
  os.execute("mkdir -p " .. quote(prefix .. "/tmp"))
  local port = free_port()
  local values = { ROOT = root, LUAJIT_BUILD = build, PREFIX = prefix, LISTEN = "127.0.0.1:" .. port,
                   BASE = base }
  local conf = read_file(root .. "/bench/resty.conf.in"):gsub("@([%u_]+)@", function(name)
    return assert(values[name], "bench/resty.conf.in: no value for @" .. name .. "@")
  end)
  local f = assert(io.open(prefix .. "/nginx.conf", "w"))
  f:write(conf)
  f:close()
  -- The shell prints its pid and becomes nginx (exec), so that pid is nginx's.
  -- LUA_PATH and LUA_CPATH are the bench's Lua 5.4 paths: not for LuaJIT.
  local command = "echo $$; exec env -u LUA_PATH -u LUA_CPATH setpriv --pdeathsig TERM " .. NGINX
    .. " -p " .. quote(prefix) .. " -c " .. quote(prefix .. "/nginx.conf") .. " -e " .. quote(prefix .. "/error.log")
    .. " -g 'daemon off; master_process off;' </dev/null >" .. quote(prefix .. "/stdout") .. " 2>&1"
  local pipe = assert(io.popen(command))
  local self = setmetatable({ prefix = prefix, pipe = pipe, pid = tonumber(pipe:read("l")),
                              url = "http://127.0.0.1:" .. port }, Nginx)
  local deadline = socket.gettime() + 10
  while true do
    local c = socket.connect("127.0.0.1", port)
    if c then
      c:close()
      return self
    end
    if not self:running() or socket.gettime() > deadline then
      local log = read_file(prefix .. "/error.log") .. read_file(prefix .. "/stdout")
      self:stop()
      error("bench: nginx with lua-nginx-module did not start:\n" .. log, 0)
    end
    socket.sleep(0.02)
  end
end

-- Whether nginx still runs: not once it has exited, though it stays a
-- zombie until stop() waits for it.
function Nginx:running()
  local stat = read_file("/proc/" .. tostring(self.pid) .. "/stat")
  return self.pid ~= nil and stat ~= "" and stat:match("%) (%a)") ~= "Z"
end

-- Stops nginx (TERM, then KILL after 5 s), waits for it and removes its prefix.
function Nginx:stop()
  if self.stopped then return end
  self.stopped = true
  if self:running() then
    os.execute("kill " .. self.pid)
    local deadline = socket.gettime() + 5
    while self:running() and socket.gettime() < deadline do socket.sleep(0.02) end
    if self:running() then os.execute("kill -9 " .. self.pid) end
  end
  self.pipe:close() -- waits for the process
  os.execute("rm -rf " .. quote(self.prefix))
end

-- The targets. Against Gong itself a request takes 100 ms or more and the
-- rate limit spaces them 333 ms apart, so neither cost below is ever felt as
-- latency; they are judged on loopback, where a request is the cheapest it
-- can be, so that a regression shows.
-- The hop: nginx's own hop with this answer (the floor: a task on the pool,
-- and the 50 folders copied from the thread's Lua VM into the worker's) is
-- what any thread-pool design pays. gong.resty's own share (its options
-- and gong.wire's packing, and the request made on a pool thread rather
-- than in the worker) may at most match it. One gong.new per request, say,
-- would not.
local HOP_FLOOR = 2
-- The slot: a lock entry, a read and a write of the dict and a parse of the
-- window's starts, on the worker's event loop. At most a fifth of the
-- cheapest request, however much the window holds at Gong's rate.
local SLOT_SHARE = 0.20

-- The OpenResty rows, from the runs `r` of bench/resty_run.lua.
local function resty_rows(b, r, n)
  local direct, hop, slot, floor = field(r, "direct_us"), field(r, "hop_us"), field(r, "slot_us"),
                                   field(r, "floor_us")
  local hop_cost, slot_cost = minus(hop, direct), minus(slot, hop)
  -- The median over runs of a[i] / c[i].
  local function times(a, c)
    local values = {}
    for i = 1, #a do values[i] = a[i] / c[i] end
    return b.median(values)
  end
  local scenario = format("OpenResty: %d rounds of `client:folders()` (%d folders, %.1f kB) in one nginx "
                          .. "worker, median per request", n, b.data.small_folders, b.data.small_bytes / 1000)
  b.row(scenario, "direct: a blocking `gong` client in the worker", micros(b, direct), "1.00×")
  b.row("", "`gong.resty`, `shared_dict = false`: on the thread pool", micros(b, hop), b.x(times(hop, direct)))
  b.row("", "`gong.resty` with the shared rate window (`rate = 10000`, never waits; a minute of "
        .. "starts at 3/s in it)", micros(b, slot), b.x(times(slot, direct)))
  b.row("", "hop floor: `ngx.run_worker_thread` answering the same folders, kept in its VM (no request)",
        micros(b, floor), b.x(times(floor, direct)))
  local hop_share = times(hop_cost, floor)
  b.row("", "the thread-pool hop: `gong.resty` − direct", micros(b, hop_cost),
        format("%s the floor; %.0f%% of direct", b.x(hop_share), times(hop_cost, direct) * 100),
        format("≤ %.2f× the hop floor", HOP_FLOOR), hop_share <= HOP_FLOOR)
  local slot_share = times(slot_cost, direct)
  b.row("", "the shared window's slot: with the window − without", micros(b, slot_cost),
        format("%.0f%% of direct", slot_share * 100), format("≤ %.0f%% of the direct request", SLOT_SHARE * 100),
        slot_share <= SLOT_SHARE)
end

local function bench_resty(b, root, build)
  local n = b.size.requests
  -- In bench/run.sh's work directory, beside the data: removed on any exit.
  local dir = b.opts.data:match("^(.*)/[^/]+/*$") or "."
  local nginx = start_nginx(root, build, b.opts.base .. "/small", dir)
  local ok, err = pcall(function()
    local version = capture(NGINX .. " -v 2>&1"):gsub("^.*/", "")
    b.log("OpenResty: nginx %s + lua-nginx-module at %s, %d rounds x %d runs", version, nginx.url, n,
          b.opts.runs)
    local function show(r)
      return format("median per request: direct %.1f, hop %.1f, slot %.1f, floor %.1f µs", r.direct_us,
                    r.hop_us, r.slot_us, r.floor_us)
    end
    local r = b.rounds { {
      name = "resty", show = show,
      command = { "curl", "-sS", "--fail-with-body", format("%s/bench?n=%d", nginx.url, n) },
    } }
    resty_rows(b, r.resty, n)
  end)
  nginx:stop()
  if not ok then error(err, 0) end
end

-- Neovim ---------------------------------------------------------------------------

-- A request, and a folder of a usual size, must stay within one 60 Hz frame
-- (the loop scenario's target for gong.loop).
local FRAME_MS = 16
-- The largest folder is decoded on the loop all the same (doc/neovim.md says
-- why), but gong.nvim may not hold the editor longer than the blocking API
-- would have frozen it: at most the 10 % the bench allows its other
-- same-machine ratios for noise.
local BLOCKING_SHARE = 1.10

local function bench_nvim(b, root, build)
  local d, smoke = b.data, b.opts.smoke
  local version = capture("nvim --version 2>/dev/null"):match("^NVIM (%S+)")
  if not version then error("bench: nvim missing; run tools/deps.sh neovim", 0) end
  local counts = smoke and { folders = 5, medium = 3, large = 2 } or { folders = 50, medium = 10, large = 3 }
  b.log("Neovim %s: %d requests, %d fetches of %d calls, %d of %d calls (and blocking) x %d runs", version,
        counts.folders, counts.medium, d.medium_calls, counts.large, d.large_calls, b.opts.runs)
  local function nvim(mode, set, count, id)
    local words = { "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", "GONG_BENCH_ROOT=" .. root,
                    "GONG_BENCH_BUILD=" .. build, "GONG_BENCH_BASE=" .. b.opts.base .. "/" .. set,
                    "GONG_BENCH_MODE=" .. mode, "GONG_BENCH_COUNT=" .. count }
    if id then words[#words + 1] = "GONG_BENCH_ID=" .. id end
    for _, w in ipairs { "timeout", "300", "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
                         "-c", "luafile " .. root .. "/bench/nvim.lua" } do
      words[#words + 1] = w
    end
    return words
  end
  local function show(r) return format("%.1f ms held (highest %.1f), %.0f ms in all", r.blocked_ms, r.max_ms,
                                       r.seconds * 1000) end
  local r = b.rounds {
    { name = "folders", command = nvim("folders", "small", counts.folders), show = show },
    { name = "medium", command = nvim("calls", "large", counts.medium, d.medium_id), show = show },
    { name = "large", command = nvim("calls", "large", counts.large, d.large_id), show = show },
    { name = "blocking", command = nvim("blocking", "large", counts.large, d.large_id), show = show },
  }
  local function held(list)
    return format("%.1f ms", b.medians(list, "blocked_ms")) .. b.spread(list, "blocked_ms", 1, "%.1f")
  end
  local folders, medium = b.medians(r.folders, "blocked_ms"), b.medians(r.medium, "blocked_ms")
  local ratio = b.ratio(r.large, r.blocking, "blocked_ms")
  b.row(format("Neovim %s: `gong.nvim` on its main loop, one client; the longest the loop is held, median of "
               .. "%d/%d/%d fetches", version, counts.folders, counts.medium, counts.large),
        format("per request, `client:folders()` (%d folders, %.1f kB)", d.small_folders, d.small_bytes / 1000),
        held(r.folders), "", format("≤ %d ms (a frame)", FRAME_MS), folders <= FRAME_MS)
  b.row("", format("`client:calls()`, %d calls (%.0f kB)", d.medium_calls, d.medium_bytes / 1000),
        held(r.medium), "", format("≤ %d ms (a frame)", FRAME_MS), medium <= FRAME_MS)
  b.row("", format("`client:calls()`, %d calls (%.1f MB)", d.large_calls, d.large_bytes / 1e6),
        held(r.large), b.x(ratio), format("≤ %.2f× the blocking call", BLOCKING_SHARE), ratio <= BLOCKING_SHARE)
  b.row("", format("blocking `gong` `client:calls()` in Neovim, %d calls: held for the whole request",
                   d.large_calls), held(r.blocking), "1.00×")
end

return function(b)
  local ok, err = pcall(function()
    local root = capture("pwd")
    local build = luajit_build(root)
    bench_resty(b, root, build)
    bench_nvim(b, root, build)
  end)
  if not ok then
    -- As the driver does when a measurement fails; nginx is stopped by now.
    b.log("FAILED: hosts: %s", tostring(err))
    os.exit(2)
  end
end
