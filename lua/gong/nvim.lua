--- gong.nvim: the Gong API from Neovim without freezing the editor.
--
-- Requests run on Neovim's own event loop (vim.uv, or vim.loop before 0.10)
-- through gong.loop: no thread, no blocking call, and the callbacks run on
-- the main loop (vim.schedule), where every Neovim API may be used.
--
--   local client = require("gong.nvim").client(opts)  -- long-lived: one connection, one rate limit
--   client:folders(params, function(folders, err, requestId) end)
--   client:calls(folderId, function(calls, err, requestId) end):cancel()
--
--   require("gong.nvim").folders(opts, [params,] function(folders, err, requestId) end)
--   require("gong.nvim").calls(opts, folderId, function(calls, err, requestId) end)
--   require("gong.nvim").tree(opts, [params,] function(tree, err, requestId) end)
--
-- The module-level functions use one client per set of options, made on
-- first use, and hand every failure to the callback. See doc/neovim.md.

-- luacheck: globals vim

-- Only pure-Lua modules at load time: gong.core (which gong.loop needs) is
-- loaded on the first request, so requiring gong.nvim works whatever
-- package.cpath holds, and a core that cannot be loaded is reported.
local json = require "gong.json"
local version = require "gong.version"
local wire = require "gong.wire"

local error, ipairs, pairs, pcall, require, select, setmetatable, tostring, type, unpack =
      error, ipairs, pairs, pcall, require, select, setmetatable, tostring, type, table.unpack or unpack

local uv = vim.uv or vim.loop -- vim.loop was renamed vim.uv in Neovim 0.10
local schedule = vim.schedule

local _M = { _VERSION = version }

local function first_line(message)
  return (tostring(message):match("^[^\n]*"))
end

-- Whether package.loaded's `key` is `family` or one of its modules.
local function of(family, key)
  return key == family or key:sub(1, #family + 1) == family .. "."
end

-- Requires `name`; after a failure, clears what Lua 5.1 leaves in
-- package.loaded for it and for the modules of gong and cjson it was loading
-- ("loop or previous error loading module"), so fixing package.cpath fixes
-- the next request.
local function load(name)
  local ok, module = pcall(require, name)
  if ok then return module end
  for key, value in pairs(package.loaded) do
    if type(key) == "string" and (of(name, key) or of("gong", key) or of("cjson", key))
       and type(value) ~= "table" then
      package.loaded[key] = nil
    end
  end
  return nil, first_line(module)
end

-- gong.loop, or nil and the config error saying what could not be loaded.
local function gong_loop()
  local module, why = load("cjson")
  if not module then
    return nil, wire.error("config", "gong.nvim could not load cjson (lua-cjson for Lua 5.1 on package.cpath?): "
      .. why)
  end
  module, why = load("gong.loop")
  if not module then
    return nil, wire.error("config", "gong.nvim could not load gong (gong.core built for LuaJIT on package.cpath?): "
      .. why)
  end
  return module
end

---@class gong.nvim.Client
---@field api string the API the client speaks: "contract" or "public"
local Client = {}
local client_mt = { __index = Client, __name = "gong.nvim.Client" }

-- gong.loop answers (result, extra) or (nil, err); Neovim callbacks get
-- (result, nil, extra) or (nil, err).
local function nvim_callback(callback)
  if type(callback) ~= "function" then return callback end
  return function(result, extra)
    if result == nil then return callback(nil, extra) end
    return callback(result, nil, extra)
  end
end

--- A long-lived client: `opts` as gong.new's, raising what it raises (a
--- config error too when gong.core cannot be loaded). Every request of it
--- shares one connection to Gong and one rate limiter; each method takes a
--- callback, called once on the main loop unless the handle it returns is
--- cancelled first, and raises for a bad argument as the blocking method does.
---@param opts? gong.Options
---@return gong.nvim.Client
function _M.client(opts)
  local loop, err = gong_loop()
  if not loop then error(err, 2) end
  local c = loop.client(opts, uv, schedule)
  return setmetatable({ _loop = c, api = c.api }, client_mt)
