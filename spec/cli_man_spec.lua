-- gong-library(1), the man page tools/gen-man.lua makes of the help pages:
-- groff reads it without a warning, and it says what the help says, every
-- paragraph, item and example of every page. make install puts it, and the
-- shells' completion scripts, under PREFIX/share. #once: the page is the
-- same whichever Lua makes it (the Makefile's make man runs under each).

local args = require "gong.cli.args"
local help = require "gong.cli.help"
local process = require "spec.support.process"

local quote = process.quote

-- `text` with every run of white space one space, and the characters
-- groff's UTF-8 output may print for ASCII ones (minus, quotes, hyphen) as those.
local function normal(text)
  text = text:gsub("\226\136\146", "-"):gsub("\226\128\144", "-"):gsub("\226\128\153", "'")
    :gsub("\226\128\152", "'"):gsub("\226\128\156", '"'):gsub("\226\128\157", '"')
  return (text:gsub("%s+", " "))
end

-- The blocks of a help page (its lines between blank lines), each one string.
local function blocks(page)
  local list, current = {}, nil
  for line in page:gmatch("([^\n]*)\n") do
    if line == "" then
      current = nil
    elseif current then
      list[#list] = list[#list] .. "\n" .. line
    else
      current = true
      list[#list + 1] = line
    end
  end
  return list
end

describe("the man page gong-library(1)", function()
  local page, rendered, warnings

  setup(function()
    local file = os.tmpname()
    local out, err, status = process.run({ process.lua, "tools/gen-man.lua" })
    assert(status == 0 and err == "", err)
    page = out
    process.write_file(file, page, "644")
    local errfile = os.tmpname()
    rendered = process.capture("groff -man -Tutf8 -ww -P-cbou -rLL=200n " .. quote(file) .. " 2>" .. quote(errfile))
    warnings = process.read_file(errfile)
    os.remove(errfile)
    os.remove(file)
  end)

  it("is read by groff without a warning, under its name, section 1, and gong's version #once", function()
    assert.are.equal("", warnings)
    assert.truthy(page:find('^%.TH GONG\\%-LIBRARY 1 "" "gong ' .. require("gong.version"):gsub("%p", "%%%0")), page)
    assert.truthy(rendered:find("NAME\n +gong%-library %- browse the Gong call library\n"), rendered)
  end)

  it("says every paragraph, item and example of the general help and every command's page #once", function()
    -- groff may end a line after a word's own hyphen ("top-" / "level").
    local text = normal(rendered):gsub("(%w)%- (%w)", "%1-%2")
    local pages = { help.text() }
    for _, command in ipairs(args.COMMANDS) do pages[#pages + 1] = help.text(command) end
    for i, help_page in ipairs(pages) do
      local list = blocks(help_page)
      -- The general page's first words after its Usage line are the NAME's (above).
      if i == 1 then table.remove(list, 2) end
      for _, b in ipairs(list) do
        if b:find("^Usage: ") then b = b:gsub("^Usage: ", "") end
        local wanted = normal(b):gsub("^ ", ""):gsub(" $", "")
        assert.truthy(text:find(wanted, 1, true), "the man page lacks: " .. wanted)
      end
    end
  end)

  it("has a section of its own for each command #once", function()
    for _, command in ipairs(args.COMMANDS) do
      assert.truthy(rendered:find("\n   " .. command .. "\n", 1, true), command)
    end
  end)

  it("is installed by make install in PREFIX/share/man/man1, with the shells' completion scripts #once", function()
    local prefix = process.tmpdir()
    local lua = process.lua:match("luajit") and "luajit" or process.lua:match("lua(5%.%d)")
    local log = process.capture(("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LD_PRELOAD make --no-print-directory "
      .. "install LUA=%s BUILD=%s PREFIX=%s 2>&1; echo \"exit:$?\""):format(lua, process.build, quote(prefix)))
    local installed = {
      ["share/man/man1/gong-library.1"] = page,
      ["share/bash-completion/completions/gong-library"] = "bash",
      ["share/zsh/site-functions/_gong-library"] = "zsh",
      ["share/fish/vendor_completions.d/gong-library.fish"] = "fish",
    }
    local contents = {}
    for path in pairs(installed) do contents[path] = process.read_file(prefix .. "/" .. path) end
    local shown = process.capture("MANWIDTH=80 man -l " .. quote(prefix .. "/share/man/man1/gong-library.1")
      .. " 2>&1")
    os.execute("rm -rf " .. quote(prefix))
    assert.matches("exit:0\n$", log)
    for path, expected in pairs(installed) do
      if path:find("man1") then
        assert.are.equal(expected, contents[path], path)
      else
        local script = process.run({ process.lua, "bin/gong-library", "completion", expected })
        assert.are.equal(script, contents[path], path)
      end
    end
    assert.truthy(shown:find("gong-library completion bash|zsh|fish", 1, true), shown)
  end)
end)
