--- gong.tree: turns the flat folder list of the Gong Library API into a tree.
--
-- Pure Lua, no network, no C: the same behaviour under Lua 5.1-5.4 and LuaJIT.
-- The input comes from a remote service, so it is never trusted to be a tree:
-- unknown parents, parent cycles, duplicate ids and missing ids are all
-- reported instead of raising, and every folder ends up as exactly one node.
-- Folder lists can be large (and, through bad data, arbitrarily deep), so
-- nothing here recurses and nothing costs more than sorting does.

local error = error
local os = os -- the table, not os.setlocale: the collation locale is checked per call
local pairs = pairs
local rawget = rawget
local rawset = rawset
local setmetatable = setmetatable
local string_byte = string.byte
local string_format = string.format
local string_sub = string.sub
local table_concat = table.concat
local table_sort = table.sort
local tostring = tostring
local type = type

local is_luajit = type(rawget(_G, "jit")) == "table"

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

-- Byte-wise "less than". Lua 5.x compares strings with strcoll, so under a
-- non-C collation locale "<" would order names differently from LuaJIT (which
-- always compares bytes) and from one host to the next. Reads four bytes per
-- call because folder names often share long prefixes ("Team ...").
local function byte_less(a, b)
  if a == b then
    return false
  end
  local la, lb = #a, #b
  local shorter = la < lb and la or lb
  local i = 1
  while i + 3 <= shorter do
    local a1, a2, a3, a4 = string_byte(a, i, i + 3)
    local b1, b2, b3, b4 = string_byte(b, i, i + 3)
    if a1 ~= b1 then
      return a1 < b1
    end
    if a2 ~= b2 then
      return a2 < b2
    end
    if a3 ~= b3 then
      return a3 < b3
    end
    if a4 ~= b4 then
      return a4 < b4
    end
    i = i + 4
  end
  for j = i, shorter do
    local x, y = string_byte(a, j), string_byte(b, j)
    if x ~= y then
      return x < y
    end
  end
  return la < lb
end

local function plain_less(a, b)
  return a < b
end

-- Picks the cheapest comparison that still gives byte order: LuaJIT's "<"
-- never consults the locale, and under the C locale strcoll is strcmp, so in
-- both cases the built-in "<" is fast and correct.
local function string_less()
  if is_luajit then
    return plain_less
  end
  local setlocale = os and os.setlocale
  if not setlocale then
    return byte_less
  end
  local collate = setlocale(nil, "collate")
  if collate == "C" or collate == "POSIX" then
    return plain_less
  end
  return byte_less
end

-- The text a name (or id) contributes to ordering and paths: nil is "".
local function text(value)
  if value == nil then
    return ""
  end
  if type(value) == "string" then
    return value
  end
  return tostring(value)
