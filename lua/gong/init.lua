--- gong: a client for the Gong Library API (library folders and the calls in them).
--
-- The C core `gong.core` does one HTTP exchange right (libcurl, auth, limits,
-- retries, decoding); this module adds what is policy or convenience: options
-- from the environment, iterators, the folder tree, module-level shortcuts.
--
-- Failures are returned as `nil, err` (network, HTTP, decoding); programmer
-- mistakes (bad arguments, bad options) raise. Both are the same error object:
-- see `gong.is_error` and the README's "Errors" section.

local core = require "gong.core"
local tree = require "gong.tree"

local error, getenv, ipairs, pairs, pcall, setmetatable, tostring, type =
      error, os.getenv, ipairs, pairs, pcall, setmetatable, tostring, type

---@class gong.Error
---@field kind string one of argument, config, closed, http, network, timeout, decode, too_large, rate_limited
---@field message string one line for humans
---@field status? integer HTTP status, when there was a response
---@field request_id? string Gong's requestId, when the server sent one
---@field errors? string[] Gong's error messages, when the server sent them
---@field url? string the request URL (never with credentials)
---@field attempts? integer how many tries were made
---@field retry_after? integer seconds the server asked us to wait (429/503)
---@field location? string where a redirect pointed (redirects are not followed)

---@class gong.Folder
---@field id string
---@field name? string
---@field description? string
---@field parentFolderId? string absent for a top-level folder
---@field callCount? integer
---@field createdBy? string
---@field created? string ISO 8601 date-time

---@class gong.Call
---@field callId string
---@field title? string
---@field url? string
---@field started? string
---@field duration? number seconds
---@field primaryUserId? string
---@field addedToLibraryAt? string
---@field addedBy? string

---@class gong.Options
---@field base_url? string default $GONG_BASE_URL or https://api.gong.io/v2
---@field access_key? string default $GONG_ACCESS_KEY (HTTP Basic, with access_key_secret)
---@field access_key_secret? string default $GONG_ACCESS_KEY_SECRET
---@field token? string default $GONG_TOKEN (Bearer)
---@field timeout? number total seconds per attempt (60)
---@field connect_timeout? number seconds (10)
---@field stall_timeout? number abort when no byte arrives for this long (30)
---@field user_agent? string
---@field headers? table<string,string> extra request headers
---@field max_retries? integer retries of transient failures (4)
---@field max_retry_wait? number longest Retry-After slept through (60)
---@field backoff_base? number first backoff ceiling in seconds (0.5)
---@field backoff_max? number cap of one backoff wait (30)
---@field rate? number|false requests per second (3), false for no limit
---@field max_response_bytes? integer (64 MiB)
---@field allow_http? boolean allow http:// to non-loopback hosts
---@field ca_file? string CA bundle for TLS verification
---@field insecure? boolean turn TLS verification off (never in production)
---@field api? '"contract"'|'"public"' which API paths to use

local _M = {
  _VERSION = core._VERSION,
  tree = tree,
  --- Makes an error object of the same shape as the core's: `gong.error(kind, message [, fields])`.
  error = core.error,
  --- True when `v` is a gong error object.
  is_error = core.is_error,
}

---@class gong.Client
local Client = {}
local client_mt = {
  __index = Client,
  __name = "gong.Client",
}

-- Options of client:library(); anything else is a typo.
local LIBRARY_OPTIONS = { workspaceId = true, concurrency = true, strict = true, on_progress = true }

-- Environment variables holding credentials, by the option they fill.
local ENV = {
  base_url = "GONG_BASE_URL",
  access_key = "GONG_ACCESS_KEY",
  access_key_secret = "GONG_ACCESS_KEY_SECRET",
  token = "GONG_TOKEN",
}

