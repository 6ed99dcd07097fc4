--- gong.client: the methods every gong client has, whatever runs its requests,
--- written once. A host makes a class with the primitive requests
---
---   folders(params) -> folders, requestId | nil, err
---   calls(folderId) -> calls, requestId | nil, err
---   calls_batch(ids, opts) -> results | nil, err
---   close()
---
--- (gong.core's client for plain Lua, gong.resty's for nginx) and `install`
--- adds everything built on them: the iterators, the tree, the whole library.
--- A new method written here appears in every host at once.

local core = require "gong.core"
local tree = require "gong.tree"

local error, ipairs, pairs, pcall, tostring, type = error, ipairs, pairs, pcall, tostring, type

local _M = {}

--- Options of client:library(); anything else is a typo.
_M.LIBRARY_OPTIONS = { workspaceId = true, concurrency = true, strict = true, on_progress = true }

local methods = {}

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

--- Iterates over the folders: `for folder in client:each_folder() do print(folder.name) end`.
--- Raises the error object when the request fails (a `for` cannot return it).
---@param params? { workspaceId?: string }
---@return fun(): gong.Folder?
function methods:each_folder(params)
  return each(self:folders(params))
end

--- Iterates over the calls of a folder: `for call in client:each_call(id) do print(call.title) end`.
--- Raises the error object when the request fails.
---@param folderId string
---@return fun(): gong.Call?
function methods:each_call(folderId)
  return each(self:calls(folderId))
end

--- Fetches the folders and builds their tree (see `gong.tree.build`): `tree` or `nil, err`.
---@param params? { workspaceId?: string }
---@return gong.Tree|nil tree
---@return gong.Error|nil err
function methods:tree(params)
  local folders, err = self:folders(params)
  if folders == nil then return nil, err end
  return tree.build(folders)
end

---@class gong.LibraryOptions
---@field workspaceId? string only this workspace's folders
---@field concurrency? integer transfers at once (3); every one still under the client's rate limit
---@field strict? boolean any failed folder makes the whole call return nil, err
---@field on_progress? fun(done: integer, total: integer, node: gong.TreeNode, err: gong.Error?)
--- called as each folder completes

local function check_library_options(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "library: options must be a table (got " .. type(opts) .. ")"), 3)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not _M.LIBRARY_OPTIONS[k] then
      error(core.error("argument", ("library: unknown option '%s'"):format(tostring(k))), 3)
    end
  end
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error(core.error("argument", "library: on_progress must be a function"), 3)
  end
  -- Refused here, before the folder list is fetched, in library's name.
  local ok, err = pcall(core.check_batch_options, { concurrency = opts.concurrency }, "library")
  if not ok then error(err, 3) end
  return opts
end

-- The distinct usable folder ids of `t` in walk order, and the nodes of each:
-- nodes sharing a duplicated id share its calls, fetched once.
local function folder_ids(t)
  local ids, nodes_of = {}, {}
  for node in t:walk() do
    local id = node.id
    if type(id) == "string" and id ~= "" then
      if nodes_of[id] == nil then
        nodes_of[id] = {}
        ids[#ids + 1] = id
      end
      local list = nodes_of[id]
      list[#list + 1] = node
    end
  end
  return ids, nodes_of
end

--- Fetches the whole library: the folder tree with every node's `calls` filled,
--- folders' calls fetched concurrently under the client's rate limit and retry policy.
--- Returns `tree, errors`: `errors` lists the per-folder failures (error objects with
--- `folder_id`), whose nodes carry `error` instead of `calls`; one failing folder does
--- not throw away the rest. With `strict = true`, the first failure stops everything
--- and is returned as `nil, err`. Failing to list the folders is always `nil, err`.
---@param opts? gong.LibraryOptions
---@return gong.Tree|nil tree
---@return gong.Error[]|gong.Error errors_or_err the per-folder errors, or the error that stopped it
function methods:library(opts)
  opts = check_library_options(opts)
  local folders, err = self:folders({ workspaceId = opts.workspaceId })
  if folders == nil then return nil, err end
  local t = tree.build(folders)
  local ids, nodes_of = folder_ids(t)

  local errors, done, total = {}, 0, #ids
  local strict, on_progress = opts.strict, opts.on_progress
  local results, closed = self:calls_batch(ids, {
    concurrency = opts.concurrency,
    on_result = function(i, calls, e)
      local id = ids[i]
      done = done + 1
      for _, node in ipairs(nodes_of[id]) do
        if calls then node.calls = calls else node.error = e end
      end
      local failure -- on success `e` is the requestId, not an error
      if not calls then
        failure = e
        failure.folder_id = id
        errors[#errors + 1] = failure
      end
      if on_progress then on_progress(done, total, nodes_of[id][1], failure) end
      -- A strict fetch ends at the first failure.
      return not (strict and failure)
    end,
  })
  if results == nil then return nil, closed end
  if strict and errors[1] then return nil, errors[1] end
  return t, errors
end

--- Adds the methods above to `class` (the table a client's metatable indexes).
---@param class table
---@return table class
function _M.install(class)
  for name, method in pairs(methods) do class[name] = method end
  return class
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
