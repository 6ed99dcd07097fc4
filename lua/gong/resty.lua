--- gong.resty: the gong API for OpenResty / nginx-lua, without blocking nginx.
--
-- The C core waits for Gong with blocking libcurl calls, which would stall
-- every request of an nginx worker. Here each request runs on a thread of an
-- nginx `thread_pool` through `ngx.run_worker_thread`, in one of the Lua VMs
-- nginx keeps for those threads (gong.resty_worker), while the calling
-- request merely yields.
--
--   local gong = require "gong.resty"
--   local client = gong.new { thread_pool = "gong" }   -- plus any gong.new option
--   local folders, requestId = client:folders()        -- or nil, err
--
-- Results are exactly those of the blocking API: lists as the core returns
-- them, and errors as gong error objects (rebuilt here by gong.wire, since a
-- metatable cannot cross between VMs). Every method of gong's clients is
-- here (gong.client adds them to this class as to the core's), library()
-- and calls_batch() included. Works wherever
-- `ngx.run_worker_thread` does: rewrite_by_lua*, access_by_lua*,
-- content_by_lua*, ngx.timer, and the yieldable ssl_* phases.
-- See doc/openresty.md for the nginx directives.

local gong = require "gong"
local methods = require "gong.client"
local tree = require "gong.tree"
local wire = require "gong.wire"

local error, ipairs, pairs, pcall, setmetatable, tostring, type =
      error, ipairs, pairs, pcall, setmetatable, tostring, type
local format, concat, sort = string.format, table.concat, table.sort

-- luacheck: read globals ngx.run_worker_thread (newer than luacheck's ngx_lua std)
local ngx = ngx -- nil outside nginx: new() checks, so the module still loads anywhere
local run_worker_thread = ngx and ngx.run_worker_thread

-- The module the worker threads run (lua/gong/resty_worker.lua).
local WORKER = "gong.resty_worker"

local _M = {
  _VERSION = gong._VERSION,
  tree = tree,
  --- Makes an error object: `gong.error(kind, message [, fields])`, as in gong.
  error = gong.error,
  --- True when `v` is a gong error object.
  is_error = gong.is_error,
  --- The `thread_pool` used when the options name none.
  DEFAULT_THREAD_POOL = "gong",
}

---@class gong.resty.Options: gong.Options
---@field thread_pool? string name of the nginx `thread_pool` to run on (default "gong")

---@class gong.resty.Client
---@field private _pool string
---@field private _opts table
---@field private _key string
---@field private _desc string
---@field private _closed boolean
---@field api string the API the client speaks: "contract" or "public"
local Client = {}
local client_mt = {
  __index = Client,
  __name = "gong.resty.Client",
}

-- Appends a deterministic text form of `v` (sorted keys, typed values) to `out`.
local function serialize(v, out)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      return tostring(a) < tostring(b)
    end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      serialize(k, out)
      out[#out + 1] = "="
      serialize(v[k], out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = format("%q", v)
  elseif t == "number" then
    out[#out + 1] = format("%.17g", v)
  else
    out[#out + 1] = tostring(v)
  end
  return out
end

-- Option sets already validated by a real gong.new, by key -> tostring of
-- that client. Bounded: cleared when it grows past a size no sane
-- configuration reaches, so per-user credentials cannot grow it forever.
local validated, validated_count = {}, 0
local MAX_VALIDATED = 256

-- Validates `opts` exactly as gong.new does (same errors, raised at the
-- caller's caller), once per option set. Creating a core client does no I/O.
local function validate(key, opts)
  local seen = validated[key]
  if seen then return seen.desc, seen.api end
  local ok, client = pcall(gong.new, opts)
  if not ok then error(client, 3) end
  seen = { desc = tostring(client), api = client.api }
  client:close()
  if validated_count >= MAX_VALIDATED then validated, validated_count = {}, 0 end
  validated[key] = seen
  validated_count = validated_count + 1
  return seen.desc, seen.api
end

--- Creates a client whose requests run on the nginx thread pool
--- `opts.thread_pool` (default "gong"). Every other option is gong.new's, with
--- the same fallbacks to the environment (which nginx keeps only for variables
--- named by `env` directives) and the same errors: raises an error of kind
--- "config" for unknown or invalid options or missing credentials, or when
--- not running inside nginx with `ngx.run_worker_thread`.
---
--- Cheap after the first call with the same options: the connections live in
--- the worker threads' Lua VMs, cached by the options, so a client per request
--- still reuses them.
---@param opts? gong.resty.Options
---@return gong.resty.Client
function _M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(gong.error("argument", "new: options must be a table (got " .. type(opts) .. ")"), 2)
  end
  if not run_worker_thread then
    error(gong.error("config", "gong.resty needs nginx with lua-nginx-module >= 0.10.20 " ..
      "built with threads (ngx.run_worker_thread); use gong outside nginx"), 2)
  end
  local copy, pool = {}, _M.DEFAULT_THREAD_POOL
  for k, v in pairs(opts or {}) do
    if k == "thread_pool" then
      if type(v) ~= "string" or v == "" then
        error(gong.error("config", "option 'thread_pool' must be a non-empty string (got " ..
          type(v) .. ")"), 2)
      end
      pool = v
    elseif type(v) == "table" then
      -- The one table option is `headers`: copy it so later changes by the
      -- caller cannot make the options differ from their key.
      local t = {}
      for hk, hv in pairs(v) do t[hk] = hv end
      copy[k] = t
    else
      copy[k] = v
    end
  end
  local key = concat(serialize(copy, {}))
  local desc, api = validate(key, copy)
  return setmetatable({ _pool = pool, _opts = copy, _key = key, _desc = desc, _closed = false, api = api },
                      client_mt)
end

-- Runs `method` of gong.resty_worker on the pool and returns what the
-- blocking API would: `list, extra` or `nil, err`; raises what it would
-- raise (error objects are tables, so no position is added to them).
local function run(self, method, ...)
  if self._closed then
    return nil, gong.error("closed", method .. ": client is closed")
  end
  -- ngx.run_worker_thread raises in phases that cannot yield; say so as a gong error.
  local ok, ran, status, a, b, marks = pcall(run_worker_thread, self._pool, WORKER, method,
                                             self._key, self._opts, ...)
  if not ok then
    error(gong.error("config", method .. ": gong.resty: " .. tostring(ran)), 3)
  end
  if not ran then
    -- nginx could not run the task: the pool or the worker module is
    -- missing, no thread VM is free, or an argument cannot cross to another VM.
    local message = method .. ": ngx.run_worker_thread: " .. tostring(status)
    if tostring(status):find("in the argument", 1, true) then
      error(gong.error("argument", message), 3)
    end
    return nil, gong.error("config", message)
  end
  local returned, x, y = wire.unpack(status, a, b, marks)
  if not returned then error(x, 3) end
  return x, y
end

--- Lists the library folders: `folders, requestId` or `nil, err`, as `gong`'s
--- client:folders, without blocking nginx.
---@param params? { workspaceId?: string }
---@return gong.Folder[]|nil folders
---@return string|gong.Error|nil requestId_or_err
function Client:folders(params)
  return run(self, "folders", params)
end

--- Lists the calls in a folder: `calls, requestId` or `nil, err`.
---@param folderId string
---@return gong.Call[]|nil calls
---@return string|gong.Error|nil requestId_or_err
function Client:calls(folderId)
  return run(self, "calls", folderId)
end

-- `opts` as it can cross to a worker thread: without the callback `name`
-- when it is a function, which is called on this side instead. Everything
-- else crosses as given, so the core judges it as it would here.
local function crossing(opts, name)
  if type(opts) ~= "table" or type(opts[name]) ~= "function" then return opts end
  local sent = {}
  for k, v in pairs(opts) do sent[k] = v end
  sent[name] = nil
  return sent
end

--- The calls of many folders, as `gong`'s client:calls_batch, the whole batch
--- on one worker thread. `on_result` cannot cross to the thread, so it runs
--- here once the batch is back, in the order of `ids`; returning false stops
--- the calls to it, not the requests, which are all made by then.
---@param ids string[]
---@param opts? { concurrency?: integer, on_result?: fun(i: integer, calls: gong.Call[]?, rid_or_err: any): boolean? }
---@return (gong.Call[]|gong.Error)[]|nil results
---@return gong.Error|nil err
function Client:calls_batch(ids, opts)
  local on_result = opts and opts.on_result
  local results, request_ids = run(self, "calls_batch", ids, crossing(opts, "on_result"))
  if results == nil or type(on_result) ~= "function" then return results, request_ids end
  for i = 1, #ids do
    local r = results[i]
    local go_on
    if gong.is_error(r) then go_on = on_result(i, nil, r) else go_on = on_result(i, r, request_ids[i]) end
    if go_on == false then break end
  end
  return results
end

--- Gong's workspaces: `workspaces, requestId` or `nil, err`.
---@return gong.Workspace[]|nil workspaces
---@return string|gong.Error|nil requestId_or_err
function Client:workspaces()
  return run(self, "workspaces")
end

-- A Calls API request on a worker thread: `opts` without on_progress (a
-- function cannot cross), which is told once, when everything is back.
local function calls_api(self, method, ids, opts)
  local on_progress = opts and opts.on_progress
  local found, ids_or_err = run(self, method, ids, crossing(opts, "on_progress"))
  if found and type(on_progress) == "function" then
    -- As the core counts: the distinct ids asked for, all answered.
    local seen, n = {}, 0
    for _, id in ipairs(ids) do
      if not seen[id] then seen[id], n = true, n + 1 end
    end
    on_progress(n, n)
  end
  return found, ids_or_err
end

--- The details of calls (POST /calls/extensive), as `gong`'s client:call_details.
---@param ids string[]
---@param opts? gong.CallsApiOptions on_progress is told once, at the end
---@return table<string,table>|nil details
---@return string[]|gong.Error request_ids_or_err
function Client:call_details(ids, opts)
  return calls_api(self, "call_details", ids, opts)
end

--- The transcripts of calls (POST /calls/transcript), as `gong`'s client:transcripts.
---@param ids string[]
---@param opts? gong.CallsApiOptions on_progress is told once, at the end
---@return table<string,table[]>|nil transcripts
---@return string[]|gong.Error request_ids_or_err
function Client:transcripts(ids, opts)
  return calls_api(self, "transcripts", ids, opts)
end

--- Closes the client: later requests return an error of kind "closed".
--- Idempotent. The connections stay cached in the worker threads' VMs for
--- other clients with the same options.
function Client:close()
  self._closed = true
end

client_mt.__close = Client.close

function client_mt.__tostring(self)
  local desc = self._desc
  if self._closed then desc = desc:gsub("%)$", ", closed)") end
  return format("gong.resty(%s, thread_pool=%s)", desc, self._pool)
end

methods.install(Client)

-- resty.folders(params) and resty.calls(folderId): the methods on a default
-- client configured from the environment, on the "gong" thread pool, created
-- on first use (per nginx worker).
methods.shortcuts(_M, _M.new)

return _M
