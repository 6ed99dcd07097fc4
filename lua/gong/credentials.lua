--- gong.credentials: where a client's base URL, API, rate scope and
--- credentials come from, decided in one place for the library (gong.new)
--- and the CLI.
---
--- Sources are tried in order: explicit options, then a credentials file (when
--- one is named), then the environment. The first source that holds any
--- credential supplies all of them, so a half from one source never pairs
--- with a half from another; a credentials file supplies them even when it
--- holds none (then that is the error). Each setting (base URL, API, rate
--- scope) comes from the first source that has it. Every message names the source a value came from and
--- never repeats a value.
---
--- The core keeps only what a request can be made with (one kind, Basic as a
--- pair); everything about sources is here.

local getenv, ipairs, pairs, require, tostring = os.getenv, ipairs, pairs, require, tostring

local _M = {}

--- The environment variable of each value, also the names in a credentials file.
_M.ENV = {
  base_url = "GONG_BASE_URL",
  api = "GONG_API",
  rate = "GONG_RATE",
  rate_scope = "GONG_RATE_SCOPE",
  access_key = "GONG_ACCESS_KEY",
  access_key_secret = "GONG_ACCESS_KEY_SECRET",
  token = "GONG_TOKEN",
  client_id = "GONG_CLIENT_ID",
  client_secret = "GONG_CLIENT_SECRET",
  oauth_store = "GONG_OAUTH_STORE",
  oauth_token_url = "GONG_OAUTH_TOKEN_URL",
  oauth_authorize_url = "GONG_OAUTH_AUTHORIZE_URL",
}

--- The values that are settings rather than credentials: each comes from the
--- first source that has it.
_M.SETTINGS = { "base_url", "api", "rate", "rate_scope", "oauth_store", "oauth_token_url", "oauth_authorize_url" }

--- The environment variable naming a credentials file (for the CLI).
_M.FILE_ENV = "GONG_CREDENTIALS_FILE"

--- The values that are credentials, in the order messages name them.
_M.FIELDS = { "access_key", "access_key_secret", "token", "client_id", "client_secret" }

--- An OAuth app's credentials, a pair; with the store of its tokens (the
--- setting oauth_store) gong.oauth makes the token of them.
_M.OAUTH = { "client_id", "client_secret" }

