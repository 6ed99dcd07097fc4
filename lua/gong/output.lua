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

local core = require "gong.core"
local json = require "gong.json"

local byte = string.byte
local concat = table.concat
local floor = math.floor
local format = string.format
local huge = math.huge
local ipairs = ipairs
local rep = string.rep
local sub = string.sub
local tostring = tostring
local type = type

local _M = {}

--- Field names of a folder and of a call, in the contract's order (the
--- core's decode rules): the columns of tables and CSV, the keys of JSON.
_M.FOLDER_FIELDS = core.FOLDER_FIELDS
_M.CALL_FIELDS = core.CALL_FIELDS
_M.WORKSPACE_FIELDS = core.WORKSPACE_FIELDS

local transcript = require "gong.transcript"

local number, present = json.number, json.present

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

-- Calls visit(start, stop, columns) for each character of `s`: its byte
-- span and the columns a terminal gives it. UTF-8 is decoded; a byte that is
-- not valid UTF-8 is a character of one column.
local function each_char(s, visit)
  local i, len = 1, #s
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
    local w
    if cp == nil or cp < 0x300 then w = 1
    elseif in_ranges(ZERO, cp) then w = 0
    elseif in_ranges(WIDE, cp) then w = 2
    else w = 1 end
    if visit(i, i + size - 1, w) == false then return end
    i = i + size
  end
end

--- Number of columns a string takes on a terminal: UTF-8 decoded, wide
--- characters counted twice, combining and zero-width ones not at all.
--- Bytes that are not valid UTF-8 count one column each.
---@param s string
---@return integer
function _M.width(s)
  if not s:find("[\128-\255]") then return #s end
  local n = 0
  each_char(s, function(_, _, w) n = n + w end)
  return n
end

--- `s` cut to at most `columns` terminal columns, ending in "…" when cut.
---@param s string
---@param columns integer at least 1
---@return string
function _M.truncate(s, columns)
  if _M.width(s) <= columns then return s end
  local used, stop = 0, 0
  each_char(s, function(_, last, w)
    if used + w > columns - 1 then return false end
    used, stop = used + w, last
  end)
  return sub(s, 1, stop) .. "…"
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
    s = number(v) or tostring(v)
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

