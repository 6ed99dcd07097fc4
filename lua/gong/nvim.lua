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
local message = require "gong.message"
local version = require "gong.version"
local wire = require "gong.wire"

local error, pcall, type = error, pcall, type

local uv = vim.uv or vim.loop -- vim.loop was renamed vim.uv in Neovim 0.10
local schedule = vim.schedule

local _M = { _VERSION = version }

-- What to do when a piece gong.nvim needs does not load, by the piece
-- (gong.message.load_failure's module) and the problem.
local ADVICE = {
  cjson = {
    name = "lua-cjson",
    missing = "it is not on package.cpath: install lua-cjson for Lua 5.1 (Debian: lua-cjson) or add its "
      .. "directory to package.cpath",
    other_lua = "the cjson.so found was built for another Lua: use lua-cjson for Lua 5.1",
  },
  ["gong.core"] = {
    name = "gong.core, gong's C module",
    missing = "it is not on package.cpath: build it for LuaJIT (make LUA=luajit) and add build/luajit/?.so "
      .. "(or the installed lib/lua/5.1/?.so) to package.cpath",
    other_lua = "it was built for another Lua: build it for LuaJIT (make LUA=luajit)",
  },
}
ADVICE["cjson.safe"] = ADVICE.cjson

-- Requires `name` (gong.message.require: a fixed package.cpath fixes the
-- next request), or nil and a config error that names the piece that did
-- not load, what to do, and the whole of require's reason.
local function load(name)
  local module, why = message.require(name)
  if module then return module end
  local advice = ADVICE[why.module] or {}
  local piece = advice.name or why.module or name
  local what = advice[why.problem]
  return nil, wire.error("config", "gong.nvim could not load " .. piece .. (what and ": " .. what or "")
    .. " (" .. why.text .. ")")
end

--- Requires `name` ("cjson", "gong.core", ...) as gong.nvim does: the
--- module, or nil and the config error that names the piece that did not
--- load, what to do, and require's whole reason (:checkhealth gong says it).
---@param name string
---@return any module
---@return gong.Error|nil err
_M.load = load

-- gong.loop, or nil and the config error saying what could not be loaded.
local function gong_loop()
  local module, err = load("cjson")
  if not module then return nil, err end
  return load("gong.loop")
end

--- A long-lived client: `opts` as gong.new's, raising what it raises (a
--- config error too when gong.core cannot be loaded). Every request of it
--- shares one connection to Gong and one rate limiter. It is a gong.loop
--- client on Neovim's loop whose callbacks run on the main loop
--- (vim.schedule): every method of gong's clients, the callback last,
--- called once with `(result, nil, extra)` or `(nil, err)` unless the
--- handle it returns is cancelled first; the options' callbacks (on_result,
--- on_progress, on_plan) on the main loop too, in order, each waited for:
--- what they return counts. A bad argument raises as the blocking method does.
---@param opts? gong.Options
---@return gong.loop.Client
function _M.client(opts)
  local loop, err = gong_loop()
  if not loop then error(err, 2) end
  return loop.client(opts, uv, schedule)
end

-- The module-level functions' clients, by their options (gong.wire's key).
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
  local key, why = wire.key(options)
  if not key then
    -- It names a type and where, never a value, so no secret ends up in it.
    error(wire.error("argument", ("gong.nvim.%s: options and parameters must hold only strings, "
      .. "numbers, booleans and tables of them (%s)"):format(name, why)), 3)
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
  local called, err = pcall(client[method], client, argument, callback)
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
