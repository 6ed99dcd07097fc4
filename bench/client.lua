-- One measurement per process, run by bench/bench.lua: each mode does its
-- work, times only that (wall clock, socket.gettime) and prints one line of
-- key=value pairs. A failed request raises, so a broken client can never
-- pass for a fast one.
--
--   lua5.4 bench/client.lua gong      URL COUNT     client:folders() COUNT times, keep-alive
--   lua5.4 bench/client.lua luasocket URL COUNT     socket.http.request + cjson.decode
--   lua5.4 bench/client.lua curl      URL COUNT     one `curl` process per request + cjson.decode
--   lua5.4 bench/client.lua large     BASE ID [N]   client:calls(ID) once (or N times), peak RSS
--   lua5.4 bench/client.lua tree      BASE          gong.tree.build + walk of BASE's folders
--   lua5.4 bench/client.lua copy      BASE ORDER    the tree's floor: a copy of each folder, read back
--                                                   (ORDER input or shuffled)
--   lua5.4 bench/client.lua export    BASE CONCURRENCY RATE   client:library{concurrency}
--   lua5.4 bench/client.lua memory    BASE COUNT    RSS after COUNT/10 and COUNT requests
--   lua5.4 bench/client.lua loop      BASE ID       client:calls(ID) on a luv loop (gong.loop): the
--                                                   longest the loop was kept from a 1 ms timer
--   lua5.4 bench/client.lua cli       BASE [FORMAT [OUT [WORD...]]]   a `bin/gong-library export`
--                                                   process: its time and peak RSS; with its defaults
--                                                   (rate 3, concurrency 3, the host's shared window
--                                                   in a private directory) but for the WORDs' flags
--                                                   and NAME=VALUE variables
--   lua5.4 bench/client.lua paced     BASE PAUSE    the folders, then each non-empty folder's calls
--                                                   one at a time, PAUSE seconds before each, rate off
--   lua5.4 bench/client.lua burst     BASE CONCURRENCY RETRIES   client:library{concurrency}, rate off,
--                                                   max_retries RETRIES: a 429 waits its Retry-After
--
-- URL is a full folders URL; BASE is what gong's base_url would be.

local gong = require "gong"
local socket = require "socket"

local gettime = socket.gettime

-- The value of `field` (VmRSS, VmHWM...) in /proc/self/status, in kB.
local function status_kb(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+) kB"))
end

