--- gong.cli.text: text as a terminal shows it. How many columns a string
--- takes, how it is cut to fit, how a value becomes the text of one table or
--- tree cell, and how a number of seconds reads (h:mm:ss).
---
--- Widths are terminal columns, as the C library's wcwidth() gives them in a
--- UTF-8 locale (and so as tmux, screen and most terminals move the cursor),
--- from a table generated from Unicode's data (gong.cli.widths): East Asian
--- wide characters and emoji take two, combining marks and zero-width
--- characters none, everything else one. A sequence counts what its
--- characters count: an emoji ZWJ sequence the sum of its emoji, a character
--- and a variation selector the character's width.
--- A cell shows control characters as spaces, so a hostile or sloppy name
--- cannot break the layout or send escape sequences to the terminal.

local json = require "gong.json"
local message = require "gong.message"
local widths = require "gong.cli.widths"

local byte = string.byte
local concat = table.concat
local floor = math.floor
local format = string.format
local huge = math.huge
local sub = string.sub
local tostring = tostring
local type = type

local number, present = json.number, json.present

local _M = {}

-- The code points that do not take one column (gong.cli.widths, generated
-- from Unicode's data): first, last, columns, sorted.
local RANGES = widths.ranges
local ZWJ = "\226\128\141" -- U+200D ZERO WIDTH JOINER

local LOWEST, LAST = RANGES[1], floor(#RANGES / 3) - 1

-- The columns a terminal gives code point `cp`: a binary search of RANGES.
local function columns_of(cp)
  if cp < LOWEST then return 1 end
  local lo, hi = 0, LAST
  while lo <= hi do
    local mid = floor((lo + hi) / 2)
    local k = mid * 3
    if cp < RANGES[k + 1] then
      hi = mid - 1
    elseif cp > RANGES[k + 2] then
      lo = mid + 1
    else
      return RANGES[k + 3]
    end
  end
  return 1
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
    if visit(i, i + size - 1, cp and columns_of(cp) or 1) == false then return end
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
  -- A zero width joiner left at the end would join the emoji before it to "…".
  if sub(s, stop - 2, stop) == ZWJ then stop = stop - 3 end
  return sub(s, 1, stop) .. "…"
end

--- `s` (one line of words) broken at spaces into lines of at most `columns`
--- terminal columns, joined by "\n"; a word wider than that is cut with "…".
---@param s string
---@param columns integer at least 1
---@return string
function _M.wrap(s, columns)
  local lines, line, used = {}, nil, 0
  for word in s:gmatch("%S+") do
    local w = _M.width(word)
    if w > columns then
      word, w = _M.truncate(word, columns), columns
    end
    if line and used + 1 + w <= columns then
      line, used = line .. " " .. word, used + 1 + w
    else
      if line then lines[#lines + 1] = line end
      line, used = word, w
    end
  end
  if line then lines[#lines + 1] = line end
  return concat(lines, "\n")
end

--- A value as the text of a table or tree cell: `-` when absent (nil, or not
--- a string, number or boolean), else one line with no terminal control
--- sequences (gong.message.printable: C0 controls, DEL, and the C1 range
--- U+0080-U+009F, which some terminals honour as escape sequences too, each
--- become a space; bidi overrides go; what is not UTF-8 becomes U+FFFD).
---@param v any
---@return string
function _M.cell(v)
  if not present(v) then
    return "-"
  end
  local s
  if type(v) == "number" then
    s = number(v) or tostring(v)
  else
    s = tostring(v)
  end
  return (message.printable(s))
end

--- `s` without the spaces it ends in.
---@param s string
---@return string
function _M.rstrip(s)
  -- Scans from the end: the pattern " +$" retries at every space of a line
  -- and turns deep trees (long runs of blank guides) quadratic.
  local i = #s
  while i > 0 and byte(s, i) == 32 do
    i = i - 1
  end
  return sub(s, 1, i)
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

return _M
