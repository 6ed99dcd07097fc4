--- gong.resty_worker: the half of `gong.resty` that runs on nginx's worker threads.
--
-- `ngx.run_worker_thread` calls these functions in a Lua VM of its own (one
-- of `lua_worker_thread_vm_pool_size` per nginx worker, each running one task
-- at a time and reused for later tasks), so the blocking C core can wait for
-- Gong there while the nginx event loop goes on. Only plain data crosses
-- between the VMs, so each function takes the options as a plain table and
-- answers in gong.wire's vocabulary ("ok" / "fail" / "raise"), which
-- gong.resty unpacks. Not meant to be required by applications.

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

local function folders(key, opts, params)
  local client = client_for(key, opts)
  return client:folders(params)
end

local function calls(key, opts, folder_id)
  local client = client_for(key, opts)
  return client:calls(folder_id)
end

-- The batch with the request ids kept beside the results: results[i] holds
-- only the calls, and on_result, which reports the requestId, runs on the
-- nginx side once the batch is back.
local function calls_batch(key, opts, ids, batch_opts)
  local client = client_for(key, opts)
  local request_ids = {}
  batch_opts = batch_opts or {}
  if batch_opts.on_result == nil then
    batch_opts.on_result = function(i, list, request_id)
      if list then request_ids[i] = request_id end
    end
  end
  local results, err = client:calls_batch(ids, batch_opts)
  if results == nil then return nil, err end
  return results, request_ids
end

local function workspaces(key, opts)
  local client = client_for(key, opts)
  return client:workspaces()
end

local function call_details(key, opts, ids, calls_opts)
  local client = client_for(key, opts)
  return client:call_details(ids, calls_opts)
end

local function transcripts(key, opts, ids, calls_opts)
  local client = client_for(key, opts)
  return client:transcripts(ids, calls_opts)
end

--- `client:workspaces()` on the cached client for `key`, as a wire outcome.
---@param key string
---@param opts gong.Options
function _M.workspaces(key, opts)
  return wire.run(workspaces, key, opts)
end

--- `client:call_details(ids, calls_opts)` on the cached client for `key`, as a wire outcome.
---@param key string
---@param opts gong.Options
---@param ids string[]
---@param calls_opts? table without on_progress (a function cannot cross)
function _M.call_details(key, opts, ids, calls_opts)
  return wire.run(call_details, key, opts, ids, calls_opts)
end

--- `client:transcripts(ids, calls_opts)` on the cached client for `key`, as a wire outcome.
---@param key string
---@param opts gong.Options
---@param ids string[]
---@param calls_opts? table without on_progress
function _M.transcripts(key, opts, ids, calls_opts)
  return wire.run(transcripts, key, opts, ids, calls_opts)
end

--- `client:folders(params)` on the cached client for `key`, as a wire outcome.
---@param key string the options' cache key, from gong.resty
---@param opts gong.Options
---@param params? { workspaceId?: string }
function _M.folders(key, opts, params)
  return wire.run(folders, key, opts, params)
end

--- `client:calls(folderId)` on the cached client for `key`, as a wire outcome.
---@param key string
---@param opts gong.Options
---@param folderId string
function _M.calls(key, opts, folderId)
  return wire.run(calls, key, opts, folderId)
end

--- `client:calls_batch(ids, opts)` on the cached client for `key`, as a wire
--- outcome whose extra value is the request ids by position.
---@param key string
---@param opts gong.Options
---@param ids string[]
---@param batch_opts? { concurrency?: integer }
function _M.calls_batch(key, opts, ids, batch_opts)
  return wire.run(calls_batch, key, opts, ids, batch_opts)
end

return _M
