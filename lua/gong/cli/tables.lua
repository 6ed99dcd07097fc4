--- gong.cli.tables: folders, calls and workspaces as aligned tables, the
--- default format of gong-library's listings.
---
--- Columns are two spaces apart, sized in terminal columns (gong.cli.text);
--- numbers and durations line up on their last digit. An absent value shows
--- as `-`, an empty list as a line such as `(no folders)`; a column that
--- only one API fills (CALLS, CREATED and UPDATED of folders, STARTED,
--- DURATION and NOTE of calls) is left out when no row has a value in it.
--- Given the width of
--- the terminal, the columns that can give way (names, titles) are narrowed,
--- their cells cut with "…", until the lines fit.

local parties = require "gong.cli.parties"
local text = require "gong.cli.text"

local concat, ipairs, pairs, rep = table.concat, ipairs, pairs, string.rep

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

-- The table without the columns `optional` names ({[i] = true}) in which
-- every row shows `-`: header, rows, right and shrink renumbered.
local function drop_empty(header, rows, right, shrink, optional)
  local index, kept = {}, {}
  for i = 1, #header do
    local empty = optional[i] and true or false
    for r = 1, empty and #rows or 0 do
      if rows[r][i] ~= "-" then
        empty = false
        break
      end
    end
    if not empty then
      kept[#kept + 1] = i
      index[i] = #kept
    end
  end
  local function pick(list)
    local out = {}
    for k, i in ipairs(kept) do out[k] = list[i] end
    return out
  end
  local new_rows, new_right, new_shrink = {}, {}, {}
  for r, row in ipairs(rows) do new_rows[r] = pick(row) end
  for i in pairs(right) do
    if index[i] then new_right[index[i]] = true end
  end
  for _, s in ipairs(shrink) do
    if index[s[1]] then new_shrink[#new_shrink + 1] = { index[s[1]], s[2] } end
  end
  return pick(header), new_rows, new_right, new_shrink
end

-- Lays out rows of strings in columns two spaces apart. `right[i]` right-aligns
-- column i. With `columns`, those of `shrink` give way (see fit) and their
-- cells are cut with "…". The columns `optional` names are left out where
-- empty (see drop_empty).
local function layout(header, rows, right, columns, shrink, optional)
  if optional then header, rows, right, shrink = drop_empty(header, rows, right, shrink, optional) end
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

--- Folders as an aligned table: ID, NAME, PARENT, CALLS, CREATED, UPDATED
--- (the last three where some folder has them). With `opts.width` (a
--- terminal's columns), NAME gives way so that lines fit.
---@param folders table[]
---@param opts? { width?: integer }
---@return string
function _M.folders(folders, opts)
  if #folders == 0 then
    return "(no folders)\n"
  end
  local rows = {}
  for i, f in ipairs(folders) do
    rows[i] = { cell(f.id), cell(f.name), cell(f.parentFolderId), cell(f.callCount), cell(f.created),
                cell(f.updated) }
  end
  return layout({ "ID", "NAME", "PARENT", "CALLS", "CREATED", "UPDATED" }, rows, { [4] = true },
                opts and opts.width, { { 2, 8 } }, { [4] = true, [5] = true, [6] = true })
end

--- Calls as an aligned table: CALL ID, TITLE, STARTED, DURATION (h:mm:ss),
--- NOTE (the three where some call has them), URL; with `opts.details`
--- (calls that carry their details) also PRIMARY USER and SPEAKERS before
--- NOTE. With `opts.width` (a terminal's columns), TITLE gives way first,
--- then SPEAKERS, NOTE and URL, so that lines fit.
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
    row[#row + 1] = cell(c.note)
    row[#row + 1] = cell(c.url)
    rows[i] = row
  end
  if details then
    return layout({ "CALL ID", "TITLE", "STARTED", "DURATION", "PRIMARY USER", "SPEAKERS", "NOTE", "URL" }, rows,
                  { [4] = true }, opts.width, { { 2, 12 }, { 6, 12 }, { 7, 8 }, { 8, 12 }, { 5, 8 } },
                  { [3] = true, [4] = true, [7] = true })
  end
  return layout({ "CALL ID", "TITLE", "STARTED", "DURATION", "NOTE", "URL" }, rows, { [4] = true },
                opts and opts.width, { { 2, 12 }, { 5, 8 }, { 6, 12 } }, { [3] = true, [4] = true, [5] = true })
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
