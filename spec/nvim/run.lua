-- Runs one scenario of spec/nvim_spec.lua inside a real Neovim (0.7 has no
-- `nvim -l`, hence luafile):
--
--   GONG_NVIM_ROOT=<repo> GONG_NVIM_SCENARIO=<name> GONG_NVIM_OUT=<file> \
--     nvim --headless -u NONE -i NONE -n -c "luafile <repo>/spec/nvim/run.lua"
--
-- The scenario runs in a coroutine on Neovim's own main loop, so timers,
-- vim.schedule and the adapter's callbacks behave as in an editor a user is
-- typing into. It records what it saw; the spec judges. Writes one JSON object
-- to GONG_NVIM_OUT and quits with status 0 when the scenario ran to its end,
-- 3 when it raised (the JSON holds the traceback), 4 when it hung.
--
-- Other variables: GONG_NVIM_URL (the fake server), GONG_NVIM_TOKEN (a token
-- it accepts), GONG_NVIM_BAD_TOKEN, GONG_NVIM_WORKSPACE, GONG_NVIM_FOLDERS
-- (a JSON array of folder ids).

-- luacheck: globals vim

local uv = vim.loop

local ROOT = assert(os.getenv("GONG_NVIM_ROOT"), "GONG_NVIM_ROOT is not set")
local OUT = assert(os.getenv("GONG_NVIM_OUT"), "GONG_NVIM_OUT is not set")
local SCENARIO = assert(os.getenv("GONG_NVIM_SCENARIO"), "GONG_NVIM_SCENARIO is not set")
local URL = os.getenv("GONG_NVIM_URL")
local TOKEN = os.getenv("GONG_NVIM_TOKEN")
local DEADLINE_MS = 45000

local finished = false

local function finish(result, status)
  if finished then return end
  finished = true
  local f = assert(io.open(OUT, "w"))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd(status == 0 and "qa!" or ("cquit " .. status))
end

