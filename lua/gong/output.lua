--- Rendering for the gong-library command: the same folders, calls and folder
--- trees as an aligned table, RFC 4180 CSV, or JSON, and the whole library
--- (folders with their calls) as nested JSON or NDJSON for `export`.
---
--- Every function here is pure (data in, string out) so the exact output can be
--- specified without running a process or a server. Each returned string is the
--- complete output, ending in a newline (only an empty NDJSON export is empty),
--- with no trailing spaces on any line.
---
--- Decisions a user can rely on:
--- * Columns and JSON keys follow the order of the API contract, never the
---   order of a Lua table.
--- * A field that is absent (nil, or any value that is not a string, number or
---   boolean) is omitted from JSON objects, left empty in CSV, and shown as `-`
---   in tables.
--- * An empty list is `[]` in JSON, a header row alone in CSV, and a line such as
---   `(no folders)` in tables and trees, so a person sees the list was empty
---   rather than wondering whether something failed.
--- * Table widths are terminal columns: East Asian wide characters and emoji take
---   two, combining marks and zero-width characters none, everything else one.
--- * Control characters in names and titles are shown as spaces in tables and
---   trees, so a hostile or sloppy name cannot break the layout or send escape
---   sequences to the terminal. CSV and JSON carry the data unchanged.

local byte = string.byte
local concat = table.concat
local floor = math.floor
local format = string.format
local huge = math.huge
local ipairs = ipairs
local math_type = math.type -- nil before Lua 5.3
local rep = string.rep
local sub = string.sub
local tonumber = tonumber
local tostring = tostring
local type = type

local _M = {}

--- Field names of a folder, in the contract's order (LibraryFolder).
_M.FOLDER_FIELDS = {
  "id", "name", "description", "parentFolderId", "callCount", "createdBy", "created",
}

--- Field names of a call, in the contract's order (LibraryCall).
_M.CALL_FIELDS = {
  "callId", "title", "url", "started", "duration", "primaryUserId", "addedToLibraryAt", "addedBy",
}

-- JSON has no null sentinel we can trust across decoders (cjson.null is a
-- lightuserdata, others use a table), so only plain scalars count as present.
local function present(v)
  local t = type(v)
  return t == "string" or t == "number" or t == "boolean"
end

--- Formats a number the way JSON and CSV want it: integral values without a
--- fractional part (so `12`, never `12.0`, on every Lua version), other values
--- in the shortest form that reads back as the same double. Returns nil for NaN
--- and infinities, which JSON cannot express.
---@param n number
---@return string|nil
function _M.number(n)
  if n ~= n or n == huge or n == -huge then
    return nil
  end
  if math_type and math_type(n) == "integer" then
    return tostring(n)
  end
  -- Below 2^53 every integral double is exact, so %d cannot round.
  if n == floor(n) and n > -2 ^ 53 and n < 2 ^ 53 then
    return format("%d", n)
  end
  for precision = 14, 16 do
    local s = format("%." .. precision .. "g", n)
    if tonumber(s) == n then
      return s
    end
  end
  return format("%.17g", n)
end

-- Code point ranges a terminal draws two columns wide (East Asian Wide and
-- Fullwidth, emoji), then ranges it draws in none (combining marks,
-- zero-width characters, variation selectors). Sorted, inclusive.
local WIDE = {
  { 0x1100, 0x115F }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF },
  { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF },
  { 0xFE30, 0xFE4F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F },
  { 0x1F900, 0x1F9FF }, { 0x20000, 0x3FFFD },
}
local ZERO = {
  { 0x0300, 0x036F }, { 0x200B, 0x200F }, { 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F },
  { 0xFE20, 0xFE2F },
}

local function in_ranges(ranges, cp)
  for i = 1, #ranges do
    local r = ranges[i]
    if cp < r[1] then return false end
    if cp <= r[2] then return true end
  end
  return false
end

