--- gong.resty_worker: the half of `gong.resty` that runs on nginx's worker threads.
--
-- `ngx.run_worker_thread` calls these functions in a Lua VM of its own (one
-- of `lua_worker_thread_vm_pool_size` per nginx worker, each running one task
-- at a time and reused for later tasks), so the blocking C core can wait for
-- Gong there while the nginx event loop goes on.
--
-- Only nil, booleans, numbers, strings and tables (copied, without their
-- metatables) cross between the VMs, so every function here takes the
-- options as a plain table and returns a status word plus plain values:
--
--   "ok", list, requestId       the request succeeded
--   "fail", fields              it failed: the error object's fields
--   "raise", fields|message     the core raised (a programmer mistake)
--
-- The nginx side (gong.resty) turns the fields back into a gong error.
-- Not meant to be required by applications.

local gong = require "gong"

local pairs, pcall, type = pairs, pcall, type

local _M = { _VERSION = gong._VERSION }

-- Clients are cached per VM by their options key, so one VM keeps its
-- connection (and TLS session) to Gong from one task to the next. A VM
-- serves one task at a time, so the cache needs no lock. Few distinct option
-- sets are expected (one per credential); past this many the least recently
-- used client is closed.
local MAX_CLIENTS = 8

local clients = {} -- key -> { client = gong.Client, used = tick }
local count, tick = 0, 0

local function evict_least_recent()
  local oldest_key, oldest
  for key, entry in pairs(clients) do
    if oldest == nil or entry.used < oldest.used then oldest_key, oldest = key, entry end
  end
  clients[oldest_key] = nil
  count = count - 1
  oldest.client:close()
end

-- The cached client for `key`, created from `opts` on first use.
local function client_for(key, opts)
  tick = tick + 1
  local entry = clients[key]
  if entry == nil then
    if count >= MAX_CLIENTS then evict_least_recent() end
    entry = { client = gong.new(opts) }
    clients[key] = entry
    count = count + 1
  end
  entry.used = tick
  return entry.client
end

-- An error object's fields as a plain table (the metatable would not cross).
local function fields(err)
  local t = {}
  for k, v in pairs(err) do t[k] = v end
  return t
end

local function call(method, key, opts, arg)
  local client = client_for(key, opts)
  return client[method](client, arg)
end

local function run(method, key, opts, arg)
  local ok, list, second = pcall(call, method, key, opts, arg)
  if not ok then
    if gong.is_error(list) then return "raise", fields(list) end
    return "raise", type(list) == "string" and list or "gong.resty_worker: " .. type(list) .. " raised"
  end
  if list == nil then return "fail", fields(second) end
  return "ok", list, second
end

--- `client:folders(params)` on the cached client for `key`.
---@param key string the options' cache key, from gong.resty
---@param opts gong.Options
---@param params? { workspaceId?: string }
---@return string status "ok", "fail" or "raise"
---@return table|string|nil list_or_fields
---@return string|nil requestId
function _M.folders(key, opts, params)
  return run("folders", key, opts, params)
end

--- `client:calls(folderId)` on the cached client for `key`.
---@param key string
---@param opts gong.Options
---@param folderId string
---@return string status "ok", "fail" or "raise"
---@return table|string|nil list_or_fields
---@return string|nil requestId
function _M.calls(key, opts, folderId)
  return run("calls", key, opts, folderId)
end

return _M