-- Resumes the running scenario when `start`'s callback is called, and returns
-- what the callback got. Only the first call resumes: counting calls is the
-- scenarios' business.
local function await(start)
  local co = assert(coroutine.running(), "await outside the scenario coroutine")
  local early, waiting, resumed = nil, false, false
  start(function(...)
    if resumed then return end
    resumed = true
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

local function now_ms()
  return uv.hrtime() / 1e6
end

-- Makes the repo's modules and LuaJIT build loadable, as the spec's README
-- command does with LUA_PATH/LUA_CPATH.
local function use_repo()
  package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
  package.cpath = ROOT .. "/build/luajit/?.so;" .. package.cpath
end

local function options(extra)
  local o = { base_url = URL, token = TOKEN, rate = false }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- A doc/neovim.md Lua block, by the name of the marker above it, run.
local function snippet(name)
  local f = assert(io.open(ROOT .. "/doc/neovim.md"))
  local doc = f:read("*a")
  f:close()
  local code = doc:match("<!%-%- snippet: " .. name .. " %-%->\n```lua\n(.-)\n```")
  assert(code, "doc/neovim.md has no snippet named " .. name)
  return assert(loadstring(code, "=doc/neovim.md:" .. name))()
end

-- An error object as plain data, plus what it prints as.
local function error_info(err, gong)
  if err == nil then return nil end
  local info = { is_error = gong.is_error(err), text = tostring(err), fields = {} }
  for k, v in pairs(err) do info.fields[k] = v end
  return info
end

-- A tree as comparable lines: the shape, every node's data, the anomalies.
local function tree_lines(tree)
  local lines = { tostring(tree), ("orphans=%d cycles=%d duplicates=%d")
    :format(#tree.orphans, #tree.cycles, #tree.duplicates) }
  for node, depth in tree:walk() do
    lines[#lines + 1] = table.concat({ depth, tostring(node.id), tostring(node.name),
      tostring(node.parentFolderId), tostring(node.total_calls), node.path }, "|")
  end
  return lines
end

-- The :GongTree snippet's rendering, computed from a tree of the blocking API.
local function command_lines(tree)
  local lines = {}
  for node, depth in tree:walk() do
    local name = (node.name or node.id):gsub("%c", " ")
    lines[#lines + 1] = ("%s%s (%d calls)"):format(("  "):rep(depth), name, node.total_calls)
  end
  if #lines == 0 then lines[1] = "(no folders)" end
  return lines
end

-- Calls fn(callback) for each entry of `requests` at once and waits for all
-- callbacks. Returns the first arguments each got and how often each was
-- called (after a grace period, so a second call would be seen).
local function all_at_once(requests)
  local answers, counts, left = {}, {}, 0
  for _ in pairs(requests) do left = left + 1 end
  await(function(done)
    for key, start in pairs(requests) do
      counts[key] = 0
      start(function(...)
        counts[key] = counts[key] + 1
        if counts[key] > 1 then return end
        answers[key] = { n = select("#", ...), ... }
        left = left - 1
        if left == 0 then done() end
      end)
    end
  end)
  sleep(300)
  return answers, counts
end

local scenarios = {}

-- folders, folders of a workspace, calls of several folders and the tree,
-- all in flight together, against the blocking API in the same editor.
function scenarios.same_data(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local opts = options()
  local workspace = assert(os.getenv("GONG_NVIM_WORKSPACE"))
  local folder_ids = vim.json.decode(assert(os.getenv("GONG_NVIM_FOLDERS")))

  local requests = {
    folders = function(cb) gong_nvim.folders(opts, cb) end,
    workspace = function(cb) gong_nvim.folders(opts, { workspaceId = workspace }, cb) end,
    tree = function(cb) gong_nvim.tree(opts, cb) end,
  }
  for i, id in ipairs(folder_ids) do
    requests["calls" .. i] = function(cb) gong_nvim.calls(opts, id, cb) end
  end
  local answers, counts = all_at_once(requests)
  r.callbacks = counts

  local client = gong.new(opts)
  local function compare(key, adapter, blocking)
    local a = answers[key]
    r[key] = {
      err = a[2] and tostring(a[2]) or nil,
      request_id = a[3],
      blocking_count = #blocking,
      same = vim.deep_equal(adapter(a[1]), blocking),
    }
  end
  local function id(v) return v end
  compare("folders", id, assert(client:folders()))
  compare("workspace", id, assert(client:folders({ workspaceId = workspace })))
  for i, folder in ipairs(folder_ids) do
    compare("calls" .. i, id, assert(client:calls(folder)))
  end
  local blocking_tree = assert(client:tree())
  compare("tree", function(t) return t and tree_lines(t) end, tree_lines(blocking_tree))
  r.tree.text = tostring(answers.tree[1])
  r.tree.is_tree = getmetatable(answers.tree[1]) == getmetatable(blocking_tree)
  client:close()
end

-- Data crosses from the worker unchanged: the spec has the server answer with
-- awkward numbers and strings (twice: adapter, then blocking), then an empty list.
function scenarios.exact(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local calls, err = await(function(done) gong_nvim.calls(options(), "c", done) end)
  local blocking = assert(gong.new(options()):calls("c"))
  r.err = err and tostring(err)
  r.same = vim.deep_equal(calls, blocking)
  r.durations, r.titles = {}, {}
  for i, call in ipairs(calls or {}) do
    r.durations[i] = ("%.17g"):format(call.duration)
    r.titles[i] = call.title and call.title:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
  end
  local empty, empty_err = await(function(done) gong_nvim.calls(options(), "c", done) end)
  r.empty = { type = type(empty), count = empty and #empty, err = empty_err and tostring(empty_err),
              metatable = empty and getmetatable(empty) ~= nil }
end

-- HTTP failures reach the callback as the very error the blocking API returns.
function scenarios.http_error(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local bad = options({ token = assert(os.getenv("GONG_NVIM_BAD_TOKEN")) })

  local answers, counts = all_at_once({
    unauthorized = function(cb) gong_nvim.folders(bad, cb) end,
    not_found = function(cb) gong_nvim.calls(options(), "no-such-folder", cb) end,
  })
  r.callbacks = counts
  local _, unauthorized = gong.new(bad):folders()
  local _, not_found = gong.new(options()):calls("no-such-folder")
  for key, blocking in pairs({ unauthorized = unauthorized, not_found = not_found }) do
    local a = answers[key]
    r[key] = {
      data = a[1] == nil and "nil" or type(a[1]),
      async = error_info(a[2], gong),
      blocking = error_info(blocking, gong),
      same_metatable = getmetatable(a[2]) == getmetatable(blocking),
    }
  end
end

-- A 50 ms timer keeps its period while the server sits on a request for 2 s;
-- then, as a check of the measurement, the blocking API freezes it.
function scenarios.responsive(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local opts = options()

  local ticks = {}
  local timer = uv.new_timer()
  timer:start(50, 50, function() ticks[#ticks + 1] = now_ms() end)
  local function window(from, to)
    local count, gap, last = 0, 0, from
    for _, t in ipairs(ticks) do
      if t > from and t <= to then
        count = count + 1
        gap = math.max(gap, t - last)
        last = t
      end
    end
    return { ticks = count, max_gap_ms = math.max(gap, to - last), elapsed_ms = to - from }
  end
  sleep(200)

  local t0 = now_ms()
  local folders, err = await(function(done) gong_nvim.folders(opts, done) end)
  r.adapter = window(t0, now_ms())
  r.adapter.count = folders and #folders
  r.adapter.err = err and tostring(err)

  sleep(200)
  local t1 = now_ms()
  local blocking = gong.new(opts):folders()
  r.blocking = window(t1, now_ms())
  r.blocking.count = blocking and #blocking

  timer:stop()
  timer:close()
end

-- gong is given what it rejects, or is called wrongly: one callback each (or
-- a raise), never a printed error.
function scenarios.failures(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local opts = options()
  local client = gong.new(opts)

  local function once(start)
    local calls = 0
    local data, err = await(function(done)
      start(function(...)
        calls = calls + 1
        done(...)
      end)
    end)
    sleep(300)
    return { calls = calls, data = data == nil and "nil" or type(data), err = error_info(err, gong) }
  end
  local function raised(ok, err)
    return { ok = ok, err = error_info(err, gong) }
  end

  -- What gong itself rejects arrives as the error the blocking API raises.
  local bogus = options({ bogus = 1 })
  r.unknown_option = once(function(cb) gong_nvim.folders(bogus, cb) end)
  r.unknown_option.expected = error_info(select(2, pcall(gong.new, bogus)), gong)
  r.empty_folder_id = once(function(cb) gong_nvim.calls(opts, "", cb) end)
  r.empty_folder_id.expected = error_info(select(2, pcall(client.calls, client, "")), gong)
  r.unknown_param = once(function(cb) gong_nvim.folders(opts, { folder = "x" }, cb) end)
  r.unknown_param.expected = error_info(select(2, pcall(client.folders, client, { folder = "x" })), gong)
  r.no_credentials = once(function(cb) gong_nvim.tree({ base_url = URL }, cb) end)
  r.no_credentials.expected = error_info(select(2, pcall(gong.new, { base_url = URL })), gong)

  -- Mistakes in the call itself raise: there is no callback to tell.
  r.not_a_callback = raised(pcall(gong_nvim.folders, opts, nil, "not a function"))
  r.missing_callback = raised(pcall(gong_nvim.calls, opts, "id"))
  r.unsendable = raised(pcall(gong_nvim.folders, options({ headers = { x = print } }), function() end))
  client:close()
end

-- gong's Lua files on package.path, but neither lua-cjson nor gong.core on
-- package.cpath: the adapter still loads, each request says what is missing,
-- once, and fixing package.cpath fixes the next request.
function scenarios.no_core(r)
  package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
  local saved = package.cpath
  local cjson_dir = assert(package.searchpath("cjson", package.cpath)):match("^(.*)/[^/]+$")
  package.cpath = ""
  r.core_loads = pcall(require, "gong.core")
  local ok, gong_nvim = pcall(require, "gong.nvim")
  r.loaded = ok
  if not ok then
    r.load_error = tostring(gong_nvim)
    return
  end
  local function once()
    local calls = 0
    local data, err = await(function(done)
      gong_nvim.folders(options(), function(...)
        calls = calls + 1
        done(...)
      end)
    end)
    sleep(300)
    return { calls = calls, data = data == nil and "nil" or type(data), kind = err and err.kind,
             text = err and tostring(err) }
  end
  r.no_cjson = once()
  package.cpath = cjson_dir .. "/?.so" -- cjson, but no gong.core
  r.no_core = once()
  -- A gong.core built for another Lua (5.2 and later), as a user may put on package.cpath.
  package.cpath = os.getenv("GONG_NVIM_OTHER_BUILD") .. "/?.so;" .. cjson_dir .. "/?.so"
  r.other_lua = once()
  r.client_raises = { pcall(gong_nvim.client, options()) }
  r.client_raises[2] = tostring(r.client_raises[2])
  package.cpath = ROOT .. "/build/luajit/?.so;" .. saved
  r.recovered = once()
end

-- One long-lived client: 9 calls at once, one of them cancelled, a 20 ms
-- timer ticking meanwhile; then the tree, from the same client.
function scenarios.one_client(r)
  use_repo()
  local gong_nvim = require "gong.nvim"
  local folders = vim.json.decode(os.getenv("GONG_NVIM_FOLDERS"))
  local client = gong_nvim.client(options({ rate = 3 }))
  local ticks, longest, last = 0, 0, now_ms()
  local timer = uv.new_timer()
  timer:start(20, 20, function()
    local t = now_ms()
    longest = math.max(longest, t - last)
    last, ticks = t, ticks + 1
  end)
  local t0 = now_ms()
  local requests = {}
  for i, id in ipairs(folders) do
    requests[i] = function(cb) client:calls(id, cb) end
  end
  local cancelled = 0
  client:folders(function() cancelled = cancelled + 1 end):cancel()
  local answers, counts = all_at_once(requests)
  r.elapsed_ms = now_ms() - t0
  r.counts, r.calls, r.request_ids = {}, {}, {}
  for i = 1, #folders do
    r.counts[i] = counts[i]
    r.calls[i] = answers[i][1] and #answers[i][1] or tostring(answers[i][2])
    r.request_ids[i] = answers[i][3]
  end
  local tree, err, rid = await(function(done) client:tree(done) end)
  r.tree = tree and tostring(tree) or tostring(err)
  r.tree_request_id = rid
  timer:stop()
  timer:close()
  r.ticks, r.longest_ms, r.cancelled = ticks, longest, cancelled
  client:close()
end

-- Credentials and base URL from the environment only (nil options).
function scenarios.environment(r)
  use_repo()
  local gong = require "gong"
  local gong_nvim = require "gong.nvim"
  local answers, counts = all_at_once({
    folders = function(cb) gong_nvim.folders(nil, cb) end,
    tree = function(cb) gong_nvim.tree(nil, cb) end,
  })
  r.callbacks = counts
  local blocking = assert(gong.new():folders())
  r.count = answers.folders[1] and #answers.folders[1]
  r.err = answers.folders[2] and tostring(answers.folders[2])
  r.same = vim.deep_equal(answers.folders[1], blocking)
  r.tree = tostring(answers.tree[1])
end

-- The "api" snippet, with vim.notify recorded.
function scenarios.doc_api(r)
  use_repo()
  local notes = {}
  vim.notify = function(message, level)
    notes[#notes + 1] = { message = message, level = level or vim.log.levels.INFO }
  end
  snippet("api")
  local deadline = now_ms() + 10000
  while #notes < 2 and now_ms() < deadline and not (notes[1] and notes[1].level ~= vim.log.levels.INFO) do
    sleep(20)
  end
  sleep(200)
  r.notes = notes
end

-- The "client" snippet: its progress lines (and whether any came in a fast
-- event, where nvim_echo fails) and its notification; then again, stopped
-- at once with :GongStop.
function scenarios.doc_client(r)
  use_repo()
  local notes = {}
  r.progress, r.fast = {}, 0
  -- Recorded, not shown: headless Neovim would write it to stderr.
  vim.api.nvim_echo = function(chunks)
    if vim.in_fast_event() then r.fast = r.fast + 1 end
    r.progress[#r.progress + 1] = chunks[1][1]
  end
  vim.notify = function(message, level)
    notes[#notes + 1] = { message = message, level = level or vim.log.levels.INFO }
  end
  snippet("client")
  local deadline = now_ms() + 20000
  while #notes == 0 and now_ms() < deadline do sleep(20) end
  r.notes = notes
  local before = #r.progress
  snippet("client")
  vim.cmd("GongStop")
  sleep(1000)
  r.after_stop = { notes = #notes - #r.notes, progress = #r.progress - before }
end

-- The "command" snippet: :GongTree and :GongTree <workspace> fill a scratch
-- buffer with what the blocking API's tree renders to.
function scenarios.doc_command(r)
  use_repo()
  local gong = require "gong"
  snippet("command")
  local client = gong.new()
  local function show(args, expected_tree)
    local before = vim.api.nvim_get_current_buf()
    vim.cmd("GongTree " .. args)
    local returned_at = now_ms()
    local deadline = returned_at + 10000
    while vim.api.nvim_get_current_buf() == before and now_ms() < deadline do sleep(20) end
    local buf = vim.api.nvim_get_current_buf()
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    local expected = command_lines(expected_tree)
    local result = {
      new_buffer = buf ~= before,
      buftype = vim.bo[buf].buftype,
      modifiable = vim.bo[buf].modifiable,
      lines = #lines,
      first = lines[1],
      same = vim.deep_equal(lines, expected),
      expected_lines = #expected,
    }
    if buf ~= before then vim.cmd("bwipeout") end
    return result
  end
  r.all = show("", assert(client:tree()))
  local workspace = assert(os.getenv("GONG_NVIM_WORKSPACE"))
  r.workspace = show(workspace, assert(client:tree({ workspaceId = workspace })))
end

-- The lines `:checkhealth gong` shows, in the buffer it opens.
local function health_lines()
  -- silent: it echoes "Running healthchecks..." (to stderr, headless).
  vim.cmd("silent checkhealth gong")
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  vim.cmd("tabclose")
  return lines
end

-- An installation snippet makes gong loadable where it was not, in the editor
-- and in the workers (credentials from the environment), and :checkhealth
-- gong finds its check.
local function installed(r, setup)
  r.before = pcall(require, "gong")
  package.loaded["gong"], package.loaded["gong.core"], package.loaded["gong.tree"] = nil, nil, nil
  setup()
  local ok, gong_nvim = pcall(require, "gong.nvim")
  r.after = ok
  if not ok then
    r.load_error = tostring(gong_nvim)
    return
  end
  local tree, err = await(function(done) gong_nvim.tree(nil, done) end)
  r.tree = tree and tostring(tree)
  r.err = err and tostring(err)
  r.gong_file = debug.getinfo(require("gong").new, "S").source
  r.health = health_lines()
end

-- :checkhealth gong with the checkout on 'runtimepath' and the core of
-- GONG_NVIM_CPATH (a package.cpath template; default: the LuaJIT build) on
-- package.cpath; GONG_NVIM_LIVE set: with a live request.
function scenarios.health(r)
  vim.opt.runtimepath:prepend(ROOT)
  package.cpath = (os.getenv("GONG_NVIM_CPATH") or ROOT .. "/build/luajit/?.so") .. ";" .. package.cpath
  if os.getenv("GONG_NVIM_LIVE") then vim.g.gong_health_live = 1 end
  r.lines = health_lines()
end

function scenarios.doc_lazy(r)
  -- What lazy.nvim does with a plugin: put its directory on 'runtimepath'.
  vim.opt.runtimepath:prepend(ROOT)
  installed(r, function()
    local spec = snippet("lazy")
    r.spec = { name = spec[1], build = spec.build, lazy = spec.lazy }
    spec.init({ dir = ROOT, name = "gong" })
  end)
end

function scenarios.doc_runtimepath(r)
  installed(r, function() snippet("runtimepath") end)
end

function scenarios.doc_install(r)
  installed(r, function() snippet("install") end)
end

-- The host matrix (spec/support/matrix.lua) on a gong.nvim client, each
-- call waited for in this coroutine; records any callback of a call that
-- came in a fast event, where most of Neovim's API may not be used.
function scenarios.matrix(r)
  use_repo()
  local matrix = assert(loadfile(ROOT .. "/spec/support/matrix.lua"))()
  local gong_nvim = require "gong.nvim"
  local data = vim.json.decode(assert(os.getenv("GONG_NVIM_MATRIX")))
  r.fast = {}
  local function watched(name, fn)
    return function(...)
      if vim.in_fast_event() then r.fast[#r.fast + 1] = name end
      return fn(...)
    end
  end
  local function call(client, name, ...)
    local args = { n = select("#", ...), ... }
    for i = 1, args.n do
      local opts = args[i]
      if type(opts) == "table" then
        for _, key in ipairs({ "on_result", "on_progress", "on_plan" }) do
          if type(opts[key]) == "function" then opts[key] = watched(name .. "." .. key, opts[key]) end
        end
      end
    end
    local got = { await(function(done)
      args[args.n + 1] = watched(name, done)
      client[name](client, unpack(args, 1, args.n + 1))
    end) }
    if got[1] == nil then return nil, got[2] end
    return got[1], got[3]
  end
  r.matrix = matrix.run(gong_nvim.client(options()), call, data)
end

local run = scenarios[SCENARIO]
if not run then
  finish({ error = "unknown scenario " .. SCENARIO }, 3)
  return
end

local watchdog = uv.new_timer()
watchdog:start(DEADLINE_MS, 0, vim.schedule_wrap(function()
  finish({ error = "scenario " .. SCENARIO .. " did not finish within " .. DEADLINE_MS .. " ms" }, 4)
end))

coroutine.wrap(function()
  local result = {}
  local ok, err = xpcall(function() run(result) end, debug.traceback)
  watchdog:stop()
  if ok then
    finish(result, 0)
  else
    finish({ error = tostring(err), partial = result }, 3)
  end
end)()