end

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
      local parent = sums[depth]
      sums[depth] = parent and total and parent + total
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
    error("gong.tree:find: path must be a string or an array of names, got " .. kind, 2)
  end
  for i = 1, #path do
    if type(path[i]) ~= "string" then
      error(string_format("gong.tree:find: path[%d] must be a string, got %s", i, type(path[i])), 2)
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
    error("gong.tree.build: folders must be a table, got " .. type(folders), 2)
  end
  local less = string_less()
  local count = #folders

  -- A large list outgrows the CPU caches, and then the time goes to touching
  -- tables rather than to computing. So the tree's shape is worked out first
  -- on arrays indexed by input position, each filled in order so that it
  -- stays an array, and the nodes are created last, in walk order: a node is
  -- written once or twice, and a walk reads memory front to back.

  -- Pass 1: sort keys and calls, and the first position of every id.
  local name_keys, id_keys, totals = {}, {}, {}
  local first, duplicate_positions = {}, {}
  for i = 1, count do
    local folder = folders[i]
    if type(folder) ~= "table" then
      error(string_format("gong.tree.build: folders[%d] must be a table, got %s", i, type(folder)), 2)
    end
    local name, id, calls = folder.name, folder.id, folder.callCount
    name_keys[i] = type(name) == "string" and name or text(name)
    id_keys[i] = type(id) == "string" and id or text(id)
    -- A count the server did not send is unknown (false), not 0.
    totals[i] = type(calls) == "number" and calls or false
    -- A NaN id cannot be a table key, nor equal anything: treated as none.
    if id ~= nil and id == id then
      if first[id] == nil then
        first[id] = i
      else
        duplicate_positions[#duplicate_positions + 1] = i
      end
    end
  end

  -- Ordering on input positions: name, then id, then position. Total, so the
  -- result never depends on the sort algorithm. A wide folder makes this the
  -- bulk of the calls, so where "<" is byte order it is used in place.
  local before
  if less == plain_less then
    before = function(a, b)
      local na, nb = name_keys[a], name_keys[b]
      if na ~= nb then
        return na < nb
      end
      local ia, ib = id_keys[a], id_keys[b]
      if ia ~= ib then
        return ia < ib
      end
      return a < b
    end
  else
    before = function(a, b)
      local na, nb = name_keys[a], name_keys[b]
      if na ~= nb then
        return less(na, nb)
      end
      local ia, ib = id_keys[a], id_keys[b]
      if ia ~= ib then
        return less(ia, ib)
      end
      return a < b
    end
  end

  -- Pass 2: parent positions (false for none), and the arrays the next passes
  -- fill out of order, filled in order here. Links always point at the first
  -- folder with an id, so duplicates and folders without id can have parents
  -- but never be one.
  local parent_of, stamp, first_child, nodes = {}, {}, {}, {}
  local orphan_positions = {}
  for i = 1, count do
    local parent_id = folders[i].parentFolderId
    local p = false
    if parent_id ~= nil then
      p = first[parent_id] or false
      if not p then
        orphan_positions[#orphan_positions + 1] = i
      end
    end
    parent_of[i], stamp[i], first_child[i], nodes[i] = p, 0, 0, false
  end

  -- Pass 3: break cycles. Each node has at most one parent, so following
  -- parent links from every unvisited node, stamped with the walk's start,
  -- finds each cycle exactly once: meeting our own stamp means a cycle,
  -- meeting another stamp means an already-explored chain. O(n) overall.
  local broken = {}
  for start = 1, count do
    if stamp[start] == 0 then
      local i = start
      while i and stamp[i] == 0 do
        stamp[i] = start
        i = parent_of[i]
      end
      if i and stamp[i] == start then
        -- i is on the cycle; its smallest id becomes the root. Members all
        -- have distinct ids (they are all parents), but ids of different
        -- types can print alike, so position settles ties.
        local root = i
        local j = parent_of[i]
        while j ~= i do
          local kj, kr = id_keys[j], id_keys[root]
          if less(kj, kr) or (kj == kr and j < root) then
            root = j
          end
          j = parent_of[j]
        end
        local ids = { folders[root].id }
        j = parent_of[root]
        while j ~= root do
          ids[#ids + 1] = folders[j].id
          j = parent_of[j]
        end
        parent_of[root] = false
        broken[#broken + 1] = { position = root, ids = ids }
      end
    end
  end
  -- Listed by the input position of the node made root: independent of which
  -- member the detection happened to reach first.
  table_sort(broken, function(a, b)
    return a.position < b.position
  end)
  local cycles = {}
  for k = 1, #broken do
    cycles[k] = broken[k].ids
  end

  -- Pass 4: each parent's children as a linked list of positions
  -- (first_child, next_sibling), and the roots in order.
  local next_sibling, root_positions = {}, {}
  for i = 1, count do
    local p = parent_of[i]
    if p then
      next_sibling[i] = first_child[p]
      first_child[p] = i
    else
      next_sibling[i] = 0
      root_positions[#root_positions + 1] = i
    end
  end
  table_sort(root_positions, before)

  -- Pass 5: the nodes, depth first in walk order. A frame per level holds the
  -- level's sorted positions, the next one to create, the list the nodes go
  -- in, their parent, and the parent's total so far, which is complete (and
  -- stored) when the frame is done. Every node is reached: once cycles are
  -- broken, every parent chain ends at a root.
  local roots = {}
  local families, next_of, lists, parents, sums = { root_positions }, { 1 }, { roots }, { false }, { 0 }
  local top = 1
  while top > 0 do
    local k = next_of[top]
    local i = families[top][k]
    if i then
      next_of[top] = k + 1
      local parent = parents[top]
      -- The constructor sizes the hash part for a folder of the contract
      -- plus the computed fields, so that filling the node never grows it:
      -- a nil-valued field reserves room without being stored.
      local node = setmetatable({
        id = nil, name = nil, parentFolderId = nil, description = nil, callCount = nil,
        createdBy = nil, created = nil, parent = nil, depth = nil, total_calls = nil,
        children = nil,
      }, node_mt)
      for key, value in pairs(folders[i]) do
        node[key] = value
      end
      -- A copied "path" would shadow the lazy one forever, so it goes too.
      node.path = nil
      node.parent = parent or nil
      node.depth = top - 1
      local children = {}
      node.children = children
      nodes[i] = node
      local list = lists[top]
      list[k] = node
      local c = first_child[i]
      if c == 0 then
        local total = totals[i]
        node.total_calls = total or nil
        sums[top] = sums[top] and total and sums[top] + total
      else
        local family, n = {}, 0
        repeat
          n = n + 1
          family[n] = c
          c = next_sibling[c]
        until c == 0
        if n > 1 then
          table_sort(family, before)
        end
        top = top + 1
        families[top], next_of[top], lists[top], parents[top], sums[top] = family, 1, children, node, totals[i]
      end
    else
      local node, total = parents[top], sums[top]
      families[top], next_of[top], lists[top], parents[top], sums[top] = nil, nil, nil, nil, nil
      top = top - 1
      if node then
        node.total_calls = total or nil
        sums[top] = sums[top] and total and sums[top] + total
      end
    end
  end

  local orphans, duplicates = {}, {}
  for k = 1, #orphan_positions do
    orphans[k] = nodes[orphan_positions[k]]
  end
  for k = 1, #duplicate_positions do
    duplicates[k] = nodes[duplicate_positions[k]]
  end
  local t = setmetatable({
    roots = roots,
    count = count,
    orphans = orphans,
    cycles = cycles,
    duplicates = duplicates,
  }, tree_mt)
  index_of[t] = { first = first, nodes = nodes }
  return t
end

return _M
