--- gong.nvim: the Gong Library API from Neovim without freezing the editor.
--
-- A blocking request in Neovim's main thread stops the whole editor until the
-- server answers (up to a timeout, times every retry). Here each request runs
-- in libuv's thread pool (`vim.loop.new_work`), in a Lua state of its own that
-- loads gong there, and the callback runs later on the main loop.
--
-- Only strings, numbers, booleans and nil cross between the two states, so
-- the request goes to the worker as one JSON string and the answer comes back
-- as a status word and a JSON string; errors are rebuilt here with
-- `gong.error`, so a callback sees exactly what the blocking API returns.
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
-- and its helpers are defined inside it. It never raises, because an uncaught
-- error would be printed over the editor and leave the caller without an
-- answer. Returns one of
--   "ok", data as JSON, requestId
--   "error", the fields of a gong error as JSON
--   "fail", a one-line message (gong or cjson could not even be loaded)
local function worker(path, cpath, request)
  local function first_line(message)
    return (tostring(message):match("^[^\n]*"))
  end

  -- lua-cjson 2.1 prints at most 14 significant digits, so numbers would not
  -- come back equal; this encoder writes every double exactly. The data is
  -- what gong returns: lists, records with string keys, strings, numbers,
  -- booleans; an empty table is written as an empty list.
  local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
  local function escape(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end
  local function encode(value, out)
    local kind = type(value)
    if kind == "string" then
      out[#out + 1] = '"' .. value:gsub('[%c"\\]', escape) .. '"'
    elseif kind == "number" then
      if value ~= value or value == math.huge or value == -math.huge then
        out[#out + 1] = "null"
      elseif value == math.floor(value) and math.abs(value) < 2 ^ 53 then
        out[#out + 1] = string.format("%d", value)
      else
        out[#out + 1] = string.format("%.17g", value)
      end
    elseif kind == "boolean" then
      out[#out + 1] = tostring(value)
    elseif kind == "table" and (next(value) == nil or value[1] ~= nil) then
      out[#out + 1] = "["
      for i = 1, #value do
        if i > 1 then out[#out + 1] = "," end
        encode(value[i], out)
      end
      out[#out + 1] = "]"
    elseif kind == "table" then
      out[#out + 1] = "{"
      local first = true
      for k, v in pairs(value) do
        if type(k) == "string" then
          if not first then out[#out + 1] = "," end
          first = false
          encode(k, out)
          out[#out + 1] = ":"
          encode(v, out)
        end
      end
      out[#out + 1] = "}"
    else
      out[#out + 1] = "null"
    end
  end
  local function to_json(value)
    local out = {}
    encode(value, out)
    return table.concat(out)
  end

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
    return nil, first_line(module)
  end

  local function run()
    package.path, package.cpath = path, cpath
    local cjson, why = load("cjson")
    if not cjson then
      return "fail", "the Neovim worker could not load cjson (lua-cjson for Lua 5.1 on package.cpath?): " .. why
    end
    local gong
    gong, why = load("gong")
    if not gong then
      return "fail", "the Neovim worker could not load gong (gong.core built for LuaJIT on package.cpath?): " .. why
    end
    local function failure(err)
      if gong.is_error(err) then return "error", to_json(err) end
      return "fail", "the Neovim worker failed: " .. first_line(err)
    end

    local decoder = cjson.new()
    local function strip_null(v)
      if v == cjson.null then return nil end
      if type(v) == "table" then
        for k, item in pairs(v) do v[k] = strip_null(item) end
      end
      return v
    end
    local req = strip_null(decoder.decode(request))

    local ok, client = pcall(gong.new, req.options)
    if not ok then return failure(client) end
    local data, extra
    ok, data, extra = pcall(client[req.method], client, req.argument)
    client:close()
    if not ok then return failure(data) end
    if data == nil then return failure(extra) end
    return "ok", to_json(data), extra
  end

  local ok, status, payload, request_id = pcall(run)
  if not ok then return "fail", "the Neovim worker failed: " .. first_line(status) end
  return status, payload, request_id
end

local gong = require "gong"

local debug_getinfo = debug.getinfo
local error, pairs, pcall, string_dump, tostring, type =
      error, pairs, pcall, string.dump, tostring, type

local uv = vim.uv or vim.loop -- vim.loop was renamed vim.uv in Neovim 0.10
local schedule = vim.schedule
-- Unlike vim.fn.json_*, vim.json may be called anywhere, even in a luv callback.
local json = vim.json

local _M = { _VERSION = gong._VERSION }

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
  return gong.error("config", message)
end

-- JSON null (vim.NIL) -> nil, recursively: gong never hands out null.
local function strip_null(v)
  if v == vim.NIL then return nil end
  if type(v) == "table" then
    for k, item in pairs(v) do v[k] = strip_null(item) end
  end
  return v
end

-- Turns what the worker returned into the callback's arguments.
local function outcome(status, payload, request_id, finish)
  if status == "ok" then
    local data = strip_null(json.decode(payload))
    return finish(data), nil, request_id
  elseif status == "error" then
    local fields = strip_null(json.decode(payload))
    return nil, gong.error(fields.kind, fields.message, fields)
  elseif status == "fail" then
    return nil, config_error(payload)
  end
  return nil, config_error("the Neovim worker ended without a result")
end

-- Runs `method` (folders or calls) in a worker and calls `callback` exactly
-- once, on the main loop, with `finish(data), nil, requestId` or `nil, err`.
local function request(name, method, options, argument, callback, finish)
  if type(callback) ~= "function" then
    error(gong.error("argument", ("gong.nvim.%s: the last argument must be a callback function (got %s)")
      :format(name, type(callback))), 3)
  end
  local ok, text = pcall(json.encode, { method = method, options = options, argument = argument })
  if not ok then
    -- Only data crosses to the worker; the encoder's message names the type,
    -- never a value, so no secret ends up in it.
    error(gong.error("argument", ("gong.nvim.%s: options and parameters must hold only strings, "
      .. "numbers, booleans and tables of them (%s)"):format(name, first_line(text))), 3)
  end

  local settled = false
  local function settle(status, payload, request_id)
    if settled then return end
    settled = true
    schedule(function()
      local done, result, err, id = pcall(outcome, status, payload, request_id, finish)
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
    settle("fail", "could not start a Neovim worker: " .. first_line(ok and err or queued))
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
  request("tree", "folders", opts, params, callback, gong.tree.build)
end

-- The worker must stay free of upvalues (it is defined before every local of
-- this file for that reason): fail here, not in a thread.
if debug.getupvalue(worker, 1) ~= nil then
  error("gong.nvim: the worker function captures an upvalue")
end

return _M