-- An unset or empty variable reads as nil: `GONG_TOKEN= cmd` must not mean an empty token.
local function env(name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

local function config_error(message)
  error(core.error("config", message), 3)
end

-- Copies `opts` and fills base_url and credentials from the environment when
-- the caller gave none. Explicit options always win over the environment.
local function with_env(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.base_url == nil then o.base_url = env(ENV.base_url) end
  if o.access_key ~= nil or o.access_key_secret ~= nil or o.token ~= nil then
    return o
  end
  local key, secret, token = env(ENV.access_key), env(ENV.access_key_secret), env(ENV.token)
  if (key == nil) ~= (secret == nil) then
    config_error(("%s and %s must be set together"):format(ENV.access_key, ENV.access_key_secret))
  elseif key and token then
    config_error(("both %s and %s are set; set one kind of credentials"):format(ENV.access_key, ENV.token))
  elseif key then
    o.access_key, o.access_key_secret = key, secret
  elseif token then
    o.token = token
  else
    config_error(("no credentials: pass access_key and access_key_secret, or token, " ..
      "or set %s and %s, or %s"):format(ENV.access_key, ENV.access_key_secret, ENV.token))
  end
  return o
end

--- Creates a client. Every option falls back to the environment
--- (`GONG_BASE_URL`, `GONG_ACCESS_KEY` + `GONG_ACCESS_KEY_SECRET`, `GONG_TOKEN`).
--- Raises an error of kind "config" for unknown or invalid options, or when no
--- credentials are found at all.
---@param opts? gong.Options
---@return gong.Client
function _M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "new: options must be a table (got " .. type(opts) .. ")"), 2)
  end
  local c = core.new(with_env(opts or {}))
  return setmetatable({ _core = c }, client_mt)
end

--- Lists the library folders: `folders, requestId` or `nil, err`.
---@param params? { workspaceId?: string }
---@return gong.Folder[]|nil folders
---@return string|gong.Error|nil requestId_or_err
function Client:folders(params)
  return self._core:folders(params)
end

--- Lists the calls in a folder: `calls, requestId` or `nil, err`.
---@param folderId string
---@return gong.Call[]|nil calls
---@return string|gong.Error|nil requestId_or_err
function Client:calls(folderId)
  return self._core:calls(folderId)
end

-- An iterator over a list fetched up front. A generic `for` has no way to
-- return an error, so a failed fetch raises the error object instead.
local function each(list, err)
  if list == nil then error(err, 3) end
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

--- Iterates over the folders: `for folder in client:each_folder() do ... end`.
--- Raises the error object when the request fails (a `for` cannot return it).
---@param params? { workspaceId?: string }
---@return fun(): gong.Folder?
function Client:each_folder(params)
  return each(self._core:folders(params))
end

--- Iterates over the calls of a folder: `for call in client:each_call(id) do ... end`.
--- Raises the error object when the request fails.
---@param folderId string
---@return fun(): gong.Call?
function Client:each_call(folderId)
  return each(self._core:calls(folderId))
end

--- Fetches the folders and builds their tree (see `gong.tree.build`): `tree` or `nil, err`.
---@param params? { workspaceId?: string }
---@return gong.Tree|nil tree
---@return gong.Error|nil err
function Client:tree(params)
  local folders, err = self._core:folders(params)
  if folders == nil then return nil, err end
  return tree.build(folders)
end

--- Fetches the calls of many folders concurrently, under the client's rate limit and
--- retry policy: `results[i]` is the calls list of `ids[i]`, or an error object for it.
--- Options: `concurrency` (default 3, at most 64) and `on_result(i, calls, requestId)` /
--- `on_result(i, nil, err)`, called as each folder completes (an error it raises stops the
--- batch and propagates). Returns `nil, err` only when the client is closed.
---@param ids string[]
---@param opts? { concurrency?: integer, on_result?: fun(i: integer, calls: gong.Call[]?, rid_or_err: any) }
---@return (gong.Call[]|gong.Error)[]|nil results
---@return gong.Error|nil err
function Client:calls_batch(ids, opts)
  return self._core:calls_batch(ids, opts)
end

---@class gong.LibraryOptions
---@field workspaceId? string only this workspace's folders
---@field concurrency? integer transfers at once (3); every one still under the client's rate limit
---@field strict? boolean any failed folder makes the whole call return nil, err
---@field on_progress? fun(done: integer, total: integer, node: gong.TreeNode, err: gong.Error?)
--- called as each folder completes

