-- Starts and drives the fake Gong server (fake/server.lua) from busted specs.
-- Runs under Lua 5.1-5.4 and LuaJIT; the server itself always runs under
-- lua5.4 (or $GONG_FAKE_LUA).
--
--   local fake = require "spec.support.fake"
--   local srv = fake.start { folders = 300, seed = 1 }
--   -- srv.url (the contract), srv.tenant_url (a real tenant), srv.host, srv.port, srv.pid
--   srv:faults { { status = 503, times = 2 } }
--   srv:settings { page_size = 2, error_objects = true, token_ttl = 0.5, rate_limit = 3 }
--   local code = srv:oauth_code("http://localhost/cb") ... srv:oauth_log()
--   local ids = srv:add_calls(folder_id, 3) ... srv:transcribe(ids)
--   ... srv:requests() ... srv:reset() ... srv:stop()

local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local cjson = require("cjson").new()

local _M = {}

--- The credentials the server accepts unless told otherwise.
_M.credentials = { key = "test-key", secret = "test-secret", token = "test-token",
                   client_id = "test-client-id", client_secret = "test-client-secret" }

--- The Authorization header of those credentials' access key, for raw requests.
_M.BASIC = "Basic " .. require("mime").b64(_M.credentials.key .. ":" .. _M.credentials.secret)

-- The repository root, from where this file lives (spec/support/fake.lua).
local function repo_root()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  -- Loaded as "spec/support/fake.lua" (relative to the cwd) there is no
  -- prefix, and the cwd is the root.
  return source:match("^(.*)/spec/support/[^/]+$") or "."
end

_M.root = repo_root()

local process = require "spec.support.process"
local shell_quote, exited = process.quote, process.exited

local function require_library()
  local ok, lib = pcall(require, "fake.library")
  if ok then return lib end
  package.path = _M.root .. "/?.lua;" .. package.path
  return require "fake.library"
end

local libraries = {} -- by seed and folder count

--- The library the server serves for `opts` ({seed, folders}), computed
--- locally with the same defaults.
---@param opts table|nil
---@return table library as fake.library.generate returns it
function _M.library(opts)
  opts = opts or {}
  local key = tostring(opts.seed) .. "/" .. tostring(opts.folders)
  -- Generating takes a good part of a second (details, transcripts); specs
  -- only read the data, so each library is made once per process.
  local lib = libraries[key]
  if not lib then
    lib = require_library().generate { seed = opts.seed, folders = opts.folders }
    libraries[key] = lib
  end
  return lib
end

-- A copy of `records` without the fields `drop` names.
local function without(records, drop)
  local out = {}
  for i, r in ipairs(records) do
    local copy = {}
    for k, v in pairs(r) do copy[k] = v end
    for _, name in ipairs(drop) do copy[name] = nil end
    out[i] = copy
  end
  return out
end

local contract_libraries = {}

