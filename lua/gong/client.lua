--- gong.client: every method of a gong client, written once for every host.
---
--- A method is its name, how many arguments it takes (before a callback, on
--- the hosts that take one), a check of those arguments (a bad one raises,
--- before any request) and its body, which runs on a host:
---
---   host:request(kind, ...)     one request of a kind of core.KINDS, every
---                               attempt: what the blocking request returns
---   host:each_at_once(n, concurrency, one, stop)
---                               one(i) for i = 1..n, up to concurrency at a
---                               time; stop() true starts no more, "now"
---                               drops the ones under way (gong.tasks)
---   host:call(fn, ...)          a caller's callback, where the host calls back
---   host:closed()               whether the client was closed (by a callback)
---
--- The request kinds make the methods of their name (a Calls API kind, which
--- pages, the method that batches its ids and follows every page); tree,
--- library and calls_batch are built on them. Each host installs them all in
--- its class its own way (`install`): the blocking client (gong) runs a body
--- while the caller waits, gong.loop as a task on an event loop, gong.resty
--- on nginx's light threads. A method written here appears in every host.

local core = require "gong.core"
local tree = require "gong.tree"

-- The methods made of many requests are loaded on their first use: a
-- program of single requests keeps a smaller heap, which every garbage
-- collection walks (BENCHMARKS.md, the large folder's instructions).
local function batch() return require "gong.batch" end
local function library() return require "gong.library" end

local error, ipairs, pcall, rawget, type = error, ipairs, pcall, rawget, type

local _M = {}

---@class gong.client.Method
---@field name string
---@field arity integer the arguments it takes, before a host's callback
---@field check fun(...) raises what is wrong with the arguments
---@field run fun(host: table, ...): any the body

--- Every method, in order: the request kinds', then calls_batch, tree and library.
---@type gong.client.Method[]
_M.METHODS = {}

local function add(name, arity, check, run)
  _M.METHODS[#_M.METHODS + 1] = { name = name, arity = arity, check = check, run = run }
end

-- The bodies of the methods built on the requests, written as methods of
-- the host they run on (`self`): what a client's method of that name does.
local methods = {}

--- The calls of many folders at once, a request per folder: `results[i]` is
--- the calls list of `ids[i]`, or an error object for it. `opts.concurrency`
--- requests at once (default 3, every one under the client's rate limit),
--- `opts.on_result(i, calls, requestId)` or `(i, nil, err)` as each completes
--- (returning false ends the batch). A failure of the client itself (its
--- token function, its shared rate window, a close()) is `nil, err`. See
--- gong.batch for when a batch stops.
---@param ids string[]
---@param opts? { concurrency?: integer, on_result?: fun(i: integer, calls: gong.Call[]?, rid_or_err: any): boolean? }
---@return (gong.Call[]|gong.Error)[]|nil results
---@return gong.Error|nil err
function methods:calls_batch(ids, opts)
  return batch().calls_batch(self, ids, opts)
end

--- Fetches the folders and builds their tree (gong.tree.build): `tree,
--- requestId` or `nil, err`.
---@param params? { workspaceId?: string }
---@return gong.Tree|nil tree
---@return string|gong.Error|nil requestId_or_err
function methods:tree(params)
  local folders, x = self:request("folders", params)
  if folders == nil then return nil, x end
  return tree.build(folders), x
end

--- Fetches the whole library: the folder tree with every node's `calls`
--- filled, folders' calls fetched concurrently under the client's rate limit
--- and retry policy, then what `opts.details` and `opts.transcripts` ask of
--- every distinct call. Returns `tree, errors` (the per-folder failures), or
--- `nil, err`. See gong.library for everything it does.
---@param opts? gong.LibraryOptions
---@return gong.Tree|nil tree
---@return gong.Error[]|gong.Error errors_or_err the per-folder errors, or the error that stopped it
function methods:library(opts)
  return library().run(self, opts)
end

for _, kind in ipairs(core.KINDS) do
  local name = kind.name
  if kind.paged then
    -- A Calls API method: its call ids in batches, every page of each (gong.batch).
    add(name, 2, function(ids, opts) batch().check_calls_api(name, ids, opts) end,
        function(host, ids, opts) return batch().calls_api(host, name, ids, opts) end)
  else
    add(name, kind.arity, function(...) core.check_request(name, ...) end,
        function(host, ...) return host:request(name, ...) end)
  end
end
add("calls_batch", 2, function(ids, opts) batch().check_calls_batch(ids, opts) end, methods.calls_batch)
add("tree", 1, function(params) core.check_request("folders", params) end, methods.tree)
add("library", 1, function(opts) library().check(opts) end, methods.library)

--- Raises the argument error of `name` called on something other than a
--- client (`ok` false: client.folders() rather than client:folders()), as
--- the core's own methods do.
---@param ok boolean
---@param name string
---@param self any
function _M.check_self(ok, name, self)
  if not ok then
    local message = ("%s: call it on a client, as client:%s(...) (got %s)"):format(name, name, type(self))
    error(core.error("argument", message), 3)
  end
end

--- Installs every method in `class` (the table a host's clients index),
--- each made by `make(method)`, the host's way to run a method; a method
--- the class has already (the core's own blocking requests) stays.
---@param class table
---@param make fun(method: gong.client.Method): function
---@return table class
function _M.install(class, make)
  for _, method in ipairs(_M.METHODS) do
    if rawget(class, method.name) == nil then class[method.name] = make(method) end
  end
  return class
end

-- An iterator over a list fetched up front. A generic `for` has no way to
-- return an error, so a failed fetch raises the error object instead.
local function each(list, err)
  if list == nil then error(err, 3) end
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

--- Adds the iterators to `class`, a blocking host's (a generic `for` cannot
--- wait for a callback): `for folder in client:each_folder(params)` and
--- `for call in client:each_call(folderId)`. Each raises the error object
--- when its request fails.
---@param class table
function _M.install_iterators(class)
  function class:each_folder(params)
    return each(self:folders(params))
  end

  function class:each_call(folderId)
    return each(self:calls(folderId))
  end
end


--- Sets `module.folders` and `module.calls`: the methods on a default client
--- made by `new()` on first use, configured from the environment. While
--- `new()` raises (no credentials, say) they return `nil, err`, and a later
--- call tries again.
---@param module table
---@param new fun(): table
function _M.shortcuts(module, new)
  local client
  local function default()
    if client == nil then
      local ok, c = pcall(new)
      if not ok then return nil, c end
      client = c
    end
    return client
  end

  --- `client:folders(params)` on the default client.
  function module.folders(params)
    local c, err = default()
    if c == nil then return nil, err end
    return c:folders(params)
  end

  --- `client:calls(folderId)` on the default client.
  function module.calls(folderId)
    local c, err = default()
    if c == nil then return nil, err end
    return c:calls(folderId)
  end
end

return _M
