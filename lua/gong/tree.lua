--- gong.tree: turns the flat folder list of the Gong Library API into a tree.
--
-- Lua, no network: the same behaviour under Lua 5.1-5.4 and LuaJIT. Of
-- gong.core it uses only the error object: a caller's mistake raises gong's
-- error (kind "argument"), as every other part of gong does.
-- The input comes from a remote service, so it is never trusted to be a tree:
-- unknown parents, parent cycles, duplicate ids and missing ids are all
-- reported instead of raising, and every folder ends up as exactly one node.
-- Folder lists can be large (and, through bad data, arbitrarily deep), so
-- nothing here recurses and nothing costs more than sorting does.

local gong_error = require("gong.core").error
local shape = require "gong.tree_shape"

local error = error
local rawget = rawget
local rawset = rawset
local setmetatable = setmetatable
local string_byte = string.byte
local string_format = string.format
local string_sub = string.sub
local table_concat = table.concat
local tostring = tostring
local type = type

local add_total, text = shape.add_total, shape.text

local _M = {}

-- Class names follow gong's (gong.Folder, gong.Error); Client:tree() returns a gong.Tree.

---A folder as a tree node: every folder field is copied (parentFolderId stays
---as given, even when the link was dropped for an orphan or a cycle).
---@class gong.TreeNode: gong.Folder
---@field children gong.TreeNode[] sorted by name, then id, then input position
---@field parent gong.TreeNode|nil
---@field depth integer 0 for roots
---@field total_calls? number callCount of the node and all its descendants; absent when one is unknown
---@field path string names from the root joined with "/", computed on first use
---@field calls? gong.LibraryCall[] after client:library(): the folder's calls
---@field error? gong.Error after client:library(): why its calls could not be fetched

---@class gong.Tree
---@field roots gong.TreeNode[] sorted like children
---@field count integer number of nodes (= number of input folders)
---@field orphans gong.TreeNode[] parentFolderId names no known folder; made roots; input order
---@field cycles string[][] one id list per broken cycle, starting at the node made root
---@field duplicates gong.TreeNode[] folders whose id was already seen; input order

-- Private per-tree state (the id index), kept out of the tree's public fields.
-- Weak keys so a dropped tree takes its index with it.
local index_of = setmetatable({}, { __mode = "k" })

local node_mt = {}

-- A node's path is built on first use and cached: storing every path eagerly
-- would cost O(n^2) memory on a deep chain. Walks up iteratively (a recursive
-- __index would overflow the C stack) and stops at the first cached ancestor.
function node_mt.__index(node, key)
  if key ~= "path" then
    return nil
  end
  local names, n = {}, 0
  local prefix
  local current = node
  while current do
    local cached = rawget(current, "path")
    if cached then
      prefix = cached
      break
    end
    n = n + 1
    names[n] = text(rawget(current, "name"))
    current = rawget(current, "parent")
  end
  local parts, m = {}, 0
  if prefix then
    m = 1
    parts[1] = prefix
  end
  for i = n, 1, -1 do
    m = m + 1
    parts[m] = names[i]
  end
  local path = table_concat(parts, "/")
  rawset(node, "path", path)
  return path
end

function node_mt.__tostring(node)
  return string_format("gong.tree.node(%s, id=%s)", node.path, tostring(rawget(node, "id")))
end

local methods = {}
local tree_mt = { __index = methods }

