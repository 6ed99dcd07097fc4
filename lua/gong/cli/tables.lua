--- gong.cli.tables: folders, calls and workspaces as aligned tables, the
--- default format of gong-library's listings.
---
--- Columns are two spaces apart, sized in terminal columns (gong.cli.text);
--- numbers and durations line up on their last digit. An absent value shows
--- as `-`, an empty list as a line such as `(no folders)`; a column that
--- only one API fills (CALLS, CREATED and UPDATED of folders, STARTED,
--- DURATION and NOTE of calls) is left out when no row has a value in it.
---
--- Given the width of the terminal, lines fit it: the free-text columns
--- (names, titles, people, notes, descriptions) give way, the widest first,
--- their cells cut with "…", down to a least width each; if that is not
--- enough, whole columns are left out in an order each table gives (URL
--- first), and a last line says which. Ids, dates, URLs and numbers are
--- never cut: a cut one would look whole and be wrong. Only when even the id
--- and the name do not fit are the lines themselves cut.

local parties = require "gong.cli.parties"
local text = require "gong.cli.text"

local concat, ipairs, rep = table.concat, ipairs, string.rep

local cell, width = text.cell, text.width

local _M = {}

-- Two spaces between columns.
local GAP = 2

-- Narrows the free-text columns (`least[i]`, the least width of column i)
-- until the table fits `columns`: always the widest of them that is above
-- its least, by one column, so that the cut is shared. The total width after.
local function fit(widths, least, columns, total)
  while total > columns do
    local widest
    for i = #widths, 1, -1 do
      if least[i] and widths[i] > least[i] and (not widest or widths[i] > widths[widest]) then widest = i end
    end
    if not widest then break end
    widths[widest], total = widths[widest] - 1, total - 1
  end
  return total
end

