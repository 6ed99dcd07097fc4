--- gong.resty: the gong API for OpenResty / nginx-lua, without blocking nginx.
--
-- The C core waits for Gong with blocking libcurl calls, which would stall
-- every request of an nginx worker. Here each attempt of a request runs on a
-- thread of an nginx `thread_pool` through `ngx.run_worker_thread`, in one of
-- the Lua VMs nginx keeps for those threads (gong.resty_worker), while the
-- calling request merely yields.
--
--   local gong = require "gong.resty"
--   local client = gong.new { thread_pool = "gong" }   -- plus any gong.new option
--   local folders, requestId = client:folders()        -- or nil, err
--
-- Every method of gong's clients is here (gong.client's, as on every host),
-- with exactly the blocking API's results: lists as the core returns them,
-- and errors as gong error objects (rebuilt by gong.wire, since a metatable
-- cannot cross between VMs). The methods made of many requests (library,
-- calls_batch, the Calls API's) run their requests on light threads
-- (ngx.thread), their callbacks here as each request is back. Works wherever
-- `ngx.run_worker_thread` does: rewrite_by_lua*, access_by_lua*,
-- content_by_lua*, ngx.timer, and the yieldable ssl_* phases.
--
-- Gong's rate limit is per tenant. Each attempt takes its slot in the
-- tenant's rate window here, waiting with ngx.sleep, before a thread runs
-- it, and the client's retry policy decides here whether and when another
-- follows (gong.resty_window). With `lua_shared_dict gong 1m;` every worker
-- of the nginx shares one window per tenant; without it each worker keeps
-- its own. See doc/openresty.md for the nginx directives.

local core = require "gong.core"
local gong = require "gong"
local methods = require "gong.client"
local tree = require "gong.tree"
local window = require "gong.resty_window"
local wire = require "gong.wire"

local error, getmetatable, ipairs, math_min, pairs, pcall, setmetatable, tostring, type, xpcall =
      error, getmetatable, ipairs, math.min, pairs, pcall, setmetatable, tostring, type, xpcall
local format, getinfo = string.format, debug.getinfo

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
  DEFAULT_SHARED_DICT = window.DEFAULT_DICT,
}

---@class gong.resty.Options: gong.Options
---@field thread_pool? string name of the nginx `thread_pool` to run on (default "gong")
---@field shared_dict? string|false the `lua_shared_dict` of the shared rate window (default "gong"); false: none

---@class gong.resty.Client: gong.Client
---@field private _pool string
---@field private _opts table the options of a thread's client: one attempt, no rate limit of its own
---@field private _key string
---@field private _desc string
---@field private _closed boolean
---@field private _window? table the tenant's rate window (gong.resty_window), nil when the rate is off
---@field private _policy gong.Client a closed client of the options: its retry policy, tenant and API
---@field private _on_wait? function the option on_wait, called here
---@field private _deadline? number the option deadline, held here between attempts
---@field private _attempts integer attempts a request may make, for on_wait
local Client = {}
local client_mt = { __index = Client, __name = "gong.resty.Client" }

-- What gong.resty raises ------------------------------------------------------

-- nginx logs what ends a request only when it is a string: a table, even
-- with __tostring, is "runtime error: unknown reason". So an error object
-- goes to nginx as its text, tostring(err) ("gong: no credentials: ..."),
-- and stays the object for code that catches it.

-- Whether a pcall or xpcall on this thread's stack, above `level`, will
-- catch what is raised now: the caller's own, or gong's around a callback.
local function caught(level)
  while true do
    local info = getinfo(level, "f")
    if not info then return false end
    if info.func == pcall or info.func == xpcall then return true end
    level = level + 1
  end
end

-- Returns the results of a call that returned, or raises again what it
-- raised: a gong error as its text unless something will catch it.
local function pass(ok, ...)
  if ok then return ... end
  local err = ...
  if gong.is_error(err) and not caught(2) then err = tostring(err) end
  error(err, 0)
end

-- `fn`, raising into nginx as pass() says.
local function raising(fn)
  return function(...)
    return pass(pcall(fn, ...))
  end
end

-- Option sets already validated by a real gong.new, by key -> what it made:
-- its description, and the client, closed (its retry policy decides the
-- retries here; its tenant names the window). Bounded: cleared when it
-- grows past a size no sane configuration reaches, so per-user credentials
-- cannot grow it forever.
local validated, validated_count = {}, 0
local MAX_VALIDATED = 256

