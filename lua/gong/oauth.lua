--- gong.oauth: tokens of an app installed through Gong's OAuth flow, which
--- refresh themselves, once, however many clients and processes share them.
---
---   local oauth = require "gong.oauth"
---   local client = gong.new { token = oauth.new { client_id = ID, client_secret = SECRET,
---                                                store = "/home/me/.config/gong/oauth.json" } }
---
--- Gong's access tokens expire and its refresh tokens are single-use: each
--- refresh returns a new refresh token and kills the old one at once. So:
---   * a refresh is made under an fcntl lock beside the store, and the store is
---     read again once the lock is held: when another process (or client)
---     refreshed meanwhile, its token is taken and no request is made;
---   * the store is written whole (a new file, fsync, rename) before the new
---     access token is used, so a crash can never lose the one valid refresh
---     token; the new file's room is taken before Gong is asked, so a full
---     disk fails before the refresh token is spent; and a new file complete
---     but not renamed (a process killed between the two) is taken, under
---     the lock, by the next reader;
---   * tokens Gong rotated are never dropped: when the store cannot be
---     written after all, they stay in memory and in use, it is said once
---     (core.on_warning), and the write is tried again at the next request;
---   * a refused refresh token (invalid_grant) is an `auth` error that says to
---     authorize the app again; it is never retried.
--- The source refreshes shortly before the access token runs out, and after a
--- 401 (the client asks it with `refresh = true`).

local core = require "gong.core"
local credentials = require "gong.credentials"
local json = require "gong.json"
local message = require "gong.message"

local error, ipairs, pairs, setmetatable, tostring, type = error, ipairs, pairs, setmetatable, tostring, type
local concat, rename, remove, sort = table.concat, os.rename, os.remove, table.sort
local decode = require("cjson.safe").new().decode

local _M = {}

--- Gong's token endpoint.
_M.TOKEN_URL = "https://app.gong.io/oauth2/generate-customer-token"

--- Gong's authorize page, where a technical administrator of the tenant
--- approves the app; Gong then sends the browser to the app's redirect URI
--- with `?code=CODE` (and the `state` given).
_M.AUTHORIZE_URL = "https://app.gong.io/oauth2/authorize"

--- The scopes of everything gong asks Gong for: library folders and their
--- calls, workspaces, the Calls API's details and transcripts.
_M.SCOPES = { "api:library:read", "api:workspaces:read", "api:calls:read:extensive", "api:calls:read:transcript" }

--- How long a refresh waits for another process's, in seconds.
_M.LOCK_TIMEOUT = 30

--- The disk taken for a new store before Gong is asked, in bytes: at least
--- this, and twice the store's size when that is more (tokens of a new
--- family may be longer).
_M.STORE_RESERVE = 4096

--- The lifetimes of an access token gong believes, in seconds: Gong's
--- expires_in is read within them. One that is no lifetime (0, negative,
--- not a number) is read as `min`: believed, it would hand out a token dead
--- on arrival and refresh before every request. One beyond `max` (1e308) is
--- read as `max`. Short real ones are believed as they are.
_M.TOKEN_LIFETIME = { min = 60, max = 366 * 86400 }

-- `seconds`, Gong's expires_in, within TOKEN_LIFETIME.
local function lifetime(seconds)
  local bounds = _M.TOKEN_LIFETIME
  if seconds <= 0 or seconds ~= seconds then return bounds.min end -- NaN is no lifetime either
  return seconds < bounds.max and seconds or bounds.max
end

-- Refresh this long before expiry: a tenth of the token's life, at most a minute.
local function margin(life)
  local m = (life or 0) / 10
  if m > 60 then m = 60 end
  return m
end

local function auth_error(text, fields)
  fields = fields or {}
  fields.transient = false
  return core.error("auth", text, fields)
end

-- A query parameter's value, percent-encoded (the core's encoder, the one URLs get).
local escape = core.percent_encode

---@class gong.oauth.State
---@field access_token string
---@field refresh_token string
---@field expires_at number seconds since the epoch
---@field expires_in number the token's life, as Gong gave it
---@field base_url string the tenant's API: api_base_url_for_customer .. "/v2"
---@field scope? string

