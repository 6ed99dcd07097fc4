-- Fake Gong Library API server for tests, the demo and benchmarks.
--
--   lua5.4 fake/server.lua [--host H] [--port N] [--key K --secret S]
--     [--token T] [--client-id ID --client-secret S] [--idle-exit SECONDS]
--     [--seed N] [--folders N] [--max-records N] [--log FILE]
--
-- Prints exactly one line to stdout once it accepts connections,
-- "listening http://HOST:PORT pid=PID", and never writes there again, so a
-- parent can read that line from a pipe and leave the pipe alone.

-- Find the sibling modules wherever we are started from.
local script_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/../?.lua;" .. package.path

local socket = require "socket"
local loop_mod = require "fake.loop"
local http = require "fake.http"
local library = require "fake.library"
local api_mod = require "fake.api"
local faults = require "fake.faults"
local control = require "fake.control"
local rate_limit = require "fake.rate_limit"

local gettime = socket.gettime
local format = string.format

-- select() cannot watch descriptors past FD_SETSIZE (1024); refuse
-- connections well before that rather than crash.
local MAX_CONNECTIONS = 1000
-- Seconds an idle keep-alive connection is kept open.
local KEEPALIVE_TIMEOUT = 75

local USAGE = [[
usage: lua5.4 fake/server.lua [options]
  --host H            address to listen on (default 127.0.0.1; ::1 works)
  --port N            port (default 0 = any free port)
  --key K             Basic auth access key (default test-key)
  --secret S          Basic auth secret (default test-secret)
  --token T           Bearer token (default test-token)
  --client-id ID      OAuth client id of the token endpoint (default test-client-id)
  --client-secret S   OAuth client secret (default test-client-secret)
  --idle-exit SECONDS exit after this long without a request (default 600;
                      0 = never)
  --seed N            library generator seed (default 1)
  --folders N         number of folders in the library (default 300)
  --max-records N     request records kept for /__fake/requests (default 100000)
  --log FILE          append a line per request (and errors) to FILE
]]

local OPTIONS = {
  ["--host"] = { "host", "string" },
  ["--port"] = { "port", "number" },
  ["--key"] = { "key", "string" },
  ["--secret"] = { "secret", "string" },
  ["--token"] = { "token", "string" },
  ["--client-id"] = { "client_id", "string" },
  ["--client-secret"] = { "client_secret", "string" },
  ["--idle-exit"] = { "idle_exit", "number" },
  ["--seed"] = { "seed", "number" },
  ["--folders"] = { "folders", "number" },
  ["--max-records"] = { "max_records", "number" },
  ["--log"] = { "log", "string" },
}

local function fail(message)
  io.stderr:write("fake server: ", message, "\n", USAGE)
  os.exit(2)
end

local function parse_args(argv)
  local opts = {
    host = "127.0.0.1", port = 0, key = "test-key", secret = "test-secret",
    token = "test-token", client_id = "test-client-id", client_secret = "test-client-secret",
    idle_exit = 600, seed = library.defaults.seed,
    folders = library.defaults.folders, max_records = 100000,
  }
  local i = 1
  while i <= #argv do
    local name, value = argv[i]:match("^(%-%-[%w-]+)=(.*)$")
    name = name or argv[i]
    if name == "--help" or name == "-h" then
      io.stderr:write(USAGE)
      os.exit(0)
    end
    local option = OPTIONS[name]
    if not option then fail("unknown option " .. argv[i]) end
    if not value then
      i = i + 1
      value = argv[i]
      if value == nil then fail(name .. " needs a value") end
    end
    if option[2] == "number" then
      value = tonumber(value)
      if not value or value < 0 then fail(name .. " needs a number >= 0") end
    end
    opts[option[1]] = value
    i = i + 1
  end
  return opts
end

local function own_pid()
  local f = io.open("/proc/self/stat")
  if not f then return "?" end
  local stat = f:read("*l")
  f:close()
  return stat:match("^(%d+)")
end

-- Returns the request logger and the error logger: without a log file,
-- requests go nowhere and errors to stderr.
local function make_logger(path)
  if not path then
    return function() end, function(line) io.stderr:write(line, "\n") end
  end
  local file, err = io.open(path, "a")
  if not file then fail("cannot open log: " .. err) end
  file:setvbuf("line")
  local function write(line)
    file:write(format("%.3f ", gettime()), line, "\n")
  end
  return write, write
end

