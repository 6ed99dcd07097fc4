-- Stoplight Prism as a real server on loopback, serving Gong's own API
-- description (doc/gong-v2-openapi.json, prepared by tools/prism-spec.js):
-- `make deps-prism` installs it and the Makefile names it in GONG_PRISM and
-- GONG_PRISM_SPEC. Prism checks every request against the description and
-- answers one that does not conform with a 400 and an sl-violations header;
-- it also logs each violation, which violations() reads.

local socket = require "socket"
local process = require "spec.support.process"

local M = {}

local Prism = {}
Prism.__index = Prism

-- True once something accepts connections on `port`.
local function listening(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

--- Starts Prism in static mock mode and waits until it listens (it reads
--- the whole description first: a few seconds). Raises when it cannot.
---@return table prism {url, pid, log, stop, violations}
function M.start()
  local bin, spec = os.getenv("GONG_PRISM"), os.getenv("GONG_PRISM_SPEC")
  assert(bin and spec, "GONG_PRISM and GONG_PRISM_SPEC are unset: run the specs with make (make deps-prism)")
  assert(process.read_file(bin) and process.read_file(spec), "Prism is not installed: run make deps-prism")
  local port, log = process.free_port(), os.tmpname()
  -- sh prints its pid, then becomes Prism, which keeps it, writing to the log.
  local p = assert(io.popen("sh -c 'echo $$; exec \"$@\" >" .. log .. " 2>&1 </dev/null' sh "
    .. process.quote(bin) .. " mock -h 127.0.0.1 -p " .. port .. " " .. process.quote(spec) .. " &", "r"))
  local pid = assert(tonumber(p:read("*l")), "Prism did not start")
  p:close()
  local self = setmetatable({ url = "http://127.0.0.1:" .. port .. "/v2", pid = pid, log = log, seen = 0 }, Prism)
  for _ = 1, 600 do
    if listening(port) then return self end
    if process.exited(pid) then break end
    socket.sleep(0.1)
  end
  local output = process.read_file(log) or ""
  self:stop()
  error("Prism did not listen on port " .. port .. ":\n" .. output:sub(-2000))
end

--- The request violations Prism logged since the last call: one line each.
---@return string[]
function Prism:violations()
  local text = process.read_file(self.log) or ""
  local found = {}
  for line in text:sub(self.seen + 1):gmatch("[^\n]+") do
    if line:find("Violation: request", 1, true) then found[#found + 1] = line end
  end
  self.seen = #text
  return found
end

--- How many requests Prism received since the last call.
---@return integer
function Prism:requests()
  local text = process.read_file(self.log) or ""
  local _, n = text:sub((self.counted or 0) + 1):gsub("Request received", "")
  self.counted = #text
  return n
end

--- Stops Prism and removes its log.
function Prism:stop()
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  for _ = 1, 50 do
    if process.exited(self.pid) then break end
    socket.sleep(0.1)
  end
  if not process.exited(self.pid) then os.execute("kill -9 " .. self.pid .. " 2>/dev/null") end
  os.remove(self.log)
end

return M