-- Checks a decoded store: the state, or nil and what is wrong (never a value).
local function valid_state(t)
  if type(t) ~= "table" then return nil, "is not a JSON object" end
  for _, field in pairs({ "access_token", "refresh_token", "base_url" }) do
    if type(t[field]) ~= "string" or t[field] == "" then return nil, "has no " .. field end
  end
  if type(t.expires_at) ~= "number" or type(t.expires_in) ~= "number" then return nil, "has no expiry" end
  return t
end

-- Reads the store at `path`: the state, false when there is none, or nil
-- and a config error naming the file.
local function read_store(path)
  local content, err = core.sys.read_private_file(path)
  local what = "OAuth store " .. path
  if not content then
    -- Not there at all, rather than there and unreadable.
    if err.reason == "missing" then return false end
    return nil, core.error("config", credentials.refusal(what, err, path), { option = "store" })
  end
  local state, why = valid_state(decode(content))
  if not state then
    return nil, core.error("config", what .. " " .. why .. "; remove it and run the exchange again "
      .. "(gong-library oauth exchange)", { option = "store" })
  end
  return state
end

-- The store's contents for `state`.
local function encode_state(state)
  return json.encode({
    access_token = state.access_token, refresh_token = state.refresh_token, expires_at = state.expires_at,
    expires_in = state.expires_in, base_url = state.base_url, scope = state.scope,
  })
end

-- The store at `path`'s next contents, with its room on disk taken already
-- (a full disk says so here, before a grant is spent): the replacement, or
-- nil and the system's reason.
local function reserve_store(path)
  local st = core.sys.stat(path)
  local size = st and st.size * 2 or 0
  local r, err = core.sys.replace_file(path, { mode = 384, -- 0600
    reserve = size > _M.STORE_RESERVE and size or _M.STORE_RESERVE })
  if not r then return nil, err.detail or err.message end
  return r
end

-- The config error of a store that cannot be written (`why`), and what that
-- means for the grant (`after`).
local function unwritable(path, why, after)
  return core.error("config", "cannot write OAuth store " .. path .. ": " .. why .. "; " .. after,
    { option = "store" })
end