--- The library as a client speaking the contract sees it: _M.library(opts)
--- whose folders and calls lack what only the public API sends
--- (gong.core's PUBLIC_FOLDER_FIELDS, PUBLIC_CALL_FIELDS). Made once per process.
---@param opts? table as for _M.library
---@return table
function _M.contract_library(opts)
  local lib = _M.library(opts)
  local seen = contract_libraries[lib]
  if seen then return seen end
  local core = require "gong.core"
  local view = setmetatable({ folders = without(lib.folders, core.PUBLIC_FOLDER_FIELDS), calls = {} },
                            { __index = lib })
  for id, calls in pairs(lib.calls) do view.calls[id] = without(calls, core.PUBLIC_CALL_FIELDS) end
  contract_libraries[lib] = view
  return view
end

-- cjson.null -> nil, recursively, so records read like plain Lua data
-- (any cjson instance's null: they are all the same light userdata).
local function strip_null(v)
  if v == cjson.null then return nil end
  if type(v) == "table" then
    for k, item in pairs(v) do v[k] = strip_null(item) end
  end
  return v
end
_M.strip_null = strip_null

local Server = {}
Server.__index = Server

-- One control call; returns the status and the body, raises on failure.
local function control(self, method, path, body)
  local chunks = {}
  local ok, status = http.request {
    url = self.url .. path,
    method = method,
    headers = body and { ["content-type"] = "application/json", ["content-length"] = #body } or nil,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then error("fake server " .. method .. " " .. path .. ": " .. tostring(status), 3) end
  local text = table.concat(chunks)
  if status ~= 200 then
    error("fake server " .. method .. " " .. path .. ": HTTP " .. tostring(status) .. " " .. text, 3)
  end
  return text
end

--- The requests the server saw (except control ones), oldest first: arrays
--- of {method, target, path, query, headers, body, time, fault, connection,
--- status} (status nil while the answer is pending or when none was sent).
---@return table
function Server:requests()
  return strip_null(cjson.decode(control(self, "GET", "/__fake/requests")))
end

--- The most requests that arrived within any `window` seconds (1 by
--- default), as the server saw them: what Gong's rate limit counts.
---@param window? number
---@return integer most, integer total
function Server:most_in_window(window)
  window = window or 1
  local times = {}
  for i, req in ipairs(self:requests()) do times[i] = req.time end
  table.sort(times)
  local most, first = 0, 1
  for last = 1, #times do
    while times[last] - times[first] >= window do first = first + 1 end
    if last - first + 1 > most then most = last - first + 1 end
  end
  return most, #times
end

--- The environment gong-library runs in against this server: its access
--- key, none of the user's settings (no credentials file, progress as the
--- terminal decides) and a rate window of its own; `extra` over it.
---@param extra? table<string, string>
---@return table<string, string>
function Server:cli_env(extra)
  local env = { GONG_BASE_URL = self.url, GONG_ACCESS_KEY = _M.credentials.key,
                GONG_ACCESS_KEY_SECRET = _M.credentials.secret, GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "",
                GONG_RATE_SCOPE = "client" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

--- Forgets the recorded requests, any queued faults and the OAuth state
--- (codes, tokens, the refresh log), and restores the default settings.
function Server:reset()
  control(self, "POST", "/__fake/reset")
end

--- Queues faults (an array of fault tables, or one fault table).
---@param list table
function Server:faults(list)
  local body
  if next(list) == nil then
    body = "[]"
  else
    body = cjson.encode(list)
  end
  control(self, "POST", "/__fake/faults", body)
end

--- Changes scenario settings ({page_size = 1..100, error_objects = boolean,
--- token_ttl = seconds > 0, rate_limit = accepted API requests per sliding
--- second, 0 for none, transcript_scale = 1..1000 sentences served for each
--- of a transcript's}; those not given keep their value) and returns all
--- of them; without `t` only returns them. Raises when the server rejects a
--- setting.
---@param t table|nil
---@return table settings {page_size, error_objects, token_ttl, rate_limit, transcript_scale}
function Server:settings(t)
  if t == nil then return cjson.decode(control(self, "GET", "/__fake/settings")) end
  local body = next(t) == nil and "{}" or cjson.encode(t)
  return cjson.decode(control(self, "POST", "/__fake/settings", body))
end

--- Files `count` new calls at the end of folder `folder_id` (POST
--- /__fake/calls: each with details, and a transcript unless
--- `opts.transcribed` is false; `opts.addedToLibraryAt` their date) and
--- returns their ids. Undone by reset().
---@param folder_id string
---@param count integer
---@param opts? {transcribed?: boolean, addedToLibraryAt?: string}
---@return string[] ids
function Server:add_calls(folder_id, count, opts)
  local t = { folderId = folder_id, count = count }
  for k, v in pairs(opts or {}) do t[k] = v end
  return cjson.decode(control(self, "POST", "/__fake/calls", cjson.encode(t))).callIds
end

--- Gives the calls `ids` that have no transcript one (POST
--- /__fake/transcripts), as Gong transcribes a call after it was filed;
--- returns the ids that got one. Undone by reset().
---@param ids string[]
---@return string[]
function Server:transcribe(ids)
  local body = #ids == 0 and '{"callIds":[]}' or cjson.encode { callIds = ids }
  return cjson.decode(control(self, "POST", "/__fake/transcripts", body)).callIds
end

--- A fresh single-use authorization code for the token endpoint, valid with
--- `redirect_uri` (and the client id the server was started with).
---@param redirect_uri string
---@return string code
function Server:oauth_code(redirect_uri)
  local body = cjson.encode { redirect_uri = redirect_uri }
  return cjson.decode(control(self, "POST", "/__fake/oauth/code", body)).code
end

--- The token endpoint's log: {refreshes = {{time, refresh_token, outcome}...},
--- exchanges}: every refresh_token grant in order (`outcome` "ok" or
--- "invalid_grant") and how many codes were exchanged.
---@return table
function Server:oauth_log()
  return strip_null(cjson.decode(control(self, "GET", "/__fake/oauth")))
end

local function wait_exit(pid, seconds)
  local deadline = socket.gettime() + seconds
  while socket.gettime() < deadline do
    if exited(pid) then return true end
    socket.sleep(0.02)
  end
  return exited(pid)
end

--- Shuts the server down (politely, then by signal) and reaps it. Safe to
--- call more than once and after the server exited on its own.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if not exited(self.pid) then
    pcall(control, self, "POST", "/__fake/shutdown")
    if not wait_exit(self.pid, 3) then
      os.execute("kill " .. self.pid .. " 2>/dev/null")
      if not wait_exit(self.pid, 2) then os.execute("kill -9 " .. self.pid .. " 2>/dev/null") end
    end
  end
  self.pipe:close()
end

--- Starts a server and waits until it listens. Options (all optional):
--- host, port, seed, folders, key, secret, token, client_id, client_secret,
--- idle_exit, max_records, log.
---@param opts table|nil
---@return table server {url, tenant_url, host, port, pid, requests, reset, faults, settings,
---  oauth_code, oauth_log, stop}
function _M.start(opts)
  opts = opts or {}
  local lua = os.getenv("GONG_FAKE_LUA") or "lua5.4"
  -- The server runs on its own interpreter: the spec's module paths (another
  -- Lua version's, under luarocks or make test) and sanitizer preloads are
  -- not for it.
  local args = { "exec", "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", "-u", "LUA_INIT",
                 "-u", "LD_PRELOAD", lua, shell_quote(_M.root .. "/fake/server.lua") }
  local function add(flag, value)
    if value ~= nil then
      args[#args + 1] = flag
      args[#args + 1] = shell_quote(value)
    end
  end
  add("--host", opts.host)
  add("--port", opts.port or 0)
  add("--seed", opts.seed)
  add("--folders", opts.folders)
  add("--key", opts.key)
  add("--secret", opts.secret)
  add("--token", opts.token)
  add("--client-id", opts.client_id)
  add("--client-secret", opts.client_secret)
  add("--idle-exit", opts.idle_exit)
  add("--max-records", opts.max_records)
  add("--log", opts.log)
  local pipe = assert(io.popen(table.concat(args, " ") .. " </dev/null", "r"))
  local line = pipe:read("*l")
  local url, pid = (line or ""):match("^listening (http://%S+) pid=(%d+)$")
  if not url then
    pipe:close()
    error("fake server did not start (got " .. tostring(line) .. ")", 2)
  end
  local host, port = url:match("^http://%[?([^%]]+)%]?:(%d+)$")
  return setmetatable({
    url = url, tenant_url = url .. "/tenant", host = host, port = tonumber(port), pid = tonumber(pid),
    pipe = pipe, stopped = false,
  }, Server)
end

return _M