-- Narrows the columns `shrink` lists ({index, minimum} pairs, in the order
-- they give way) until the table fits `width` terminal columns, or they are
-- at their minimum.
local function fit(widths, width, shrink)
  local total = 2 * (#widths - 1)
  for i = 1, #widths do total = total + widths[i] end
  for _, s in ipairs(shrink) do
    local i, least = s[1], s[2]
    if total <= width then return end
    local cut = total - width
    local room = widths[i] - least
    if room > 0 then
      local by = cut < room and cut or room
      widths[i], total = widths[i] - by, total - by
    end
  end
end

-- Lays out rows of strings in columns two spaces apart. `right[i]` right-aligns
-- column i (numbers and durations line up on their last digit). With `width`,
-- the columns of `shrink` give way (see fit) and their cells are cut with "…".
local function columns(header, rows, right, width, shrink)
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
  if width then fit(widths, width, shrink) end
  local lines = {}
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do
      if _M.width(cell) > widths[i] then cell = _M.truncate(cell, widths[i]) end
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

--- Folders as an aligned table: ID, NAME, PARENT, CALLS, CREATED. With
--- `opts.width` (a terminal's columns), NAME gives way so that lines fit.
---@param folders table[]
---@param opts? { width?: integer }
---@return string
function _M.folders_table(folders, opts)
  if #folders == 0 then
    return "(no folders)\n"
  end
  local rows = {}
  for i, f in ipairs(folders) do
    rows[i] = {
      display(f.id), display(f.name), display(f.parentFolderId), display(f.callCount), display(f.created),
    }
  end
  return columns({ "ID", "NAME", "PARENT", "CALLS", "CREATED" }, rows, { [4] = true }, opts and opts.width,
                 { { 2, 8 } })
end

-- A party as a person reads it: the name, else the e-mail address.
local function party_name(party)
  return type(party) == "table" and (present(party.name) and party.name or present(party.emailAddress)
    and party.emailAddress) or nil
end

--- The names of a call's speakers, from its details' parties, joined by ", ".
---@param call table
---@return string|nil
function _M.speakers(call)
  local parties = type(call.details) == "table" and call.details.parties
  if type(parties) ~= "table" or #parties == 0 then return nil end
  local names = {}
  for _, party in ipairs(parties) do names[#names + 1] = party_name(party) end
  return #names > 0 and concat(names, ", ") or nil
end

-- The primary user's name where the details' parties say it, else their id.
local function primary_user(call)
  local parties = type(call.details) == "table" and type(call.details.parties) == "table" and call.details.parties
  for _, party in ipairs(parties or {}) do
    if type(party) == "table" and party.userId ~= nil and party.userId == call.primaryUserId then
      return party_name(party) or call.primaryUserId
    end
  end
  return call.primaryUserId
end

--- Calls as an aligned table: CALL ID, TITLE, STARTED, DURATION (h:mm:ss),
--- URL; with `opts.details` (calls that carry their details) also PRIMARY USER
--- and SPEAKERS before URL. With `opts.width` (a terminal's columns), TITLE
--- gives way first, then SPEAKERS and URL, so that lines fit.
---@param calls table[]
---@param opts? { width?: integer, details?: boolean }
---@return string
function _M.calls_table(calls, opts)
  if #calls == 0 then
    return "(no calls)\n"
  end
  local details = opts and opts.details
  local rows = {}
  for i, c in ipairs(calls) do
    local row = { display(c.callId), display(c.title), display(c.started), _M.duration(c.duration) }
    if details then
      row[#row + 1] = display(primary_user(c))
      row[#row + 1] = display(_M.speakers(c))
    end
    row[#row + 1] = display(c.url)
    rows[i] = row
  end
  if details then
    return columns({ "CALL ID", "TITLE", "STARTED", "DURATION", "PRIMARY USER", "SPEAKERS", "URL" }, rows,
                   { [4] = true }, opts.width, { { 2, 12 }, { 6, 12 }, { 7, 12 }, { 5, 8 } })
  end
  return columns({ "CALL ID", "TITLE", "STARTED", "DURATION", "URL" }, rows, { [4] = true }, opts and opts.width,
                 { { 2, 12 }, { 5, 12 } })
end

--- Workspaces as an aligned table: ID, NAME, DESCRIPTION (which gives way on
--- a narrow terminal, `opts.width`).
---@param workspaces table[]
---@param opts? { width?: integer }
---@return string
function _M.workspaces_table(workspaces, opts)
  if #workspaces == 0 then
    return "(no workspaces)\n"
  end
  local rows = {}
  for i, w in ipairs(workspaces) do
    rows[i] = { display(w.id), display(w.name), display(w.description) }
  end
  return columns({ "ID", "NAME", "DESCRIPTION" }, rows, {}, opts and opts.width, { { 3, 12 }, { 2, 8 } })
end

-- CSV ------------------------------------------------------------------------

local function csv_field(v)
  if not present(v) then
    return ""
  end
  local s = type(v) == "number" and (number(v) or "") or tostring(v)
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
--- `duration` stays in seconds so it can be computed with. With
--- `opts.details`, a `speakers` column too (names joined by ", ").
---@param calls table[]
---@param opts? { details?: boolean }
---@return string
function _M.calls_csv(calls, opts)
  if not (opts and opts.details) then return csv(_M.CALL_FIELDS, calls) end
  local fields, records = {}, {}
  for i, name in ipairs(_M.CALL_FIELDS) do fields[i] = name end
  fields[#fields + 1] = "speakers"
  for i, call in ipairs(calls) do
    local r = { speakers = _M.speakers(call) }
    for _, name in ipairs(_M.CALL_FIELDS) do r[name] = call[name] end
    records[i] = r
  end
  return csv(fields, records)
end

--- Workspaces as CSV: id, name, description.
---@param workspaces table[]
---@return string
function _M.workspaces_csv(workspaces)
  return csv(_M.WORKSPACE_FIELDS, workspaces)
end

-- JSON -----------------------------------------------------------------------
-- gong.json writes it: exact numbers, [] for empty lists, keys in contract
-- order. Documents are laid out over lines, two spaces per level.

-- A call's object: the contract's fields, then what library() or
-- --details added: `details` and `transcript`, as Gong sent them.
local function call_json(w, call)
  w:object()
  w:fields(call, _M.CALL_FIELDS)
  for _, extra in ipairs({ "details", "transcript" }) do
    if type(call[extra]) == "table" then
      w:key(extra)
      w:any(call[extra])
    end
  end
  w:close_object()
end

-- An array of records, each with `fields` in order.
local function records_json(records, fields)
  local w = json.writer({ indent = true })
  w:array()
  for _, r in ipairs(records) do
    if fields == _M.CALL_FIELDS then
      call_json(w, r)
    else
      w:object()
      w:fields(r, fields)
      w:close_object()
    end
  end
  w:close_array()
  return w:take() .. "\n"
end

--- Folders as a JSON array of objects with the contract's field names.
---@param folders table[]
---@return string
function _M.folders_json(folders)
  return records_json(folders, _M.FOLDER_FIELDS)
end

--- Calls as a JSON array of objects with the contract's field names (and a
--- call's `details` and `transcript` where it has them).
---@param calls table[]
---@return string
function _M.calls_json(calls)
  return records_json(calls, _M.CALL_FIELDS)
end

--- Workspaces as a JSON array of objects: id, name, description.
---@param workspaces table[]
---@return string
function _M.workspaces_json(workspaces)
  return records_json(workspaces, _M.WORKSPACE_FIELDS)
end

--- Transcripts as text: for each of `items` ({callId, title?, transcript?,
--- parties?}) a heading `== Title (callId) ==`, then the transcript as
--- gong.transcript.text gives it, or "(no transcript)". A blank line between calls.
---@param items table[]
---@return string
function _M.transcripts_text(items)
  local parts = {}
  for i, item in ipairs(items) do
    local heading = "== " .. (present(item.title) and display(item.title) .. " (" .. display(item.callId) .. ")"
      or display(item.callId)) .. " =="
    local body = type(item.transcript) == "table" and transcript.text(item.transcript, item.parties) or ""
    parts[i] = heading .. "\n" .. (body ~= "" and body or "(no transcript)\n")
  end
  return #parts > 0 and concat(parts, "\n") or "(no calls)\n"
end

--- Transcripts as JSON: an array of {callId, title, transcript} (transcript
--- absent for a call Gong has none of), the monologues as Gong sent them.
---@param items table[]
---@return string
function _M.transcripts_json(items)
  local w = json.writer({ indent = true })
  w:array()
  for _, item in ipairs(items) do
    w:object()
    w:field("callId", item.callId)
    if present(item.title) then w:field("title", item.title) end
    if type(item.transcript) == "table" then
      w:key("transcript")
      w:any(item.transcript)
    end
    w:close_object()
  end
  w:close_array()
  return w:take() .. "\n"
end

-- Trees ----------------------------------------------------------------------
-- A tree is a gong.tree (client:tree(), or gong.tree.build of a folder list),
-- whose nodes carry children, depth, path and total_calls; the renderers go
-- through it with tree:visit, which never recurses, so server data deeper
-- than Lua's call stack still renders.

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

--- A folder tree drawn with box-drawing guides, one folder per line:
--- `Name  (N calls, M in subtree)  [id]`, the subtree total only where the
--- folder has children. The last line gives the number of folders and calls
--- in the whole tree. `opts.depth` leaves out the folders more than that
--- many levels below the top (0: the top-level folders only), saying how
--- many subfolders each folder at the limit has.
---@param tree gong.Tree
---@param opts? { depth?: integer }
---@return string
function _M.tree_text(tree, opts)
  if #tree.roots == 0 then
    return "(no folders)\n"
  end
  local depth_limit = opts and opts.depth
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
    local name = present(node.name) and display(node.name) or "(unnamed)"
    local id = present(node.id) and "  [" .. display(node.id) .. "]" or ""
    local branch = depth == 0 and "" or last and "└── " or "├── "
    lines[#lines + 1] = rstrip(leads[depth] .. branch .. name .. "  (" .. counts .. ")" .. id)
    -- Children of a last child hang under blank space, others under a rule.
    leads[depth + 1] = depth == 0 and "" or leads[depth] .. (last and "    " or "│   ")
  end))
  -- Every node is under one root, so the roots' totals count every call
  -- (unknown when one of them is).
  local folders, calls = tree.count, 0
  for _, root in ipairs(tree.roots) do
    calls = calls and type(root.total_calls) == "number" and calls + root.total_calls or nil
  end
  lines[#lines + 1] = folders .. (folders == 1 and " folder, " or " folders, ") .. count_calls(calls)
  return concat(lines, "\n") .. "\n"
end

-- Nested tree JSON, shared by tree_json and export_json: each folder's
-- contract fields, total_calls, what `extra(w, node)` writes, and children
-- (down to `depth` levels below the roots when given).
local function nested_json(tree, extra, depth)
  local w = json.writer({ indent = true })
  w:array()
  tree:visit(down_to(depth, function(node)
    w:object()
    w:fields(node, _M.FOLDER_FIELDS)
    if present(node.total_calls) then w:field("total_calls", node.total_calls) end
    if extra then extra(w, node) end
    w:key("children")
    w:array()
  end), function()
    w:close_array()
    w:close_object()
  end)
  w:close_array()
  return w:take() .. "\n"
end

--- The folder tree as nested JSON: an array of root objects, each with the
--- folder's contract fields, `total_calls` and `children` (an array, `[]` for
--- a leaf). There are no parent back-references. With `opts.depth`, folders
--- deeper than that are left out (their totals still count in total_calls).
---@param tree gong.Tree
---@param opts? { depth?: integer }
---@return string
function _M.tree_json(tree, opts)
  return nested_json(tree, nil, opts and opts.depth)
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
---@param tree gong.Tree
---@param error_text? fun(err: any): string
---@return string
function _M.export_json(tree, error_text)
  return nested_json(tree, function(w, node)
    local message = error_message(node, error_text)
    if message then
      w:field("error", message)
      return
    end
    w:key("calls")
    w:array()
    for _, call in ipairs(node.calls or {}) do call_json(w, call) end
    w:close_array()
  end)
end

--- The whole library as NDJSON, one JSON object per line, in tree order:
--- each folder as `{"type":"folder", contract fields, "path", "depth",
--- "total_calls"}` (plus `"error"` when its calls could not be fetched),
--- followed by each of its calls as `{"type":"call", "folderId", contract
--- fields}` (and `"details"` when the call has them), each call with a
--- transcript followed by `{"type":"transcript", "callId", "transcript"}` the
--- first time it appears. `path` joins the names from the root with "/";
--- `depth` is 0 for a root. An empty library is an empty string.
---@param tree gong.Tree
---@param error_text? fun(err: any): string
---@return string
function _M.export_ndjson(tree, error_text)
  local lines, transcribed = {}, {}
  local w = json.writer()
  tree:visit(function(node, depth)
    w:object()
    w:field("type", "folder")
    w:fields(node, _M.FOLDER_FIELDS)
    w:field("path", node.path)
    w:field("depth", depth)
    if present(node.total_calls) then w:field("total_calls", node.total_calls) end
    local message = error_message(node, error_text)
    if message then w:field("error", message) end
    w:close_object()
    lines[#lines + 1] = w:take()
    for _, call in ipairs(not message and node.calls or {}) do
      w:object()
      w:field("type", "call")
      if present(node.id) then w:field("folderId", node.id) end
      w:fields(call, _M.CALL_FIELDS)
      if type(call.details) == "table" then
        w:key("details")
        w:any(call.details)
      end
      w:close_object()
      lines[#lines + 1] = w:take()
      -- A transcript is a record of its own, written once however many
      -- folders hold the call (whose calls share the one table): it is large
      -- and read on its own.
      if type(call.transcript) == "table" and not transcribed[call.transcript] then
        transcribed[call.transcript] = true
        w:object()
        w:field("type", "transcript")
        if present(call.callId) then w:field("callId", call.callId) end
        w:key("transcript")
        w:any(call.transcript)
        w:close_object()
        lines[#lines + 1] = w:take()
      end
    end
  end)
  lines[#lines + 1] = ""
  return #lines > 1 and concat(lines, "\n") or ""
end

--- The folder tree as CSV: one row per folder in tree order (each folder
--- before its children), the contract's folder columns followed by `depth`
--- (0 for a root) and `total_calls`; with `opts.depth`, no row deeper than that.
---@param tree gong.Tree
---@param opts? { depth?: integer }
---@return string
function _M.tree_csv(tree, opts)
  local fields = {}
  for i, name in ipairs(_M.FOLDER_FIELDS) do
    fields[i] = name
  end
  fields[#fields + 1] = "depth"
  fields[#fields + 1] = "total_calls"
  local records = {}
  tree:visit(down_to(opts and opts.depth, function(node, depth)
    local r = { depth = depth, total_calls = node.total_calls }
    for _, name in ipairs(_M.FOLDER_FIELDS) do
      r[name] = node[name]
    end
    records[#records + 1] = r
  end))
  return csv(fields, records)
end

local RENDERERS = {
  folders = { table = _M.folders_table, csv = _M.folders_csv, json = _M.folders_json },
  calls = { table = _M.calls_table, csv = _M.calls_csv, json = _M.calls_json },
  tree = { table = _M.tree_text, csv = _M.tree_csv, json = _M.tree_json },
  workspaces = { table = _M.workspaces_table, csv = _M.workspaces_csv, json = _M.workspaces_json },
  transcripts = { text = _M.transcripts_text, json = _M.transcripts_json },
}

--- Renders `data` of a kind ("folders", "calls", "tree", "workspaces";
--- "transcripts") in a format ("table", "csv" or "json"; "text" or "json");
--- `opts` go to the renderer (a table's width, a tree's depth, calls' details).
---@param kind string
---@param fmt string
---@param data table
---@param opts? table
---@return string
function _M.render(kind, fmt, data, opts)
  return RENDERERS[kind][fmt](data, opts)
end

return _M