--- Fetches the whole library: the folder tree with every node's `calls` filled,
--- folders' calls fetched concurrently under the client's rate limit and retry policy.
--- Returns `tree, errors`: `errors` lists the per-folder failures (error objects with
--- `folder_id`), whose nodes carry `error` instead of `calls`; one failing folder does
--- not throw away the rest. With `strict = true`, the first failure stops everything
--- and is returned as `nil, err`. Failing to list the folders is always `nil, err`.
---@param opts? gong.LibraryOptions
---@return gong.Tree|nil tree
---@return gong.Error[]|gong.Error errors_or_err
function Client:library(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "library: options must be a table (got " .. type(opts) .. ")"), 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not LIBRARY_OPTIONS[k] then
      error(core.error("argument", ("library: unknown option '%s'"):format(tostring(k))), 2)
    end
  end
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error(core.error("argument", "library: on_progress must be a function"), 2)
  end
  local folders, err = self._core:folders({ workspaceId = opts.workspaceId })
  if folders == nil then return nil, err end
  local t = tree.build(folders)

  -- Each distinct id is fetched once; nodes sharing a duplicated id share its calls.
  local ids, nodes_of = {}, {}
  for node in t:walk() do
    local id = node.id
    if type(id) == "string" and id ~= "" then
      if nodes_of[id] == nil then
        nodes_of[id] = {}
        ids[#ids + 1] = id
      end
      local list = nodes_of[id]
      list[#list + 1] = node
    end
  end

  local errors, done, total = {}, 0, #ids
  local strict, on_progress = opts.strict, opts.on_progress
  local stop = {} -- raised through calls_batch to end a strict fetch at the first failure
  local ok, raised, closed = pcall(self._core.calls_batch, self._core, ids, {
    concurrency = opts.concurrency,
    on_result = function(i, calls, e)
      local id = ids[i]
      done = done + 1
      for _, node in ipairs(nodes_of[id]) do
        if calls then node.calls = calls else node.error = e end
      end
      local failure -- on success `e` is the requestId, not an error
      if not calls then
        failure = e
        failure.folder_id = id
        errors[#errors + 1] = failure
      end
      if on_progress then on_progress(done, total, nodes_of[id][1], failure) end
      if strict and not calls then error(stop) end
    end,
  })
  if not ok then
    if raised == stop then return nil, errors[1] end
    error(raised, 0)
  end
  if raised == nil then return nil, closed end
  return t, errors
end

--- Closes the connection. Idempotent; later requests return an error of kind "closed".
function Client:close()
  self._core:close()
end

client_mt.__close = Client.close

function client_mt.__tostring(self)
  return tostring(self._core)
end

-- Returns a function that gives one client made by `new()` on first use, or
-- nil, err while `new()` raises (a later call tries again). Internal: the
-- module-level functions here and in gong.resty use it.
function _M._lazy_client(new)
  local client
  return function()
    if client == nil then
      local ok, c = pcall(new)
      if not ok then return nil, c end
      client = c
    end
    return client
  end
end

-- The module-level functions share one client configured from the environment,
-- created on first use.
local default = _M._lazy_client(_M.new)

--- `gong.folders(params)`: `client:folders` on a default client configured from the
--- environment. A missing configuration is returned as `nil, err` (kind "config").
---@param params? { workspaceId?: string }
---@return gong.Folder[]|nil folders
---@return string|gong.Error|nil requestId_or_err
function _M.folders(params)
  local c, err = default()
  if c == nil then return nil, err end
  return c:folders(params)
end

--- `gong.calls(folderId)`: `client:calls` on the default client.
---@param folderId string
---@return gong.Call[]|nil calls
---@return string|gong.Error|nil requestId_or_err
function _M.calls(folderId)
  local c, err = default()
  if c == nil then return nil, err end
  return c:calls(folderId)
end

return _M