function tree_mt.__tostring(t)
  return string_format("gong.tree(%d folders, %d roots)", t.count, #t.roots)
end

---The node of the folder with this id; for a duplicated id, the first folder
---with it in input order.
---@param id string
---@return gong.TreeNode|nil
function methods:get(id)
  if id == nil then
    return nil
  end
  local index = index_of[self]
  local position = index.first[id]
  return position and index.nodes[position]
end

---Depth-first pre-order traversal: roots in order, each followed by its
---children in order. For `for node, depth in t:walk() do ... end`.
---@return fun(): gong.TreeNode|nil, integer|nil
function methods:walk()
  -- One frame per level (a list and the next index in it), so memory follows
  -- the depth of the tree, not its width.
  local lists, positions, top = { self.roots }, { 1 }, 1
  return function()
    while top > 0 do
      local i = positions[top]
      local node = lists[top][i]
      if node then
        positions[top] = i + 1
        local children = node.children
        if children[1] then
          top = top + 1
          lists[top], positions[top] = children, 1
        end
        return node, node.depth
      end
      lists[top], positions[top] = nil, nil
      top = top - 1
    end
    return nil
  end
end

---Depth-first traversal with a call on the way in and one on the way out:
---`enter(node, depth, last)` before the node's children, `leave(node, depth,
---last)` after them (leave is optional); `last` is true for the last of its
---siblings. When `enter` returns false the node's children are skipped, and
---`leave` is still called. Renderers draw guides and nest output with it.
---@param enter fun(node: gong.TreeNode, depth: integer, last: boolean): boolean?
---@param leave? fun(node: gong.TreeNode, depth: integer, last: boolean)
function methods:visit(enter, leave)
  -- One frame per level: the list, the next index in it, and the node whose
  -- children the list is (left when the frame is done).
  local lists, positions, owners, top = { self.roots }, { 1 }, { false }, 1
  while top > 0 do
    local list, i = lists[top], positions[top]
    local node = list[i]
    if node then
      positions[top] = i + 1
      local last = list[i + 1] == nil
      local children = node.children
      if enter(node, top - 1, last) ~= false and children[1] then
        top = top + 1
        lists[top], positions[top], owners[top] = children, 1, node
      elseif leave then
        leave(node, top - 1, last)
      end
    else
      local owner = owners[top]
      lists[top], positions[top], owners[top] = nil, nil, nil
      top = top - 1
      if owner and leave then
        leave(owner, top - 1, lists[top][positions[top]] == nil)
      end
    end
  end
end

---Works out every node's `total_calls` again from the `callCount`s, after
---they changed (client:library() counts the calls of folders whose count
---the server did not send). A total is absent while a count under it is.
function methods:recount()
  local sums = {}
  self:visit(function(node, depth)
    sums[depth + 1] = type(node.callCount) == "number" and node.callCount or false
  end, function(node, depth)
    local total = sums[depth + 1]
    node.total_calls = total or nil
    sums[depth + 1] = nil
    if depth > 0 then
      sums[depth] = add_total(sums[depth], total)
    end
  end)
end

-- Finds by a "/"-joined path. Names may contain "/" themselves, so a node
-- matches when its name is a prefix of what is left followed by "/" or the end;
-- several siblings can match, hence the explicit backtracking stack. Only
-- nodes on matching prefixes are visited, so no path index is ever built.
local function find_by_string(roots, path)
  local last = #path
  local lists, positions, offsets, top = { roots }, { 1 }, { 1 }, 1
  while top > 0 do
    local i = positions[top]
    local node = lists[top][i]
    if node then
      positions[top] = i + 1
      local offset = offsets[top]
      local name = text(node.name)
      local after = offset + #name
      if string_sub(path, offset, after - 1) == name then
        if after - 1 == last then
          return node
        end
        -- 47 is "/"
        if string_byte(path, after) == 47 and node.children[1] then
          top = top + 1
          lists[top], positions[top], offsets[top] = node.children, 1, after + 1
        end
      end
    else
      lists[top], positions[top], offsets[top] = nil, nil, nil
      top = top - 1
    end
  end
  return nil
end

-- Finds by a list of names: exact name per level, still backtracking because
-- siblings may share a name.
local function find_by_names(roots, names)
  local last = #names
  if last == 0 then
    return nil
  end
  local lists, positions, top = { roots }, { 1 }, 1
  while top > 0 do
    local i = positions[top]
    local node = lists[top][i]
    if node then
      positions[top] = i + 1
      if text(node.name) == names[top] then
        if top == last then
          return node
        end
        if node.children[1] then
          top = top + 1
          lists[top], positions[top] = node.children, 1
        end
      end
    else
      lists[top], positions[top] = nil, nil
      top = top - 1
    end
  end
  return nil
end

---The first node, in walk order, at this path. `path` is either a string of
---names joined with "/" (a name containing "/" still matches) or an array of
---names, which is unambiguous. A folder without a name counts as "".
---@param path string|string[]
---@return gong.TreeNode|nil
function methods:find(path)
  local kind = type(path)
  if kind == "string" then
    return find_by_string(self.roots, path)
  end
  if kind ~= "table" then
    error(gong_error("argument", "gong.tree:find: path must be a string or an array of names, got " .. kind), 2)
  end
  for i = 1, #path do
    if type(path[i]) ~= "string" then
      error(gong_error("argument", string_format("gong.tree:find: path[%d] must be a string, got %s", i,
                                                 type(path[i]))), 2)
    end
  end
  return find_by_names(self.roots, path)
end

---Builds the folder tree. Never modifies `folders`; each folder becomes a new
---node table holding a shallow copy of its fields plus `children`, `parent`,
---`depth`, `total_calls` and a lazily computed `path` (these names win over
---folder fields of the same name). Unknown parents, cycles and duplicate ids
---are reported in the tree (`orphans`, `cycles`, `duplicates`), not raised.
---@param folders gong.Folder[] folders as returned by the client
---@return gong.Tree
function _M.build(folders)
  if type(folders) ~= "table" then
    error(gong_error("argument", "gong.tree.build: folders must be a table, got " .. type(folders)), 2)
  end
  local t, index = shape.build(folders, node_mt)
  setmetatable(t, tree_mt)
  index_of[t] = index
  return t
end

return _M
