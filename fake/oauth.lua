-- Gong's OAuth token endpoint, POST /oauth2/generate-customer-token, for one
-- configured client: authorization codes (issued through the control API),
-- their exchange for a token family, refresh-token rotation, and the access
-- tokens the API then accepts as Bearer tokens until they expire. Portable
-- to Lua 5.1-5.4 and LuaJIT like the rest of the API.

local mime = require "mime"
local socket = require "socket"
local json = require "fake.json"

local gettime = socket.gettime
local format, concat = string.format, table.concat
local setmetatable, ipairs = setmetatable, ipairs
local str, num = json.string, json.number

local _M = {}

--- Where the endpoint lives: at the root only, as on app.gong.io.
_M.PATH = "/oauth2/generate-customer-token"

--- The query parameters the endpoint reads (Gong takes them in the query,
--- not in a form body).
_M.PARAMS = { "grant_type", "code", "client_id", "redirect_uri", "refresh_token" }

--- What every issued token may do.
_M.SCOPE = "api:library:read api:calls:read:extensive api:calls:read:transcript"

local OAuth = {}
OAuth.__index = OAuth

--- The endpoint's state for the client `creds` names.
---@param creds table {client_id, client_secret}
---@return table oauth
function _M.new(creds)
  local self = setmetatable({
    client_id = creds.client_id,
    basic = creds.client_id .. ":" .. creds.client_secret,
    -- Never reset, so no code or token string comes back after a reset.
    serial = 0,
  }, OAuth)
  self:reset()
  return self
end

--- Forgets codes, token families, issued tokens and the refresh log.
function OAuth:reset()
  self.codes = {}     -- code -> the redirect_uri it was issued for, until exchanged
  self.families = {}  -- every refresh token issued -> its family {refresh = the live one}
  self.access = {}    -- access token -> when it expires
  self.refreshes = {} -- one {time, refresh_token, outcome} per refresh_token grant
  self.exchanges = 0
end

-- A fresh code or token: prefix, hex serial and scrambled suffix, as request
-- ids are, so they are unique and do not look alike.
function OAuth:mint(prefix)
  local n = self.serial + 1
  self.serial = n
  return format("%s-%08x%06x", prefix, n, n * 2654435761 % 16777216)
end

--- A fresh single-use authorization code for `redirect_uri`.
---@param redirect_uri string
---@return string code
function OAuth:code(redirect_uri)
  local code = self:mint("code")
  self.codes[code] = redirect_uri
  return code
end

--- Whether `token` is an access token issued here that has not expired at `now`.
---@param token string
---@param now number|nil seconds, the clock of request records (default: now)
---@return boolean
function OAuth:valid(token, now)
  local expires = self.access[token]
  return expires ~= nil and (now or gettime()) < expires
end

--- What GET /__fake/oauth answers: the refresh_token grants in order and
--- how many codes were exchanged.
---@return table
function OAuth:log()
  local refreshes = {}
  for i, entry in ipairs(self.refreshes) do refreshes[i] = entry end
  return json.object { refreshes = json.array(refreshes), exchanges = self.exchanges }
end

-- An OAuth error (RFC 6749 §5.2 shape, as Gong answers its token endpoint).
local function failure(status, code, description)
  return { status = status, headers = { { "Cache-Control", "no-store" } },
           body = concat { '{"error":', str(code), ',"error_description":', str(description), "}" } }
end

local function invalid_grant(description)
  return failure(400, "invalid_grant", description)
end

-- Issues an access token and the family's next refresh token: the one it
-- replaces is dead from now on, earlier access tokens live to their expiry.
function OAuth:issue(req, family, ttl, base_url)
  local access, refresh = self:mint("at"), self:mint("rt")
  self.access[access] = (req.time or gettime()) + ttl
  family.refresh = refresh
  self.families[refresh] = family
  -- Gong's field order; expires_in as the setting is (fractions kept).
  return { status = 200, headers = { { "Cache-Control", "no-store" } }, body = concat {
    '{"access_token":', str(access),
    ',"refresh_token":', str(refresh),
    ',"scope":', str(_M.SCOPE),
    ',"token_type":"bearer"',
    ',"expires_in":', num(ttl),
    ',"api_base_url_for_customer":', str(base_url),
    "}",
  } }
end

-- grant_type=authorization_code: a code issued here, for this client and
-- the redirect_uri it was issued for. Only a successful exchange spends it.
function OAuth:exchange(req, params, ttl, base_url)
  local code = params.code
  local redirect_uri = code and self.codes[code]
  if not redirect_uri then return invalid_grant("Unknown or already used authorization code") end
  if params.client_id ~= self.client_id then return invalid_grant("client_id does not match the client") end
  if params.redirect_uri ~= redirect_uri then
    return invalid_grant("redirect_uri does not match the one the code was issued for")
  end
  self.codes[code] = nil
  self.exchanges = self.exchanges + 1
  return self:issue(req, {}, ttl, base_url)
end

-- grant_type=refresh_token: only the live refresh token of its family; each
-- attempt is logged for GET /__fake/oauth.
function OAuth:refresh(req, params, ttl, base_url)
  local used = params.refresh_token
  local family = used and self.families[used]
  local res
  if not family then
    res = invalid_grant("Unknown refresh token")
  elseif family.refresh ~= used then
    res = invalid_grant("Refresh token already used")
  else
    res = self:issue(req, family, ttl, base_url)
  end
  self.refreshes[#self.refreshes + 1] = json.object {
    time = req.time or gettime(),
    refresh_token = used or json.null,
    outcome = res.status == 200 and "ok" or "invalid_grant",
  }
  return res
end

local GRANTS = { authorization_code = OAuth.exchange, refresh_token = OAuth.refresh }

--- Answers one request to the endpoint with {status, headers, body}.
---@param req table parsed request from fake.http
---@param params table|false its query parameters by name (fake.oauth.PARAMS), false when the query is malformed
---@param ttl number seconds the access tokens issued now live (the token_ttl setting)
---@param base_url string what to answer as api_base_url_for_customer
---@return table response
function OAuth:token(req, params, ttl, base_url)
  if req.method ~= "POST" then
    local res = failure(405, "invalid_request", "Method not allowed")
    res.headers[#res.headers + 1] = { "Allow", "POST" }
    return res
  end
  local scheme, value = (req.headers.authorization or ""):match("^%s*(%S+)%s+(%S+)%s*$")
  if not scheme or scheme:lower() ~= "basic" or mime.unb64(value) ~= self.basic then
    return failure(401, "invalid_client", "Client authentication failed")
  end
  if not params then return failure(400, "invalid_request", "Malformed query string") end
  local grant = GRANTS[params.grant_type]
  if not grant then
    return failure(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
  end
  return grant(self, req, params, ttl, base_url)
end

return _M
