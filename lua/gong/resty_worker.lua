--- gong.resty_worker: the half of `gong.resty` that runs on nginx's worker threads.
--
-- `ngx.run_worker_thread` calls `request` in a Lua VM of its own (one of
-- `lua_worker_thread_vm_pool_size` per nginx worker, each running one task
-- at a time and reused for later tasks), so the blocking C core can wait for
-- Gong there while the nginx event loop goes on. Only plain data crosses
-- between the VMs: the options come as a plain table and the answer goes
-- back in gong.wire's vocabulary, which gong.resty unpacks. Not meant to be
-- required by applications.

local gong = require "gong"
local wire = require "gong.wire"

local pairs = pairs

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

-- client:request(kind, ...) on the client for `key`: what a pcall of it gives.
local function request(key, opts, kind, ...)
  local client = client_for(key, opts)
  return client:request(kind, ...)
end

--- `client:request(kind, ...)` on the cached client for `key` (made from
--- `opts`): the outcome in gong.wire's vocabulary.
---@param key string the options' cache key, from gong.resty
---@param opts gong.Options
---@param kind string a kind of gong.core.KINDS
---@return string status
---@return any results_or_fields
function _M.request(key, opts, kind, ...)
  return wire.outcome(pcall(request, key, opts, kind, ...))
end

return _M
