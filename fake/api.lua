-- The Gong API routes of the fake server, in two flavours on one server: at
-- the root the Library API contract, under /tenant what a real tenant's
-- public v2 API serves. Authentication, routing, scenario settings, and
-- responses built from bodies rendered once at start-up (call details and
-- transcripts are rendered per request, as the request selects them). The
-- OAuth token endpoint is routed here too, its logic is fake.oauth's.

local mime = require "mime"
local cjson = require "cjson.safe"
local contract = require "fake.contract"
local library = require "fake.library"
local oauth = require "fake.oauth"

local format, char, tonumber, concat = string.format, string.char, tonumber, table.concat
local floor, huge = math.floor, math.huge
local setmetatable, ipairs, pairs, type, tostring = setmetatable, ipairs, pairs, type, tostring

local _M = {}

--- Where the tenant flavour lives.
_M.TENANT = "/tenant"

-- Gong accepts at most this many call ids per /calls request.
local MAX_CALL_IDS = 100

--- Scenario settings (POST /__fake/settings) and their defaults.
_M.DEFAULT_SETTINGS = { page_size = 100, error_objects = false, token_ttl = 3600, rate_limit = 0,
                        transcript_scale = 1 }

-- Settings that keep their fraction (seconds); the others are integral.
local FRACTIONAL = { token_ttl = true }

local SETTING_CHECKS = {
  page_size = function(v)
    if type(v) ~= "number" or v ~= floor(v) or v < 1 or v > MAX_CALL_IDS then
      return "must be an integer in 1.." .. MAX_CALL_IDS
    end
  end,
  error_objects = function(v)
    if type(v) ~= "boolean" then return "must be true or false" end
  end,
  token_ttl = function(v)
    if type(v) ~= "number" or not (v > 0 and v < huge) then return "must be a number of seconds > 0" end
  end,
  -- Accepted API requests per second (fake.rate_limit); 0: no limit.
  rate_limit = function(v)
    if type(v) ~= "number" or v ~= floor(v) or v < 0 or v >= huge then return "must be an integer >= 0" end
  end,
  -- Sentences served for each of a transcript's (contract.call_transcript): real sizes.
  transcript_scale = function(v)
    if type(v) ~= "number" or v ~= floor(v) or v < 1 or v > 1000 then return "must be an integer in 1..1000" end
  end,
}

--- Percent-decodes `s` (and `+` to space when `plus`). Returns nil when an
--- escape is malformed, so a broken client gets 400 rather than a guess.
---@param s string
---@param plus boolean|nil
---@return string|nil
function _M.unescape(s, plus)
  if plus then s = s:gsub("%+", " ") end
  if not s:find("%", 1, true) then return s end
  if s:gsub("%%%x%x", ""):find("%", 1, true) then return nil end
  return (s:gsub("%%(%x%x)", function(hex) return char(tonumber(hex, 16)) end))
end

--- The first value of query parameter `name`; false when the query is malformed.
---@param query string
---@param name string
---@return string|false|nil
function _M.query_param(query, name)
  for pair in query:gmatch("[^&]+") do
    local key, value = pair:match("^([^=]*)=?(.*)$")
    key, value = _M.unescape(key, true), _M.unescape(value, true)
    if not key or not value then return false end
    if key == name then return value end
  end
  return nil
end
local query_param = _M.query_param

