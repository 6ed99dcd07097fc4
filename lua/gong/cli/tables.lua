--- gong.cli.tables: folders, calls and workspaces as aligned tables, the
--- default format of gong-library's listings.
---
--- Columns are two spaces apart, sized in terminal columns (gong.cli.text);
--- numbers and durations line up on their last digit. An absent value shows
--- as `-`, an empty list as a line such as `(no folders)`. Given the width of
--- the terminal, the columns that can give way (names, titles) are narrowed,
--- their cells cut with "…", until the lines fit.

local parties = require "gong.cli.parties"
local text = require "gong.cli.text"

local concat, ipairs, rep = table.concat, ipairs, string.rep

local cell, width = text.cell, text.width

local _M = {}

-- Narrows the columns `shrink` lists ({index, minimum} pairs, in the order
-- they give way) until the table fits `columns` terminal columns, or they are
-- at their minimum.
local function fit(widths, columns, shrink)
  local total = 2 * (#widths - 1)
  for i = 1, #widths do total = total + widths[i] end
  for _, s in ipairs(shrink) do
    local i, least = s[1], s[2]
    if total <= columns then return end
    local cut = total - columns
    local room = widths[i] - least
    if room > 0 then
      local by = cut < room and cut or room
      widths[i], total = widths[i] - by, total - by
    end
  end
end

-- Lays out rows of strings in columns two spaces apart. `right[i]` right-aligns
-- column i. With `columns`, those of `shrink` give way (see fit) and their
-- cells are cut with "…".
local function layout(header, rows, right, columns, shrink)
  local widths = {}
  for i, h in ipairs(header) do
    widths[i] = width(h)
  end
  for _, row in ipairs(rows) do
    for i, s in ipairs(row) do
      local w = width(s)
      if w > widths[i] then
        widths[i] = w
      end
    end
  end
  if columns then fit(widths, columns, shrink) end
  local lines = {}
  local function line(cells)
    local parts = {}
    for i, s in ipairs(cells) do
      if width(s) > widths[i] then s = text.truncate(s, widths[i]) end
      local pad = rep(" ", widths[i] - width(s))
      parts[i] = right[i] and pad .. s or s .. pad
    end
    -- A left-aligned last column is padded like the others; strip that
    -- rather than special-case it, so no line ends in spaces.
    lines[#lines + 1] = text.rstrip(concat(parts, "  "))
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
function _M.folders(folders, opts)
  if #folders == 0 then
    return "(no folders)\n"
  end
  local rows = {}
  for i, f in ipairs(folders) do
    rows[i] = { cell(f.id), cell(f.name), cell(f.parentFolderId), cell(f.callCount), cell(f.created) }
  end
  return layout({ "ID", "NAME", "PARENT", "CALLS", "CREATED" }, rows, { [4] = true }, opts and opts.width,
                { { 2, 8 } })
end

--- Calls as an aligned table: CALL ID, TITLE, STARTED, DURATION (h:mm:ss),
--- URL; with `opts.details` (calls that carry their details) also PRIMARY USER
--- and SPEAKERS before URL. With `opts.width` (a terminal's columns), TITLE
--- gives way first, then SPEAKERS and URL, so that lines fit.
---@param calls table[]
---@param opts? { width?: integer, details?: boolean }
---@return string
function _M.calls(calls, opts)
  if #calls == 0 then
    return "(no calls)\n"
  end
  local details = opts and opts.details
  local rows = {}
  for i, c in ipairs(calls) do
    local row = { cell(c.callId), cell(c.title), cell(c.started), text.duration(c.duration) }
    if details then
      row[#row + 1] = cell(parties.primary_user(c))
      row[#row + 1] = cell(parties.speakers(c))
    end
    row[#row + 1] = cell(c.url)
    rows[i] = row
  end
  if details then
    return layout({ "CALL ID", "TITLE", "STARTED", "DURATION", "PRIMARY USER", "SPEAKERS", "URL" }, rows,
                  { [4] = true }, opts.width, { { 2, 12 }, { 6, 12 }, { 7, 12 }, { 5, 8 } })
  end
  return layout({ "CALL ID", "TITLE", "STARTED", "DURATION", "URL" }, rows, { [4] = true }, opts and opts.width,
                { { 2, 12 }, { 5, 12 } })
end

--- Workspaces as an aligned table: ID, NAME, DESCRIPTION (which gives way on
--- a narrow terminal, `opts.width`).
---@param workspaces table[]
---@param opts? { width?: integer }
---@return string
function _M.workspaces(workspaces, opts)
  if #workspaces == 0 then
    return "(no workspaces)\n"
  end
  local rows = {}
  for i, w in ipairs(workspaces) do
    rows[i] = { cell(w.id), cell(w.name), cell(w.description) }
  end
  return layout({ "ID", "NAME", "DESCRIPTION" }, rows, {}, opts and opts.width, { { 3, 12 }, { 2, 8 } })
end

return _M