-- Validates `opts` exactly as gong.new does (same errors, raised at the
-- caller's caller), once per option set. Creating a core client does no I/O.
local function validate(key, opts)
  local seen = validated[key]
  if seen then return seen end
  local ok, client = pcall(gong.new, opts)
  if not ok then error(client, 3) end
  seen = { desc = tostring(client), policy = client }
  client:close()
  if validated_count >= MAX_VALIDATED then validated, validated_count = {}, 0 end
  validated[key] = seen
  validated_count = validated_count + 1
  return seen
end

-- The options of new() as plain data (a token source as its spec), and the
-- thread pool and the shared dict named apart; raises for bad ones of its own.
local function plain_options(opts)
  local copy, pool, dict, named, on_wait = {}, _M.DEFAULT_THREAD_POOL, _M.DEFAULT_SHARED_DICT, false, nil
  for k, v in pairs(opts or {}) do
    if k == "on_wait" and type(v) == "function" then
      -- Called here, between attempts; anything else is gong.new's to refuse.
      on_wait = v
    elseif k == "thread_pool" then
      if type(v) ~= "string" or v == "" then
        error(gong.error("config", "option 'thread_pool' must be a non-empty string (got " .. type(v) .. ")"), 3)
      end
      pool = v
    elseif k == "shared_dict" then
      if v ~= false and (type(v) ~= "string" or v == "") then
        error(gong.error("config", "option 'shared_dict' must be a non-empty string or false (got " ..
          type(v) .. ")"), 3)
      end
      dict, named = v, v ~= false
    elseif k == "token" and type(v) ~= "string" and v ~= nil then
      -- A function cannot cross to the thread pool's Lua states; a gong.oauth
      -- source with a store can, as its options: each thread VM makes the
      -- same source, and the store's lock makes one refresh of them all.
      local spec = type(v) == "table" and type(v.spec) == "function" and v:spec()
      if not spec then
        error(gong.error("config", "option 'token' must be a string or a gong.oauth source with a store in "
          .. "gong.resty (got " .. type(v) .. "): a function cannot cross to nginx's thread pool",
          { option = "token" }), 3)
      end
      copy.oauth = spec
    elseif type(v) == "table" then
      -- The one table option is `headers`: copied, so later changes by the
      -- caller cannot make the options differ from their key.
      local t = {}
      for hk, hv in pairs(v) do t[hk] = hv end
      copy[k] = t
    else
      copy[k] = v
    end
  end
  return copy, pool, dict, named, on_wait
end

-- The key of plain options; for what is not plain, the error gong.new raises about it.
local function key_of(copy)
  local key, why = wire.key(copy)
  if key then return key end
  validate(why, copy) -- raises what is wrong in gong.new's words
  error(gong.error("config", "gong.resty: " .. why .. ": options must be plain data"), 3)
end

-- Runs one attempt of a request of `kind` on the pool (gong.resty_worker)
-- and returns what the blocking request would: its results, or nil, err;
-- raises what it would raise.
local function attempt(self, kind, ...)
  -- ngx.run_worker_thread raises in phases that cannot yield; say so as a gong error.
  local ok, ran, status, results = pcall(run_worker_thread, self._pool, WORKER, "request", self._key, self._opts,
                                        kind, ...)
  if not ok then
    error(gong.error("config", kind .. ": gong.resty: " .. tostring(ran)), 0)
  end
  if not ran then
    -- nginx could not run the task: the pool or the worker module is
    -- missing, no thread VM is free, or an argument cannot cross to another VM.
    local message = kind .. ": ngx.run_worker_thread: " .. tostring(status)
    if tostring(status):find("in the argument", 1, true) then error(gong.error("argument", message), 0) end
    return nil, gong.error("config", message)
  end
  local returned, a, b, c = wire.unpack(status, results)
  if not returned then error(a, 0) end
  self._requests = self._requests + 1
  return a, b, c
end

-- What a method's body asks of this host (see gong.client) --------------------

-- The phases whose code may wait (ngx.sleep, ngx.run_worker_thread).
local YIELDING_PHASES = { rewrite = true, access = true, content = true, timer = true }

---@class gong.resty.Host
local Host = {}
Host.__index = Host

--- One request of `kind`: each attempt takes its slot in the rate window,
--- runs on a thread, and the client's retry policy decides here whether
--- and when another follows, within the request's deadline (the option
--- `deadline`: no wait is started that would end past it; an attempt on a
--- thread is bounded by it on its own). The option `on_wait` is told of each
--- wait first.
---@param kind string a kind of gong.core.KINDS; its arguments follow
---@return any ... what the blocking request returns
function Host:request(kind, ...)
  local client, tries = self.client, 0
  -- The window's waits (ngx.sleep) and the thread pool both need a phase that can yield.
  local phase = ngx.get_phase()
  if not YIELDING_PHASES[phase] then
    error(gong.error("config", ("%s: gong.resty: requests cannot run in %s_by_lua*, which cannot wait; "
      .. "make them in rewrite, access or content_by_lua*, or in a timer"):format(kind, phase)), 0)
  end
  local on_wait, limit = client._on_wait, client._deadline
  ngx.update_time()
  local deadline = limit and ngx.now() + limit
  local function rate_wait(seconds)
    on_wait({ reason = "rate", seconds = seconds, attempt = tries + 1, attempts = client._attempts, kind = kind })
  end
  while true do
    local slots = client._window
    if slots then
      local ok, err, held = slots:take(deadline, on_wait and rate_wait)
      if not ok and err then return nil, err end
      if not ok then
        return nil, gong.error("timeout", ("deadline passed on %s: the rate limit holds it back %g s, past the "
          .. "deadline of %g s"):format(kind, held, limit), { timeout = "deadline", attempts = tries })
      end
    end
    tries = tries + 1
    local started = ngx.now()
    local a, b, c = attempt(client, kind, ...)
    if a ~= nil or not gong.is_error(b) then return a, b, c end
    -- A 429 slows the window down for every request of the tenant, not only this one.
    if slots and b.status == 429 then slots:refused(started, b.retry_after) end
    ngx.update_time()
    local wait, info = client._policy:retry_in(b, tries, deadline and deadline - ngx.now(), kind)
    if not wait then
      b.attempts = tries
      return nil, b
    end
    if on_wait then
      info.elapsed = ngx.now() - started
      on_wait(info)
    end
    ngx.sleep(wait)
  end
