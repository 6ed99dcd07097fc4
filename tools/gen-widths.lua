-- Writes lua/gong/cli/widths.lua, the columns a terminal gives each Unicode
-- code point, from the Unicode Character Database:
--
--   lua5.4 tools/gen-widths.lua [UCD_DIR] [OUTPUT]      (or: make widths)
--
-- UCD_DIR (default /usr/share/unicode, Debian's package unicode-data) holds
-- UnicodeData.txt, EastAsianWidth.txt, PropList.txt, Blocks.txt and
-- emoji/emoji-data.txt, all of one Unicode version; OUTPUT defaults to
-- lua/gong/cli/widths.lua. The output depends on those files alone (no date,
-- no path), so the same data gives the same file byte for byte, and the
-- generated file is committed: neither a build nor CI needs the data.
--
-- The rules are the C library's (glibc's localedata/unicode-gen, which gives
-- wcwidth() in a UTF-8 locale, and so what tmux, screen and most terminals
-- move the cursor by), written out in RULES below, with two additions for
-- text newer than the data: an emoji block's code points not yet assigned
-- are wide (see WIDE_BLOCKS), and characters with Emoji_Presentation are wide
-- even if East_Asian_Width ever says otherwise. Runs under Lua 5.1 to 5.4.

local RULES = [[
-- 0 columns: general category Mn, Me or Cf, bidi class NSM, and the Hangul
--   Jamo vowels and final consonants (U+1160..U+11FF, U+D7B0..U+D7FF) that
--   join the syllable before them; but U+00AD SOFT HYPHEN and the
--   Prepended_Concatenation_Mark characters are shown, one column each.
-- 2 columns: East_Asian_Width W or F (the file's entries, and the unassigned
--   code points its header says default to W); Emoji_Presentation, but for
--   the regional indicators (a pair of them is one flag, two columns);
--   U+3248..U+324F and U+4DC0..U+4DFF (ambiguous or neutral, shown wide);
--   the unassigned code points of a block whose assigned ones are all wide
--   (Symbols and Pictographs Extended-A, U+1FA70..U+1FAFF, where new emoji
--   arrive; the CJK and Hangul blocks).
-- 1 column: every other code point.]]

local ucd = arg[1] or "/usr/share/unicode"
local output = arg[2] or "lua/gong/cli/widths.lua"

local function fail(msg)
  io.stderr:write("gen-widths: ", msg, "\n")
  os.exit(1)
end

local function lines(name)
  local path = ucd .. "/" .. name
  local f = io.open(path, "r")
  if not f then fail("cannot read " .. path .. " (apt-get install unicode-data, or give the UCD directory)") end
  local text = f:read("*a")
  f:close()
  return text:gmatch("([^\n]*)\n")
end

-- "0300..036F" or "00AD": the first and last code point.
local function range(field)
  local a, b = field:match("^%s*(%x+)%.%.(%x+)%s*$")
  if not a then
    a = field:match("^%s*(%x+)%s*$")
    b = a
  end
  if not a then fail("not a code point range: " .. field) end
  return tonumber(a, 16), tonumber(b, 16)
end

