-- nginx with gong.resty, for the specs: a real nginx (Debian's nginx-light +
-- libnginx-mod-http-lua) on its own prefix and loopback port, configured by
-- spec/resty/nginx.conf (the example doc/openresty.md shows, with paths filled
-- in) plus the locations only the specs use. nginx runs gong on LuaJIT, so it
-- needs `make LUA=luajit`.

local socket = require "socket"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local shell_quote, capture, read_file = process.quote, process.capture, process.read_file

local _M = {}

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- nginx gets absolute paths: it runs from its own prefix.
local ROOT = fake.root
if ROOT:sub(1, 1) ~= "/" then ROOT = capture("pwd"):gsub("\n$", "") .. (ROOT == "." and "" or "/" .. ROOT) end

local TEMPLATE = ROOT .. "/spec/resty/nginx.conf"
_M.TEMPLATE = TEMPLATE
_M.ROOT = ROOT
local NGINX = "/usr/sbin/nginx"
local MODULES = "/usr/lib/nginx/modules"
local CORE = ROOT .. "/build/luajit/gong/core.so"

-- Fills every @NAME@ of `template` from `values`; each must be used and known.
function _M.render(template, values)
  local used = {}
  local text = template:gsub("@([%u_]+)@", function(name)
    assert(values[name], "no value for @" .. name .. "@ in the template")
    used[name] = true
    return values[name]
  end)
  for name in pairs(values) do assert(used[name], "@" .. name .. "@ is not in the template") end
  return text
end

