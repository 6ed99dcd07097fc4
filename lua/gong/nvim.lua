--- gong.nvim: the Gong Library API from Neovim without freezing the editor.
--
-- A blocking request in Neovim's main thread stops the whole editor until the
-- server answers (up to a timeout, times every retry). Here each request runs
-- in libuv's thread pool (`vim.loop.new_work`), in a Lua state of its own that
-- loads gong there, and the callback runs later on the main loop.
--
-- Only strings, numbers, booleans and nil cross between the two states, so
-- the request goes to the worker as one JSON string and the answer comes back
-- as one JSON string too (both written by gong.json), holding the outcome in
-- gong.wire's vocabulary; errors are rebuilt here by gong.wire, so a callback
-- sees exactly what the blocking API returns.
--
--   require("gong.nvim").folders(opts, [params,] function(folders, err, requestId) end)
--   require("gong.nvim").calls(opts, folderId, function(calls, err, requestId) end)
--   require("gong.nvim").tree(opts, [params,] function(tree, err, requestId) end)
--
-- See doc/neovim.md for installation and examples.

-- luacheck: globals vim

-- The body of every request, run by a thread-pool thread in a fresh Lua state.
-- It is sent to that state as bytecode, so it must not use any upvalue (they
-- would be nil there): everything it needs arrives as its string arguments,
-- and what it needs besides comes from modules it loads there. It never
-- raises, because an uncaught error would be printed over the editor and
-- leave the caller without an answer. Returns the outcome in gong.wire's
-- vocabulary as one JSON string {status, value, extra, marks} (gong.json
-- writes every double exactly), or nil and a message when even gong.wire
-- cannot be loaded.
local function worker(path, cpath, request)
  -- libuv keeps one Lua state per thread-pool thread and reuses it for every
  -- later request, and a failed require in Lua 5.1 leaves a marker in
  -- package.loaded ("loop or previous error loading module"): clear it, so
  -- fixing package.cpath fixes the next request.
  local function load(name)
    local ok, module = pcall(require, name)
    if ok then return module end
    for key, value in pairs(package.loaded) do
      if (key == name or key:sub(1, #name + 1) == name .. ".") and type(value) ~= "table" then
        package.loaded[key] = nil
      end
    end
    return nil, (tostring(module):match("^[^\n]*"))
  end

  package.path, package.cpath = path, cpath
  local wire, why = load("gong.wire")
  if not wire then return nil, why end
  local json
  json, why = load("gong.json")
  if not json then return nil, why end

  local function outcome()
    local cjson
    cjson, why = load("cjson")
    if not cjson then
      return wire.failure("the Neovim worker could not load cjson (lua-cjson for Lua 5.1 on package.cpath?): "
        .. why)
    end
    local gong
    gong, why = load("gong")
    if not gong then
      return wire.failure("the Neovim worker could not load gong (gong.core built for LuaJIT on package.cpath?): "
        .. why)
    end
    local function strip_null(v)
      if v == cjson.null then return nil end
      if type(v) == "table" then
        for k, item in pairs(v) do v[k] = strip_null(item) end
      end
      return v
    end
    local req = strip_null(cjson.new().decode(request))
    return wire.run(function()
      local client = gong.new(req.options)
      local ok, data, extra = pcall(client[req.method], client, req.argument)
      client:close()
      if not ok then error(data, 0) end
      return data, extra
    end)
  end

  local ok, status, value, extra, marks = pcall(outcome)
  if not ok then
    status, value = wire.failure("the Neovim worker failed: " .. tostring(status))
  end
  local encoded
  ok, encoded = pcall(json.encode, { status = status, value = value, extra = extra, marks = marks })
  if not ok then
    status, value = wire.failure("the Neovim worker could not encode its answer: " .. encoded)
    return json.encode({ status = status, value = value })
  end
  return encoded
end

-- Only pure-Lua modules here: the editor's own state never loads gong.core
-- (the workers do), so requiring gong.nvim works whatever package.cpath
-- holds, and a core that cannot be loaded is reported to the callback.
local json = require "gong.json"
local tree = require "gong.tree"
local version = require "gong.version"
local wire = require "gong.wire"

local debug_getinfo = debug.getinfo
local error, pairs, pcall, string_dump, tostring, type =
      error, pairs, pcall, string.dump, tostring, type

local uv = vim.uv or vim.loop -- vim.loop was renamed vim.uv in Neovim 0.10
local schedule = vim.schedule
-- Unlike vim.fn.json_*, vim.json may be called anywhere, even in a luv callback.
local json_decode = vim.json.decode

local _M = { _VERSION = version }

-- Sent to each new worker state as text, so it is dumped once.
local WORKER = string_dump(worker)

-- The directory this module was loaded from (its `lua/`), when it was a file.
-- Neovim finds plugin modules on 'runtimepath' without package.path, so the
-- worker is pointed there explicitly, and loads the same gong as this state.
local LUA_ROOT = debug_getinfo(1, "S").source:match("^@(.*)[/\\]gong[/\\]nvim%.lua$")

local function worker_path()
  if LUA_ROOT == nil then return package.path end
  return LUA_ROOT .. "/?.lua;" .. LUA_ROOT .. "/?/init.lua;" .. package.path
end

local function first_line(message)
  return (tostring(message):match("^[^\n]*"))
end

-- The worker's failures that are not gong's own errors: gong could not run at
-- all, so the configuration (package paths, builds) is what needs fixing.
local function config_error(message)
  return wire.error("config", message)
end

-- JSON null (vim.NIL) -> nil, recursively: gong never hands out null.
local function strip_null(v)
  if v == vim.NIL then return nil end
  if type(v) == "table" then
    for k, item in pairs(v) do v[k] = strip_null(item) end
  end
  return v
end

-- Turns the worker's answer into the callback's arguments: every failure,
-- raised or returned, is an error for the callback, which has no other way to hear of it.
local function outcome(answer, why, finish)
  if answer == nil then
    return nil, config_error("the Neovim worker could not load gong.wire (gong's Lua files on package.path?): "
      .. tostring(why))
  end
  local t = strip_null(json_decode(answer))
  local returned, data, extra = wire.unpack(t.status, t.value, t.extra, t.marks)
  if not returned then return nil, data end
  if data == nil then return nil, extra end
  return finish(data), nil, extra
end

-- Runs `method` (folders or calls) in a worker and calls `callback` exactly
-- once, on the main loop, with `finish(data), nil, requestId` or `nil, err`.
local function request(name, method, options, argument, callback, finish)
  if type(callback) ~= "function" then
    error(wire.error("argument", ("gong.nvim.%s: the last argument must be a callback function (got %s)")
      :format(name, type(callback))), 3)
  end
  local ok, text = pcall(json.encode, { method = method, options = options, argument = argument })
  if not ok then
    -- Only data crosses to the worker; the encoder's message names the type,
    -- never a value, so no secret ends up in it.
    error(wire.error("argument", ("gong.nvim.%s: options and parameters must hold only strings, "
      .. "numbers, booleans and tables of them (%s)"):format(name, first_line(text))), 3)
  end

  local settled = false
  local function settle(answer, why)
    if settled then return end
    settled = true
    schedule(function()
      local done, result, err, id = pcall(outcome, answer, why, finish)
      if not done then
        result, err, id = nil, config_error("could not read the Neovim worker's result: " .. first_line(result)), nil
      end
      callback(result, err, id)
    end)
  end

  local queued, err
  ok, queued, err = pcall(function()
    return uv.new_work(WORKER, settle):queue(worker_path(), package.cpath, text)
  end)
  if not ok or not queued then
    local status, fields = wire.failure("could not start a Neovim worker: " .. first_line(ok and err or queued))
    settle(json.encode({ status = status, value = fields }))
  end
end

local function identity(data)
  return data
end

-- folders(opts, [params,] cb): the params table is optional.
local function with_params(params, callback)
  if callback == nil and type(params) == "function" then return nil, params end
  return params, callback
end

--- Lists the library folders without blocking: `callback(folders, nil, requestId)`
--- or `callback(nil, err)`, called once, on the main loop (every Neovim API may
--- be used in it). `opts` are the options of `gong.new` (nil: all from the
--- environment), `params` those of `client:folders` (`{ workspaceId = ... }`).
--- Raises only when `callback` is not a function or a value cannot be sent to
--- the worker; every other failure, bad options included, reaches `callback`
--- as the gong error the blocking API would have raised or returned.
---@param opts gong.Options|nil
---@param params { workspaceId?: string }|nil
---@param callback fun(folders: gong.Folder[]|nil, err: gong.Error|nil, requestId: string|nil)
function _M.folders(opts, params, callback)
  params, callback = with_params(params, callback)
  request("folders", "folders", opts, params, callback, identity)
end

--- Lists the calls in a folder without blocking: `callback(calls, nil, requestId)`
--- or `callback(nil, err)`; see `folders`.
---@param opts gong.Options|nil
---@param folderId string
---@param callback fun(calls: gong.Call[]|nil, err: gong.Error|nil, requestId: string|nil)
function _M.calls(opts, folderId, callback)
  request("calls", "calls", opts, folderId, callback, identity)
end

--- Fetches the folders without blocking and builds their tree on the main
--- thread (`gong.tree.build`): `callback(tree, nil, requestId)` or
--- `callback(nil, err)`; see `folders`.
---@param opts gong.Options|nil
---@param params { workspaceId?: string }|nil
---@param callback fun(tree: gong.Tree|nil, err: gong.Error|nil, requestId: string|nil)
function _M.tree(opts, params, callback)
  params, callback = with_params(params, callback)
  request("tree", "folders", opts, params, callback, tree.build)
end

-- The worker must stay free of upvalues (it is defined before every local of
-- this file for that reason): fail here, not in a thread.
if debug.getupvalue(worker, 1) ~= nil then
  error("gong.nvim: the worker function captures an upvalue")
end

return _M
