-- HTTP/1.1 on one non-blocking connection: reading and parsing requests,
-- writing response heads and bodies. Waiting is delegated to fake.loop so a
-- slow peer only ever suspends its own coroutine.

local socket = require "socket"

local gettime = socket.gettime
local concat, lower, format = table.concat, string.lower, string.format
local tonumber, setmetatable, ipairs = tonumber, setmetatable, ipairs

local _M = {}

-- Limits that keep a broken or hostile client from growing the buffer.
local MAX_HEAD = 64 * 1024
local MAX_BODY = 1024 * 1024
-- Seconds a half-sent request head or body may take before we give up.
local READ_TIMEOUT = 30
-- Seconds a closing connection is drained so the peer reads our last
-- response before it sees the close (closing with unread input sends RST).
local LINGER = 1

local REASONS = {
  [200] = "OK", [201] = "Created", [204] = "No Content",
  [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
  [304] = "Not Modified", [307] = "Temporary Redirect", [308] = "Permanent Redirect",
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [413] = "Payload Too Large", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

--- Reason phrase for a status code ("Unknown" for exotic ones).
---@param status integer
---@return string
function _M.reason(status)
  return REASONS[status] or "Unknown"
end

local Conn = {}
Conn.__index = Conn

--- Wraps an accepted client socket.
---@param sock table LuaSocket tcp client
---@param loop table fake.loop instance
---@return table conn
function _M.connection(sock, loop)
  sock:settimeout(0)
  -- Heads and bodies go out in one send, but trickled or partial writes
  -- must not sit in Nagle's buffer.
  sock:setoption("tcp-nodelay", true)
  return setmetatable({ sock = sock, loop = loop, buf = "", closed = false }, Conn)
end

-- Appends whatever the socket has to the buffer, waiting up to `timeout`
-- seconds for something to arrive. Returns true, or nil and "closed",
-- "timeout" or a socket error.
function Conn:fill(timeout)
  while true do
    local data, err, partial = self.sock:receive(16384)
    local chunk = data or partial
    if chunk and chunk ~= "" then
      self.buf = self.buf .. chunk
      return true
    end
    if err ~= "timeout" then return nil, err or "closed" end
    if not self.loop:wait_read(self.sock, timeout) then return nil, "timeout" end
  end
end

local function has_token(value, token)
  if not value then return false end
  for item in value:gmatch("[^,]+") do
    if lower(item):match("^%s*(.-)%s*$") == token then return true end
  end
  return false
end

-- RFC 9110 token characters, for methods and header names.
local TOKEN = "^[%w!#$%%&'*+%-.^_`|~]+$"

-- Parses a complete request head. Returns the request or nil on bad syntax.
local function parse_head(head)
  local lines = {}
  for line in (head .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target, major, minor = lines[1]:match("^(%S+) (%S+) HTTP/(%d)%.(%d)$")
  if not method or not method:match(TOKEN) or major ~= "1" then return nil end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match("^([^:]+):[ \t]*(.-)[ \t]*$")
    -- Obsolete line folding and names with spaces are rejected, as RFC 9112 allows.
    if not name or not name:match(TOKEN) then return nil end
    name = lower(name)
    local previous = headers[name]
    headers[name] = previous and (previous .. ", " .. value) or value
  end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local keepalive
  if minor == "0" then
    keepalive = has_token(headers.connection, "keep-alive")
  else
    keepalive = not has_token(headers.connection, "close")
  end
  return {
    method = method, target = target, path = path, query = query,
    version = major .. "." .. minor, headers = headers, keepalive = keepalive,
  }
end

--- Reads the next request. Waits up to `idle_timeout` seconds for it to
--- begin. Returns the request table ({method, target, path, query, version,
--- headers, body, keepalive}) or nil and "closed", "timeout" or "bad request".
---@param idle_timeout number|nil
---@return table|nil request
---@return string|nil err
function Conn:read_request(idle_timeout)
  local head_end, body_start
  while true do
    -- RFC 9112 asks servers to ignore empty lines before a request line.
    self.buf = self.buf:gsub("^[\r\n]+", "")
    head_end, body_start = self.buf:find("\r?\n\r?\n")
    if head_end then break end
    if #self.buf > MAX_HEAD then return nil, "bad request" end
    local waiting = self.buf == ""
    local ok, err = self:fill(waiting and idle_timeout or READ_TIMEOUT)
    if not ok then
      if waiting then return nil, err end
      return nil, err == "timeout" and "timeout" or "bad request"
    end
  end
  if head_end > MAX_HEAD then return nil, "bad request" end
  local req = parse_head(self.buf:sub(1, head_end - 1))
  self.buf = self.buf:sub(body_start + 1)
  if not req then return nil, "bad request" end
  -- Bodies (control and /calls POSTs) come with Content-Length, never chunked.
  if req.headers["transfer-encoding"] then return nil, "bad request" end
  local length = req.headers["content-length"]
  if length then
    if not length:match("^%d+$") then return nil, "bad request" end
    length = tonumber(length)
    if length > MAX_BODY then return nil, "bad request" end
    -- curl holds back bodies over 1 KiB until told to go on.
    if #self.buf < length and lower(req.headers.expect or "") == "100-continue" then
      self:send("HTTP/1.1 100 Continue\r\n\r\n")
    end
    while #self.buf < length do
      local ok, err = self:fill(READ_TIMEOUT)
      if not ok then return nil, err == "timeout" and "timeout" or "bad request" end
    end
    req.body = self.buf:sub(1, length)
    self.buf = self.buf:sub(length + 1)
  else
    req.body = ""
  end
  return req
end

--- Sends all of `data`, waiting for buffer space as needed.
---@return true|nil ok
---@return string|nil err
function Conn:send(data)
  local sock, i, n = self.sock, 1, #data
  while i <= n do
    local last, err, partial = sock:send(data, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = partial + 1
      if i <= n then self.loop:wait_write(sock) end
    else
      return nil, err
    end
  end
  return true
end

local function has_header(headers, name)
  for _, pair in ipairs(headers) do
    if lower(pair[1]) == name then return true end
  end
  return false
end

--- Builds a response head. `res` is {status, headers = {{name, value}...}};
--- `opts.length` adds Content-Length, `opts.chunked` Transfer-Encoding, and
--- `opts.close` / `opts.req` decide the Connection header. Headers the
--- response already carries (e.g. from a fault) are not duplicated.
---@return string
function _M.head(res, opts)
  local headers = res.headers or {}
  local out = { format("HTTP/1.1 %d %s\r\n", res.status, _M.reason(res.status)) }
  for _, pair in ipairs(headers) do
    out[#out + 1] = pair[1] .. ": " .. pair[2] .. "\r\n"
  end
  if not has_header(headers, "content-type") then
    out[#out + 1] = "Content-Type: application/json; charset=utf-8\r\n"
  end
  if opts.chunked then
    out[#out + 1] = "Transfer-Encoding: chunked\r\n"
  elseif opts.length and not has_header(headers, "content-length") then
    out[#out + 1] = "Content-Length: " .. format("%d", opts.length) .. "\r\n"
  end
  if opts.close then
    out[#out + 1] = "Connection: close\r\n"
  elseif opts.req and opts.req.version == "1.0" then
    out[#out + 1] = "Connection: keep-alive\r\n"
  end
  out[#out + 1] = "\r\n"
  return concat(out)
end

--- Whether the connection may serve another request after `res`.
function _M.keepalive(req, res)
  return req ~= nil and req.keepalive and not res.close
end

--- Sends a complete response (no body for HEAD). Returns whether the
--- connection may be kept for another request.
---@return boolean keep
function Conn:respond(req, res)
  local keep = _M.keepalive(req, res)
  self.status = res.status
  local head = _M.head(res, { length = #res.body, close = not keep, req = req })
  local ok = self:send((req and req.method == "HEAD") and head or head .. res.body)
  return ok and keep or false
end

--- Waits until the peer closes or `seconds` pass, discarding its input.
function Conn:wait_closed(seconds)
  local deadline = gettime() + seconds
  while true do
    local left = deadline - gettime()
    if left <= 0 then return end
    local ok, err = self:fill(left)
    if not ok and err ~= "timeout" then return end
    self.buf = ""
  end
end

--- Closes politely: stop sending, drain briefly, close. Idempotent.
function Conn:close()
  if self.closed then return end
  self.closed = true
  self.sock:shutdown("send")
  self:wait_closed(LINGER)
  self.sock:close()
end

--- Aborts with a TCP RST (SO_LINGER 0) instead of an orderly FIN. Idempotent.
function Conn:abort()
  if self.closed then return end
  self.closed = true
  self.sock:setoption("linger", { on = true, timeout = 0 })
  self.sock:close()
end

return _M