end

--- Runs `one(i)` for i = 1..n on up to `concurrency` light threads of this
--- request (ngx.thread): each takes the next i until there is none or
--- `stop()` says so ("now" too: the ones under way finish, and the body
--- ignores them). An error raised by `one` is raised again once all ended.
---@param n integer
---@param concurrency integer
---@param one fun(i: integer)
---@param stop fun(): boolean|string|nil
function Host:each_at_once(n, concurrency, one, stop)
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
  local copy, pool, dict, named, on_wait = plain_options(opts)
  local key = key_of(copy)
  local seen = validate(key, copy)
  local policy = seen.policy
  local rate = copy.rate
  if rate == nil then rate = core.options.rate.default end
  -- The thread makes one attempt: the window and the retries are this side's.
  -- Its options are these ones but for that, so their key follows from theirs.
  local one = {}
  for k, v in pairs(copy) do one[k] = v end
  one.rate, one.max_retries = false, 0
  local self = setmetatable({ _pool = pool, _opts = one, _key = key .. "\none attempt", _desc = seen.desc,
                              _closed = false, _policy = policy, _requests = 0, api = policy.api,
                              tenant = policy.tenant, _on_wait = on_wait, _deadline = copy.deadline,
                              _attempts = (copy.max_retries or core.options.max_retries.default) + 1 }, client_mt)
  if rate then
    local w, err = window.open(dict, named, policy.tenant, rate)
    if not w then error(err, 2) end
    self._window = w
  end
  self._host = setmetatable({ client = self }, Host)
  return self
end
_M.new = raising(_M.new)

--- Calls the caller's callback `fn(...)` (on_result, on_progress, on_plan):
--- here, in the request's own light thread, where every ngx API may be used.
---@param fn function
---@return any ...
function Host:call(fn, ...)
  return fn(...)
end

--- Whether the run should stop: its client was closed (by a callback, say).
---@return boolean
function Host:closed()
  return self.client._closed
end

-- Every method of gong.client, its body run on this client's host.
methods.install(Client, function(method)
  local name, check, run = method.name, method.check, method.run
  return raising(function(self, ...)
    methods.check_self(getmetatable(self) == client_mt, name, self)
    check(...)
    if self._closed then return nil, core.closed_error(name) end
    return run(self._host, ...)
  end)
end)
methods.install_iterators(Client)
Client.each_folder, Client.each_call = raising(Client.each_folder), raising(Client.each_call)

--- The attempts the client's requests have made (every retry counted; a
--- thread's one re-send with a renewed token after a 401 counts with the
--- attempt it repeats).
---@return { requests: integer }
function Client:stats()
  return { requests = self._requests }
end

--- What the client's retry policy does after `err` ended attempt number `attempts`: see gong.Client.
---@param err gong.Error
---@param attempts integer
---@param left? number
---@param kind? string
---@return number|nil
---@return table|nil
function Client:retry_in(err, attempts, left, kind)
  return self._policy:retry_in(err, attempts, left, kind)
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

-- resty.folders(params) and resty.calls(folderId): the methods on a default
-- client configured from the environment, on the "gong" thread pool, created
-- on first use (per nginx worker).
methods.shortcuts(_M, _M.new)

return _M