local function report(fields)
  local out = {}
  for _, k in ipairs { "requests", "seconds", "blocked_ms", "bytes", "hwm_kb", "nodes", "folders", "errors",
                       "rss_first_kb", "rss_last_kb", "lua_first_kb", "lua_last_kb", "reused" } do
    if fields[k] ~= nil then out[#out + 1] = k .. "=" .. tostring(fields[k]) end
  end
  print(table.concat(out, " "))
end

-- A client for the static server: it ignores credentials, and the rate limit
-- would measure itself instead of the client.
local function bench_client(base)
  return gong.new { base_url = base, token = "bench", rate = false }
end

-- Splits a folders URL into gong's base_url.
local function base_of(url)
  return (assert(url:match("^(.*)/library/folders$"), "not a folders URL: " .. url))
end

-- One untimed get() (it opens the connection), then `count` timed ones.
local function time_gets(get, count)
  get()
  local start = gettime()
  for _ = 1, count do get() end
  report { requests = count, seconds = gettime() - start }
end

local modes = {}

function modes.gong(url, count)
  count = tonumber(count)
  local client = bench_client(base_of(url))
  assert(client:folders())
  local start = gettime()
  for _ = 1, count do
    local folders, err = client:folders()
    if not folders then error(err) end
  end
  report { requests = count, seconds = gettime() - start }
end

function modes.luasocket(url, count)
  count = tonumber(count)
  local http = require "socket.http"
  local decode = require("cjson").decode
  local function get()
    local body, status = http.request(url)
    if status ~= 200 then error("GET " .. url .. ": " .. tostring(status)) end
    return decode(body)
  end
  time_gets(get, count)
end

function modes.curl(url, count)
  count = tonumber(count)
  local decode = require("cjson").decode
  local command = "exec curl -sS --fail -H 'Authorization: Bearer bench' '" .. url .. "'"
  local function get()
    local p = assert(io.popen(command))
    local body = p:read("a")
    if not p:close() then error("curl failed on " .. url) end
    return decode(body)
  end
  time_gets(get, count)
end

-- Peak RSS is the process's VmHWM after the one big call, so nothing but
-- the interpreter, the modules and a one-folder warm-up response precede it.
function modes.large(base, id, count)
  local client = bench_client(base)
  assert(client:folders()) -- opens the connection, like the floor's warm-up
  local start = gettime()
  local calls, err
  for _ = 1, tonumber(count) or 1 do
    calls, err = client:calls(id)
    if not calls then error(err) end
  end
  local seconds = gettime() - start
  report { requests = #calls, seconds = seconds, hwm_kb = status_kb("VmHWM") }
end

function modes.tree(base)
  local client = bench_client(base)
  local folders = assert(client:folders())
  collectgarbage()
  local start = gettime()
  local t = gong.tree.build(folders)
  local nodes = 0
  for _ in t:walk() do nodes = nodes + 1 end
  local seconds = gettime() - start
  assert(nodes == #folders, "walk missed nodes")
  report { nodes = nodes, seconds = seconds }
end

-- The tree's floor: what building and walking any tree of copied folders
-- costs at least, with no tree logic at all. A new table per folder with its
-- fields, then one pass over the copies, either in input order, or in a
-- shuffled order fixed before the clock starts, which is what a tree of a
-- shuffled list must do: its walk order has nothing to do with where the
-- folders lie in memory. Both are linear in instructions; their growth from
-- the smaller list to the larger is what the machine and Lua's collector add
-- once the heap outgrows the CPU caches.
function modes.copy(base, order)
  local client = bench_client(base)
  local folders = assert(client:folders())
  local n = #folders
  local sequence = {}
  for i = 1, n do sequence[i] = i end
  if order == "shuffled" then
    local library = require "fake.library"
    library.shuffle(library.new_random(1), sequence)
  end
  collectgarbage()
  local start = gettime()
  local copies = {}
  for k = 1, n do
    local copy = {}
    for key, value in pairs(folders[sequence[k]]) do copy[key] = value end
    copies[k] = copy
  end
  local nodes = 0
  for k = 1, n do
    if copies[k].id then nodes = nodes + 1 end
  end
  local seconds = gettime() - start
  assert(nodes == n, "copy missed folders")
  report { nodes = nodes, seconds = seconds }
end

-- client:library{concurrency} against the fake server (bench/bench.lua
-- queues its delay fault), timed; `options` are the client's besides the
-- fake's credentials.
local function export_library(base, concurrency, options)
  options.base_url, options.access_key, options.access_key_secret = base, "test-key", "test-secret"
  local client = gong.new(options)
  local start = gettime()
  local t, errors = client:library { concurrency = tonumber(concurrency) }
  local seconds = gettime() - start
  if not t then error(errors) end
  local folders = 0
  for node in t:walk() do
    if node.calls then folders = folders + 1 end
  end
  report { folders = folders, errors = #errors, seconds = seconds }
end

function modes.export(base, concurrency, rate)
  export_library(base, concurrency, { rate = rate ~= "off" and tonumber(rate) or false })
end

-- Memory after the first tenth and after all requests, each read after a
-- full collection: Lua garbage not yet collected is not a leak.
function modes.memory(base, count)
  count = math.tointeger(tonumber(count))
  local client = bench_client(base)
  local first = math.max(1, count // 10)
  local fields = { requests = count }
  local start = gettime()
  for i = 1, count do
    local folders, err = client:folders()
    if not folders then error(err) end
    if i == first or i == count then
      folders = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      local which = i == first and "first" or "last"
      fields["rss_" .. which .. "_kb"] = status_kb("VmRSS")
      fields["lua_" .. which .. "_kb"] = math.floor(collectgarbage("count"))
    end
  end
  fields.seconds = gettime() - start
  report(fields)
end

-- A folder's calls through gong.loop on a luv loop, which decodes them on the
-- loop's thread: a 1 ms timer measures the longest the loop was held from
-- it, which is what an editor's screen would wait. Best of 3 fetches on one
-- client (the first also opens the connection).
function modes.loop(base, id)
  local uv = require "luv"
  local client = require("gong.loop").client({ base_url = base, token = "bench", rate = false }, uv)
  local best, count, seconds
  for _ = 1, 3 do
    local last, longest, done = uv.hrtime(), 0, false
    local timer = uv.new_timer()
    timer:start(1, 1, function()
      local now = uv.hrtime()
      if now - last > longest then longest = now - last end
      last = now
    end)
    local start = gettime()
    client:calls(id, function(calls, err)
      if not calls then error(tostring(err)) end
      count, done = #calls, true
      seconds = gettime() - start
    end)
    while not done do uv.run("once") end
    -- The answer ends the last turn: the time since the last tick is held too.
    if uv.hrtime() - last > longest then longest = uv.hrtime() - last end
    timer:stop()
    timer:close()
    if not best or longest < best then best = longest end
  end
  client:close()
  uv.run("nowait")
  report { requests = count, seconds = seconds, blocked_ms = best / 1e6 }
end

-- Words quoted for a shell.
local function shell(words)
  local out = {}
  for i, w in ipairs(words) do out[i] = "'" .. tostring(w):gsub("'", "'\\''") .. "'" end
  return table.concat(out, " ")
end

-- The export users run, as a process: bin/gong-library with its defaults
-- (rate, concurrency, rate_scope "host"), credentials from the environment
-- and nothing of the user's: none of gong's variables, no credentials file,
-- and the shared window's directory a private one, removed afterwards.
-- Timed from just before the process starts until it has exited, so start-up
-- and writing the export count; its peak RSS is what /usr/bin/time saw.
-- FORMAT is the export's (ndjson unless given: its folders, and those it
-- could not get, are counted), OUT its file ("" for one in the private
-- directory, removed with it; a path given is kept, for --update), and the
-- WORDs are more of the export's flags, or NAME=VALUE for its environment.
-- Reports the calls the summary says were reused (GONG_PROGRESS=1 shows it),
-- 0 when it names none.
function modes.cli(base, format, out, ...)
  local credentials = require "gong.credentials"
  format = format or "ndjson"
  local p = assert(io.popen("mktemp -d \"${TMPDIR:-/tmp}/gong-bench-cli.XXXXXX\""))
  local dir = assert(p:read("l"), "mktemp failed")
  p:close()
  if out == nil or out == "" then out = dir .. "/library." .. format end
  local words = { "/usr/bin/time", "-f", "%M", "-o", dir .. "/rss", "env" }
  for _, name in pairs(credentials.ENV) do
    words[#words + 1] = "-u"
    words[#words + 1] = name
  end
  for _, w in ipairs { "-u", credentials.FILE_ENV, "GONG_PROGRESS=0", "XDG_RUNTIME_DIR=" .. dir,
                       "XDG_CONFIG_HOME=" .. dir, credentials.ENV.base_url .. "=" .. base,
                       credentials.ENV.access_key .. "=test-key",
                       credentials.ENV.access_key_secret .. "=test-secret" } do
    words[#words + 1] = w
  end
  local flags = { "lua5.4", "bin/gong-library", "export", "--format", format, "-o", out }
  for _, w in ipairs { ... } do
    local list = w:find("^[A-Z_]+=") and words or flags
    list[#list + 1] = w
  end
  for _, w in ipairs(flags) do words[#words + 1] = w end
  local command = shell(words) .. " >" .. shell { dir .. "/output" } .. " 2>&1"
  local start = gettime()
  local ok = os.execute(command)
  local seconds = gettime() - start
  local function slurp(name)
    local f = io.open(name)
    if not f then return "" end
    local text = f:read("a")
    f:close()
    return text
  end
  local output, rss = slurp(dir .. "/output"), tonumber(slurp(dir .. "/rss"):match("(%d+)%s*$"))
  local export = format == "ndjson" and slurp(out) or nil
  local f = io.open(out)
  local bytes = f and f:seek("end")
  if f then f:close() end
  os.execute("rm -rf " .. shell { dir })
  if not ok then error("gong-library export failed:\n" .. output) end
  local decode = require("cjson").decode
  local folders, errors = 0, 0
  for line in (export or ""):gmatch("[^\n]+") do
    local record = decode(line)
    if record.type == "folder" then
      if record.error then errors = errors + 1 else folders = folders + 1 end
    end
  end
  report { folders = export and folders, errors = export and errors, seconds = seconds, hwm_kb = rss,
           bytes = bytes, reused = tonumber(output:match("(%d+) calls? reused%)")) or 0 }
end

-- How other Gong integrations keep to the rate limit: one request at a time
-- and a fixed pause before each but the first. Like gong, it skips the
-- folders whose callCount is 0. gong's client with its rate limit off and
-- its retry policy as it is (a 429 is retried after its Retry-After).
function modes.paced(base, pause)
  pause = tonumber(pause)
  local client = gong.new { base_url = base, access_key = "test-key", access_key_secret = "test-secret",
                            rate = false }
  local start = gettime()
  local list = assert(client:folders())
  local errors = 0
  for _, folder in ipairs(list) do
    if folder.callCount ~= 0 then
      socket.sleep(pause)
      if not client:calls(folder.id) then errors = errors + 1 end
    end
  end
  report { folders = #list - errors, errors = errors, seconds = gettime() - start }
end

-- The other way integrations meet the rate limit: as many requests at once as
-- they like, and on a 429 wait what Retry-After says and try again (gong's
-- retry policy does that when the limiter is off), up to RETRIES times.
function modes.burst(base, concurrency, retries)
  export_library(base, concurrency, { rate = false, max_retries = tonumber(retries) })
end

local mode = arg[1]
if not modes[mode] then
  io.stderr:write("usage: client.lua gong|luasocket|curl|large|tree|copy|export|memory|loop|cli|paced|burst ARGS...\n")
  os.exit(2)
end
modes[mode](table.unpack(arg, 2))
