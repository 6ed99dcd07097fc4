--- gong.cli.trees: a folder tree as gong-library shows it, drawn with
--- box-drawing guides, as nested JSON, or as CSV of one row per folder.
---
--- A tree is a gong.tree (client:tree(), or gong.tree.build of a folder list),
--- whose nodes carry children, depth, path and total_calls; the renderers go
--- through it with tree:visit, which never recurses, so server data deeper
--- than Lua's call stack still renders. Each takes `opts.depth`, the levels
--- below the top to show (0: the top-level folders only; all when nil).

local fields_of = require "gong.cli.fields"
local csv = require "gong.cli.csv"
local json = require "gong.json"
local text = require "gong.cli.text"

local concat, ipairs, min, type = table.concat, ipairs, math.min, type

local cell, number, present, width = text.cell, json.number, json.present, text.width

local _M = {}

-- "12 calls", "1 call", and "? calls" for a count the server did not send.
local function count_calls(n)
  return (type(n) == "number" and number(n) or "?") .. (n == 1 and " call" or " calls")
end

-- The enter function of a visit that stops `depth` levels below the roots
-- (all levels when nil), calling `visit` for each node it enters.
local function down_to(depth, visit)
  return function(node, d, last)
    visit(node, d, last)
    return depth == nil or d < depth
  end
end

-- The least columns a name is cut to before the rest of a line is.
local NAME_LEAST = 12

-- One line of a tree, `before .. name .. counts .. id`, in at most
-- `columns` (when given): the name is cut first, down to NAME_LEAST; then
-- the id is left out (a cut id would be no use); then the line is cut.
local function fit(before, name, counts, id, columns)
  local line = text.rstrip(before .. name .. counts .. id)
  if not columns or width(line) <= columns then return line end
  local room = columns - width(before) - width(counts) - width(id)
  local least = width(name) < NAME_LEAST and width(name) or NAME_LEAST
  name = text.truncate(name, room > least and room or least)
  line = text.rstrip(before .. name .. counts .. id)
  if width(line) <= columns then return line end
  line = text.rstrip(before .. name .. counts)
  return width(line) > columns and text.truncate(line, columns) or line
end