-- The indexes of the columns shown, in order: not those `spec.optional`
-- names where every row shows `-`, nor (given `columns`) those left out in
-- `spec.drop`'s order until the least widths fit. Also the names left out
-- for want of room.
local function choose(spec, rows, natural, columns)
  local shown, by_name = {}, {}
  for i, name in ipairs(spec.header) do
    local empty = spec.optional and spec.optional[name]
    for r = 1, empty and #rows or 0 do
      if rows[r][i] ~= "-" then
        empty = false
        break
      end
    end
    if not empty then
      shown[#shown + 1] = i
      by_name[name] = i
    end
  end
  local dropped = {}
  if columns then
    local least_total = -GAP
    for _, i in ipairs(shown) do
      local least = spec.least[spec.header[i]]
      least_total = least_total + GAP + (least and least < natural[i] and least or natural[i])
    end
    for _, name in ipairs(spec.drop) do
      if least_total <= columns then break end
      local i = by_name[name]
      if i then
        local least = spec.least[name]
        least_total = least_total - GAP - (least and least < natural[i] and least or natural[i])
        dropped[#dropped + 1] = name
        by_name[name] = nil
      end
    end
    local kept = {}
    for _, i in ipairs(shown) do
      if by_name[spec.header[i]] then kept[#kept + 1] = i end
    end
    shown = kept
  end
  return shown, dropped
end

-- "(to fit 80 columns, URL and NOTE are not shown; --format csv shows them)"
local function left_out(dropped, columns)
  local names = dropped[1]
  for k = 2, #dropped do
    names = names .. (k == #dropped and " and " or ", ") .. dropped[k]
  end
  return ("(to fit %d columns, %s %s not shown; --format csv shows %s)"):format(
    columns, names, #dropped == 1 and "is" or "are", #dropped == 1 and "it" or "them")
end

-- Lays out rows of strings (one per column of `spec.header`) in columns GAP
-- apart. `spec.right[name]` right-aligns a column; `spec.optional[name]`
-- leaves it out where empty. Given `columns`, the lines fit: `spec.least`
-- names the free-text columns and their least widths, `spec.drop` the
-- columns to leave out, in order, when those are not enough.
local function layout(spec, rows, columns)
  local natural = {}
  for i, h in ipairs(spec.header) do
    natural[i] = width(h)
  end
  for _, row in ipairs(rows) do
    for i, s in ipairs(row) do
      local w = width(s)
      if w > natural[i] then
        natural[i] = w
      end
    end
  end
  local shown, dropped = choose(spec, rows, natural, columns)
  local widths, least, right, total = {}, {}, {}, -GAP
  for k, i in ipairs(shown) do
    local name = spec.header[i]
    widths[k], least[k], right[k] = natural[i], spec.least[name], spec.right[name]
    total = total + GAP + widths[k]
  end
  if columns then total = fit(widths, least, columns, total) end
  local lines = {}
  local function line(cells)
    local parts = {}
    for k, i in ipairs(shown) do
      local s = cells[i]
      if width(s) > widths[k] then s = text.truncate(s, widths[k]) end
      local pad = rep(" ", widths[k] - width(s))
      parts[k] = right[k] and pad .. s or s .. pad
    end
    -- A left-aligned last column is padded like the others; strip that
    -- rather than special-case it, so no line ends in spaces.
    local s = text.rstrip(concat(parts, rep(" ", GAP)))
    -- The last resort, when even the columns that stay do not fit.
    if columns and total > columns then s = text.truncate(s, columns) end
    lines[#lines + 1] = s
  end
  line(spec.header)
  for _, row in ipairs(rows) do
    line(row)
  end
  if dropped[1] then
    lines[#lines + 1] = text.wrap(left_out(dropped, columns), columns)
  end
  return concat(lines, "\n") .. "\n"
end

-- Each table's columns, and how they fit a terminal (see layout).
local FOLDERS = {
  header = { "ID", "NAME", "PARENT", "CALLS", "CREATED", "UPDATED" },
  right = { CALLS = true },
  optional = { CALLS = true, CREATED = true, UPDATED = true },
  least = { NAME = 12 },
  drop = { "UPDATED", "CREATED", "PARENT", "CALLS" },
}
local CALLS = {
  header = { "CALL ID", "TITLE", "STARTED", "DURATION", "NOTE", "URL" },
  right = { DURATION = true },
  optional = { STARTED = true, DURATION = true, NOTE = true },
  least = { TITLE = 12, NOTE = 8 },
  drop = { "URL", "NOTE", "STARTED", "DURATION" },
}
-- What --details is for, the people, stays longest.
local CALL_DETAILS = {
  header = { "CALL ID", "TITLE", "STARTED", "DURATION", "PRIMARY USER", "SPEAKERS", "NOTE", "URL" },
  right = { DURATION = true },
  optional = { STARTED = true, DURATION = true, NOTE = true },
  least = { TITLE = 12, ["PRIMARY USER"] = 8, SPEAKERS = 12, NOTE = 8 },
  drop = { "URL", "NOTE", "STARTED", "DURATION", "PRIMARY USER", "SPEAKERS" },
}
local WORKSPACES = {
  header = { "ID", "NAME", "DESCRIPTION" },
  right = {},
  least = { NAME = 12, DESCRIPTION = 12 },
  drop = { "DESCRIPTION" },
}

--- Folders as an aligned table: ID, NAME, PARENT, CALLS, CREATED, UPDATED
--- (the last three where some folder has them). With `opts.width` (a
--- terminal's columns), lines fit: NAME gives way, then UPDATED, CREATED,
--- PARENT and CALLS are left out as needed.
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
  return layout(FOLDERS, rows, opts and opts.width)
end

--- Calls as an aligned table: CALL ID, TITLE, STARTED, DURATION (h:mm:ss),
--- NOTE (the three where some call has them), URL; with `opts.details`
--- (calls that carry their details) also PRIMARY USER and SPEAKERS before
--- NOTE. With `opts.width` (a terminal's columns), lines fit: TITLE (and
--- the people, and NOTE) give way, then URL, NOTE, STARTED and DURATION
--- (then PRIMARY USER and SPEAKERS) are left out as needed.
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
  return layout(details and CALL_DETAILS or CALLS, rows, opts and opts.width)
end

--- Workspaces as an aligned table: ID, NAME, DESCRIPTION. With `opts.width`
--- (a terminal's columns), NAME and DESCRIPTION give way, then DESCRIPTION
--- is left out as needed.
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
  return layout(WORKSPACES, rows, opts and opts.width)
end

return _M
