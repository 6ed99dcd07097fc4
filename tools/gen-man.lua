-- tools/gen-man.lua: the man page gong-library(1), made of the help pages
-- (gong.cli.help), so that the two say the same. `make` writes it to
-- build/gong-library.1 and `make install` puts it in PREFIX/share/man/man1.
--
--   lua5.4 tools/gen-man.lua > build/gong-library.1     (LUA_PATH and LUA_CPATH as for the CLI)
--
-- The pages are plain text laid out for a terminal; each block between
-- blank lines is read as what it looks like: prose (a paragraph, filled by
-- man), a list of "  TERM   description" items whose description may go on
-- below it, more indented (a tagged paragraph each), or other indented
-- lines (an example, kept as it is). A page's "Usage:" lines are its
-- synopsis.

local args = require "gong.cli.args"
local help = require "gong.cli.help"
local version = require "gong.version"

local concat, ipairs = table.concat, ipairs

-- `s` escaped for troff text: backslashes, a hyphen that starts a word (an
-- option: a minus sign, which copies as "-"), and anything outside ASCII
-- as a Unicode escape.
local function escape(s)
  s = s:gsub("\\", "\\e")
  s = s:gsub("()(%-+)", function(at, dashes)
    local before = at > 1 and s:sub(at - 1, at - 1) or ""
    if before:find("[%w_]") then return dashes end
    return (dashes:gsub("%-", "\\-"))
  end)
  s = s:gsub("[\194-\244][\128-\191]+", function(c)
    local b1 = c:byte(1)
    -- The lead byte's bits of the code point: 5, 4 or 3 of them.
    local code = b1 % (b1 >= 0xF0 and 8 or b1 >= 0xE0 and 16 or 32)
    for i = 2, #c do code = code * 64 + c:byte(i) % 64 end
    return ("\\[u%04X]"):format(code)
  end)
  return s
end

-- A text line as troff takes it: one starting with . or ' is text too.
local function text_line(s)
  s = escape(s)
  if s:find("^[.']") then s = "\\&" .. s end
  return s
end

-- An item's term: options and commands in bold, placeholders (FILE, N) in italics.
local function term(s)
  local words = {}
  for word in s:gmatch("%S+") do
    local e = escape(word)
    if word:find("^[%[]?%-") or args.COMMAND[word] then
      e = "\\fB" .. e .. "\\fR"
    elseif word:find("^[%u_]+[.,]*$") and #word > 1 then
      e = "\\fI" .. e .. "\\fR"
    end
    words[#words + 1] = e
  end
  return concat(words, " ")
end

local function indent_of(line)
  return #line:match("^ *")
end

-- The troff of one block of lines (no blank line among them).
local function block(lines, out)
  local i = 1
  local function example()
    out[#out + 1] = ".RS\n.nf"
    while lines[i] and indent_of(lines[i]) > 0 do
      out[#out + 1] = text_line(lines[i]:sub(3))
      i = i + 1
    end
    out[#out + 1] = ".fi\n.RE"
  end
  while lines[i] do
    local line = lines[i]
    if indent_of(line) == 0 then
      out[#out + 1] = ".PP"
      while lines[i] and indent_of(lines[i]) == 0 do
        out[#out + 1] = text_line(lines[i])
        i = i + 1
      end
    elseif indent_of(line) == 2 then
      local head, rest = line:match("^  (%S.-%S)   *(%S.*)$")
      if not head and lines[i + 1] and indent_of(lines[i + 1]) > 2 then head = line:match("^  (%S.*)$") end
      if head then
        out[#out + 1] = ".TP\n" .. term(head)
        if rest then out[#out + 1] = text_line(rest) end
        i = i + 1
        while lines[i] and indent_of(lines[i]) > 2 do
          out[#out + 1] = text_line((lines[i]:gsub("^ +", "")))
          i = i + 1
        end
      else
        example()
      end
    else
      example()
    end
  end
end

-- A page without its Usage lines: its blocks, each a list of lines; and those lines.
local function split_page(text)
  local usage, blocks, current = {}, {}, nil
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local i = 1
  if lines[1] and lines[1]:find("^Usage: ") then
    usage[1] = lines[1]:sub(8)
    i = 2
    -- Lines that go on with it keep their place under it.
    while lines[i] and lines[i]:find("^ +%S") do
      usage[#usage + 1] = lines[i]:sub(8)
      i = i + 1
    end
  end
  for k = i, #lines do
    if lines[k] == "" then
      current = nil
    else
      if not current then
        current = {}
        blocks[#blocks + 1] = current
      end
      current[#current + 1] = lines[k]
    end
  end
  return usage, blocks
end

local function synopsis(usage, out)
  out[#out + 1] = ".nf"
  for _, line in ipairs(usage) do
    local program, rest = line:match("^(gong%-library)(.*)$")
    out[#out + 1] = program and "\\fB" .. escape(program) .. "\\fR" .. escape(rest) or text_line(line)
  end
  out[#out + 1] = ".fi"
end

local out = {
  ('.TH GONG\\-LIBRARY 1 "" "gong %s" "User Commands"'):format(escape(version)),
  -- Options and file names are not to be broken at a hyphen.
  ".nh",
  ".SH NAME",
}
local usage, blocks = split_page(help.text())
-- The general page's first paragraph says what the program is.
local what = table.remove(blocks, 1)
out[#out + 1] = "gong\\-library \\- " .. escape(concat(what, " "):gsub("%.$", ""):gsub("^%u", string.lower))
out[#out + 1] = ".SH SYNOPSIS"
synopsis(usage, out)
for _, command in ipairs(args.COMMANDS) do
  synopsis((split_page(help.text(command))), out)
end
out[#out + 1] = ".SH DESCRIPTION"
for _, b in ipairs(blocks) do block(b, out) end
out[#out + 1] = ".SH COMMANDS"
for _, command in ipairs(args.COMMANDS) do
  local command_usage, command_blocks = split_page(help.text(command))
  out[#out + 1] = ".SS " .. command
  synopsis(command_usage, out)
  for _, b in ipairs(command_blocks) do block(b, out) end
end
out[#out + 1] = ".SH SEE ALSO"
out[#out + 1] = "The README of gong, and \\fBgong\\-library help\\fR \\fICOMMAND\\fR, which shows the same pages."
io.write(concat(out, "\n"), "\n")