-- Each data line of a UCD property file as (first, last, value, version),
-- the version from its "# Name-15.0.0.txt" header when it has one.
local function property_file(name)
  local version
  local entries = {}
  for line in lines(name) do
    version = version or line:match("^# [%w_-]+%-(%d+%.%d+%.%d+)%.txt")
    local data = line:gsub("#.*", "")
    local field, value = data:match("^([^;]+);%s*([^;%s]+)")
    if field then
      local first, last = range(field)
      entries[#entries + 1] = { first, last, value }
    end
  end
  return entries, version
end

local width = {}     -- code point -> 0 or 2 (1 where absent)
local assigned = {}  -- code point -> general category
local nsm = {}       -- code point -> true for bidi class NSM

local function set(first, last, w)
  for cp = first, last do width[cp] = w end
end

-- UnicodeData.txt: one line per code point, or a <..., First> and <..., Last> pair for a range.
local first_of_range
for line in lines("UnicodeData.txt") do
  local cp, name, category, bidi = line:match("^(%x+);([^;]*);([^;]*);[^;]*;([^;]*);")
  if cp then
    cp = tonumber(cp, 16)
    if name:find(", First>$") then
      first_of_range = cp
    else
      for c = name:find(", Last>$") and first_of_range or cp, cp do
        assigned[c] = category
        nsm[c] = bidi == "NSM" or nil
      end
    end
  end
end

local eaw, version = property_file("EastAsianWidth.txt")
if not version then fail("EastAsianWidth.txt names no Unicode version in its first line") end
local props, prop_version = property_file("PropList.txt")
local blocks, block_version = property_file("Blocks.txt")
for file, v in pairs({ ["PropList.txt"] = prop_version, ["Blocks.txt"] = block_version }) do
  if v ~= version then fail(file .. " is Unicode " .. tostring(v) .. ", EastAsianWidth.txt " .. version) end
end
local emoji, emoji_version = {}, nil
for line in lines("emoji/emoji-data.txt") do
  emoji_version = emoji_version or line:match("^# Used with Emoji Version (%d+%.%d+)")
  local data = line:gsub("#.*", "")
  local field, value = data:match("^([^;]+);%s*([%w_]+)")
  if field then
    local first, last = range(field)
    emoji[#emoji + 1] = { first, last, value }
  end
end
if not emoji_version or version:sub(1, #emoji_version + 1) ~= emoji_version .. "." then
  fail("emoji/emoji-data.txt is Emoji " .. tostring(emoji_version) .. ", not of Unicode " .. version)
end

-- Wide: the unassigned code points EastAsianWidth.txt's header gives W (its
-- entries, read next, override these), then its W and F entries.
for _, r in ipairs({ { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xF900, 0xFAFF }, { 0x20000, 0x2FFFD },
                     { 0x30000, 0x3FFFD } }) do
  set(r[1], r[2], 2)
end
for _, e in ipairs(eaw) do
  set(e[1], e[2], (e[3] == "W" or e[3] == "F") and 2 or nil)
end
for _, e in ipairs(emoji) do
  if e[3] == "Emoji_Presentation" then
    for cp = e[1], e[2] do
      if cp < 0x1F1E6 or cp > 0x1F1FF then width[cp] = 2 end
    end
  end
end
-- A block whose assigned code points are all wide: its unassigned ones too.
for _, b in ipairs(blocks) do
  local all_wide, any = true, false
  for cp = b[1], b[2] do
    if assigned[cp] then
      any = true
      if width[cp] ~= 2 then all_wide = false break end
    end
  end
  if any and all_wide then
    for cp = b[1], b[2] do
      if not assigned[cp] then width[cp] = 2 end
    end
  end
end

-- Zero: marks, format characters and joining Jamo; then what is shown after all.
for cp, category in pairs(assigned) do
  if category == "Mn" or category == "Me" or category == "Cf" or nsm[cp] then width[cp] = 0 end
end
for _, r in ipairs({ { 0x1160, 0x11FF }, { 0xD7B0, 0xD7FF } }) do
  for cp = r[1], r[2] do
    if assigned[cp] then width[cp] = 0 end
  end
end
width[0xAD] = nil
for _, p in ipairs(props) do
  if p[3] == "Prepended_Concatenation_Mark" then set(p[1], p[2], nil) end
end
set(0x3248, 0x324F, 2)
set(0x4DC0, 0x4DFF, 2)

-- Runs of code points of the same width other than 1, in order.
local ranges = {}
local open
for cp = 0, 0x10FFFF do
  local w = width[cp]
  if open and (w ~= open[3] or cp ~= open[2] + 1) then
    ranges[#ranges + 1] = open
    open = nil
  end
  if w then
    if open then open[2] = cp else open = { cp, cp, w } end
  end
end
if open then ranges[#ranges + 1] = open end

local out = {
  "-- gong.cli.widths: the columns a terminal gives each Unicode code point,",
  "-- for gong.cli.text. Generated by tools/gen-widths.lua from the Unicode",
  "-- Character Database " .. version .. " (UnicodeData.txt, EastAsianWidth.txt, PropList.txt,",
  "-- Blocks.txt, emoji/emoji-data.txt): do not edit, run `make widths`.",
  "--",
  RULES,
  "",
  "return {",
  '  unicode = "' .. version .. '",',
  "  -- first, last, columns: the code points that do not take one column,",
  "  -- in ranges sorted by first and apart from each other.",
  "  ranges = {",
}
local row = {}
for i, r in ipairs(ranges) do
  row[#row + 1] = string.format("0x%04X, 0x%04X, %d,", r[1], r[2], r[3])
  if #row == 4 or i == #ranges then
    out[#out + 1] = "    " .. table.concat(row, " ")
    row = {}
  end
end
out[#out + 1] = "  },"
out[#out + 1] = "}"

local f = io.open(output, "w")
if not f then fail("cannot write " .. output) end
f:write(table.concat(out, "\n"), "\n")
f:close()
io.stderr:write(("gen-widths: %s: Unicode %s, %d ranges\n"):format(output, version, #ranges))
