-- The benchmark driver, started by bench/run.sh once nginx serves the data
-- that bench/gen.lua wrote. Every figure is measured in a fresh process
-- (bench/client.lua, bench/floor, bench/requests_client.py), repeated
-- `--runs` times with the contenders interleaved so that drift of the
-- machine hits them all alike, and reported as the median, next to its ratio
-- to the floor of the same run and PASS/FAIL against the issue's target.
--
--   lua5.4 bench/bench.lua --base http://127.0.0.1:PORT --data DIR --floor BIN
--     --fixed-time SO [--runs 5] [--smoke] [--strict] [--check] [--only LIST] [--out FILE]
--
-- Prints progress to stderr and the Markdown table to stdout (and to --out).
-- Exits 1 with --strict when a target is missed (never with --smoke, whose
-- sizes are too small for the wall-clock targets), and with --check (the
-- instruction counts alone, at smoke sizes: they do not depend on the size);
-- 2 when a measurement fails.

local fake = require "spec.support.fake"

local concat, format, sort = table.concat, string.format, table.sort

local function parse_args(argv)
  local opts = { runs = 5 }
  local i = 1
  while argv[i] do
    local flag = argv[i]
    if flag == "--smoke" or flag == "--strict" or flag == "--check" then
      opts[flag:sub(3)] = true
      i = i + 1
    elseif flag == "--base" or flag == "--data" or flag == "--floor" or flag == "--out"
        or flag == "--fixed-time" then
      opts[flag:sub(3):gsub("-", "_")] = assert(argv[i + 1], flag .. " needs a value")
      i = i + 2
    elseif flag == "--only" then
      opts.only = {}
      for name in assert(argv[i + 1], "--only needs a list"):gmatch("[^,]+") do opts.only[name] = true end
      i = i + 2
    elseif flag == "--runs" then
      opts.runs = assert(math.tointeger(tonumber(argv[i + 1])), "--runs needs a number")
      i = i + 2
    else
      error("unknown argument " .. flag)
    end
  end
  assert(opts.base and opts.data and opts.floor and opts.fixed_time,
         "--base, --data, --floor and --fixed-time are required")
  -- --check: the instruction counts at smoke sizes, enforced (make bench-check).
  if opts.check then opts.smoke, opts.only = true, { instructions = true } end
  if opts.smoke then opts.runs = 1 end
  return opts
end

local opts = parse_args(arg)
local data = dofile(opts.data .. "/manifest.lua")

-- Sizes: the issue's for the full bench; for --smoke, just enough to prove
-- that every part still runs.
local size = opts.smoke and {
  requests = 50, export_folders = 20, rate_folders = 5, memory_requests = 300,
} or {
  requests = 2000, export_folders = 500, rate_folders = 30, memory_requests = 10000,
}
local DELAY = 0.05      -- the issue's server delay for the export
local SLOW_DELAY = 0.25 -- a slower server for the rate-limit check
local RATE = 3

local function log(...)
  io.stderr:write(format(...), "\n")
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Starts one measuring process; finish(job) waits for it and returns its
-- key=value line as a table. A process that fails, or says no seconds=,
-- ends the bench: a broken client never passes for a fast one.
local function start(words)
  local parts = {}
  for i, w in ipairs(words) do parts[i] = quote(w) end
  local command = concat(parts, " ")
  return { command = command, pipe = assert(io.popen(command .. " 2>&1")) }
end

local function finish(job)
  local output = job.pipe:read("a")
  local ok = job.pipe:close()
  local fields = {}
  for k, v in output:gmatch("(%w[%w_]*)=(%S+)") do fields[k] = tonumber(v) or v end
  if not ok or not fields.seconds then
    log("FAILED: %s\n%s", job.command, output)
    os.exit(2)
  end
  return fields
end

-- Runs one measuring process and returns its key=value line as a table.
local function measure(words)
  return finish(start(words))
end

