-- The /__fake/ control API (no auth): what the server recorded, fault
-- injection, scenario settings, OAuth codes and the refresh log, reset and
-- shutdown. Also owns the request records.

local socket = require "socket"
local cjson = require "cjson.safe"
local json = require "fake.json"
local faults = require "fake.faults"

local gettime = socket.gettime
local setmetatable, pairs, ipairs, next, type = setmetatable, pairs, ipairs, next, type
local sort, concat = table.sort, table.concat

local _M = {}

local Records = {}
Records.__index = Records

--- A bounded request log: past `max` entries the oldest are dropped, so a
--- long benchmark cannot grow the server without limit.
---@param max integer
function _M.records(max)
  return setmetatable({ first = 1, last = 0, items = {}, max = max }, Records)
end

function Records:push(record)
  local last = self.last + 1
  self.items[last] = record
  self.last = last
  if last - self.first + 1 > self.max then
    self.items[self.first] = nil
    self.first = self.first + 1
  end
end

function Records:list()
  local out = {}
  for i = self.first, self.last do out[#out + 1] = self.items[i] end
  return out
end

function Records:clear()
  self.items, self.first, self.last = {}, 1, 0
end

--- The record of one API request as /__fake/requests reports it.
---@param req table parsed request
---@param fault table|nil the fault applied to it
---@param connection integer the connection it came on: 1 for the first one the server accepted, and so on
---@return table record whose `status` is null until the server sets it to the status it answered
function _M.record(req, fault, connection)
  local headers = json.object {}
  for name, value in pairs(req.headers) do headers[name] = value end
  return {
    method = req.method,
    target = req.target,
    path = req.path,
    query = req.query,
    headers = headers,
    body = req.body or "",
    time = req.time or gettime(),
    fault = fault and fault.name or json.null,
    connection = connection,
    status = json.null,
  }
end

local function reply(status, value)
  return { status = status, body = json.encode(value) }
end

local function failure(status, message)
  return reply(status, json.object { errors = { message } })
end

local OK = json.object { ok = true }

-- Decodes the body of POST /__fake/faults: one fault object or an array.
local function parse_faults(body)
  local decoded, err = cjson.decode(body)
  if decoded == nil then return nil, "body is not JSON: " .. (err or "?") end
  if type(decoded) ~= "table" then return nil, "body must be a JSON array of faults" end
  -- An object has string keys; anything else (including []) is an array.
  if #decoded == 0 and next(decoded) ~= nil then decoded = { decoded } end
  local list = {}
  for i, raw in ipairs(decoded) do
    local fault, problem = faults.check(raw, cjson.null)
    if not fault then return nil, "fault " .. i .. ": " .. problem end
    list[i] = fault
  end
  return list
end

-- Decodes the body of POST /__fake/settings, /calls and /transcripts: one JSON object.
local function parse_object(body)
  -- cjson decodes `[]` and `{}` alike, so look at the text itself.
  local decoded = body:match("^%s*{") and cjson.decode(body)
  if type(decoded) ~= "table" then return nil, "body must be a JSON object" end
  return decoded
end

-- Decodes the body of POST /__fake/oauth/code: {"redirect_uri": "..."}.
local function parse_code_request(body)
  local decoded = body:match("^%s*{") and cjson.decode(body)
  if type(decoded) ~= "table" then return nil, "body must be a JSON object" end
  if type(decoded.redirect_uri) ~= "string" then return nil, "redirect_uri must be a string" end
  return decoded.redirect_uri
end

local function settings_reply(app)
  local settings = json.object {}
  for key, value in pairs(app.api.settings) do settings[key] = value end
  return reply(200, settings)
end

-- path -> {[method] = run(app, req)}
local ROUTES = {
  ["/__fake/requests"] = { GET = function(app)
    return reply(200, app.records:list())
  end },
  ["/__fake/reset"] = { POST = function(app)
    app.records:clear()
    app.faults:clear()
    app.rate_window:clear()
    app.api:reset_settings()
    app.api:restore()
    app.api.oauth:reset()
    return reply(200, OK)
  end },
  ["/__fake/faults"] = { POST = function(app, req)
    local list, err = parse_faults(req.body)
    if not list then return failure(400, err) end
    for _, fault in ipairs(list) do app.faults:push(fault) end
    return reply(200, json.object { ok = true, queued = #app.faults.items })
  end },
  ["/__fake/settings"] = {
    GET = settings_reply,
    POST = function(app, req)
      local raw, err = parse_object(req.body)
      if raw then raw, err = app.api:configure(raw) end
      if not raw then return failure(400, err) end
      return settings_reply(app)
    end,
  },
  ["/__fake/calls"] = { POST = function(app, req)
    local raw, err = parse_object(req.body)
    local ids
    if raw then ids, err = app.api:add_calls(raw) end
    if not ids then return failure(400, err) end
    return reply(200, json.object { callIds = ids })
  end },
  ["/__fake/transcripts"] = { POST = function(app, req)
    local raw, err = parse_object(req.body)
    local ids
    if raw then ids, err = app.api:transcribe(raw) end
    if not ids then return failure(400, err) end
    return reply(200, json.object { callIds = ids })
  end },
  ["/__fake/oauth/code"] = { POST = function(app, req)
    local redirect_uri, err = parse_code_request(req.body)
    if not redirect_uri then return failure(400, err) end
    return reply(200, json.object { code = app.api.oauth:code(redirect_uri) })
  end },
  ["/__fake/oauth"] = { GET = function(app)
    return reply(200, app.api.oauth:log())
  end },
  ["/__fake/shutdown"] = { POST = function(app)
    app.shutting_down = true
    local res = reply(200, OK)
    res.close = true
    return res
  end },
}

local function allowed(route)
  local methods = {}
  for method in pairs(route) do methods[#methods + 1] = method end
  sort(methods)
  return concat(methods, ", ")
end

--- Answers a /__fake/ request. Returns whether the connection may be kept.
---@param app table server state {records, faults, api, loop}
---@param conn table fake.http connection
---@param req table parsed request
---@return boolean keep
function _M.handle(app, conn, req)
  local route = ROUTES[req.path]
  local res
  if not route then
    res = failure(404, "Not found")
  elseif not route[req.method] then
    res = failure(405, "Method not allowed")
    res.headers = { { "Allow", allowed(route) } }
  else
    res = route[req.method](app, req)
  end
  local keep = conn:respond(req, res)
  if app.shutting_down then app.loop:stop() end
  return keep
end

return _M
