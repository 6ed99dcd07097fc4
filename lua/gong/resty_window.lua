--- gong.resty_window: a tenant's rate window in nginx, for gong.resty: the
--- core's sliding window (core.rate_window), its state kept in a
--- `lua_shared_dict` that every worker of the nginx shares, or, without one,
--- in the worker's own memory. Each attempt takes its slot here, waiting
--- with ngx.sleep, so no thread of the pool waits for a slot.

local core = require "gong.core"

local setmetatable, tostring = setmetatable, tostring


local ngx = ngx

local _M = {
  --- The `lua_shared_dict` that holds the windows when the options name none.
  DEFAULT_DICT = "gong",
}

-- A worker's own store with a shared dict's methods, for a window no other
-- worker shares: one worker runs one Lua thread at a time, so no lock waits.
local Local = {}
Local.__index = Local

function Local:get(key) return self[key] end
function Local:set(key, value) self[key] = value return true end
function Local:add(key, value)
  if self[key] ~= nil then return false, "exists" end
  self[key] = value
  return true
end
function Local:delete(key) self[key] = nil end

-- Each worker's windows without a dict, by tenant.
local worker_store = setmetatable({}, Local)

-- Whether this worker said yet that it has no shared dict for the window.
local warned_no_dict = false

---@class gong.resty.Window
local Window = {}
local window_mt = { __index = Window }

--- The window of `tenant` at `rate` requests a second, kept in the shared
--- dict `name`: when it is missing, the worker's own (said once per worker
--- in the error log), or, when the options named it (`named`), a config
--- error. `name` false: the worker's own, said nothing.
---@param name string|false
---@param named boolean
---@param tenant string
---@param rate number
---@return gong.resty.Window|nil
---@return gong.Error|nil
function _M.open(name, named, tenant, rate)
  local dict = name and ngx.shared and ngx.shared[name]
  if name and not dict then
    if named then
      return nil, core.error("config", ("option 'shared_dict': no lua_shared_dict %s in the nginx configuration")
        :format(name), { option = "shared_dict" })
    end
    if not warned_no_dict then
      warned_no_dict = true
      ngx.log(ngx.WARN, "gong.resty: no lua_shared_dict ", name, ": each nginx worker limits only its own ",
              "requests to Gong; add `lua_shared_dict ", name, " 1m;` to the http block to share the limit")
    end
  end
  return setmetatable({ dict = dict or worker_store, name = dict and name or "of this worker",
                        key = "rate:" .. tenant, lock = "lock:" .. tenant, rate = rate }, window_mt)
end

--- Takes a start in the window, waiting here (ngx.sleep) until one is free:
--- true, or nil and a config error when the dict cannot hold the window.
--- The lock is an entry of its own, added atomically and expiring after 1 s,
--- so a worker that dies holding it cannot stop the others for longer.
--- `on_delay(seconds)` is told of each wait for a slot before it; one that
--- would end at `deadline` (ngx.now()'s clock) or later is not made: nil,
--- false and its seconds.
---@param deadline? number
---@param on_delay? fun(seconds: number)
---@return true|nil
---@return gong.Error|false|nil
---@return number|nil
function Window:take(deadline, on_delay)
  local dict = self.dict
  while true do
    local locked, why = dict:add(self.lock, true, 1)
    if locked then
      ngx.update_time()
      local delay, state = core.rate_window(dict:get(self.key), ngx.now(), self.rate)
      local stored, store_err = true, nil
      if delay == 0 then stored, store_err = dict:set(self.key, state, 120) end
      dict:delete(self.lock)
      if delay == nil then
        -- Not ours, or damaged: start the window afresh rather than stop every request.
        dict:delete(self.key)
      elseif not stored then
        return nil, core.error("config", ("lua_shared_dict %s cannot hold the rate window: %s")
          :format(self.name, tostring(store_err)))
      elseif delay == 0 then
        return true
      elseif deadline and ngx.now() + delay >= deadline then
        return nil, false, delay
      else
        if on_delay then on_delay(delay) end
        ngx.sleep(delay)
      end
    elseif why == "exists" then
      ngx.sleep(0.001)
    else
      return nil, core.error("config", ("lua_shared_dict %s: %s"):format(self.name, tostring(why)))
    end
  end
end

--- Tells the window that the request started at `started` (ngx.now()'s
--- clock) was answered 429, Retry-After `retry_after` seconds (nil: none):
--- the core lowers the window's rate and pauses every start it lets go
--- (core.rate_refused, rateadapt.c), for every worker that shares it.
--- Best effort: a lock it cannot take within a second leaves the window as it is.
---@param started number
---@param retry_after? number
function Window:refused(started, retry_after)
  local dict = self.dict
  for _ = 1, 1000 do
    local locked, why = dict:add(self.lock, true, 1)
    if locked then
      ngx.update_time()
      local state = core.rate_refused(dict:get(self.key), ngx.now(), self.rate, started, retry_after)
      if state then dict:set(self.key, state, 120) else dict:delete(self.key) end
      dict:delete(self.lock)
      return
    elseif why ~= "exists" then
      return
    end
    ngx.sleep(0.001)
  end
end

return _M
