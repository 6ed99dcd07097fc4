--- gong.tree_shape: how gong.tree.build works out a tree's shape from the
--- flat folder list, in passes over arrays indexed by input position, and
--- the two rules every part of the tree shares: the order of names (bytes,
--- on every Lua and in every locale) and the totals (absent as soon as a
--- count under them is unknown). Iterative throughout: a chain of 100,000
--- nested folders builds fine.

local gong_error = require("gong.core").error

local error = error
local os = os -- the table, not os.setlocale: the collation locale is checked per call
local pairs = pairs
local rawget = rawget
local setmetatable = setmetatable
local string_byte = string.byte
local string_format = string.format
local table_sort = table.sort
local tostring = tostring
local type = type

local is_luajit = type(rawget(_G, "jit")) == "table"

local _M = {}

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
function _M.text(value)
  if value == nil then
    return ""
  end
  if type(value) == "string" then
    return value
  end
  return tostring(value)
end

-- The one rule of totals: a total is absent as soon as a count under it is
-- unknown, never a sum that quietly counts that count as 0. `sum` is a node's
-- total so far (it starts as the node's own count), `total` a child's; false
-- is unknown, and so is the result when either is.
function _M.add_total(sum, total)
  return sum and total and sum + total
end

local text, add_total = _M.text, _M.add_total

-- Building. A large list outgrows the CPU caches, and then the time goes to
-- touching tables rather than to computing. So the tree's shape is worked out
-- first on arrays indexed by input position, each filled in order so that it
-- stays an array, and the nodes are created last, in walk order: a node is
-- written once or twice, and a walk reads memory front to back. Each pass is
-- one function around its loops; build() is the list of passes.

-- Index the folders. Promises, per input position: the name and the id as
-- sort keys (text) and the folder's own count (false when unknown, not 0);
-- the first position of every id; the positions of folders whose id was
-- already seen, in input order. Raises for an item that is not a table.
local function index_folders(folders, count)
  local name_keys, id_keys, totals = {}, {}, {}
  local first, duplicate_positions = {}, {}
  for i = 1, count do
    local folder = folders[i]
    if type(folder) ~= "table" then
      error(gong_error("argument", string_format("gong.tree.build: folders[%d] must be a table, got %s", i,
                                                 type(folder))), 3)
    end
    local name, id, calls = folder.name, folder.id, folder.callCount
    name_keys[i] = type(name) == "string" and name or text(name)
    id_keys[i] = type(id) == "string" and id or text(id)
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
  return name_keys, id_keys, totals, first, duplicate_positions
end

-- The order of siblings, on input positions: name, then id, then position.
-- Total, so the result never depends on the sort algorithm. A wide folder
-- makes this the bulk of the calls, so where "<" is byte order it is used in
-- place.
local function sibling_order(name_keys, id_keys, less)
  if less == plain_less then
    return function(a, b)
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
  end
  return function(a, b)
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

-- Link parents. Promises, per input position, the parent's position (false
-- for none), and the positions of orphans (a parentFolderId naming no known
-- folder) in input order. Links always point at the first folder with an id,
-- so duplicates and folders without id can have parents but never be one.
-- Also returns the arrays the later passes fill out of order (stamp,
-- first_child, nodes), filled in order here so that they stay arrays.
local function link_parents(folders, count, first)
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
  return parent_of, orphan_positions, stamp, first_child, nodes
end

-- Break cycles. Promises: afterwards every parent chain ends at a root. Each
-- cycle is cut at its member with the smallest id, which loses its parent,
-- and is listed as ids in parent-chain order from that member; the lists are
-- ordered by the input position of the member made root.
local function break_cycles(folders, count, parent_of, stamp, id_keys, less)
  -- Each node has at most one parent, so following parent links from every
  -- unvisited node, stamped with the walk's start, finds each cycle exactly
  -- once: meeting our own stamp means a cycle, meeting another stamp means an
  -- already-explored chain. O(n) overall.
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
  -- By the node made root: independent of which member the detection
  -- happened to reach first.
  table_sort(broken, function(a, b)
    return a.position < b.position
  end)
  local cycles = {}
  for k = 1, #broken do
    cycles[k] = broken[k].ids
  end
  return cycles
end

-- Group children. Promises the positions of the roots, sorted, and each
-- parent's children as a linked list of positions, not yet sorted:
-- first_child[p] (0 for none), then next_sibling[c] until 0.
local function group_children(count, parent_of, first_child, before)
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
  return root_positions, next_sibling
end

-- Create the nodes in walk order. Promises every folder's node, at its input
-- position in `nodes`, with its children sorted and its parent, depth and
-- total_calls set; returns the roots. Every node is reached: once cycles are
-- broken, every parent chain ends at a root.
local function create_nodes(folders, totals, before, root_positions, first_child, next_sibling, nodes, node_mt)
  -- Depth first, a frame per level: the level's sorted positions, the next
  -- one to create, the list the nodes go in, their parent, and the parent's
  -- total so far, which is complete (and stored) when the frame is done.
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
        sums[top] = add_total(sums[top], total)
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
        sums[top] = add_total(sums[top], total)
      end
    end
  end
  return roots
end

-- The nodes at these input positions, in the same order.
local function nodes_at(nodes, positions)
  local list = {}
  for k = 1, #positions do
    list[k] = nodes[positions[k]]
  end
  return list
end

---Works out the tree of `folders` (a table, checked by gong.tree.build): its
---public fields (roots, count, orphans, cycles, duplicates), nodes made with
---the metatable `node_mt`, and the id index (first position of each id, the
---nodes by position).
---@param folders gong.Folder[]
---@param node_mt table
---@return table tree
---@return table index
function _M.build(folders, node_mt)
  local less = string_less()
  local count = #folders
  local name_keys, id_keys, totals, first, duplicate_positions = index_folders(folders, count)
  local before = sibling_order(name_keys, id_keys, less)
  local parent_of, orphan_positions, stamp, first_child, nodes = link_parents(folders, count, first)
  local cycles = break_cycles(folders, count, parent_of, stamp, id_keys, less)
  local root_positions, next_sibling = group_children(count, parent_of, first_child, before)
  local roots = create_nodes(folders, totals, before, root_positions, first_child, next_sibling, nodes, node_mt)
  return {
    roots = roots,
    count = count,
    orphans = nodes_at(nodes, orphan_positions),
    cycles = cycles,
    duplicates = nodes_at(nodes, duplicate_positions),
  }, { first = first, nodes = nodes }
end

return _M