--- Number of columns a string takes on a terminal: UTF-8 decoded, wide
--- characters counted twice, combining and zero-width ones not at all.
--- Bytes that are not valid UTF-8 count one column each.
---@param s string
---@return integer
function _M.width(s)
  if not s:find("[\128-\255]") then return #s end
  local n, i, len = 0, 1, #s
  while i <= len do
    local c = byte(s, i)
    local cp, size
    if c < 0x80 then cp, size = c, 1
    elseif c >= 0xF0 and c < 0xF8 then cp, size = c % 0x08, 4
    elseif c >= 0xE0 then cp, size = c % 0x10, 3
    elseif c >= 0xC0 then cp, size = c % 0x20, 2
    else cp, size = nil, 1 end
    for k = 1, size - 1 do
      local cc = byte(s, i + k)
      if not cc or cc < 0x80 or cc > 0xBF then cp, size = nil, 1 break end
      cp = cp * 64 + cc % 64
    end
    if cp == nil or cp < 0x300 then n = n + 1
    elseif in_ranges(ZERO, cp) then n = n + 0
    elseif in_ranges(WIDE, cp) then n = n + 2
    else n = n + 1 end
    i = i + size
  end
  return n
end

--- Formats a duration in seconds as h:mm:ss, rounded to the nearest second.
--- Returns `-` when there is no usable number.
---@param seconds number|nil
---@return string
function _M.duration(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds == huge or seconds == -huge then
    return "-"
  end
  local sign = ""
  if seconds < 0 then
    sign, seconds = "-", -seconds
  end
  local s = floor(seconds + 0.5)
  return format("%s%d:%02d:%02d", sign, floor(s / 3600), floor(s % 3600 / 60), s % 60)
end

-- Makes a value safe to show in a table or tree cell: one line, no terminal
-- control sequences (C0 controls, DEL, and the C1 range U+0080-U+009F, which
-- some terminals honour as escape sequences too).
local function display(v)
  if not present(v) then
    return "-"
  end
  local s
  if type(v) == "number" then
    s = _M.number(v) or tostring(v)
  else
    s = tostring(v)
  end
  s = s:gsub("%c", " ")
  s = s:gsub("\194[\128-\159]", " ")
  return s
end

-- Scans from the end: the pattern " +$" retries at every space of a line and
-- turns deep trees (long runs of blank guides) quadratic.
local function rstrip(s)
  local i = #s
  while i > 0 and byte(s, i) == 32 do
    i = i - 1
  end
  return sub(s, 1, i)
end

-- Lays out rows of strings in columns two spaces apart. `right[i]` right-aligns
-- column i (numbers and durations line up on their last digit).
local function columns(header, rows, right)
  local widths = {}
  for i, h in ipairs(header) do
    widths[i] = _M.width(h)
  end
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      local w = _M.width(cell)
      if w > widths[i] then
        widths[i] = w
      end
    end
  end
  local lines = {}
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do
      local pad = rep(" ", widths[i] - _M.width(cell))
      parts[i] = right[i] and pad .. cell or cell .. pad
    end
    -- A left-aligned last column is padded like the others; strip that
    -- rather than special-case it, so no line ends in spaces.
    lines[#lines + 1] = rstrip(concat(parts, "  "))
  end
  line(header)
  for _, row in ipairs(rows) do
    line(row)
  end
  return concat(lines, "\n") .. "\n"
end

--- Folders as an aligned table: ID, NAME, PARENT, CALLS, CREATED.
---@param folders table[]
---@return string
function _M.folders_table(folders)
  if #folders == 0 then
    return "(no folders)\n"
  end
  local rows = {}
  for i, f in ipairs(folders) do
    rows[i] = {
      display(f.id), display(f.name), display(f.parentFolderId), display(f.callCount), display(f.created),
    }
  end
  return columns({ "ID", "NAME", "PARENT", "CALLS", "CREATED" }, rows, { [4] = true })
end

--- Calls as an aligned table: CALL ID, TITLE, STARTED, DURATION (h:mm:ss), URL.
---@param calls table[]
---@return string
function _M.calls_table(calls)
  if #calls == 0 then
    return "(no calls)\n"
  end
  local rows = {}
  for i, c in ipairs(calls) do
    rows[i] = {
      display(c.callId), display(c.title), display(c.started), _M.duration(c.duration), display(c.url),
    }
  end
  return columns({ "CALL ID", "TITLE", "STARTED", "DURATION", "URL" }, rows, { [4] = true })
end

-- CSV ------------------------------------------------------------------------

local function csv_field(v)
  if not present(v) then
    return ""
  end
  local s = type(v) == "number" and (_M.number(v) or "") or tostring(v)
  if s:find('[",\r\n]') then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

-- RFC 4180: CRLF after every record, including the last, and the header row
-- even when there are no records, so the columns are always known.
local function csv(fields, records)
  local lines = {}
  local header = {}
  for i, name in ipairs(fields) do
    header[i] = csv_field(name)
  end
  lines[1] = concat(header, ",")
  for _, r in ipairs(records) do
    local cells = {}
    for i, name in ipairs(fields) do
      cells[i] = csv_field(r[name])
    end
    lines[#lines + 1] = concat(cells, ",")
  end
  return concat(lines, "\r\n") .. "\r\n"
end

--- Folders as CSV with every contract field as a column, in contract order.
---@param folders table[]
---@return string
function _M.folders_csv(folders)
  return csv(_M.FOLDER_FIELDS, folders)
end

--- Calls as CSV with every contract field as a column, in contract order;
--- `duration` stays in seconds so it can be computed with.
---@param calls table[]
---@return string
function _M.calls_csv(calls)
  return csv(_M.CALL_FIELDS, calls)
end

-- JSON -----------------------------------------------------------------------
-- A small exact encoder rather than lua-cjson: cjson cannot tell an empty
-- array from an empty object (Debian's 2.1.0 prints `{}` for both) and prints
-- integral floats as `12.0` on Lua 5.3+, and keys of a Lua table come out in
-- no stable order. Here arrays and objects are built explicitly.

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or (c:byte() < 32 and format("\\u%04x", c:byte())) or c
  end) .. '"'
end

local function json_scalar(v)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t == "number" then
    return _M.number(v) or "null"
  end
  return tostring(v)
end

-- `items` are already-encoded values at depth `indent`.
local function json_array(items, indent)
  if #items == 0 then
    return "[]"
  end
  local inner = indent .. "  "
  return "[\n" .. inner .. concat(items, ",\n" .. inner) .. "\n" .. indent .. "]"
end

-- `members` is a list of {key, encoded value} in output order.
local function json_object(members, indent)
  if #members == 0 then
    return "{}"
  end
  local inner = indent .. "  "
  local parts = {}
  for i, m in ipairs(members) do
    parts[i] = inner .. json_string(m[1]) .. ": " .. m[2]
  end
  return "{\n" .. concat(parts, ",\n") .. "\n" .. indent .. "}"
end

local function record_members(record, fields)
  local members = {}
  for _, name in ipairs(fields) do
    local v = record[name]
    if present(v) then
      members[#members + 1] = { name, json_scalar(v) }
    end
  end
  return members
end

local function records_json(records, fields)
  local items = {}
  for i, r in ipairs(records) do
    items[i] = json_object(record_members(r, fields), "  ")
  end
  return json_array(items, "") .. "\n"
end

--- Folders as a JSON array of objects with the contract's field names.
---@param folders table[]
---@return string
function _M.folders_json(folders)
  return records_json(folders, _M.FOLDER_FIELDS)
end

--- Calls as a JSON array of objects with the contract's field names.
---@param calls table[]
---@return string
function _M.calls_json(calls)
  return records_json(calls, _M.CALL_FIELDS)
end

-- Trees ----------------------------------------------------------------------
-- A tree is what gong's client:tree() returns; only `roots`, and on each node
-- the folder fields, `children` and `total_calls`, are used here, so a
-- hand-built tree renders the same.
--
-- Folder data comes from a server and a parent chain can be arbitrarily deep,
-- so the tree renderers walk with an explicit stack instead of recursing, and
-- append to one buffer that is joined once: building each subtree's string and
-- pasting it into its parent's would copy deep trees over and over.

local function total(node)
  if type(node.total_calls) == "number" then
    return node.total_calls
  end
  return type(node.callCount) == "number" and node.callCount or 0
end

local function children_of(node)
  return type(node.children) == "table" and node.children or {}
end

local function count_calls(n)
  return (_M.number(n) or "?") .. (n == 1 and " call" or " calls")
end

-- Pushes `nodes` onto `stack` so that they pop in their given order, each with
-- what make(node, i, is_last) returns.
local function push_all(stack, nodes, make)
  for i = #nodes, 1, -1 do
    stack[#stack + 1] = make(nodes[i], i == #nodes)
  end
end

--- A folder tree drawn with box-drawing guides, one folder per line:
--- `Name  (N calls, M in subtree)  [id]`, the subtree total only where the
--- folder has children. The last line gives the number of folders and calls.
---@param tree table
---@return string
function _M.tree_text(tree)
  local roots = tree.roots or {}
  if #roots == 0 then
    return "(no folders)\n"
  end
  local lines = {}
  local folders, calls = 0, 0
  local stack = {}
  push_all(stack, roots, function(node)
    return { node = node, lead = "", branch = "", child_lead = "" }
  end)
  while #stack > 0 do
    local item = stack[#stack]
    stack[#stack] = nil
    local node = item.node
    local own = type(node.callCount) == "number" and node.callCount or 0
    folders, calls = folders + 1, calls + own
    local counts = count_calls(own)
    local children = children_of(node)
    if #children > 0 then
      counts = counts .. ", " .. (_M.number(total(node)) or "?") .. " in subtree"
    end
    local name = present(node.name) and display(node.name) or "(unnamed)"
    local id = present(node.id) and "  [" .. display(node.id) .. "]" or ""
    lines[#lines + 1] = rstrip(item.lead .. item.branch .. name .. "  (" .. counts .. ")" .. id)
    local lead = item.child_lead
    push_all(stack, children, function(child, last)
      -- Children of a last child hang under blank space, others under a rule.
      return { node = child, lead = lead, branch = last and "└── " or "├── ",
        child_lead = lead .. (last and "    " or "│   ") }
    end)
  end
  lines[#lines + 1] = folders .. (folders == 1 and " folder, " or " folders, ") .. count_calls(calls)
  return concat(lines, "\n") .. "\n"
end

-- Nested tree JSON, shared by tree_json and export_json. `extra(node, inner)`
-- returns already-encoded members ({key, value}) to put between total_calls
-- and children, with `inner` the indentation of the node's members.
local function nested_json(tree, extra)
  local roots = tree.roots or {}
  if #roots == 0 then
    return "[]\n"
  end
  -- Same layout as json_object/json_array produce for flat lists.
  local buf = { "[\n" }
  local stack = {}
  local function item(indent)
    return function(node, last)
      return { node = node, indent = indent, sep = last and "" or "," }
    end
  end
  push_all(stack, roots, item("  "))
  while #stack > 0 do
    local it = stack[#stack]
    stack[#stack] = nil
    if it.text then
      buf[#buf + 1] = it.text
    else
      local node, indent = it.node, it.indent
      local inner = indent .. "  "
      buf[#buf + 1] = indent .. "{\n"
      for _, m in ipairs(record_members(node, _M.FOLDER_FIELDS)) do
        buf[#buf + 1] = inner .. json_string(m[1]) .. ": " .. m[2] .. ",\n"
      end
      buf[#buf + 1] = inner .. '"total_calls": ' .. json_scalar(total(node)) .. ",\n"
      if extra then
        for _, m in ipairs(extra(node, inner)) do
          buf[#buf + 1] = inner .. json_string(m[1]) .. ": " .. m[2] .. ",\n"
        end
      end
      local children = children_of(node)
      if #children == 0 then
        buf[#buf + 1] = inner .. '"children": []\n' .. indent .. "}" .. it.sep .. "\n"
      else
        buf[#buf + 1] = inner .. '"children": [\n'
        stack[#stack + 1] = { text = inner .. "]\n" .. indent .. "}" .. it.sep .. "\n" }
        push_all(stack, children, item(inner .. "  "))
      end
    end
  end
  buf[#buf + 1] = "]\n"
  return concat(buf)
end

--- The folder tree as nested JSON: an array of root objects, each with the
--- folder's contract fields, `total_calls` and `children` (an array, `[]` for
--- a leaf). There are no parent back-references.
---@param tree table
---@return string
function _M.tree_json(tree)
  return nested_json(tree)
end

-- Exports ----------------------------------------------------------------------
-- A library is what gong's client:library() returns: a tree whose nodes also
-- carry `calls` (the folder's calls) or `error` (why they could not be
-- fetched). `error_text(err)` turns such an error into the message written
-- (default tostring), so the caller decides what may be shown.

local function error_message(node, error_text)
  if node.error == nil or type(node.calls) == "table" then
    return nil
  end
  return (error_text or tostring)(node.error)
end

--- The whole library as nested JSON: tree_json's objects, each with `calls`
--- (an array of call objects with the contract's fields, in the API's order)
--- between `total_calls` and `children`. A folder whose calls could not be
--- fetched has `error` (a message) instead of `calls`.
---@param tree table
---@param error_text? fun(err: any): string
---@return string
function _M.export_json(tree, error_text)
  return nested_json(tree, function(node, inner)
    local message = error_message(node, error_text)
    if message then
      return { { "error", json_string(message) } }
    end
    local items = {}
    for i, call in ipairs(type(node.calls) == "table" and node.calls or {}) do
      items[i] = json_object(record_members(call, _M.CALL_FIELDS), inner .. "  ")
    end
    return { { "calls", json_array(items, inner) } }
  end)
end

-- One JSON object on one line: `members` as record_members returns them.
local function json_line(members)
  local parts = {}
  for i, m in ipairs(members) do
    parts[i] = json_string(m[1]) .. ":" .. m[2]
  end
  return "{" .. concat(parts, ",") .. "}\n"
end

-- The name a folder adds to a path; tree.lua's rule, so paths match node.path.
local function path_name(node)
  local name = node.name
  if name == nil then
    return ""
  end
  return type(name) == "string" and name or tostring(name)
end

--- The whole library as NDJSON, one JSON object per line, in tree order:
--- each folder as `{"type":"folder", contract fields, "path", "depth",
--- "total_calls"}` (plus `"error"` when its calls could not be fetched),
--- followed by each of its calls as `{"type":"call", "folderId", contract
--- fields}`. `path` joins the names from the root with "/"; `depth` is 0 for
--- a root. An empty library is an empty string.
---@param tree table
---@param error_text? fun(err: any): string
---@return string
function _M.export_ndjson(tree, error_text)
  local buf = {}
  local stack = {}
  push_all(stack, tree.roots or {}, function(node)
    return { node = node, depth = 0, path = path_name(node) }
  end)
  while #stack > 0 do
    local it = stack[#stack]
    stack[#stack] = nil
    local node = it.node
    local members = { { "type", '"folder"' } }
    for _, m in ipairs(record_members(node, _M.FOLDER_FIELDS)) do
      members[#members + 1] = m
    end
    members[#members + 1] = { "path", json_string(it.path) }
    members[#members + 1] = { "depth", json_scalar(it.depth) }
    members[#members + 1] = { "total_calls", json_scalar(total(node)) }
    local message = error_message(node, error_text)
    if message then
      members[#members + 1] = { "error", json_string(message) }
    end
    buf[#buf + 1] = json_line(members)
    local folder_id = present(node.id) and json_scalar(node.id) or nil
    for _, call in ipairs(not message and type(node.calls) == "table" and node.calls or {}) do
      local line = { { "type", '"call"' } }
      if folder_id then
        line[2] = { "folderId", folder_id }
      end
      for _, m in ipairs(record_members(call, _M.CALL_FIELDS)) do
        line[#line + 1] = m
      end
      buf[#buf + 1] = json_line(line)
    end
    push_all(stack, children_of(node), function(child)
      return { node = child, depth = it.depth + 1, path = it.path .. "/" .. path_name(child) }
    end)
  end
  return concat(buf)
end

--- The folder tree as CSV: one row per folder in tree order (each folder
--- before its children), the contract's folder columns followed by `depth`
--- (0 for a root) and `total_calls`.
---@param tree table
---@return string
function _M.tree_csv(tree)
  local fields = {}
  for i, name in ipairs(_M.FOLDER_FIELDS) do
    fields[i] = name
  end
  fields[#fields + 1] = "depth"
  fields[#fields + 1] = "total_calls"
  local records = {}
  local stack = {}
  push_all(stack, tree.roots or {}, function(node)
    return { node = node, depth = 0 }
  end)
  while #stack > 0 do
    local it = stack[#stack]
    stack[#stack] = nil
    local r = { depth = it.depth, total_calls = total(it.node) }
    for _, name in ipairs(_M.FOLDER_FIELDS) do
      r[name] = it.node[name]
    end
    records[#records + 1] = r
    push_all(stack, children_of(it.node), function(child)
      return { node = child, depth = it.depth + 1 }
    end)
  end
  return csv(fields, records)
end

local RENDERERS = {
  folders = { table = _M.folders_table, csv = _M.folders_csv, json = _M.folders_json },
  calls = { table = _M.calls_table, csv = _M.calls_csv, json = _M.calls_json },
  tree = { table = _M.tree_text, csv = _M.tree_csv, json = _M.tree_json },
}

--- Renders `data` of a kind ("folders", "calls" or "tree") in a format
--- ("table", "csv" or "json").
---@param kind string
---@param fmt string
---@param data table
---@return string
function _M.render(kind, fmt, data)
  return RENDERERS[kind][fmt](data)
end

return _M
