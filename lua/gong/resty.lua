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
--
-- Gong's rate limit is per tenant. With `lua_shared_dict gong 1m;` every
-- client of the nginx shares one window per tenant: each attempt waits for
-- its slot here, with ngx.sleep, before a thread runs it, and retries are
-- decided here too, each taking its slot the same way. Without the dict, each
-- worker (each thread VM, even) limits only its own requests.
-- See doc/openresty.md for the nginx directives.

local gong = require "gong"
local core = require "gong.core"
local methods = require "gong.client"
local tree = require "gong.tree"
local wire = require "gong.wire"

local error, ipairs, math_min, pairs, pcall, setmetatable, tostring, type =
      error, ipairs, math.min, pairs, pcall, setmetatable, tostring, type
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
  --- The `lua_shared_dict` that holds the shared rate windows when the options name none.
  DEFAULT_SHARED_DICT = "gong",
}

---@class gong.resty.Options: gong.Options
---@field thread_pool? string name of the nginx `thread_pool` to run on (default "gong")
---@field shared_dict? string|false the `lua_shared_dict` of the shared rate window (default "gong"); false: none

---@class gong.resty.Client
---@field private _pool string
---@field private _opts table
---@field private _key string
---@field private _desc string
---@field private _closed boolean
---@field private _shared? table the shared window: {dict, name, key, lock, rate, policy}
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
-- The closed client is kept: its retry policy (client:retry_in) decides the
-- retries of a shared window's attempts, and its tenant names the window.
local function validate(key, opts)
  local seen = validated[key]
  if seen then return seen end
  local ok, client = pcall(gong.new, opts)
  if not ok then error(client, 3) end
  seen = { desc = tostring(client), api = client.api, policy = client }
  client:close()
  if validated_count >= MAX_VALIDATED then validated, validated_count = {}, 0 end
  validated[key] = seen
  validated_count = validated_count + 1
  return seen
end

-- Whether this worker said yet that it has no shared dict for the window.
local warned_no_dict = false

-- The shared window of a client with options `copy` (validated as `seen`),
-- or nil: none when `name` is false, or when the default dict is missing
-- (said once per worker in the error log). A dict named but missing raises.
local function shared_window(name, explicit, copy, seen)
  if name == false or copy.rate == false then return nil end
  local dict = ngx.shared and ngx.shared[name]
  if not dict then
    if explicit then
      error(gong.error("config", ("option 'shared_dict': no lua_shared_dict %s in the nginx configuration")
        :format(name)), 3)
    end
    if not warned_no_dict then
      warned_no_dict = true
      ngx.log(ngx.WARN, "gong.resty: no lua_shared_dict ", name, ": each nginx worker limits only its own ",
              "requests to Gong; add `lua_shared_dict ", name, " 1m;` to the http block to share the limit")
    end
    return nil
  end
  local tenant = seen.policy.tenant
  return { dict = dict, name = name, key = "rate:" .. tenant, lock = "lock:" .. tenant,
           rate = copy.rate or core.options.rate.default, policy = seen.policy }
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
  local copy, pool, dict_name, dict_named = {}, _M.DEFAULT_THREAD_POOL, _M.DEFAULT_SHARED_DICT, false
  for k, v in pairs(opts or {}) do
    if k == "thread_pool" then
      if type(v) ~= "string" or v == "" then
        error(gong.error("config", "option 'thread_pool' must be a non-empty string (got " ..
          type(v) .. ")"), 2)
      end
      pool = v
    elseif k == "shared_dict" then
      if v ~= false and (type(v) ~= "string" or v == "") then
        error(gong.error("config", "option 'shared_dict' must be a non-empty string or false (got " ..
          type(v) .. ")"), 2)
      end
      dict_name, dict_named = v, v ~= false
    elseif k == "token" and type(v) ~= "string" and v ~= nil then
      -- A function cannot cross to the thread pool's Lua states; a gong.oauth
      -- source with a store can, as its options: each thread VM makes the
      -- same source, and the store's lock makes one refresh of them all.
      local spec = type(v) == "table" and type(v.spec) == "function" and v:spec()
      if not spec then
        error(gong.error("config", "option 'token' must be a string or a gong.oauth source with a store in "
          .. "gong.resty (got " .. type(v) .. "): a function cannot cross to nginx's thread pool",
          { option = "token" }), 2)
      end
      copy.oauth = spec
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
  local seen = validate(key, copy)
  local shared = shared_window(dict_name, dict_named, copy, seen)
  if shared then
    -- The thread makes one attempt; the window and the retries are this side's.
    local attempt = {}
    for k, v in pairs(copy) do attempt[k] = v end
    attempt.rate, attempt.max_retries = false, 0
    copy, key = attempt, concat(serialize(attempt, {}))
  end
  return setmetatable({ _pool = pool, _opts = copy, _key = key, _desc = seen.desc, _closed = false,
                        _shared = shared, api = seen.api }, client_mt)
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

