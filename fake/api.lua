-- The Gong Library API routes of the fake server: authentication, routing,
-- and responses built from bodies rendered once at start-up.

local mime = require "mime"
local contract = require "fake.contract"

local format, char, tonumber = string.format, string.char, tonumber
local setmetatable, ipairs = setmetatable, ipairs

local _M = {}

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

-- The first value of query parameter `name`; false when the query is malformed.
local function query_param(query, name)
  for pair in query:gmatch("[^&]+") do
    local key, value = pair:match("^([^=]*)=?(.*)$")
    key, value = _M.unescape(key, true), _M.unescape(value, true)
    if not key or not value then return false end
    if key == name then return value end
  end
  return nil
end

local Api = {}
Api.__index = Api

--- Pre-renders every body of `lib` and remembers the accepted credentials.
---@param lib table from fake.library.generate
---@param creds table {key, secret, token}
---@return table api
function _M.new(lib, creds)
  local by_workspace = {}
  for _, ws in ipairs(lib.workspaces) do
    local members = {}
    for _, f in ipairs(lib.folders) do
      if f.workspaceId == ws.id then members[#members + 1] = f end
    end
    by_workspace[ws.id] = contract.folders(members)
  end
  local calls, content = {}, {}
  for _, f in ipairs(lib.folders) do
    calls[f.id] = contract.calls(lib.calls[f.id])
    content[f.id] = contract.content(f, lib.calls[f.id])
  end
  return setmetatable({
    folders = contract.folders(lib.folders),
    by_workspace = by_workspace,
    calls = calls,
    content = content,
    basic = creds.key .. ":" .. creds.secret,
    token = creds.token,
    serial = 0,
  }, Api)
end

--- A fresh request id: a hex serial plus a scrambled suffix, so ids are
--- unique, sortable and do not look alike.
---@return string
function Api:request_id()
  local n = self.serial + 1
  self.serial = n
  return format("%08x%06x", n, n * 2654435761 % 16777216)
end

--- An error response with the contract's ErrorResponse body.
---@param status integer
---@param message string
---@return table response
function Api:error(status, message)
  return { status = status, body = contract.error(self:request_id(), message) }
end

local function ok(body)
  return { status = 200, body = body }
end

function Api:authorized(header)
  if not header then return false end
  local scheme, value = header:match("^%s*(%S+)%s+(%S+)%s*$")
  if not scheme then return false end
  scheme = scheme:lower()
  if scheme == "basic" then
    return mime.unb64(value) == self.basic
  elseif scheme == "bearer" then
    return value == self.token
  end
  return false
end

--- Whether `path` belongs to the API (and so needs credentials).
function _M.is_api(path)
  return path == "/library" or path:sub(1, 9) == "/library/"
end

--- Answers one request with {status, headers, body}.
---@param req table parsed request from fake.http
---@return table response
function Api:handle(req)
  local path = req.path
  if not _M.is_api(path) then return self:error(404, "Not found") end
  if not self:authorized(req.headers.authorization) then
    return self:error(401, "Invalid credentials")
  end
  if req.method ~= "GET" then
    local res = self:error(405, "Method not allowed")
    res.headers = { { "Allow", "GET" } }
    return res
  end

  if path == "/library/folders" then
    local workspace = query_param(req.query, "workspaceId")
    if workspace == false then return self:error(400, "Malformed query string") end
    local list = self.folders
    if workspace then list = self.by_workspace[workspace] or "[]" end
    return ok(contract.body(self:request_id(), "folders", list))
  end

  local segment = path:match("^/library/folders/([^/]*)/calls$")
  if segment then
    local id = _M.unescape(segment)
    if not id then return self:error(400, "Malformed folder id") end
    local calls = self.calls[id]
    if not calls then return self:error(404, "Folder not found") end
    return ok(contract.body(self:request_id(), "calls", calls))
  end

  if path == "/library/folder-content" then
    local id = query_param(req.query, "folderId")
    if id == false then return self:error(400, "Malformed query string") end
    if not id then return self:error(400, "folderId is required") end
    local content = self.content[id]
    if not content then return self:error(404, "Folder not found") end
    return ok('{"requestId":"' .. self:request_id() .. '",' .. content)
  end

  return self:error(404, "Not found")
end

return _M