-- Puts `state` in the store at `path` through `r` (reserve_store's): true,
-- or nil and the system's reason.
local function commit_store(r, state)
  r:write(encode_state(state))
  local ok, err = r:commit()
  if not ok then return nil, err.detail or err.message end
  return true
end

-- Under the store's lock: a new store that a process wrote whole and died
-- before renaming (its replacements beside it) becomes the store when it is
-- newer and complete; every other one of ours is removed.
local function recover_store(path)
  local list = core.sys.replacements(path)
  if not list then return end
  sort(list, function(a, b) return a.mtime > b.mtime end)
  local taken
  for _, r in ipairs(list) do
    if not taken and r.newer then
      local content = core.sys.read_private_file(r.path)
      if content and valid_state(decode(content)) and rename(r.path, path) then taken = r.path end
    end
    if r.path ~= taken then remove(r.path) end
  end
end

-- Takes the lock of the store at `path` (STORE.lock), waiting up to
-- LOCK_TIMEOUT, and recovers what a killed writer left: the lock, or nil
-- and a file error naming the lock file (or its directory).
local function lock_store(path)
  local lock, err = core.sys.lock_file(path .. ".lock", _M.LOCK_TIMEOUT)
  if not lock then
    return nil, core.error("file", "cannot lock OAuth store " .. path .. ": " .. err.message,
      { path = err.path, reason = err.reason, detail = err.detail })
  end
  recover_store(path)
  return lock
end

-- Reads the store at `path` under its lock (read_store's answers).
local function read_locked(path)
  local lock, err = lock_store(path)
  if not lock then return nil, err end
  local state
  state, err = read_store(path)
  lock:unlock()
  return state, err
end

-- The state of a token answer, or nil and an error. `grant` names what was
-- asked, for messages; `secrets` are blanked out of anything Gong wrote
-- (gong.message.redact: as they are, percent-encoded, and the Basic
-- credentials among them), which may echo the request.
local function parse_answer(status, body, grant, secrets)
  local t = decode(body)
  if status == 200 and type(t) == "table" then
    local base = type(t.api_base_url_for_customer) == "string" and t.api_base_url_for_customer
    if type(t.access_token) == "string" and t.access_token ~= "" and type(t.refresh_token) == "string"
       and t.refresh_token ~= "" and type(t.expires_in) == "number" and base then
      local life = lifetime(t.expires_in)
      return {
        access_token = t.access_token, refresh_token = t.refresh_token, expires_in = life,
        expires_at = core.sys.time() + life, base_url = base:gsub("/+$", "") .. "/v2",
        scope = type(t.scope) == "string" and t.scope or nil,
      }
    end
    return nil, core.error("decode", "the OAuth " .. grant .. " answer lacks a token, its expiry or "
      .. "api_base_url_for_customer")
  end
  local code = type(t) == "table" and type(t.error) == "string" and message.redact(t.error, secrets) or nil
  local said = type(t) == "table" and type(t.error_description) == "string"
    and ": " .. message.redact(t.error_description, secrets) or ""
  if code == "invalid_grant" then
    return nil, auth_error(("Gong refused the %s (invalid_grant%s): authorize the app again "
      .. "(gong-library oauth exchange --code CODE --redirect-uri URI)"):format(grant, said), { status = status })
  elseif status == 401 or code == "invalid_client" then
    return nil, auth_error("Gong refused the OAuth client id or secret (" .. (code or "HTTP 401") .. said
      .. "): check GONG_CLIENT_ID and GONG_CLIENT_SECRET", { status = status })
  end
  return nil, core.error("http", ("HTTP %d from the OAuth token endpoint%s"):format(status,
    code and " (" .. code .. said .. ")" or ""), { status = status, transient = status >= 500 or status == 429 })
end

-- Asks the token endpoint for `query` (a grant, `code` the authorization
-- code in it, if any): the new state or nil, err.
local function ask(self, query, grant, code)
  local status, body = core.token_post(self.token_url .. "?" .. query, self.client_id, self.client_secret,
    { timeout = self.timeout, ca_file = self.ca_file, allow_http = self.allow_http })
  if not status then return nil, body end
  local secrets = { self.client_secret, message.basic(self.client_id, self.client_secret), code }
  if self.state then
    secrets[#secrets + 1] = self.state.refresh_token
    secrets[#secrets + 1] = self.state.access_token
  end
  return parse_answer(status, body, grant, secrets)
end

---@class gong.oauth.Source
local Source = {}
local source_mt = { __index = Source, __name = "gong.oauth.Source" }

-- What the client is told: the access token and how long to use it (not
-- at all when the store is behind it: then the next request asks again, and
-- the store's write is tried again).
local function hand_out(self, state)
  local left = state.expires_at - margin(state.expires_in) - core.sys.time()
  return state.access_token, (left > 0 and not self.unsaved) and left or 0
end

local function fresh(state)
  return state and core.sys.time() < state.expires_at - margin(state.expires_in)
end

-- After the store's write of `self.state` failed (`why`): the tokens stay
-- in memory and in use, the store being behind them until a write succeeds;
-- `behind` is the refresh token the store still holds. Said once.
local function unsaved(self, behind, why)
  self.unsaved = self.unsaved or behind
  if self.warned then return end
  self.warned = true
  core.sys.warn("cannot write OAuth store " .. self.store .. " (" .. tostring(why) .. "): the new tokens are "
    .. "kept in memory and in use, and the write is tried again at the next request; other processes "
    .. "sharing the store cannot refresh until it succeeds")
end

-- Under the lock: whether the store is behind the tokens in memory (their
-- write failed, and nobody has written the store since). Forgets that it
-- was when someone else has (a new exchange): the store's word stands.
local function behind(self, stored)
  if not self.unsaved then return false end
  if not stored or stored.refresh_token == self.unsaved then return true end
  self.unsaved, self.warned = nil, nil
  return false
end

-- Under the lock: writes the tokens in memory to the store, which is behind
-- them. True once written.
local function save(self)
  local r, why = reserve_store(self.store)
  local ok
  if r then ok, why = commit_store(r, self.state) end
  if not ok then
    unsaved(self, self.unsaved, why)
    return false
  end
  self.unsaved, self.warned = nil, nil
  return true
end

-- Refreshes `self.state`, unless the store already holds a newer token than
-- `stale` (the one found too old, or refused). Returns the state or nil, err.
local function renew(self, stale)
  local lock, r
  if self.store then
    local err, stored
    lock, err = lock_store(self.store)
    if not lock then return nil, err end
    stored, err = read_store(self.store)
    if stored == nil then
      lock:unlock()
      return nil, err
    end
    if behind(self, stored) then
      -- The refresh token in memory is the live one; the store's is spent.
      stored = false
    elseif stored and stored.access_token ~= stale and fresh(stored) then
      -- Another process or client refreshed while this one waited.
      lock:unlock()
      self.state = stored
      return stored
    end
    self.state = stored or self.state
    if self.state then
      r, err = reserve_store(self.store)
      -- A store already behind is spent either way: refresh, and keep the tokens in memory.
      if not r and not self.unsaved then
        lock:unlock()
        return nil, unwritable(self.store, err, "no refresh was made, so the store's tokens still work: "
          .. "make room and try again")
      end
    end
  end
  if not self.state then
    if lock then lock:unlock() end
    return nil, auth_error("OAuth store " .. tostring(self.store) .. " does not exist: run "
      .. "gong-library oauth exchange --code CODE --redirect-uri URI first", { option = "store" })
  end
  local previous = self.state.refresh_token
  local state, err = ask(self, "grant_type=refresh_token&refresh_token=" .. escape(previous), "refresh token")
  if not state then
    if r then r:discard() end
    if lock then lock:unlock() end
    return nil, err
  end
  -- Gong has rotated the refresh token: the new state is the only one that works, kept whatever the write does.
  self.state = state
  self.refreshes = self.refreshes + 1
  if self.store then
    local ok, why = false, "no room for it"
    if r then ok, why = commit_store(r, state) end
    if ok then
      self.unsaved, self.warned = nil, nil
    else
      unsaved(self, previous, why)
    end
  end
  if lock then lock:unlock() end
  return state
end

-- Tries the store's write again, when it is behind the tokens in memory.
local function retry_save(self)
  local lock = lock_store(self.store)
  if not lock then return end
  local stored = read_store(self.store)
  if stored ~= nil and behind(self, stored) then save(self) end
  lock:unlock()
end

-- The state to use now: the one in memory, the store's, or a new one.
local function current(self, refresh)
  if self.unsaved then retry_save(self) end
  local state = self.state
  if not refresh and fresh(state) then return state end
  if not state and self.store and not refresh then
    local err
    state, err = read_locked(self.store)
    if state == nil then return nil, err end
    if state and fresh(state) then
      self.state = state
      return state
    end
    self.state = state or nil
  end
  return renew(self, self.state and self.state.access_token)
end

--- The token function: `source(refresh)` -> access token and the seconds to
--- use it for, or nil and an error (kind `auth` when Gong refused the grant).
function source_mt.__call(self, refresh)
  local state, err = current(self, refresh)
  if not state then return nil, err end
  return hand_out(self, state)
end

--- The tenant's API base URL, from the token answer (`api_base_url_for_customer`
--- and `/v2`): what gong.new uses when no base URL was given.
---@return string|nil base_url
---@return gong.Error|nil err
function Source:base_url()
  local state, err = self.state
  if not state and self.store then
    -- The store says, fresh or not: a refresh waits for the first request.
    state, err = read_locked(self.store)
    if state == nil then return nil, err end
    self.state = state or nil
  end
  if state and state.base_url then return state.base_url end
  state, err = current(self, false)
  if not state then return nil, err end
  return state.base_url
end

--- The source's options as plain data (gong.new's option `oauth`), for
--- another Lua state to make the same source of: nil for a source whose
--- tokens live only in this one's memory.
---@return gong.oauth.Options|nil
function Source:spec()
  if not self.store then return nil end
  return { client_id = self.client_id, client_secret = self.client_secret, store = self.store,
           token_url = self.token_url, timeout = self.timeout, ca_file = self.ca_file, allow_http = self.allow_http }
end

function source_mt.__tostring(self)
  return "gong.oauth(" .. (self.store and "store=" .. self.store or "in memory") .. ")"
end

local function check_app(opts, who)
  if type(opts) ~= "table" then
    error(core.error("argument", who .. ": options must be a table (got " .. type(opts) .. ")"), 3)
  end
  for _, field in pairs({ "client_id", "client_secret" }) do
    if type(opts[field]) ~= "string" or opts[field] == "" then
      error(core.error("argument", who .. ": " .. field .. " must be a non-empty string"), 3)
    end
  end
  if opts.store ~= nil and (type(opts.store) ~= "string" or opts.store == "") then
    error(core.error("argument", who .. ": store must be a path"), 3)
  end
end

---@class gong.oauth.AuthorizeOptions
---@field client_id string the app's
---@field redirect_uri string the app's, as registered with Gong
---@field scope? string|string[] scopes, a list or space-separated; default gong.oauth.SCOPES
---@field state? string returned to the redirect URI as it was: tie the answer to the request
---@field authorize_url? string default Gong's (gong.oauth.AUTHORIZE_URL)

--- The URL to send the tenant's technical administrator to, to approve the
--- app: Gong's authorize page with `client_id`, `response_type=code`, the
--- scopes and `redirect_uri` (and `state` when given), each percent-encoded.
--- Nothing is asked of Gong. Raises an `argument` error naming what is wrong.
---@param opts gong.oauth.AuthorizeOptions
---@return string
function _M.authorize_url(opts)
  local who = "gong.oauth.authorize_url"
  if type(opts) ~= "table" then
    error(core.error("argument", who .. ": options must be a table (got " .. type(opts) .. ")"), 2)
  end
  for _, field in ipairs({ "client_id", "redirect_uri", "state", "authorize_url" }) do
    local v = opts[field]
    if (v ~= nil or field == "client_id" or field == "redirect_uri") and (type(v) ~= "string" or v == "") then
      error(core.error("argument", who .. ": " .. field .. " must be a non-empty string (got "
        .. (v == "" and "an empty string" or type(v)) .. ")"), 2)
    end
  end
  local base = opts.authorize_url or _M.AUTHORIZE_URL
  if not base:find("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]") then
    error(core.error("argument", who .. ": authorize_url must be an http or https URL"), 2)
  end
  local scope = opts.scope or _M.SCOPES
  if type(scope) == "table" then scope = concat(scope, " ") end
  if type(scope) ~= "string" or not scope:find("%S") then
    error(core.error("argument", who .. ": scope must be a list of scopes or a space-separated string"), 2)
  end
  scope = scope:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
  -- ":" may stand in a query as it is (RFC 3986's pchar): the scopes stay readable, as in Gong's examples.
  local query = "client_id=" .. escape(opts.client_id) .. "&response_type=code&scope="
    .. escape(scope):gsub("%%3[Aa]", ":")
    .. "&redirect_uri=" .. escape(opts.redirect_uri) .. (opts.state and "&state=" .. escape(opts.state) or "")
  return base .. (base:find("?", 1, true) and "&" or "?") .. query
end

---@class gong.oauth.Status
---@field store string the store's path
---@field base_url string the tenant's API
---@field expires_at number when the access token runs out, seconds since the epoch
---@field expires_in number the access token's life, as Gong gave it
---@field scopes? string[] the scopes Gong granted, when its answer said

--- What the store at `path` says, never a token: the tenant's API, when its
--- access token runs out (a request after that refreshes it) and the scopes
--- Gong granted. False when there is no store at `path`; nil and an error
--- (kind `config` or `file`, naming the file) when it cannot be read or is
--- not a store. It is read under the store's lock, as a refresh reads it.
---@param path string
---@return gong.oauth.Status|false|nil status
---@return gong.Error|nil err
function _M.status(path)
  if type(path) ~= "string" or path == "" then
    error(core.error("argument", "gong.oauth.status: path must be a non-empty string"), 2)
  end
  -- No lock file is made beside a store that is not there.
  if not core.sys.stat(path) then return false end
  local state, err = read_locked(path)
  if not state then return state, err end
  local scopes
  if type(state.scope) == "string" then
    scopes = {}
    for scope in state.scope:gmatch("%S+") do scopes[#scopes + 1] = scope end
  end
  return { store = path, base_url = state.base_url, expires_at = state.expires_at, expires_in = state.expires_in,
           scopes = scopes }
end

---@class gong.oauth.Options
---@field client_id string the app's
---@field client_secret string the app's
---@field store? string the JSON file of the tokens (mode 0600), shared by whoever names it
---@field refresh_token? string instead of a store: tokens kept in memory only
---@field token_url? string default Gong's (gong.oauth.TOKEN_URL)
---@field timeout? number seconds for a token request, default 30
---@field ca_file? string CA bundle for the token endpoint
---@field allow_http? boolean plain http to a host other than loopback

---@class gong.oauth.ExchangeOptions : gong.oauth.Options
---@field code string the authorization code Gong sent to redirect_uri
---@field redirect_uri string the app's, as registered with Gong

local function make(opts)
  return setmetatable({
    client_id = opts.client_id, client_secret = opts.client_secret, store = opts.store,
    token_url = opts.token_url or _M.TOKEN_URL, timeout = opts.timeout, ca_file = opts.ca_file,
    allow_http = opts.allow_http, refreshes = 0,
  }, source_mt)
end

--- A token source, the `token` option of `gong.new`: `client_id` and
--- `client_secret` of the app, and either `store` (a JSON file that
--- `exchange` made, shared by every process that names it) or
--- `refresh_token` (kept in memory only). `token_url` is Gong's endpoint by
--- default; `timeout`, `ca_file` and `allow_http` apply to it.
---@param opts gong.oauth.Options
---@return gong.oauth.Source
function _M.new(opts)
  check_app(opts, "gong.oauth.new")
  if (opts.store == nil) == (opts.refresh_token == nil) then
    error(core.error("argument", "gong.oauth.new: give store or refresh_token, one of them"), 2)
  end
  local source = make(opts)
  if opts.refresh_token then
    -- Expired at once: the first use refreshes, which also gives the base URL.
    source.state = { refresh_token = opts.refresh_token, access_token = "", expires_at = 0, expires_in = 0 }
  end
  return source
end

--- The first exchange: the authorization `code` Gong sent to `redirect_uri`,
--- for tokens written to `store`. Returns the token source, or nil and an error.
---@param opts gong.oauth.ExchangeOptions
---@return gong.oauth.Source|nil source
---@return gong.Error|nil err
function _M.exchange(opts)
  check_app(opts, "gong.oauth.exchange")
  for _, field in pairs({ "code", "redirect_uri", "store" }) do
    if type(opts[field]) ~= "string" or opts[field] == "" then
      error(core.error("argument", "gong.oauth.exchange: " .. field .. " must be a non-empty string"), 2)
    end
  end
  local source = make(opts)
  local lock, err = lock_store(opts.store)
  if not lock then return nil, err end
  -- A code is good for one exchange: the store's room is taken before it is spent.
  local r
  r, err = reserve_store(opts.store)
  if not r then
    lock:unlock()
    return nil, unwritable(opts.store, err, "the code was not used: make room and run the exchange again")
  end
  local state
  state, err = ask(source, "grant_type=authorization_code&code=" .. escape(opts.code) .. "&client_id="
    .. escape(opts.client_id) .. "&redirect_uri=" .. escape(opts.redirect_uri), "authorization code", opts.code)
  if state then
    local ok, why = commit_store(r, state)
    if not ok then
      state, err = nil, unwritable(opts.store, why, "the code is spent: authorize the app again")
    end
  else
    r:discard()
  end
  lock:unlock()
  if not state then return nil, err end
  source.state = state
  return source
end

return _M