-- Takes a start in the shared window, waiting here (ngx.sleep) until one is
-- free: true, or nil and a config error when the dict cannot hold the window.
-- The lock is an entry of its own, added atomically and expiring after 1 s,
-- so a worker that dies holding it cannot stop the others for longer.
local function take(shared)
  local dict = shared.dict
  while true do
    local locked, why = dict:add(shared.lock, true, 1)
    if locked then
      ngx.update_time()
      local delay, state = core.rate_window(dict:get(shared.key), ngx.now(), shared.rate)
      local stored, store_err = true, nil
      if delay == 0 then stored, store_err = dict:set(shared.key, state, 120) end
      dict:delete(shared.lock)
      if delay == nil then
        -- Not ours, or damaged: start the window afresh rather than stop every request.
        dict:delete(shared.key)
      elseif not stored then
        return nil, gong.error("config", ("lua_shared_dict %s cannot hold the rate window: %s")
          :format(shared.name, tostring(store_err)))
      elseif delay == 0 then
        return true
      else
        ngx.sleep(delay)
      end
    elseif why == "exists" then
      ngx.sleep(0.001)
    else
      return nil, gong.error("config", ("lua_shared_dict %s: %s"):format(shared.name, tostring(why)))
    end
  end
end

-- `method` of gong.resty_worker as one request: without a shared window, as
-- run does (the thread's client limits and retries); with one, each attempt
-- takes its slot here and the client's retry policy decides, here, whether
-- and when another follows.
local function request(self, method, ...)
  local shared = self._shared
  if not shared or self._closed then return run(self, method, ...) end
  local attempts = 0
  while true do
    local ok, err = take(shared)
    if not ok then return nil, err end
    attempts = attempts + 1
    local x, y = run(self, method, ...)
    if x ~= nil or not gong.is_error(y) then return x, y end
    local wait = y.kind ~= "closed" and y.kind ~= "config" and shared.policy:retry_in(y, attempts)
    if not wait then
      y.attempts = attempts
      return nil, y
    end
    ngx.sleep(wait)
  end
end

--- Lists the library folders: `folders, requestId` or `nil, err`, as `gong`'s
--- client:folders, without blocking nginx.
---@param params? { workspaceId?: string }
---@return gong.Folder[]|nil folders
---@return string|gong.Error|nil requestId_or_err
function Client:folders(params)
  return request(self, "folders", params)
end

--- Lists the calls in a folder: `calls, requestId` or `nil, err`.
---@param folderId string
---@return gong.Call[]|nil calls
---@return string|gong.Error|nil requestId_or_err
function Client:calls(folderId)
  return request(self, "calls", folderId)
end

-- Runs `one(i)` for i = 1..n on up to `concurrency` light threads of this
-- request (ngx.thread): each takes the next i until there is none or `stop()`
-- says so. An error raised by `one` is raised again once all have ended.
local function each_at_once(n, concurrency, one, stop)
  local next_i, failure = 1, nil
  local function worker()
    while next_i <= n and not failure and not stop() do
      local i = next_i
      next_i = next_i + 1
      local ok, err = pcall(one, i)
      if not ok then failure = failure or { err } end
    end
  end
  local threads = {}
  for k = 1, math_min(concurrency, n) do threads[k] = ngx.thread.spawn(worker) end
  for _, t in ipairs(threads) do ngx.thread.wait(t) end
  if failure then error(failure[1], 0) end
end

--- The calls of many folders, as `gong`'s client:calls_batch. With a shared
--- rate window, each folder is a request of its own (its attempts taking
--- their slots), `concurrency` at a time, and `on_result` runs as each
--- completes; returning false stops starting new ones. Without one the whole
--- batch runs on one worker thread, and `on_result`, which cannot cross to
--- the thread, runs here once it is back, in the order of `ids`.
---@param ids string[]
---@param opts? { concurrency?: integer, on_result?: fun(i: integer, calls: gong.Call[]?, rid_or_err: any): boolean? }
---@return (gong.Call[]|gong.Error)[]|nil results
---@return gong.Error|nil err
function Client:calls_batch(ids, opts)
  local on_result = opts and opts.on_result
  if not self._shared or self._closed then
    local results, request_ids = run(self, "calls_batch", ids, methods.without(opts, "on_result"))
    if results == nil or type(on_result) ~= "function" then return results, request_ids end
    for i = 1, #ids do
      local r = results[i]
      local go_on
      if gong.is_error(r) then go_on = on_result(i, nil, r) else go_on = on_result(i, r, request_ids[i]) end
      if go_on == false then break end
    end
    return results
  end
  return methods.calls_batch_of(function(method, id) return request(self, method, id) end, each_at_once, ids, opts)
end

--- Gong's workspaces: `workspaces, requestId` or `nil, err`.
---@return gong.Workspace[]|nil workspaces
---@return string|gong.Error|nil requestId_or_err
function Client:workspaces()
  return request(self, "workspaces")
end

-- A Calls API method. Without a shared window: one worker thread runs it
-- whole, `opts` without on_progress (a function cannot cross), which is told
-- once, when everything is back. With one: each batch of `batch_size` ids is
-- a request of its own (its attempts taking their slots), `concurrency` at a
-- time, on_progress told as each is back; a batch's further pages, which Gong
-- sends past 100 records only, take their slots once it is back.
local function calls_api(self, method, ids, opts)
  local on_progress = opts and opts.on_progress
  if not self._shared or self._closed then
    local found, ids_or_err = run(self, method, ids, methods.without(opts, "on_progress"))
    if found and type(on_progress) == "function" then
      -- As the core counts: the distinct ids asked for, all answered.
      local n = #methods.distinct(ids)
      on_progress(n, n)
    end
    return found, ids_or_err
  end
  return methods.calls_api_of(function(batch, one)
    local records, rids = request(self, method, batch, one)
    -- Pages after a batch's first ran on its thread: they count in the window now.
    for _ = 2, records and #rids or 0 do take(self._shared) end
    return records, rids
  end, each_at_once, method, ids, opts)
end

--- The details of calls (POST /calls/extensive), as `gong`'s client:call_details.
---@param ids string[]
---@param opts? gong.CallsApiOptions on_progress: as each batch is back (once, at the end, without a shared window)
---@return table<string,table>|nil details
---@return string[]|gong.Error request_ids_or_err
function Client:call_details(ids, opts)
  return calls_api(self, "call_details", ids, opts)
end

--- The transcripts of calls (POST /calls/transcript), as `gong`'s client:transcripts.
---@param ids string[]
---@param opts? gong.CallsApiOptions on_progress: as each batch is back (once, at the end, without a shared window)
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