-- Locations only the spec uses, added next to the example's.
local SPEC_LOCATIONS = [[
    location = /spec/blocking-tree {
      content_by_lua_block {
        local t, err = require("gong").new():tree()
        ngx.say(t and t.count or tostring(err))
      }
    }

    location = /spec/matrix {
      content_by_lua_block {
        local matrix = assert(loadfile("@ROOT@/spec/support/matrix.lua"))()
        local data = require("cjson").decode(ngx.unescape_uri(ngx.var.arg_data))
        local client = require("gong.resty").new({ rate = false })
        ngx.say(require("cjson").encode(matrix.run(client, matrix.direct, data)))
      }
    }

    location = /spec/checks {
      content_by_lua_block {
        local checks = assert(loadfile("@ROOT@/spec/resty/checks.lua"))
        ngx.say(require("cjson").encode(checks()))
      }
    }

    location = /spec/page {
      content_by_lua_block {
        local calls, err = require("gong.resty").new():calls(ngx.var.arg_folder)
        ngx.say(ngx.worker.pid(), " ", calls and #calls or tostring(err))
      }
    }

    # Errors raised into nginx, uncaught (as ngx.var.arg_case says) or caught.
    location = /spec/raise {
      content_by_lua_block {
        local client = require("gong.resty").new({ rate = false })
        local case = ngx.var.arg_case
        if case == "argument" then
          client:calls(42)
        elseif case == "iterator" then
          for _ in client:each_call("no-such-folder") do end
        elseif case == "thread" then
          ngx.thread.wait(ngx.thread.spawn(function() client:calls(42) end))
          ngx.say("waited")
        elseif case == "caught" then
          local ok, err = pcall(client.calls, client, 42)
          ngx.say(tostring(ok), " ", type(err), " ", tostring(err.kind))
        end
      }
    }

    location = /spec/waits {
      content_by_lua_block {
        local heard = {}
        local client = require("gong.resty").new({ deadline = tonumber(ngx.var.arg_deadline), rate = false,
                                                    backoff_base = 0.05, on_wait = function(info)
          heard[#heard + 1] = info
        end })
        ngx.update_time()
        local started = ngx.now()
        local calls, err = client:calls(ngx.var.arg_folder)
        ngx.update_time()
        ngx.say(require("cjson").encode({ heard = heard, count = calls and #calls, seconds = ngx.now() - started,
          err = err and { kind = err.kind, timeout = err.timeout, message = err.message } }))
      }
    }

    location = /spec/header-filter {
      content_by_lua_block { ngx.say("body") }
      header_filter_by_lua_block {
        local ok, err = pcall(require("gong.resty").folders)
        ngx.header["X-Outcome"] = tostring(ok) .. " " .. (type(err) == "table"
          and tostring(err.kind) .. " " .. tostring(err.message) or type(err) .. " " .. tostring(err))
      }
    }

]]

local function missing_prerequisites()
  local missing = {}
  if not read_file(NGINX) then missing[#missing + 1] = NGINX end
  for _, so in ipairs { "ndk_http_module.so", "ngx_http_lua_module.so" } do
    if not read_file(MODULES .. "/" .. so) then missing[#missing + 1] = MODULES .. "/" .. so end
  end
  if #missing > 0 then
    return "missing " .. table.concat(missing, ", ") ..
      ": run tools/deps.sh nginx-light libnginx-mod-http-lua libluajit2-5.1-dev"
  end
  if not read_file(CORE) then return "missing " .. CORE .. ": run make LUA=luajit" end
end

local function process_gone(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  return stat == nil or stat:match("%) (%a)") == "Z"
end

local function wait_gone(pid, seconds)
  local deadline = socket.gettime() + seconds
  while not process_gone(pid) do
    if socket.gettime() > deadline then return false end
    socket.sleep(0.02)
  end
  return true
end

local Nginx = {}
Nginx.__index = Nginx

--- Stops nginx (TERM, then KILL) and removes its prefix. Safe to call twice.
function Nginx:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid and not process_gone(self.pid) then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    if not wait_gone(self.pid, 5) then
      os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
      wait_gone(self.pid, 2)
    end
  end
  os.execute("rm -rf " .. shell_quote(self.prefix))
end

--- nginx's error log so far.
function Nginx:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

--- Starts nginx on a free loopback port with `env` as its only GONG_*
--- variables and waits until it accepts connections. `opts.workers` (1 by
--- default: one process, no master) starts a master and that many workers,
--- `opts.reuseport` has the kernel spread connections over them, and
--- `opts.no_dict` leaves the shared dict of the rate window out, and
--- `opts.as_me` runs the workers as this user even when it is root.
function _M.start(env, opts)
  opts = opts or {}
  local problem = missing_prerequisites()
  if problem then error(problem, 2) end
  local prefix = capture("mktemp -d /tmp/gong-resty-XXXXXX"):gsub("\n$", "")
  assert(prefix:match("^/tmp/gong%-resty%-"), "mktemp failed")
  os.execute("mkdir -p " .. shell_quote(prefix .. "/logs") .. " " .. shell_quote(prefix .. "/tmp") ..
             " " .. shell_quote(prefix .. "/conf"))
  local port = process.free_port()
  local conf = _M.render(read_file(TEMPLATE), {
    WORKERS = tostring(opts.workers or 1),
    LUA_DIR = ROOT .. "/lua",
    LIB_DIR = ROOT .. "/build/luajit",
    LISTEN = "127.0.0.1:" .. port .. (opts.reuseport and " reuseport" or ""),
  })
  local n
  if opts.no_dict then
    conf, n = conf:gsub("\n  lua_shared_dict gong 1m;\n", "\n")
    assert(n == 1, "the template has no lua_shared_dict gong to leave out")
  end
  conf, n = conf:gsub("\n(    location = /ping {)",
                      function(ping) return "\n" .. SPEC_LOCATIONS:gsub("@ROOT@", ROOT) .. ping end)
  assert(n == 1, "the template has no /ping location to add the spec's locations next to")
  if opts.as_me and capture("id -u") == "0\n" then
    -- A root master runs its workers as nobody: files made for this user would be another's to them.
    conf = "user root;\n" .. conf
  end
  write_file(prefix .. "/conf/nginx.conf", conf)

  local words = { "env", "-u", "GONG_BASE_URL", "-u", "GONG_ACCESS_KEY", "-u", "GONG_ACCESS_KEY_SECRET",
                  "-u", "GONG_TOKEN", "-u", "GONG_OAUTH_STORE", "-u", "GONG_CLIENT_ID", "-u", "GONG_CLIENT_SECRET",
                  "-u", "GONG_OAUTH_TOKEN_URL" }
  for k, v in pairs(env) do words[#words + 1] = k .. "=" .. v end
  for _, w in ipairs { NGINX, "-p", prefix .. "/", "-c", "conf/nginx.conf", "-e", "logs/error.log",
                       "-g", opts.workers and "daemon off;" or "daemon off; master_process off;" } do
    words[#words + 1] = w
  end
  for i, w in ipairs(words) do words[i] = shell_quote(w) end
  local pid = tonumber(capture(table.concat(words, " ") .. " >" .. shell_quote(prefix .. "/logs/stdout") ..
                               " 2>&1 </dev/null & echo $!"))
  local self = setmetatable({ prefix = prefix, port = port, pid = pid, stopped = false }, Nginx)

  local deadline = socket.gettime() + 10
  while true do
    local c = socket.connect("127.0.0.1", port)
    if c then
      c:close()
      return self
    end
    if not pid or process_gone(pid) or socket.gettime() > deadline then
      local log = self:error_log() .. (read_file(prefix .. "/logs/stdout") or "")
      self:stop()
      error("nginx did not start:\n" .. log, 2)
    end
    socket.sleep(0.02)
  end
end

-- Sends `GET path` (HTTP/1.0: no chunking, closed at the end) and returns the socket.
-- The timeout only ends a hang: a page of many requests at Gong's 3/s, on a
-- machine running other specs beside, may take longer than 10 s.
function _M.send(port, path)
  local c = assert(socket.connect("127.0.0.1", port))
  c:settimeout(60)
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  return c
end

-- Reads the whole response: status, headers (lower-case names), body.
function _M.receive(c)
  local data, err, partial = c:receive("*a")
  c:close()
  data = data or partial
  assert(data and data ~= "", "no response: " .. tostring(err))
  local head, body = data:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/1%.%d (%d+)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do headers[name:lower()] = value end
  return status, headers, body
end

function _M.get(port, path)
  return _M.receive(_M.send(port, path))
end


return _M
