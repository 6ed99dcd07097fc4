--- gong.credentials: where a client's base URL and credentials come from,
--- decided in one place for the library (gong.new) and the CLI.
---
--- Sources are tried in order: explicit options, then a credentials file (when
--- one is named), then the environment. The first source that holds any
--- credential supplies all of them, so a half from one source never pairs
--- with a half from another; a credentials file supplies them even when it
--- holds none (then that is the error). The base URL comes from the first
--- source that has one. Every message names the source a value came from and
--- never repeats a value.
---
--- The core keeps only what a request can be made with (one kind, Basic as a
--- pair); everything about sources is here.

local core = require "gong.core"

local getenv, ipairs, pairs, tostring = os.getenv, ipairs, pairs, tostring

local _M = {}

--- The environment variable of each value, also the names in a credentials file.
_M.ENV = {
  base_url = "GONG_BASE_URL",
  access_key = "GONG_ACCESS_KEY",
  access_key_secret = "GONG_ACCESS_KEY_SECRET",
  token = "GONG_TOKEN",
}

--- The environment variable naming a credentials file (for the CLI).
_M.FILE_ENV = "GONG_CREDENTIALS_FILE"

--- The values that are credentials, in the order messages name them.
_M.FIELDS = { "access_key", "access_key_secret", "token" }

-- The names a credentials file may set, by name.
local FILE_NAMES = {}
for field, name in pairs(_M.ENV) do FILE_NAMES[name] = field end

---@class gong.credentials.Source
---@field where string how messages name it: "the environment", "credentials file F"
---@field names table<string,string> what each value is called in it (GONG_TOKEN, token)
---@field values table<string,any> base_url and credentials, nil where absent
---@field exclusive? boolean supplies the credentials even when it holds none

--- Explicit options (gong.new's), as a source that messages call `where`
--- ("the options table" unless told).
---@param opts table
---@param where? string
---@return gong.credentials.Source
function _M.from_options(opts, where)
  local names = {}
  for field in pairs(_M.ENV) do names[field] = field end
  return { where = where or "the options table", names = names,
           values = { base_url = opts.base_url, access_key = opts.access_key,
                      access_key_secret = opts.access_key_secret, token = opts.token } }
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
  return { where = "the environment", names = _M.ENV, values = values }
end

-- A file name as the user should type it in the suggested command.
local function shell_word(s)
  if s:find("^[%w%./_+,:@%%-]+$") and not s:find("^-") then
    return s
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Why core.read_private_file refused, as a sentence about `what`.
local REFUSALS = {
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

--- Reads a credentials file: one NAME=VALUE per line with the names of
--- `ENV`; blank lines and lines starting with # are ignored; spaces and one
--- pair of quotes around a value are dropped. The file must be the user's own
--- and closed to group and others (a pipe, such as `<(pass show gong)`, is
--- fine). Returns a source, or nil and a message naming the file and a line
--- number, never what a line holds: a malformed line may well be a secret.
---@param path string
---@return gong.credentials.Source|nil source
---@return string|nil message
function _M.read_file(path)
  local what = "credentials file " .. path
  local content, reason, detail = core.read_private_file(path)
  if not content then
    return nil, REFUSALS[reason](what, detail, path)
  end
  local values = {}
  local lineno, pos = 0, 1
  while pos <= #content do
    local nl = content:find("\n", pos, true) or #content + 1
    local line = content:sub(pos, nl - 1):gsub("\r$", "")
    pos = nl + 1
    lineno = lineno + 1
    local text = line:match("^%s*(.-)%s*$")
    if text ~= "" and text:sub(1, 1) ~= "#" then
      local at = what .. ", line " .. lineno .. ": "
      local name, value = text:match("^([%w_]+)%s*=%s*(.*)$")
      if not name then
        return nil, at .. "expected NAME=VALUE"
      end
      local field = FILE_NAMES[name]
      if not field then
        return nil, at .. "unknown name; expected " .. _M.ENV.access_key .. ", " .. _M.ENV.access_key_secret
          .. ", " .. _M.ENV.token .. " or " .. _M.ENV.base_url
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
      values[field] = value
    end
  end
  return { where = what, names = _M.ENV, values = values, exclusive = true }
end

-- The first source holding any credential (or an exclusive one), and which.
local function credential_source(sources)
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
  if token and (key or secret) then
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

---@class gong.credentials.Resolved
---@field base_url? string
---@field access_key? string
---@field access_key_secret? string
---@field token? string
---@field origin { base_url?: string, credentials: string } the `where` of each value's source
---@field secrets string[] the credential values, for whoever must redact them

--- Resolves base URL and credentials from `sources`, in order of precedence.
--- `how` completes "no credentials: ..." when no source has any.
---@param sources gong.credentials.Source[]
---@param how string
---@return gong.credentials.Resolved|nil resolved
---@return string|nil message
function _M.resolve(sources, how)
  local source = credential_source(sources)
  if not source then
    return nil, "no credentials: " .. how
  end
  local bad = check(source)
  if bad then return nil, bad end
  local r = { origin = { credentials = source.where }, secrets = {} }
  for _, field in ipairs(_M.FIELDS) do
    local v = source.values[field]
    r[field] = v
    if v ~= nil then r.secrets[#r.secrets + 1] = tostring(v) end
  end
  for _, s in ipairs(sources) do
    if s.values.base_url ~= nil then
      r.base_url, r.origin.base_url = s.values.base_url, s.where
      break
    end
  end
  return r
end

return _M