end

-- The progress callbacks a method's options may hold. gong.loop calls them
-- from the loop's callbacks, where most of Neovim's API may not be used.
local PROGRESS = { "on_progress", "on_result" }

-- `opts` with its progress callbacks called through vim.schedule while the
-- call is live (not cancelled, its client not closed): on the main loop, in
-- order, before the method's callback.
local function on_main_loop(opts, live)
  if type(opts) ~= "table" then return opts end
  local copy = nil
  for _, name in ipairs(PROGRESS) do
    local fn = opts[name]
    if type(fn) == "function" then
      if not copy then
        copy = {}
        for k, v in pairs(opts) do copy[k] = v end
      end
      copy[name] = function(...)
        local n, args = select("#", ...), { ... }
        schedule(function()
          if live.on and not live.client._closed then fn(unpack(args, 1, n)) end
        end)
      end
    end
  end
  return copy or opts
end

-- Calls the gong.loop client's `name` with `...`, whose last value is the
-- callback; the params before it may be left out when `optional` says so,
-- and options (`has_opts`: the first of `...`) have their progress
-- callbacks moved to the main loop. Cancelling the handle stops those too.
local function forward(self, name, optional, has_opts, ...)
  local n = select("#", ...)
  local args = { ... }
  if optional and args[2] == nil and type(args[1]) == "function" then
    args[1], args[2] = nil, args[1]
  end
  local live = { on = true, client = self }
  if has_opts then args[n - 1] = on_main_loop(args[n - 1], live) end
  args[n] = nvim_callback(args[n])
  local handle = self._loop[name](self._loop, unpack(args, 1, n))
  local cancel = handle.cancel
  function handle.cancel()
    live.on = false
    cancel(handle)
  end
  return handle
end

--- Lists the folders: `callback(folders, nil, requestId)` or `callback(nil, err)`.
---@param params? { workspaceId?: string } optional: `client:folders(callback)` too
---@param callback fun(folders: gong.Folder[]|nil, err: gong.Error|nil, requestId: string|nil)
---@return gong.loop.Handle
function Client:folders(params, callback) return forward(self, "folders", true, false, params, callback) end

--- Lists a folder's calls: `callback(calls, nil, requestId)` or `callback(nil, err)`.
---@param folderId string
---@param callback fun(calls: gong.Call[]|nil, err: gong.Error|nil, requestId: string|nil)
---@return gong.loop.Handle
function Client:calls(folderId, callback) return forward(self, "calls", false, false, folderId, callback) end

--- The workspaces: `callback(workspaces, nil, requestId)` or `callback(nil, err)`.
---@param callback fun(workspaces: gong.Workspace[]|nil, err: gong.Error|nil, requestId: string|nil)
---@return gong.loop.Handle
function Client:workspaces(callback) return forward(self, "workspaces", false, false, callback) end

--- The folder tree: `callback(tree, nil, requestId)` or `callback(nil, err)`.
---@param params? { workspaceId?: string } optional: `client:tree(callback)` too
---@param callback fun(tree: gong.Tree|nil, err: gong.Error|nil, requestId: string|nil)
---@return gong.loop.Handle
function Client:tree(params, callback) return forward(self, "tree", true, false, params, callback) end

--- The calls of many folders, as client:calls_batch: `callback(results)`.
---@param ids string[]
---@param opts? table concurrency, on_result
---@param callback fun(results: table|nil, err: gong.Error|nil)
---@return gong.loop.Handle
function Client:calls_batch(ids, opts, callback)
  return forward(self, "calls_batch", false, true, ids, opts, callback)
end

--- Calls' details, as client:call_details: `callback(details, nil, requestIds)` or `callback(nil, err)`.
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@param callback fun(details: table|nil, err: gong.Error|nil, requestIds: string[]|nil)
---@return gong.loop.Handle
function Client:call_details(ids, opts, callback)
  return forward(self, "call_details", false, true, ids, opts, callback)
end