--- A folder tree drawn with box-drawing guides, one folder per line:
--- `Name  (N calls, M in subtree)  [id]`, the subtree total only where the
--- folder has children. The last line gives the number of folders and calls
--- in the whole tree. `opts.depth` leaves out the folders more than that
--- many subfolders each folder at the limit has. With `opts.width` (a
--- terminal's columns), lines fit: a name gives way first, cut with "…",
--- then the id, then the line's end is cut.
---@param tree gong.Tree
---@param opts? { depth?: integer, width?: integer }
---@return string
function _M.text(tree, opts)
  if #tree.roots == 0 then
    return "(no folders)\n"
  end
  local depth_limit, columns = opts and opts.depth, opts and opts.width
  local lines = {}
  -- leads[d]: the guides in front of the nodes at depth d.
  local leads = { [0] = "" }
  tree:visit(down_to(depth_limit, function(node, depth, last)
    local counts = count_calls(node.callCount)
    if node.children[1] then
      counts = counts .. ", " .. (type(node.total_calls) == "number" and number(node.total_calls) or "?")
        .. " in subtree"
      if depth == depth_limit then
        local n = #node.children
        counts = counts .. "; " .. n .. (n == 1 and " subfolder" or " subfolders") .. " not shown"
      end
    end
    local name = present(node.name) and cell(node.name) or "(unnamed)"
    local id = present(node.id) and "  [" .. cell(node.id) .. "]" or ""
    local branch = depth == 0 and "" or last and "└── " or "├── "
    lines[#lines + 1] = fit(leads[depth] .. branch, name, "  (" .. counts .. ")", id, columns)
    -- Children of a last child hang under blank space, others under a rule.
    leads[depth + 1] = depth == 0 and "" or leads[depth] .. (last and "    " or "│   ")
  end))
  -- Every node is under one root, so the roots' totals count every call
  -- (unknown when one of them is).
  local folders, calls = tree.count, 0
  for _, root in ipairs(tree.roots) do
    calls = calls and type(root.total_calls) == "number" and calls + root.total_calls or nil
  end
  lines[#lines + 1] = fit("", folders .. (folders == 1 and " folder, " or " folders, ") .. count_calls(calls), "", "",
                         columns)
  return concat(lines, "\n") .. "\n"
end

-- "a, b, c" of the first three ids of `list` (each got by `id`), and "…" after them when there are more.
local function some_ids(list, id)
  local shown = {}
  for i = 1, min(#list, 3) do shown[i] = present(id(list[i])) and cell(id(list[i])) or "(no id)" end
  if #list > 3 then shown[#shown + 1] = "…" end
  return concat(shown, ", ")
end

local function node_id(node) return node.id end

--- What is wrong with the folder list a tree was built of, in one line, or
--- nil when it is a proper tree: folders whose parent is not in the list
--- (gong.tree puts them at the top), cycles of parents (each broken at its
--- first folder, put at the top) and folders with the id of another (each a
--- folder of its own), naming the first three of each. gong-library tree
--- says it on stderr.
---@param tree gong.Tree
---@return string|nil
function _M.problems(tree)
  local parts = {}
  local n = #tree.orphans
  if n > 0 then
    parts[#parts + 1] = ("%d %s whose parent is not in the list (%s), shown at the top"):format(n,
      n == 1 and "folder" or "folders", some_ids(tree.orphans, node_id))
  end
  n = #tree.cycles
  if n > 0 then
    parts[#parts + 1] = ("%d %s of parents (%s), %s, shown at the top"):format(n, n == 1 and "cycle" or "cycles",
      some_ids(tree.cycles, function(ids) return concat(ids, " > ") .. " > " .. ids[1] end),
      n == 1 and "broken at " .. cell(tree.cycles[1][1]) or "each broken at its first folder")
  end
  n = #tree.duplicates
  if n > 0 then
    parts[#parts + 1] = ("%d %s with the id of another (%s), shown as %s of %s own"):format(n,
      n == 1 and "folder" or "folders", some_ids(tree.duplicates, node_id), n == 1 and "a folder" or "folders",
      n == 1 and "its" or "their")
  end
  if #parts == 0 then return nil end
  return "the folder list is not a proper tree: " .. concat(parts, "; ")
end

--- The tree as nested JSON, the shape tree JSON and export's JSON share: an
--- array of root objects, each with the folder's fields (gong.cli.fields),
--- `total_calls`, what `extra(w, node)` writes on the gong.json writer `w`,
--- and `children` (down to `depth` levels below the roots when given). A
--- folder at that depth with subfolders has `children_not_shown`, their
--- number, instead of `children`: an empty list would say it has none.
---@param tree gong.Tree
---@param extra? fun(w: gong.json.Writer, node: table)
---@param depth? integer
---@return string
function _M.nested_json(tree, extra, depth)
  local function cut(node, d)
    return depth ~= nil and d >= depth and node.children[1] ~= nil
  end
  local w = json.writer({ indent = true })
  w:array()
  tree:visit(down_to(depth, function(node, d)
    w:object()
    fields_of.write(w, node, "folder")
    if present(node.total_calls) then w:field("total_calls", node.total_calls) end
    if extra then extra(w, node) end
    if cut(node, d) then
      w:field("children_not_shown", #node.children)
    else
      w:key("children")
      w:array()
    end
  end), function(node, d)
    if not cut(node, d) then w:close_array() end
    w:close_object()
  end)
  w:close_array()
  return w:take() .. "\n"
end

--- The folder tree as nested JSON: an array of root objects, each with the
--- folder's fields (gong.cli.fields), `total_calls` and `children` (an array, `[]` for
--- a leaf). There are no parent back-references. With `opts.depth`, folders
--- deeper than that are left out (their totals still count in total_calls),
--- and a folder at the limit with subfolders has `children_not_shown`, their
--- number, instead of `children`.
---@param tree gong.Tree
---@param opts? { depth?: integer }
---@return string
function _M.json(tree, opts)
  return _M.nested_json(tree, nil, opts and opts.depth)
end

--- The folder tree as CSV: one row per folder in tree order (each folder
--- before its children), the folder's columns (gong.cli.fields) followed by `depth`
--- (0 for a root) and `total_calls`; with `opts.depth`, no row deeper than that.
---@param tree gong.Tree
---@param opts? { depth?: integer }
---@return string
function _M.csv(tree, opts)
  local fields = {}
  for i, name in ipairs(fields_of.folder) do
    fields[i] = name
  end
  fields[#fields + 1] = "depth"
  fields[#fields + 1] = "total_calls"
  local records = {}
  tree:visit(down_to(opts and opts.depth, function(node, depth)
    local r = { depth = depth, total_calls = node.total_calls }
    for _, name in ipairs(fields_of.folder) do
      r[name] = node[name]
    end
    records[#records + 1] = r
  end))
  return csv.records(fields, records)
end

return _M