-- Whether the rate_limit setting refuses `req`, which counts it when it
-- does not. Only API requests with valid credentials count: Gong's limit is
-- a tenant's, and only the credentials name the tenant.
local function limited(app, req)
  local api = app.api
  if not api_mod.is_api(req.path) or not api:authorized(req.headers.authorization, req.time) then
    return false
  end
  return not app.rate_window:admit(req.time, api.settings.rate_limit)
end

-- Serves requests on one connection until it should close.
local function serve(app, conn)
  while true do
    local req, err = conn:read_request(KEEPALIVE_TIMEOUT)
    if not req then
      if err == "bad request" then
        conn:respond(nil, app.api:error(400, "Bad request"))
      end
      return
    end
    req.time = gettime()
    app.last_request = req.time
    conn.status = nil
    local keep
    if req.path:sub(1, 8) == "/__fake/" then
      keep = control.handle(app, conn, req)
    else
      local fault = app.faults:take(api_mod.unescape(req.path) or req.path)
      local refused = limited(app, req)
      local record = control.record(req, fault, conn.serial)
      app.records:push(record)
      local ctx = { conn = conn, req = req, loop = app.loop, api = app.api }
      if refused then
        -- The fault's delay is the latency every answer has; the rest of
        -- it was for a request the API would have served.
        if fault and fault.delay then app.loop:sleep(fault.delay) end
        local res = rate_limit.refusal(app.api)
        ctx.status = res.status
        keep = conn:respond(req, res)
      elseif fault then
        keep = faults.deliver(fault, ctx)
      else
        local res = app.api:handle(req)
        ctx.status = res.status
        keep = conn:respond(req, res)
      end
      if ctx.status then record.status = ctx.status end
    end
    app.log_request(format("%s %s %s", req.method, req.target, tostring(conn.status)))
    if not keep or conn.closed then return end
  end
end

local function accept_loop(app, listener)
  local loop = app.loop
  while true do
    loop:wait_read(listener)
    while true do
      local client = listener:accept()
      if not client then break end
      if app.connections >= MAX_CONNECTIONS then
        client:close()
      else
        app.connections = app.connections + 1
        app.accepted = (app.accepted or 0) + 1
        local conn = http.connection(client, loop)
        conn.serial = app.accepted
        loop:spawn(function()
          local ok, err = xpcall(serve, debug.traceback, app, conn)
          if not ok then app.log_error("connection failed: " .. tostring(err)) end
          if ok then conn:close() else conn:abort() end
          app.connections = app.connections - 1
        end)
      end
    end
  end
end

-- Stops the loop once no request has arrived for `idle` seconds.
local function idle_watchdog(app, idle)
  while true do
    local left = app.last_request + idle - gettime()
    if left <= 0 then
      app.loop:stop()
      return
    end
    app.loop:sleep(left)
  end
end

local function main()
  local opts = parse_args(arg)
  local log_request, log_error = make_logger(opts.log)
  local app = {
    api = api_mod.new(library.generate { seed = opts.seed, folders = opts.folders },
                      { key = opts.key, secret = opts.secret, token = opts.token,
                        client_id = opts.client_id, client_secret = opts.client_secret },
                      function() return library.generate { seed = opts.seed, folders = opts.folders } end),
    faults = faults.queue(),
    rate_window = rate_limit.window(),
    records = control.records(opts.max_records),
    loop = loop_mod.new(function(message) log_error(message) end),
    connections = 0,
    last_request = gettime(),
    log_request = log_request,
    log_error = log_error,
  }

  -- The first collection of the heap the library was built in stalls the
  -- loop for 60-90 ms (300 folders); done while requests wait, it would
  -- shift their arrival times by as much, and a client that keeps to a rate
  -- would look as if it had not. Later cycles come only after that heap's
  -- size in garbage again (thousands of requests).
  collectgarbage()
  local listener, err = socket.bind(opts.host, opts.port, 128)
  if not listener then fail(format("cannot listen on %s port %d: %s", opts.host, opts.port, err)) end
  listener:settimeout(0)
  local address, port = listener:getsockname()
  if address:find(":", 1, true) then address = "[" .. address .. "]" end
  -- The token endpoint's api_base_url_for_customer when a request has no Host.
  app.api.origin = format("%s:%d", address, port)

  io.stdout:write(format("listening http://%s:%d pid=%s\n", address, port, own_pid()))
  io.stdout:flush()

  app.loop:spawn(accept_loop, app, listener)
  if opts.idle_exit > 0 then app.loop:spawn(idle_watchdog, app, opts.idle_exit) end
  app.loop:run()
  listener:close()
  os.exit(0)
end

main()
