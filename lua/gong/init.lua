--- gong: a client for the Gong Library API (library folders and the calls in them).
--
-- The C core `gong.core` does one HTTP exchange right (libcurl, auth, limits,
-- retries, decoding); this module adds what is policy or convenience:
-- credentials and the base URL from the environment (gong.credentials), and
-- the methods built on the core's requests (gong.client: the batches, the
-- Calls API, the folder tree, the whole library, iterators), which it adds
-- to the core's own client class, so that a client is the core's object
-- itself. Those run here as tasks (gong.tasks) on the client's wait driver,
-- while the caller waits.
--
-- Failures are returned as `nil, err` (network, HTTP, decoding); programmer
-- mistakes (bad arguments, bad options) raise. Both are the same error object:
-- see `gong.is_error` and the README's "Errors" section.

local core = require "gong.core"
local client = require "gong.client"
local credentials = require "gong.credentials"
local transcript = require "gong.transcript"
local tree = require "gong.tree"

local error, getmetatable, ipairs, pairs, setmetatable, type = error, getmetatable, ipairs, pairs, setmetatable, type

---@class gong.Error
---@field kind string argument, config, closed, http, network, timeout, decode, too_large, rate_limited, interrupted,
--- auth, file
---@field message string one line for humans
---@field errors string[] Gong's error messages when the server sent them, else empty (always a list)
---@field status? integer HTTP status, when there was a response
---@field request_id? string Gong's requestId, when the server sent one
---@field url? string the request URL (never with credentials)
---@field attempts? integer how many tries were made
---@field retry_after? integer seconds the server asked us to wait (429/503)
---@field location? string where a redirect pointed (redirects are not followed)
---@field curl_code? integer libcurl's error code, for network errors
---@field folder_id? string the folder whose calls failed, in library()'s errors
---@field option? string the option a config error is about
---@field reason? string why a value was refused: base_url's invalid, credentials, query, fragment, plain_http,
--- scheme; shared_state for rate_scope "host"'s directory or file; refused when library()'s on_plan said no
---@field transient? boolean true when trying again may succeed (a 429 or 5xx, a dropped connection, a timeout)
---@field halt? boolean Gong asked to wait longer than max_retry_wait: nothing is worth starting before retry_after
---@field timeout? string for timeout errors, which limit: "connect", "total" or "stall"
---@field detail? string for config errors of an option: what is wrong, without the option's name
---@field path? string for file errors: the file

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

---A call in a tree that client:library() filled.
---@class gong.LibraryCall: gong.Call
---@field details? table with details = true: the call's record from the Calls API (metaData, parties, ...)
---@field transcript? table[] with transcripts = true: its monologues (see gong.transcript)

---@class gong.Options
---@field base_url? string default $GONG_BASE_URL or https://api.gong.io/v2
---@field access_key? string default $GONG_ACCESS_KEY (HTTP Basic, with access_key_secret)
---@field access_key_secret? string default $GONG_ACCESS_KEY_SECRET
---@field token? string|function|gong.oauth.Source default $GONG_TOKEN (Bearer); see README, OAuth
---@field timeout? number total seconds per attempt (60)
---@field connect_timeout? number seconds (10)
---@field stall_timeout? number abort when no byte arrives for this long (30)
---@field deadline? number seconds for a whole request, every attempt and wait included; none by default
---@field on_wait? fun(info: gong.Wait) called before a request waits for its next attempt
---@field user_agent? string
---@field headers? table<string,string> extra request headers
---@field max_retries? integer retries of transient failures (4)
---@field max_retry_wait? number longest Retry-After slept through (60)
---@field backoff_base? number first backoff ceiling in seconds (0.5)
---@field backoff_max? number cap of one backoff wait (30)
---@field rate? number|false requests per second (3), false for no limit
---@field rate_scope? '"client"'|'"host"' default $GONG_RATE_SCOPE or "client": whose window rate counts in
---@field max_response_bytes? integer (64 MiB)
---@field allow_http? boolean allow http:// to non-loopback hosts
---@field ca_file? string CA bundle for TLS verification
---@field insecure? boolean turn TLS verification off (never in production)
---@field api? '"auto"'|'"contract"'|'"public"' default $GONG_API or "auto" (public on gong.io hosts)
---@field on_attempt? fun(info: gong.AttemptInfo) told of each attempt as it ends (see README)