local Api = {}
Api.__index = Api

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Renders every body of `lib` onto `api`: the folder lists, each folder's
-- calls and content; details and transcripts are `lib`'s own tables.
local function render(api, lib)
  local by_workspace, public_by_workspace = {}, {}
  for _, ws in ipairs(lib.workspaces) do
    local members = {}
    for _, f in ipairs(lib.folders) do
      if f.workspaceId == ws.id then members[#members + 1] = f end
    end
    by_workspace[ws.id] = contract.folders(members)
    public_by_workspace[ws.id] = contract.public_folders(members)
  end
  local calls, content = {}, {}
  for _, f in ipairs(lib.folders) do
    calls[f.id] = contract.calls(lib.calls[f.id])
    content[f.id] = contract.content(f, lib.calls[f.id])
  end
  api.lib = lib
  api.folders = contract.folders(lib.folders)
  api.by_workspace = by_workspace
  api.public_folders = contract.public_folders(lib.folders)
  api.public_by_workspace = public_by_workspace
  api.workspaces = contract.workspaces(lib.workspaces)
  api.calls = calls
  api.content = content
  api.details = lib.details
  api.transcripts = lib.transcripts
  return api
end

--- Pre-renders every body of `lib` and remembers the accepted credentials.
--- `regenerate()`, when given, makes `lib` afresh for restore().
---@param lib table from fake.library.generate
---@param creds table {key, secret, token, client_id, client_secret}
---@param regenerate? fun(): table
---@return table api
function _M.new(lib, creds, regenerate)
  return render(setmetatable({
    basic = creds.key .. ":" .. creds.secret,
    token = creds.token,
    oauth = oauth.new { client_id = creds.client_id, client_secret = creds.client_secret },
    serial = 0,
    settings = copy(_M.DEFAULT_SETTINGS),
    regenerate = regenerate,
    changed = false,
  }, Api), lib)
end

--- Adds calls to the library served (fake.library.add_calls, the arguments
--- of POST /__fake/calls) and renders it again. Returns the new ids, or nil
--- and the 400 message.
---@param raw table decoded JSON object {folderId, count, transcribed?, addedToLibraryAt?}
---@return string[]|nil ids
---@return string|nil err
function Api:add_calls(raw)
  local count = raw.count
  if type(raw.folderId) ~= "string" then return nil, "folderId must be a string" end
  if type(count) ~= "number" or count ~= floor(count) or count < 1 or count > 1000 then
    return nil, "count must be an integer in 1..1000"
  end
  if raw.transcribed ~= nil and type(raw.transcribed) ~= "boolean" then
    return nil, "transcribed must be true or false"
  end
  if raw.addedToLibraryAt ~= nil and type(raw.addedToLibraryAt) ~= "string" then
    return nil, "addedToLibraryAt must be a string"
  end
  local ids = library.add_calls(self.lib, raw.folderId, floor(count),
    { transcribed = raw.transcribed, addedToLibraryAt = raw.addedToLibraryAt })
  if not ids then return nil, "unknown folder '" .. raw.folderId .. "'" end
  self.changed = true
  render(self, self.lib)
  return ids
end

--- Gives calls without a transcript one (fake.library.transcribe, the body
--- of POST /__fake/transcripts). Returns the ids that got one, or nil and
--- the 400 message.
---@param raw table decoded JSON object {callIds}
---@return string[]|nil ids
---@return string|nil err
function Api:transcribe(raw)
  local ids = raw.callIds
  if type(ids) ~= "table" then return nil, "callIds must be an array of strings" end
  for _, id in ipairs(ids) do
    if type(id) ~= "string" then return nil, "callIds must be an array of strings" end
  end
  self.changed = true
  return library.transcribe(self.lib, ids)
end

--- The library as it was at start-up again, when calls were added or transcribed.
function Api:restore()
  if self.changed and self.regenerate then
    render(self, self.regenerate())
    self.changed = false
  end
end

--- Validates a decoded settings object and applies it on top of the
--- current settings; nothing changes when any field is wrong.
---@param raw table decoded JSON object
---@return table|nil settings
---@return string|nil err
function Api:configure(raw)
  local new = copy(self.settings)
  for key, value in pairs(raw) do
    local check = SETTING_CHECKS[key]
    if not check then return nil, "unknown setting '" .. tostring(key) .. "'" end
    local err = check(value)
    if err then return nil, "setting '" .. key .. "' " .. err end
    -- Decoders may hand integers over as floats; keep them integral.
    new[key] = type(value) == "number" and not FRACTIONAL[key] and floor(value) or value
  end
  self.settings = new
  return new
end

--- Restores the default settings.
function Api:reset_settings()
  self.settings = copy(_M.DEFAULT_SETTINGS)
end

--- A fresh request id: a hex serial plus a scrambled suffix, so ids are
--- unique, sortable and do not look alike.
---@return string
function Api:request_id()
  local n = self.serial + 1
  self.serial = n
  return format("%08x%06x", n, n * 2654435761 % 16777216)
end

--- An error response with the contract's ErrorResponse body (messages as
--- objects when the error_objects setting says so).
---@param status integer
---@param message string
---@return table response
function Api:error(status, message)
  return { status = status,
           body = contract.error(self:request_id(), message, self.settings.error_objects) }
end

local function ok(body)
  return { status = 200, body = body }
end

--- Whether `header` carries credentials we accept at `now`: Basic
--- key:secret, the Bearer token, or a live access token of fake.oauth.
---@param header string|nil the Authorization header
---@param now number|nil the request's time
---@return boolean
function Api:authorized(header, now)
  if not header then return false end
  local scheme, value = header:match("^%s*(%S+)%s+(%S+)%s*$")
  if not scheme then return false end
  scheme = scheme:lower()
  if scheme == "basic" then
    return mime.unb64(value) == self.basic
  elseif scheme == "bearer" then
    return value == self.token or self.oauth:valid(value, now)
  end
  return false
end