-- The names a credentials file may set, by name, and as a message lists them.
local FILE_NAMES = {}
for field, name in pairs(_M.ENV) do FILE_NAMES[name] = field end
local KNOWN_NAMES
do
  local list = {}
  for _, field in ipairs(_M.FIELDS) do list[#list + 1] = _M.ENV[field] end
  for _, field in ipairs(_M.SETTINGS) do list[#list + 1] = _M.ENV[field] end
  KNOWN_NAMES = table.concat(list, ", ", 1, #list - 1) .. " or " .. list[#list]
end

---@class gong.credentials.Source
---@field where string how messages name it: "the environment", "credentials file F"
---@field names table<string,string> what each value is called in it (GONG_TOKEN, token)
---@field values table<string,any> base_url and credentials, nil where absent
---@field phrase fun(field: string): string where one value came from, for a message
---@field exclusive? boolean supplies the credentials even when it holds none

--- Explicit options, as a source: gong.new's ("option 'token'" in
--- messages), or a program's own, whose `names` say what each is called
--- there (gong-library: `{ base_url = "--base-url" }`).
---@param opts table
---@param where? string default "the options table"
---@param names? table<string,string>
---@return gong.credentials.Source
function _M.from_options(opts, where, names)
  local given = names
  local values = {}
  names = {}
  for field in pairs(_M.ENV) do
    names[field] = given and given[field] or field
    values[field] = opts[field]
  end
  return {
    where = where or "the options table", names = names,
    values = values,
    phrase = function(field)
      return given and names[field] or "option '" .. field .. "'"
    end,
  }
end

--- The environment as a source; an unset or empty variable is absent
--- (`GONG_TOKEN= cmd` must not mean an empty token).
---@param env? fun(name: string): string|nil os.getenv by default
---@return gong.credentials.Source
function _M.from_environment(env)
  env = env or getenv
  local values = {}
  for field, name in pairs(_M.ENV) do
    local v = env(name)
    if v ~= "" then values[field] = v end
  end
  return { where = "the environment", names = _M.ENV, values = values,
           phrase = function(field) return _M.ENV[field] .. " in the environment" end }
end

--- The credentials file read when none is named: $XDG_CONFIG_HOME/gong/credentials,
--- else ~/.config/gong/credentials; nil when neither variable says where.
---@param env? fun(name: string): string|nil os.getenv by default
---@return string|nil path
function _M.default_file(env)
  env = env or getenv
  local config = env("XDG_CONFIG_HOME")
  if config == nil or config == "" then
    local home = env("HOME")
    if home == nil or home == "" then return nil end
    config = home .. "/.config"
  end
  return config .. "/gong/credentials"
end

-- A file name as the user should type it in the suggested command.
local function shell_word(s)
  if s:find("^[%w%./_+,:@%%-]+$") and not s:find("^-") then
    return s
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Why core.sys.read_private_file refused (its error's reason), as a sentence about `what`.
local REFUSALS = {
  missing = function(what, detail) return "cannot read " .. what .. ": " .. detail end,
  open = function(what, detail) return "cannot read " .. what .. ": " .. detail end,
  read = function(what, detail) return "cannot read " .. what .. ": " .. detail end,
  type = function(what) return what .. " is neither a regular file nor a pipe" end,
  owner = function(what, detail)
    return what .. " belongs to another user (uid " .. detail .. "); it must be your own"
  end,
  mode = function(what, mode, path)
    return what .. " is accessible by group or others (" .. mode .. "); run: chmod 600 " .. shell_word(path)
  end,
  size = function(what) return what .. " is over 1 MiB, far more than credentials take" end,
}

--- Why core.sys.read_private_file refused `path` (its error `err`: reason
--- and detail), as a sentence about `what` ("OAuth store /x"): for every
--- private file gong reads.
---@param what string
---@param err gong.Error
---@param path string
---@return string
function _M.refusal(what, err, path)
  local say = REFUSALS[err.reason]
  return say and say(what, err.detail, path) or what .. ": " .. err.message
end

--- Reads a credentials file: one NAME=VALUE per line with the names of
--- `ENV` (an `export ` in front is fine, so a shell can source the file too);
--- blank lines and lines starting with # are ignored; spaces and one pair of
--- quotes around a value are dropped; a UTF-8 byte order mark and CRLF line
--- ends are fine. The file must be the user's own
--- and closed to group and others (a pipe, such as `<(pass show gong)`, is
--- fine). Returns a source, or nil and a message naming the file and a line
--- number, never what a line holds: a malformed line may well be a secret.
---@param path string
---@return gong.credentials.Source|nil source
---@return string|nil message
function _M.read_file(path)
  local what = "credentials file " .. path
  -- Loaded here, not above: `gong-library --version` reads credentials.ENV
  -- and must work without the C core.
  local content, err = require("gong.core").sys.read_private_file(path)
  if not content then
    return nil, _M.refusal(what, err, path)
  end
  local values, lines = {}, {}
  local lineno, pos = 0, 1
  -- Editors on Windows start a file with a byte order mark.
  if content:sub(1, 3) == "\239\187\191" then pos = 4 end
  while pos <= #content do
    local nl = content:find("\n", pos, true) or #content + 1
    local line = content:sub(pos, nl - 1):gsub("\r$", "")
    pos = nl + 1
    lineno = lineno + 1
    local text = line:match("^%s*(.-)%s*$")
    text = text:match("^export%s+(.*)$") or text
    if text ~= "" and text:sub(1, 1) ~= "#" then
      local at = what .. ", line " .. lineno .. ": "
      local name, value = text:match("^([%w_]+)%s*=%s*(.*)$")
      if not name then
        return nil, at .. "expected NAME=VALUE"
      end
      local field = FILE_NAMES[name]
      if not field then
        return nil, at .. "unknown name; expected " .. KNOWN_NAMES
      end
      if values[field] then
        return nil, at .. name .. " is set twice"
      end
      local q = value:sub(1, 1)
      if (q == '"' or q == "'") and #value >= 2 and value:sub(-1) == q then
        value = value:sub(2, -2)
      end
      if value == "" then
        return nil, at .. name .. " is empty"
      end
      values[field], lines[field] = value, lineno
    end
  end
  return { where = what, names = _M.ENV, values = values, exclusive = true,
           phrase = function(field) return ("%s on line %d of %s"):format(_M.ENV[field], lines[field], what) end }
end

--- The source of `sources` (in order of precedence) that supplies the
--- credentials: the first holding any, or an exclusive one (a credentials
--- file); nil when none does. Its values are not checked (resolve does).
---@param sources gong.credentials.Source[]
---@return gong.credentials.Source|nil
function _M.credential_source(sources)
  for _, source in ipairs(sources) do
    for _, field in ipairs(_M.FIELDS) do
      if source.values[field] ~= nil then return source end
    end
    if source.exclusive then return source end
  end
end

-- Checks the credentials of `source`: nil, or what is wrong with them.
local function check(source)
  local v, n = source.values, source.names
  local key, secret, token = v.access_key ~= nil, v.access_key_secret ~= nil, v.token ~= nil
  local app, missing = nil, nil -- the first OAuth value set, and the first not set
  for _, field in ipairs(_M.OAUTH) do
    if v[field] ~= nil then app = app or field else missing = missing or field end
  end
  if app and (token or key or secret) then
    return ("%s sets both %s and %s; keep one kind of credentials")
      :format(source.where, n[app], token and n.token or key and n.access_key or n.access_key_secret)
  elseif app and missing then
    return ("%s and %s must be set together: %s sets %s but not %s")
      :format(n.client_id, n.client_secret, source.where, n[app], n[missing])
  elseif app then
    return nil
  elseif token and (key or secret) then
    return ("%s sets both %s and %s; keep one kind of credentials")
      :format(source.where, n.token, key and n.access_key or n.access_key_secret)
  elseif key ~= secret then
    local set, unset = n.access_key, n.access_key_secret
    if secret then set, unset = unset, set end
    return ("%s and %s must be set together: %s sets %s but not %s")
      :format(n.access_key, n.access_key_secret, source.where, set, unset)
  elseif not (key or token) then
    return ("%s has no credentials: set %s and %s, or %s")
      :format(source.where, n.access_key, n.access_key_secret, n.token)
  end
end

--- The settings (SETTINGS) of `sources`, in order of precedence, each from
--- the first source that has it, into `into` (a new table by default), and
--- where each came from into `into.origin`; the credentials are left alone.
---@param sources gong.credentials.Source[]
---@param into? table
---@return table
function _M.settings(sources, into)
  local r = into or {}
  r.origin = r.origin or {}
  for _, setting in ipairs(_M.SETTINGS) do
    for _, s in ipairs(sources) do
      if s.values[setting] ~= nil then
        r[setting], r.origin[setting] = s.values[setting], s.phrase(setting)
        break
      end
    end
  end
  return r
end

---@class gong.credentials.Resolved
---@field base_url? string
---@field api? string
---@field rate_scope? string
---@field access_key? string
---@field access_key_secret? string
---@field token? string
---@field client_id? string
---@field client_secret? string
---@field oauth_store? string
---@field oauth_token_url? string
---@field oauth_authorize_url? string
---@field source gong.credentials.Source the one the credentials came from
---@field origin table<string,string> where each value came from ("GONG_TOKEN in the environment")
---@field secrets string[] the credential values, for whoever must redact them

--- Resolves base URL and credentials from `sources`, in order of precedence.
--- `how` completes "no credentials: ..." when no source has any.
---@param sources gong.credentials.Source[]
---@param how string
---@return gong.credentials.Resolved|nil resolved
---@return string|nil message
function _M.resolve(sources, how)
  local source = _M.credential_source(sources)
  if not source then
    return nil, "no credentials: " .. how
  end
  local bad = check(source)
  if bad then return nil, bad end
  local r = { source = source, origin = {}, secrets = {} }
  for _, field in ipairs(_M.FIELDS) do
    local v = source.values[field]
    r[field] = v
    if v ~= nil then
      r.origin[field] = source.phrase(field)
      r.secrets[#r.secrets + 1] = tostring(v)
    end
  end
  _M.settings(sources, r)
  if r.client_id and not r.oauth_store then
    return nil, ("%s and %s need the store of the app's tokens: set %s (or run the OAuth exchange first)")
      :format(source.names.client_id, source.names.client_secret, _M.ENV.oauth_store)
  end
  return r
end

return _M