---What on_attempt is told of an attempt; never a credential.
---@class gong.AttemptInfo
---@field method string "GET" or "POST"
---@field url string the request's URL
---@field attempt integer 1 for the first try
---@field max_attempts integer max_retries + 1
---@field seconds number how long the attempt took
---@field status? integer the HTTP status, when an answer came
---@field error? string what went wrong, when none came
---@field retry_in? number seconds before the next attempt, when one follows

-- luacheck: push no max comment line length
---The methods of every host's client (gong, gong.loop, gong.nvim, gong.resty); on the callback hosts each takes a callback last.
---@class gong.Client
---@field folders fun(self: gong.Client, params?: { workspaceId?: string }): gong.Folder[]|nil, string|gong.Error|nil
---@field calls fun(self: gong.Client, folderId: string): gong.Call[]|nil, string|gong.Error|nil
---@field workspaces fun(self: gong.Client): gong.Workspace[]|nil, string|gong.Error|nil
---@field call_details fun(self: gong.Client, callIds: string[], opts?: gong.CallsApiOptions): table<string,table>|nil, string[]|gong.Error
---@field transcripts fun(self: gong.Client, callIds: string[], opts?: gong.CallsApiOptions): table<string,table[]>|nil, string[]|gong.Error
---@field calls_batch fun(self: gong.Client, ids: string[], opts?: table): (gong.Call[]|gong.Error)[]|nil, gong.Error?
---@field tree fun(self: gong.Client, params?: { workspaceId?: string }): gong.Tree|nil, string|gong.Error|nil
---@field library fun(self: gong.Client, opts?: gong.LibraryOptions): gong.Tree|nil, gong.Error[]|gong.Error
---@field each_folder fun(self: gong.Client, params?: { workspaceId?: string }): fun(): gong.Folder? blocking hosts only
---@field each_call fun(self: gong.Client, folderId: string): fun(): gong.Call? blocking hosts only
---@field stats fun(self: gong.Client): { requests: integer, rate_file?: string } attempts so far (retries too), the shared window's file
---@field api string the API the client speaks: "contract" or "public" ("auto" resolved)
---@field tenant string 16 hex digits naming the tenant (base URL and key id or token, hashed): whose rate window
---@field retry_in fun(self: gong.Client, err: gong.Error, attempts: integer, left?: number, kind?: string): number?, table? the retry policy's wait and what on_wait is told of it, or nil
---@field request fun(self: gong.Client, kind: string, ...): any one request of a kind of gong.core.KINDS (the core's client)
---@field driver fun(self: gong.Client, mode?: string): table|nil, gong.Error? many requests at once (the core's client)
---@field close fun(self: gong.Client) idempotent; also `<close>` and garbage collection
-- luacheck: pop

---What a request waits for before its next attempt, as the option on_wait is told.
---@class gong.Wait
---@field reason string "rate_limited" (a 429), "server" (a 5xx), "timeout", "network", or "rate" (the rate limit)
---@field seconds number how long it waits
---@field attempt integer the attempt that follows, 1 for the first
---@field attempts integer the most a request makes: max_retries + 1
---@field kind string the request's kind ("folders", "calls", ...)
---@field status? integer the failed attempt's HTTP status
---@field timeout? string which limit ended the failed attempt: "connect", "total" or "stall"
---@field elapsed? number seconds the failed attempt took

---@class gong.Workspace
---@field id string
---@field name? string
---@field description? string

---@class gong.CallsApiOptions
---@field batch_size? integer call ids per request, 1 to 100 (100)
---@field concurrency? integer requests at once (3)
---@field fields? string[] call_details: which of parties, content, interaction, collaboration, media ({"parties"})
---@field context? string call_details: "None", "Basic" or "Extended" ("None")
---@field on_progress? fun(done: integer, total: integer) called as each batch is answered

-- The blocking client's tasks, by its wait driver: weak both ways, so that
-- neither keeps a client alive once no method of it runs.
local tasks_of = setmetatable({}, { __mode = "kv" })

-- A method of gong.client on the core's client: its body runs as a task on
-- the client's wait driver while the caller waits.
client.install(core.Client, function(method)
  local name, check, run = method.name, method.check, method.run
  return function(self, ...)
    core.check_client(self, name)
    check(...)
    local driver = self:driver("wait")
    if not driver then return nil, core.closed_error(name) end
    local t = tasks_of[driver]
    if not t then
      t = require("gong.tasks").new(driver) -- on first use, as gong.client loads its batches
      tasks_of[driver] = t
    end
    return t:run(name, run, ...)
  end
end)
client.install_iterators(core.Client)

local _M = {
  _VERSION = core._VERSION,
  tree = tree,
  transcript = transcript,
}

--- Makes an error object of the same shape as the core's (see the README's
--- "Errors"): `kind` and `message` as given, the other fields from `fields`.
---@param kind string
---@param message string one line (line breaks become spaces)
---@param fields? table status, request_id, errors, url, ...
---@return gong.Error
function _M.error(kind, message, fields)
  return core.error(kind, message, fields)
end

--- True when `v` is a gong error object (made by gong, in C or Lua).
---@param v any
---@return boolean
function _M.is_error(v)
  return core.is_error(v)
end

-- How to give credentials, for the message when there are none.
local HOW = ("pass access_key and access_key_secret, or token, or set %s and %s, or %s")
  :format(credentials.ENV.access_key, credentials.ENV.access_key_secret, credentials.ENV.token)

--- Creates a client. These options fall back to the environment (`GONG_BASE_URL`,
--- `GONG_API`, `GONG_ACCESS_KEY` + `GONG_ACCESS_KEY_SECRET`, `GONG_TOKEN`):
--- explicit credentials are used alone, never completed from the environment.
--- Raises an error of kind "config" for unknown or invalid options, or when
--- no credentials are found at all.
---
--- The client's requests are `folders`, `calls` and `calls_batch` (from the
--- core) and `each_folder`, `each_call`, `tree` and `library` (gong.client).
---@param opts? gong.Options
---@return gong.Client
function _M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "new: options must be a table (got " .. type(opts) .. ")"), 2)
  end
  opts = opts or {}
  if opts.oauth ~= nil then
    -- gong.oauth's options as plain data, which can cross to another Lua
    -- state (an nginx thread's VM) where a token source cannot.
    if opts.token ~= nil then
      error(core.error("config", "option 'oauth' is given with option 'token': give one of them",
        { option = "oauth" }), 2)
    end
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.token, o.oauth = require("gong.oauth").new(opts.oauth), nil
    opts = o
  end
  local resolved, why = credentials.resolve(
    { credentials.from_options(opts), credentials.from_environment() }, HOW)
  if not resolved then
    error(core.error("config", why), 2)
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  for _, field in ipairs(credentials.SETTINGS) do o[field] = resolved[field] end
  for _, field in ipairs(credentials.FIELDS) do o[field] = resolved[field] end
  -- An OAuth app's store and credentials (the environment's, or a
  -- credentials file's): gong.oauth makes the token of them.
  if resolved.client_id then
    o.token = require("gong.oauth").new({ client_id = resolved.client_id, client_secret = resolved.client_secret,
      store = resolved.oauth_store, token_url = resolved.oauth_token_url, ca_file = o.ca_file })
  end
  o.client_id, o.client_secret, o.oauth_store, o.oauth_token_url, o.oauth_authorize_url = nil, nil, nil, nil, nil
  local source = o.token
  local mt = type(source) == "table" and getmetatable(source)
  if mt and mt.__call then
    -- A token source (gong.oauth): the core calls functions, and the source
    -- knows the tenant's API when no base URL was given.
    o.token = function(refresh) return source(refresh) end
    if o.base_url == nil and type(source.base_url) == "function" then
      local url, err = source:base_url()
      if not url then error(err, 2) end
      o.base_url = url
      if o.api == nil then o.api = "public" end
    end
  end
  return core.new(o)
end

-- gong.folders(params) and gong.calls(folderId): the methods on a default
-- client configured from the environment, created on first use; a missing
-- configuration is returned as `nil, err` (kind "config").
client.shortcuts(_M, _M.new)

return _M