local function median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Runs every contender `opts.runs` times, interleaved, and returns for each
-- name the list of its result tables.
local function rounds(contenders, runs)
  runs = runs or opts.runs
  local results = {}
  for _, c in ipairs(contenders) do results[c.name] = {} end
  for run = 1, runs do
    for _, c in ipairs(contenders) do
      local r = measure(c.command)
      local list = results[c.name]
      list[#list + 1] = r
      log("  run %d/%d %-10s %s", run, runs, c.name,
          c.show and c.show(r) or format("%.3f s", r.seconds))
    end
  end
  return results
end

local function medians(list, key)
  local values = {}
  for i, r in ipairs(list) do values[i] = r[key] end
  return median(values)
end

-- The median over runs of a[run][key] / b[run][key]: each contender is
-- compared with the floor measured right next to it, in the same run.
local function ratio(a, b, key)
  local values = {}
  for i = 1, #a do values[i] = a[i][key] / b[i][key] end
  return median(values)
end

-- "lowest–highest" of a key over runs, scaled, for judging the noise.
local function spread(list, key, scale, fmt)
  local lo, hi = math.huge, -math.huge
  for _, r in ipairs(list) do
    lo, hi = math.min(lo, r[key]), math.max(hi, r[key])
  end
  if #list < 2 then return "" end
  return format(" (" .. fmt .. "–" .. fmt .. ")", lo * scale, hi * scale)
end

local LUA = { "lua5.4", "bench/client.lua" }
local function lua(...)
  local words = { table.unpack(LUA) }
  for _, w in ipairs { ... } do words[#words + 1] = w end
  return words
end

local rows = {}
local failed = false

-- One table row. `target` is a description and `pass` a boolean, or both nil.
-- `always`: the figure does not depend on the machine (a count), so a smoke
-- run judges it too.
local function row(scenario, measure_name, value, vs, target, pass, always)
  local result = ""
  if pass ~= nil and opts.smoke and not opts.check and not always then
    result = "—"
  elseif pass ~= nil then
    result = pass and "PASS" or "FAIL"
    if not pass then failed = true end
  end
  rows[#rows + 1] = format("| %s | %s | %s | %s | %s | %s |", scenario, measure_name, value,
                           vs or "", target or "", result)
end

-- Median time per request of a contender's runs, with its spread.
local function us(list, count)
  return format("%.1f µs", medians(list, "seconds") / count * 1e6)
    .. spread(list, "seconds", 1e6 / count, "%.0f")
end

local function x(r)
  return format("%.2f×", r)
end

-- 2. Small response, sequential keep-alive requests -------------------------

-- Wall-clock ratios to the floor flip with the machine's noise: their targets
-- are held by the instruction counts (bench_instructions), next to them.
local JUDGED_BY_INSTRUCTIONS = "by instructions, below"

local function bench_small()
  local base = opts.base .. "/small"
  local url = base .. "/library/folders"
  local n = size.requests
  log("small response: %d folders (%d bytes), %d requests x %d runs", data.small_folders,
      data.small_bytes, n, opts.runs)
  local results = rounds {
    { name = "floor", command = { opts.floor, url, n } },
    { name = "gong", command = lua("gong", url, n) },
    { name = "luasocket", command = lua("luasocket", url, n) },
    { name = "curl", command = lua("curl", url, n) },
    { name = "requests", command = { "/usr/bin/python3", "bench/requests_client.py", url, n } },
  }
  local r, floor = results, results.floor
  local scenario = format("Small response (%d folders, %.1f kB), %d sequential requests, per request",
                          data.small_folders, data.small_bytes / 1000, n)
  row(scenario, "floor: C, one libcurl handle + cjson.decode", us(floor, n), "1.00×")
  local gong = ratio(r.gong, floor, "seconds")
  row("", "gong `client:folders()`", us(r.gong, n), x(gong), JUDGED_BY_INSTRUCTIONS)
  row("", "LuaSocket `http.request` + cjson (no keep-alive)", us(r.luasocket, n),
      x(ratio(r.luasocket, floor, "seconds")))
  row("", "one `curl` process per request + cjson", us(r.curl, n), x(ratio(r.curl, floor, "seconds")))
  local faster = ratio(r.requests, r.gong, "seconds")
  row("", "Python `requests.Session` + `json`", us(r.requests, n), x(ratio(r.requests, floor, "seconds")),
      format("gong %.1f× faster; %s", faster, JUDGED_BY_INSTRUCTIONS))
end

-- 3. Large folder: time and peak RSS ----------------------------------------

local function bench_large()
  local base = opts.base .. "/large"
  local url = format("%s/library/folders/%s/calls", base, data.large_id)
  log("large folder: %d calls (%d bytes) x %d runs", data.large_calls, data.large_bytes, opts.runs)
  local function show(r) return format("%.3f s, peak RSS %.1f MB", r.seconds, r.hwm_kb / 1024) end
  local results = rounds {
    { name = "floor", command = { opts.floor, url, 1, base .. "/library/folders" }, show = show },
    { name = "gong", command = lua("large", base, data.large_id), show = show },
  }
  local floor, gong = results.floor, results.gong
  local function ms(list)
    return format("%.0f ms", medians(list, "seconds") * 1000) .. spread(list, "seconds", 1000, "%.0f")
  end
  local function mb(list) return format("%.1f MB", medians(list, "hwm_kb") / 1024) end
  local t, m = ratio(gong, floor, "seconds"), ratio(gong, floor, "hwm_kb")
  local scenario = format("Large folder (%d calls, %.1f MB), one request", data.large_calls,
                          data.large_bytes / 1e6)
  row(scenario, "floor time", ms(floor), "1.00×")
  row("", "gong `client:calls()` time", ms(gong), x(t), JUDGED_BY_INSTRUCTIONS)
  row("", "floor peak RSS", mb(floor), "1.00×")
  row("", "gong peak RSS", mb(gong), x(m), "≤ 1.0× floor", m <= 1.0)
end

-- 3a. Instruction counts: what wall time cannot judge on a noisy machine ------

-- callgrind counts the instructions a process executes, the same on a busy
-- machine as on an idle one. It counts them here only inside the functions
-- that make a request (gong's method, the floor's fetch and decode), so that
-- starting Lua, loading modules and tearing down (unequal between gong and a
-- C floor) do not count. Lua seeds its string hashes from the clock and a
-- stack address, and the cost of interning moves with the seed by up to
-- ±1.5 %. So each figure is the median over several seeds, each one made
-- the same in every run: bench/fixed_time.c pins the clock, and a clean
-- environment padded by a known length (with bench/run.sh's copy of the
-- floor at a path of one length) pins the stack.
local INSTRUCTIONS_TARGET = 1.10
-- Nine seeds where a process is cheap, three where it is not: the small
-- request's ratio ranges over ±1.5 % from seed to seed, the large folder's
-- far less.
local SEED_TIMES = { 1000000000, 1100000000, 1200000000, 1300000000, 1400000000, 1500000000, 1600000000,
                     1700000000, 1800000000 }
local FEW_SEED_TIMES = { 1000000000, 1400000000, 1800000000 }

-- The instructions (Ir) a process spends inside the functions `inside`,
-- with time() answering `seed_time`.
-- With `inside` nil, the whole process. Python's seed is PYTHONHASHSEED.
-- `pad` bytes of environment move the stack, and with it Lua's seed.
local function instructions(words, inside, seed_time, pad)
  local out = format("build/bench/callgrind.%d.out", math.random(1e9))
  -- A clean environment as well: Lua's seed also hashes a stack address,
  -- which moves with the size of the environment the caller passes on.
  local parts = { "env", "-i", "PATH=" .. os.getenv("PATH"), "LUA_PATH=" .. os.getenv("LUA_PATH"),
                  "LUA_CPATH=" .. os.getenv("LUA_CPATH"), "BENCH_TIME=" .. seed_time, "LD_PRELOAD=" .. opts.fixed_time,
                  "PYTHONHASHSEED=" .. seed_time % 4294967296, "BENCH_PAD=" .. ("x"):rep(pad or 0),
                  "valgrind", "-q", "--tool=callgrind", "--callgrind-out-file=" .. out }
  if inside then parts[#parts + 1] = "--collect-atstart=no" end
  for _, fn in ipairs(inside or {}) do parts[#parts + 1] = "--toggle-collect=" .. fn end
  for _, w in ipairs(words) do parts[#parts + 1] = w end
  measure(parts)
  local f = assert(io.open(out))
  local text = f:read("a")
  f:close()
  os.remove(out)
  return assert(tonumber(text:match("\nsummary: *(%d+)") or text:match("\ntotals: *(%d+)")),
                "no summary in the callgrind output")
end

-- The median over the seed times of the instructions per request.
local function per_request(c, seeds)
  local values = {}
  for i, t in ipairs(seeds) do
    values[i] = instructions(c.words, c.inside, t, 48 * i) / c.requests
  end
  return median(values)
end

local function bench_instructions()
  local small = opts.base .. "/small/library/folders"
  local large_base = opts.base .. "/large"
  local large = format("%s/library/folders/%s/calls", large_base, data.large_id)
  local n_small, n_large = 100, opts.smoke and 3 or 1
  local floor_inside = { "fetch", "decode" }
  -- The floor's warm-up request is the measured one again: n + 1 of each.
  local cases = {
    { scenario = format("Instructions (callgrind) per small response (%d folders)", data.small_folders),
      seeds = SEED_TIMES,
      floor = { words = { opts.floor, small, n_small }, inside = floor_inside, requests = n_small + 1 },
      gong = { words = lua("gong", small, n_small), inside = { "request_method" }, requests = n_small + 1 } },
    { scenario = format("Instructions (callgrind) per large folder (%d calls)", data.large_calls),
      seeds = FEW_SEED_TIMES,
      floor = { words = { opts.floor, large, n_large }, inside = floor_inside, requests = n_large + 1 },
      gong = { words = lua("large", large_base, data.large_id, n_large), inside = { "request_method" },
               requests = n_large } },
  }
  for _, c in ipairs(cases) do
    log("instructions: %s, median of %d processes under callgrind", c.scenario, #c.seeds)
    local floor, gong = per_request(c.floor, c.seeds), per_request(c.gong, c.seeds)
    local r = gong / floor
    log("  floor %.0f Ir, gong %.0f Ir per request: %.3f×", floor, gong, r)
    row(c.scenario, "floor: C, one libcurl handle + cjson.decode", format("%.3f M Ir", floor / 1e6), "1.00×")
    row("", "gong", format("%.3f M Ir", gong / 1e6), format("%.3f×", r),
        format("≤ %.2f× floor", INSTRUCTIONS_TARGET), r <= INSTRUCTIONS_TARGET)
    if c == cases[1] and not opts.smoke then
      -- Python has no function to count inside: the difference of whole
      -- processes of 110 and 10 requests, per request.
      local python = median((function()
        local values = {}
        for i, t in ipairs(FEW_SEED_TIMES) do
          local function run(n)
            return instructions({ "/usr/bin/python3", "bench/requests_client.py", small, n }, nil, t)
          end
          values[i] = (run(110) - run(10)) / 100
        end
        return values
      end)())
      local fewer = python / gong
      log("  Python %.0f Ir per request: gong %.1f× fewer", python, fewer)
      row("", "Python `requests.Session` + `json` (whole processes, 110 − 10 requests)",
          format("%.3f M Ir", python / 1e6), format("%.3f×", python / floor),
          format("gong ≥ 3× fewer (is %.1f×)", fewer), fewer >= 3)
    end
  end
end

-- 3b. On an event loop: how long decoding holds it ------------------------------

-- gong.loop (and so gong.nvim) decodes a response on the loop's thread: while
-- it does, an editor does not redraw. The longest a 1 ms timer waited is
-- that time; a folder of a usual size must stay within one frame.
local FRAME_MS = 16

local function bench_loop()
  local base = opts.base .. "/large"
  log("loop: folders of %d and %d calls x %d runs", data.medium_calls, data.large_calls, opts.runs)
  local function show(r) return format("%.1f ms held, %.0f ms in all", r.blocked_ms, r.seconds * 1000) end
  local results = rounds {
    { name = "medium", command = lua("loop", base, data.medium_id), show = show },
    { name = "large", command = lua("loop", base, data.large_id), show = show },
  }
  local function held(list)
    return format("%.1f ms", medians(list, "blocked_ms")) .. spread(list, "blocked_ms", 1, "%.1f")
  end
  local medium = medians(results.medium, "blocked_ms")
  row(format("Event loop (gong.loop, luv): a folder's calls, the longest the loop is held (decoding)"),
      format("%d calls (%.0f kB)", data.medium_calls, data.medium_bytes / 1e3), held(results.medium), "",
      format("≤ %d ms (a frame)", FRAME_MS), medium <= FRAME_MS)
  row("", format("%d calls (%.1f MB)", data.large_calls, data.large_bytes / 1e6), held(results.large), "")
end

-- 4. Tree build + walk ---------------------------------------------------------

-- The tree's target is on its growth against its floor's: 10x the folders
-- cannot cost 10x where copying them in the order a tree needs already grows
-- more past the L3 cache. Its floors (bench/client.lua copy) measure that, in
-- the same run.
local TREE_GROWTH_TARGET = 1.15
-- A 10,000-folder build takes milliseconds, about the machine's noise: the
-- tree is measured in more runs than the rest, each build once in a fresh
-- process as a program does it (repeating it in one process would keep the
-- small tree in the cache and flatter the small size).
local TREE_RUNS = 11
local function bench_tree()
  log("tree: %s folders", concat(data.trees, " and "))
  local kinds = {
    { name = "tree", words = { "tree" },
      label = "`gong.tree.build` + full `walk()`" },
    { name = "copy", words = { "copy", "input" },
      label = "Tree floor: each folder copied into a new table, in input order, then read back" },
    { name = "shuffled", words = { "copy", "shuffled" },
      label = "Tree floor: the same in a shuffled order, as a tree of a shuffled list must" },
  }
  local contenders = {}
  for _, n in ipairs(data.trees) do
    for _, kind in ipairs(kinds) do
      local words = { table.unpack(kind.words) }
      table.insert(words, 2, opts.base .. "/tree" .. n)
      contenders[#contenders + 1] = { name = kind.name .. n, command = lua(table.unpack(words)) }
    end
  end
  local results = rounds(contenders, not opts.smoke and math.max(opts.runs, TREE_RUNS) or nil)
  local growth = {}
  for _, kind in ipairs(kinds) do
    growth[kind.name] = {}
    for i, n in ipairs(data.trees) do
      local list = results[kind.name .. n]
      local vs
      if i > 1 then
        local prev = data.trees[i - 1]
        local r = ratio(list, results[kind.name .. prev], "seconds")
        growth[kind.name][i] = r
        vs = format("%.1f× the %d-folder time (%.0f× the folders)", r, prev, n / prev)
      end
      row(i == 1 and kind.label or "", format("%d folders", n),
          format("%.1f ms", medians(list, "seconds") * 1000) .. spread(list, "seconds", 1000, "%.0f"), vs)
    end
  end
  for i = 2, #data.trees do
    -- Each run's tree growth over the same run's floor growth.
    local per_run = {}
    local prev, n = data.trees[i - 1], data.trees[i]
    for run = 1, #results["tree" .. n] do
      per_run[run] = (results["tree" .. n][run].seconds / results["tree" .. prev][run].seconds)
        / (results["shuffled" .. n][run].seconds / results["shuffled" .. prev][run].seconds)
    end
    local r = median(per_run)
    row(i == 2 and "Tree growth against its shuffled floor's, in the same run" or "",
        format("%d → %d folders", data.trees[i - 1], data.trees[i]),
        format("%.1f× vs %.1f×", growth.tree[i], growth.shuffled[i]), format("%.2f×", r),
        format("≤ %.2f× the floor's growth", TREE_GROWTH_TARGET), r <= TREE_GROWTH_TARGET)
  end
end

-- 5. Export: concurrency and the rate limit, against the fake server ---------

-- Runs fn(server, delay) against a fake server with `folders` folders, every
-- response delayed by `delay`, and stops the server whatever happens.
local function with_delayed_fake(folders, delay, fn)
  local srv = fake.start { folders = folders, idle_exit = 120, max_records = 100000 }
  local ok, err = pcall(function()
    srv:faults { { delay = delay, times = -1 } }
    fn(srv, delay)
  end)
  srv:stop()
  if not ok then error(err, 0) end
end

-- The most request arrivals that fall within any one-second window.
local function max_in_window(times)
  sort(times)
  local most, j = 0, 1
  for i = 1, #times do
    while times[i] - times[j] >= 1.0 do j = j + 1 end
    if i - j + 1 > most then most = i - j + 1 end
  end
  return most
end

local function bench_export(srv)
  local n = size.export_folders
  log("export: %d folders, %g s delay per response, rate off, x %d runs", n, DELAY, opts.runs)
  local function show(r) return format("%.3f s, %d folders, %d errors", r.seconds, r.folders, r.errors) end
  local results = rounds {
    { name = "c1", command = lua("export", srv.url, 1, "off"), show = show },
    { name = "c8", command = lua("export", srv.url, 8, "off"), show = show },
  }
  for _, list in pairs(results) do
    for _, r in ipairs(list) do
      assert(r.errors == 0 and r.folders == n, "export lost folders")
    end
  end
  local faster = ratio(results.c1, results.c8, "seconds")
  local function s(list) return format("%.2f s", medians(list, "seconds")) .. spread(list, "seconds", 1, "%.2f") end
  local scenario = format("Export: `client:library{}` of %d folders, %d ms per response", n, DELAY * 1000)
  row(scenario, "concurrency = 1, rate off", s(results.c1))
  row("", "concurrency = 8, rate off", s(results.c8), format("%.1f× faster", faster),
      "≥ 6× faster than concurrency 1", faster >= 6)
end

-- The fake server records when each request arrived; the client's limiter
-- only knows when it let a transfer start. Anything that holds a started
-- transfer back (a busy connection, libcurl waiting to multiplex) moves
-- arrivals closer together, and slower responses hold them back longer,
-- hence a second, slower server.
local function bench_rate(srv, delay)
  log("rate limit: %d folders, %g s per response, concurrency 8, rate = %d", size.rate_folders,
      delay, RATE)
  local r = measure(lua("export", srv.url, 8, RATE))
  local times = {}
  for _, req in ipairs(srv:requests()) do times[#times + 1] = req.time end
  local most = max_in_window(times)
  log("  %d requests in %.2f s, at most %d in one second", #times, r.seconds, most)
  row(delay == DELAY and format("Rate limit: `client:library{}` of %d folders, concurrency 8, `rate = %d`",
                                size.rate_folders, RATE) or "",
      format("most requests the server saw in any 1 s window, %d ms per response", delay * 1000),
      format("%d (of %d in %.1f s)", most, #times, r.seconds), nil, "≤ 3", most <= RATE)
end

-- 6. Memory stability -----------------------------------------------------------

local function bench_memory()
  local n = size.memory_requests
  local first = math.max(1, n // 10)
  log("memory: %d requests in one process x %d runs", n, opts.runs)
  local function growth(r) return (r.rss_last_kb - r.rss_first_kb) / r.rss_first_kb * 100 end
  local results = rounds { {
    name = "memory", command = lua("memory", opts.base .. "/small", n),
    show = function(r)
      return format("RSS %d -> %d kB (%+.2f%%), Lua heap %d -> %d kB", r.rss_first_kb,
                    r.rss_last_kb, growth(r), r.lua_first_kb, r.lua_last_kb)
    end,
  } }
  local growths = {}
  for i, r in ipairs(results.memory) do growths[i] = growth(r) end
  local g = median(growths)
  row(format("Memory: %d sequential `client:folders()` in one process", n),
      format("RSS after %d → after %d requests", first, n),
      format("%.0f kB → %.0f kB", medians(results.memory, "rss_first_kb"),
             medians(results.memory, "rss_last_kb")),
      format("%+.2f%%", g), "differ by < 5%", math.abs(g) < 5)
end

-- Scenarios in modules of their own -------------------------------------------
-- bench/<name>.lua returns function(b): it measures and adds its rows through
-- the driver's helpers, so every figure lands in the one table.
local b = {
  opts = opts, data = data, size = size, fake = fake, log = log, measure = measure, start = start, finish = finish,
  rounds = rounds, median = median, medians = medians, ratio = ratio, spread = spread,
  row = row, lua = lua, us = us, x = x, max_in_window = max_in_window,
}

-- Floor and table -----------------------------------------------------------------

local function main()
  local started = os.time()
  local function wanted(name) return not opts.only or opts.only[name] end
  if wanted("small") then bench_small() end
  if wanted("large") then bench_large() end
  -- A smoke run leaves the instruction counts to --check (CI runs both).
  if wanted("instructions") and (opts.check or not opts.smoke) then bench_instructions() end
  if wanted("loop") then bench_loop() end
  if wanted("tree") then bench_tree() end
  if wanted("export") then with_delayed_fake(size.export_folders, DELAY, bench_export) end
  if wanted("rate") then
    with_delayed_fake(size.rate_folders, DELAY, bench_rate)
    with_delayed_fake(size.rate_folders, SLOW_DELAY, bench_rate)
  end
  if wanted("memory") then bench_memory() end
  for _, name in ipairs { "rate_limit", "hosts", "scale" } do
    if wanted(name) then require("bench." .. name)(b) end
  end

  local lines = {
    opts.smoke and format("Smoke run (%d s): sizes far below the issue's, one run; the results "
                          .. "only prove that every part runs, targets are not enforced.",
                          os.time() - started)
      or format("Full run (%d s): medians of %d runs, (lowest–highest) over the runs; ratios are "
                .. "medians of per-run ratios.", os.time() - started, opts.runs),
    "",
    "| Scenario | Measure | Median | Ratio | Target | Result |",
    "| --- | --- | --- | --- | --- | --- |",
  }
  for _, r in ipairs(rows) do lines[#lines + 1] = r end
  local text = concat(lines, "\n") .. "\n"
  io.write(text)
  if opts.out then
    local f = assert(io.open(opts.out, "w"))
    f:write(text)
    f:close()
  end
  if failed then
    local enforced = opts.strict or opts.check
    log(enforced and "bench: a target was missed"
        or "bench: a target was missed (not enforced without --strict)")
    if enforced then os.exit(1) end
  end
end

main()