--- Calls' transcripts, as client:transcripts: `callback(transcripts, nil, requestIds)` or `callback(nil, err)`.
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@param callback fun(transcripts: table|nil, err: gong.Error|nil, requestIds: string[]|nil)
---@return gong.loop.Handle
function Client:transcripts(ids, opts, callback)
  return forward(self, "transcripts", false, true, ids, opts, callback)
end

--- The whole library, as client:library (opts.on_progress included):
--- `callback(tree, nil, errors)` or `callback(nil, err)`.
---@param opts? gong.LibraryOptions
---@param callback fun(tree: gong.Tree|nil, err: gong.Error|nil, errors: table|nil)
---@return gong.loop.Handle
function Client:library(opts, callback) return forward(self, "library", false, true, opts, callback) end

--- Cancels what is under way (no callback is called for it). Idempotent.
function Client:close()
  self._closed = true
  self._loop:close()
end

function client_mt.__tostring(self)
  return "gong.nvim(" .. tostring(self._loop) .. ")"
end

-- The module-level functions' clients, by their options as JSON.
local clients = {}

-- Calls `callback(nil, err)` on the main loop.
local function fail(callback, err)
  schedule(function() callback(nil, err) end)
end

-- Runs `method` on the client for `options`, made on first use: every
-- failure, a raise included, reaches `callback`; only a callback that is not
-- a function and options that are not plain data raise.
local function request(name, method, options, argument, callback)
  if type(callback) ~= "function" then
    error(wire.error("argument", ("gong.nvim.%s: the last argument must be a callback function (got %s)")
      :format(name, type(callback))), 3)
  end
  local ok, key = pcall(json.encode, options or {})
  if not ok then
    -- The encoder's message names the type, never a value, so no secret ends up in it.
    error(wire.error("argument", ("gong.nvim.%s: options and parameters must hold only strings, "
      .. "numbers, booleans and tables of them (%s)"):format(name, first_line(key))), 3)
  end
  local client = clients[key]
  if not client then
    local loop, err = gong_loop()
    if not loop then return fail(callback, err) end
    local made, c = pcall(loop.client, options, uv, schedule)
    if not made then return fail(callback, c) end
    client = c
    clients[key] = client
  end
  local called, err = pcall(client[method], client, argument, nvim_callback(callback))
  if not called then fail(callback, err) end
end

-- folders(opts, [params,] cb): the params table is optional.
local function with_params(params, callback)
  if callback == nil and type(params) == "function" then return nil, params end
  return params, callback
end

--- Lists the library folders without blocking: `callback(folders, nil, requestId)`
--- or `callback(nil, err)`, called once, on the main loop. `opts` are the
--- options of `gong.new` (nil: all from the environment), `params` those of
--- `client:folders` (`{ workspaceId = ... }`). Raises only when `callback` is
--- not a function or `opts` is not plain data; every other failure, bad
--- options included, reaches `callback` as the gong error the blocking API
--- would have raised or returned.
---@param opts gong.Options|nil
---@param params { workspaceId?: string }|nil
---@param callback fun(folders: gong.Folder[]|nil, err: gong.Error|nil, requestId: string|nil)
function _M.folders(opts, params, callback)
  params, callback = with_params(params, callback)
  request("folders", "folders", opts, params, callback)
end

--- Lists the calls in a folder without blocking: `callback(calls, nil, requestId)`
--- or `callback(nil, err)`; see `folders`.
---@param opts gong.Options|nil
---@param folderId string
---@param callback fun(calls: gong.Call[]|nil, err: gong.Error|nil, requestId: string|nil)
function _M.calls(opts, folderId, callback)
  request("calls", "calls", opts, folderId, callback)
end

--- Fetches the folders without blocking and builds their tree on the main
--- thread (`gong.tree.build`): `callback(tree, nil, requestId)` or `callback(nil, err)`;
--- see `folders`.
---@param opts gong.Options|nil
---@param params { workspaceId?: string }|nil
---@param callback fun(tree: gong.Tree|nil, err: gong.Error|nil, requestId: string|nil)
function _M.tree(opts, params, callback)
  params, callback = with_params(params, callback)
  request("tree", "tree", opts, params, callback)
end

return _M
