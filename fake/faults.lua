-- Injected faults: validation of what the control API receives, the FIFO
-- queue that matches them to requests, and the misbehaving ways of
-- answering that the client's error handling is tested against.

local http = require "fake.http"

local format, floor, concat = string.format, math.floor, table.concat
local type, pairs, ipairs, setmetatable, tostring = type, pairs, ipairs, setmetatable, tostring
local sort, remove, min = table.sort, table.remove, math.min

local _M = {}

local ACTIONS = {
  reset = true, short = true, stall = true, trickle = true,
  close = true, huge = true, redirect = true, chunked = true,
}

--- Messages of the default (contract-shaped) error body of a canned status
--- (the rate limit's 429 too).
local MESSAGES = {
  [400] = "Bad request", [401] = "Invalid credentials", [403] = "Forbidden",
  [404] = "Not found", [429] = "API rate limit exceeded",
  [500] = "Internal server error", [502] = "Bad gateway",
  [503] = "Service unavailable", [504] = "Gateway timeout",
}

_M.MESSAGES = MESSAGES

local DEFAULTS = { seconds = 3600, rate = 10, bytes = 64 * 1024 * 1024, chunk = 1024 }

local function is_integer(v) return type(v) == "number" and v == floor(v) end

-- field -> check(value) returning an error message or nil.
local CHECKS = {
  name = function(v) if type(v) ~= "string" then return "must be a string" end end,
  path = function(v) if type(v) ~= "string" then return "must be a string" end end,
  body = function(v) if type(v) ~= "string" then return "must be a string" end end,
  location = function(v) if type(v) ~= "string" then return "must be a string" end end,
  action = function(v) if not ACTIONS[v] then return "is not a known action" end end,
  times = function(v)
    if not is_integer(v) or (v < 1 and v ~= -1) then return "must be a positive integer or -1" end
  end,
  status = function(v)
    if not is_integer(v) or v < 100 or v > 599 then return "must be an integer in 100..599" end
  end,
  delay = function(v) if type(v) ~= "number" or v < 0 then return "must be a number >= 0" end end,
  seconds = function(v) if type(v) ~= "number" or v < 0 then return "must be a number >= 0" end end,
  rate = function(v) if type(v) ~= "number" or v <= 0 then return "must be a number > 0" end end,
  bytes = function(v) if not is_integer(v) or v < 0 then return "must be an integer >= 0" end end,
  chunk = function(v) if not is_integer(v) or v < 1 then return "must be an integer >= 1" end end,
  headers = function(v)
    if type(v) ~= "table" then return "must be an object" end
    for k, value in pairs(v) do
      if type(k) ~= "string" or (type(value) ~= "string" and type(value) ~= "number") then
        return "must map names to strings"
      end
    end
  end,
}

--- Validates one decoded fault and fills in its defaults. `null` marks a
--- value as absent. Returns the fault, or nil and a message.
---@param raw table decoded JSON object
---@param null any the decoder's null sentinel
---@return table|nil fault
---@return string|nil err
function _M.check(raw, null)
  if type(raw) ~= "table" then return nil, "a fault must be an object" end
  local f = {}
  for key, value in pairs(raw) do
    local check = CHECKS[key]
    if not check then return nil, "unknown fault field '" .. tostring(key) .. "'" end
    if value ~= null then
      local err = check(value)
      if err then return nil, "fault field '" .. key .. "' " .. err end
      f[key] = value
    end
  end
  -- Decoders may hand integers over as floats; normalise for printing.
  for _, key in ipairs { "times", "status", "bytes", "chunk" } do
    if f[key] then f[key] = floor(f[key]) end
  end
  if f.headers then
    local list = {}
    for k, v in pairs(f.headers) do
      list[#list + 1] = { k, type(v) == "number" and format("%.14g", v) or v }
    end
    sort(list, function(a, b) return a[1] < b[1] end)
    f.headers = list
  end
  -- Without a path a fault meets the next request, whatever its route or flavour.
  f.path = f.path or "/"
  f.times = f.times or 1
  f.name = f.name or f.action or (f.status and format("%d", f.status))
    or (f.delay and "delay") or "headers"
  return f
end

local Queue = {}
Queue.__index = Queue

--- An empty fault queue.
function _M.queue()
  return setmetatable({ items = {} }, Queue)
end

function Queue:push(fault)
  self.items[#self.items + 1] = fault
end

function Queue:clear()
  self.items = {}
end

--- Takes the first queued fault whose path is a prefix of `path` (decoded),
--- consuming one of its uses. Returns nil when none matches.
function Queue:take(path)
  for i, f in ipairs(self.items) do
    if path:sub(1, #f.path) == f.path then
      if f.times > 0 then
        f.times = f.times - 1
        if f.times == 0 then remove(self.items, i) end
      end
      return f
    end
  end
  return nil
end

local function with_headers(res, headers)
  if not headers then return res end
  local merged = {}
  for _, pair in ipairs(res.headers or {}) do merged[#merged + 1] = pair end
  for _, pair in ipairs(headers) do merged[#merged + 1] = pair end
  res.headers = merged
  return res
end

-- Sends the head and the first half of the body; returns whether it got out.
local function send_half(conn, res)
  local head = http.head(res, { length = #res.body })
  return conn:send(head .. res.body:sub(1, floor(#res.body / 2)))
end

local function send_chunked(conn, req, res, size)
  local keep = http.keepalive(req, res)
  local out = { http.head(res, { chunked = true, close = not keep, req = req }) }
  local body = res.body
  for i = 1, #body, size do
    local piece = body:sub(i, i + size - 1)
    out[#out + 1] = format("%x\r\n", #piece) .. piece .. "\r\n"
  end
  out[#out + 1] = "0\r\n\r\n"
  return conn:send(concat(out)) and keep or false
end

local function send_trickle(conn, loop, req, res, rate)
  local keep = http.keepalive(req, res)
  if not conn:send(http.head(res, { length = #res.body, close = not keep, req = req })) then
    return false
  end
  -- Ten writes a second (or one byte per write when slower) keeps the
  -- average rate without a burst at the start of each second.
  local piece = floor(rate / 10)
  if piece < 1 then piece = 1 end
  local body = res.body
  for i = 1, #body, piece do
    if i > 1 then loop:sleep(piece / rate) end
    if not conn:send(body:sub(i, i + piece - 1)) then return false end
  end
  return keep
end

-- A 200 whose body of exactly `bytes` bytes is valid JSON when it is long
-- enough, produced in chunks so memory stays flat however big it is.
local function send_huge(conn, api, req, bytes)
  local res = { status = 200 }
  local keep = http.keepalive(req, res)
  if not conn:send(http.head(res, { length = bytes, close = not keep, req = req })) then
    return false
  end
  local prefix = '{"requestId":"' .. api:request_id() .. '","folders":[],"padding":"'
  local suffix = '"}'
  local fill = bytes - #prefix - #suffix
  if fill < 0 then
    prefix, suffix, fill = "", "", bytes
  end
  if not conn:send(prefix) then return false end
  local block = ("x"):rep(65536)
  while fill > 0 do
    local n = min(fill, #block)
    if not conn:send(n == #block and block or block:sub(1, n)) then return false end
    fill = fill - n
  end
  return conn:send(suffix) and keep or false
end

--- Answers `req` on `conn` as `fault` says. `ctx` is {conn, req, loop, api};
--- deliver sets `ctx.status` to the status of the head it sends (none for
--- `close`). Returns whether the connection may serve another request.
---@return boolean keep
function _M.deliver(fault, ctx)
  local conn, req, loop, api = ctx.conn, ctx.req, ctx.loop, ctx.api
  if fault.delay then loop:sleep(fault.delay) end
  local action = fault.action
  conn.status = action or fault.status

  if action == "close" then return false end
  if action == "huge" then
    ctx.status = 200
    return send_huge(conn, api, req, fault.bytes or DEFAULTS.bytes)
  end

  local res
  if action == "redirect" then
    local status = fault.status or 302
    res = { status = status, headers = { { "Location", fault.location or "/library/folders" } },
            body = fault.body or api:error(status, http.reason(status)).body }
  elseif fault.status or fault.body then
    local status = fault.status or 200
    res = { status = status,
            body = fault.body or api:error(status, MESSAGES[status] or http.reason(status)).body }
  else
    res = api:handle(req)
  end
  res = with_headers(res, fault.headers)
  ctx.status = res.status

  if not action or action == "redirect" then
    return conn:respond(req, res)
  elseif action == "chunked" then
    return send_chunked(conn, req, res, fault.chunk or DEFAULTS.chunk)
  elseif action == "trickle" then
    return send_trickle(conn, loop, req, res, fault.rate or DEFAULTS.rate)
  elseif action == "short" then
    send_half(conn, res)
    return false
  elseif action == "reset" then
    if send_half(conn, res) then
      -- Give the peer a moment to read the partial response so it sees the
      -- reset mid-body rather than in place of the head.
      loop:sleep(0.05)
    end
    conn:abort()
    return false
  elseif action == "stall" then
    if send_half(conn, res) then conn:wait_closed(fault.seconds or DEFAULTS.seconds) end
    return false
  end
  error("unhandled fault action " .. tostring(action))
end

return _M