-- POST /oauth2/generate-customer-token: the query is parsed here, with the
-- helpers of every route, the rest is fake.oauth's. The tenant's base URL is
-- the one the client reached us by (without a Host header, `origin`, which
-- the server sets to the address it listens on).
function Api:oauth_token(req)
  local params = {}
  for _, name in ipairs(oauth.PARAMS) do
    local value = query_param(req.query, name)
    if value == false then
      params = false
      break
    end
    params[name] = value
  end
  local base_url = "http://" .. (req.headers.host or self.origin) .. _M.TENANT
  return self.oauth:token(req, params, self.settings.token_ttl, base_url)
end

-- Path prefixes that belong to the API (and so need credentials).
local API_PREFIXES = { "/library", "/workspaces", "/calls", _M.TENANT }

--- Whether `path` belongs to the API (and so needs credentials).
function _M.is_api(path)
  for _, prefix in ipairs(API_PREFIXES) do
    if path == prefix or path:sub(1, #prefix + 1) == prefix .. "/" then return true end
  end
  return false
end

-- GET /library/folders in either flavour: the contract's folders or the tenant's.
local function folders_route(all, by_workspace)
  return function(self, req)
    local workspace = query_param(req.query, "workspaceId")
    if workspace == false then return self:error(400, "Malformed query string") end
    local list = self[all]
    if workspace then list = self[by_workspace][workspace] or "[]" end
    return ok(contract.body(self:request_id(), "folders", list))
  end
end

function Api:folder_calls(_, path)
  local id = _M.unescape(path:match("^/library/folders/([^/]*)/calls$"))
  if not id then return self:error(400, "Malformed folder id") end
  local calls = self.calls[id]
  if not calls then return self:error(404, "Folder not found") end
  return ok(contract.body(self:request_id(), "calls", calls))
end

function Api:folder_content(req)
  local id = query_param(req.query, "folderId")
  if id == false then return self:error(400, "Malformed query string") end
  if not id then return self:error(400, "folderId is required") end
  local content = self.content[id]
  if not content then return self:error(404, "Folder not found") end
  return ok('{"requestId":"' .. self:request_id() .. '",' .. content)
end

function Api:list_workspaces()
  return ok(contract.body(self:request_id(), "workspaces", self.workspaces))
end

local function is_string_array(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _, v in pairs(t) do
    n = n + 1
    if type(v) ~= "string" then return false end
  end
  return n == #t
end

local CONTEXTS = { None = true, Basic = true, Extended = true }

-- Decodes a /calls request body into {ids, selector, cursor} (an empty or
-- null cursor is none), or returns nil and the 400 message.
local function parse_calls_request(body)
  -- cjson decodes `[]` and `{}` alike, so look at the text itself.
  local decoded = body:match("^%s*{") and cjson.decode(body)
  if type(decoded) ~= "table" then return nil, "Request body must be a JSON object" end
  local filter = decoded.filter
  local ids = type(filter) == "table" and filter.callIds
  if not is_string_array(ids) then return nil, "filter.callIds must be an array of strings" end
  if #ids > MAX_CALL_IDS then return nil, "At most " .. MAX_CALL_IDS .. " call ids per request" end
  local selector = decoded.contentSelector
  if selector == cjson.null then selector = nil end
  if selector ~= nil then
    if type(selector) ~= "table" then return nil, "contentSelector must be an object" end
    local context = selector.context
    if context ~= nil and context ~= cjson.null and not CONTEXTS[context] then
      return nil, "contentSelector.context must be None, Basic or Extended"
    end
  end
  local cursor = decoded.cursor
  if cursor == cjson.null or cursor == "" then cursor = nil end
  if cursor ~= nil and type(cursor) ~= "string" then return nil, "cursor must be a string" end
  return { ids = ids, selector = selector or {}, cursor = cursor }
end

-- A digest of what a cursor belongs to: the route and the requested ids.
local function digest(kind, ids)
  local text, h = kind .. "\n" .. concat(ids, "\n"), 5381
  for i = 1, #text do h = (h * 33 + text:byte(i)) % 4294967296 end
  return format("%08x", h)
end

-- The page of `items` a request asks for: the items, the records object,
-- or nil and the 400 message.
function Api:page(kind, request, items)
  local size, offset = self.settings.page_size, 0
  local sum = digest(kind, request.ids)
  if request.cursor then
    local off, theirs = (mime.unb64(request.cursor) or ""):match("^(%d+):(%x+)$")
    if not off then return nil, "Invalid cursor" end
    if theirs ~= sum then return nil, "cursor does not match the request" end
    offset = tonumber(off)
    if offset < 1 or offset >= #items then return nil, "Invalid cursor" end
  end
  local page = {}
  for i = offset + 1, offset + size do page[#page + 1] = items[i] end
  local cursor
  if offset + size < #items then cursor = mime.b64(format("%d:%s", offset + size, sum)) end
  return page, contract.records(#items, #page, floor(offset / size), cursor)
end

-- The known ids of a request, each once, in the order asked.
function Api:known(ids)
  local seen, known = {}, {}
  for _, id in ipairs(ids) do
    if self.details[id] and not seen[id] then
      seen[id] = true
      known[#known + 1] = id
    end
  end
  return known
end

-- Whether an exposedFields entry asks for its section: true, or an object
-- with at least one true member (the whole section is answered then).
local function wanted(v)
  if v == true then return true end
  if type(v) ~= "table" then return false end
  for _, member in pairs(v) do
    if member == true then return true end
  end
  return false
end

local NO_CALLS = "No calls found corresponding to the provided filters"

function Api:extensive(req)
  local request, err = parse_calls_request(req.body)
  if not request then return self:error(400, err) end
  local known = self:known(request.ids)
  if #known == 0 then return self:error(404, NO_CALLS) end
  local page, records = self:page("extensive", request, known)
  if not page then return self:error(400, records) end
  local selector = request.selector
  local fields = type(selector.exposedFields) == "table" and selector.exposedFields or {}
  local include = {
    parties = fields.parties == true,
    content = wanted(fields.content),
    interaction = wanted(fields.interaction),
    collaboration = wanted(fields.collaboration),
    media = fields.media == true,
    context = selector.context == "Basic" or selector.context == "Extended",
  }
  local items = {}
  for i, id in ipairs(page) do items[i] = contract.extensive_call(self.details[id], include) end
  return ok(contract.paged(self:request_id(), records, "calls", items))
end

function Api:transcript(req)
  local request, err = parse_calls_request(req.body)
  if not request then return self:error(400, err) end
  local known = self:known(request.ids)
  if #known == 0 then return self:error(404, NO_CALLS) end
  local transcribed = {}
  for _, id in ipairs(known) do
    if self.transcripts[id] then transcribed[#transcribed + 1] = id end
  end
  local page, records = self:page("transcript", request, transcribed)
  if not page then return self:error(400, records) end
  local items = {}
  for i, id in ipairs(page) do
    items[i] = contract.call_transcript(id, self.transcripts[id], self.settings.transcript_scale)
  end
  return ok(contract.paged(self:request_id(), records, "callTranscripts", items))
end

-- Both flavours' routes: path after the flavour's prefix -> {method, handler}.
local COMMON = {
  ["/library/folder-content"] = { "GET", Api.folder_content },
  ["/workspaces"] = { "GET", Api.list_workspaces },
  ["/calls/extensive"] = { "POST", Api.extensive },
  ["/calls/transcript"] = { "POST", Api.transcript },
}

local ROUTES = {
  root = { ["/library/folders"] = { "GET", folders_route("folders", "by_workspace") } },
  -- A tenant has no /library/folders/{id}/calls: only the contract does.
  tenant = { ["/library/folders"] = { "GET", folders_route("public_folders", "public_by_workspace") } },
}
for _, routes in pairs(ROUTES) do
  for path, route in pairs(COMMON) do routes[path] = route end
end
local FOLDER_CALLS = { "GET", Api.folder_calls }

-- Gong's description answers "Access denied" with 403 on /v2/workspaces
-- (which lists no 401), with 401 on every other route.
local DENIED = { ["/workspaces"] = 403 }

--- Answers one request with {status, headers, body}.
---@param req table parsed request from fake.http
---@return table response
function Api:handle(req)
  local path = req.path
  -- It authenticates the client, not an API user.
  if path == oauth.PATH then return self:oauth_token(req) end
  if not _M.is_api(path) then return self:error(404, "Not found") end
  local routes = ROUTES.root
  if path:sub(1, #_M.TENANT + 1) == _M.TENANT .. "/" then
    routes, path = ROUTES.tenant, path:sub(#_M.TENANT + 1)
    -- Clients append /v2 to api_base_url_for_customer, as to Gong's base URL.
    if path:sub(1, 4) == "/v2/" then path = path:sub(4) end
  end
  if not self:authorized(req.headers.authorization, req.time) then
    return self:error(DENIED[path] or 401, "Invalid credentials")
  end
  local route = routes[path]
  if not route and routes == ROUTES.root and path:match("^/library/folders/[^/]*/calls$") then
    route = FOLDER_CALLS
  end
  if not route then return self:error(404, "Not found") end
  if req.method ~= route[1] then
    local res = self:error(405, "Method not allowed")
    res.headers = { { "Allow", route[1] } }
    return res
  end
  return route[2](self, req, path)
end

return _M
