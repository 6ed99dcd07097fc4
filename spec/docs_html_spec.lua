-- make docs: the API reference LDoc renders from the LuaLS annotations, as
-- HTML a reader can use: markdown rendered, methods named by their class,
-- types whole.

local process = require "spec.support.process"

describe("make docs", function()
  local pages = {}

  setup(function()
    local log = process.capture("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LD_PRELOAD make --no-print-directory "
      .. "docs 2>&1; echo \"exit:$?\"")
    assert(log:find("exit:0\n$"), log)
    assert(not log:find("mismatch", 1, true), log)
    for path in process.capture("find doc/api -name '*.html' | sort"):gmatch("[^\n]+") do
      pages[path] = assert(process.read_file(path))
    end
  end)

  it("writes a page for each module the docs target prepared, and the README", function()
    local names = {}
    for file in process.capture("ls build/ldoc/gong"):gmatch("[^\n]+") do
      local name = file:match("^(.-)%.lua$")
      name = name == "init" and "gong" or "gong." .. name
      names[name] = true
      assert.truthy(pages["doc/api/modules/" .. name .. ".html"], name)
    end
    for _, name in ipairs({ "gong", "gong.client", "gong.loop", "gong.nvim", "gong.resty" }) do
      assert.truthy(names[name], name .. " is not in the reference")
    end
    assert.truthy(pages["doc/api/topics/README.md.html"])
  end)

  it("renders markdown: no raw backticks, fences or headings, and the README's tables and code", function()
    for path, html in pairs(pages) do
      local text = html:gsub("<pre.-</pre>", "")
      assert.is_nil(text:find("`", 1, true), path .. " shows a raw backtick")
      assert.is_nil(text:find("\n#+ ", 1), path .. " shows a raw heading")
    end
    local readme = pages["doc/api/topics/README.md.html"]
    assert.truthy(readme:find("<table>", 1, true))
    local first = assert(readme:match("<pre>(.-)</pre>"), "no code block"):gsub("<[^>]+>", "")
    assert.truthy(first:find('local gong = require "gong"', 1, true), "the README's first example: " .. first)
    assert.truthy(readme:find("<h3>Layout</h3>", 1, true))
  end)

  it("names methods by their class: tree:walk(), client:library()", function()
    assert.truthy(pages["doc/api/modules/gong.tree.html"]:find("<strong>tree:walk()", 1, true))
    assert.truthy(pages["doc/api/modules/gong.client.html"]:find("<strong>client:library([opts])", 1, true))
    for path, html in pairs(pages) do
      assert.is_nil(html:find("methods:", 1, true), path)
    end
  end)

  it("shows each type whole, never cut at a space", function()
    for path, html in pairs(pages) do
      for ty in html:gmatch('<span class="type">([^<]*)</span>') do
        assert.is_nil(ty:find("[%s:{]"), path .. ": a broken type '" .. ty .. "'")
      end
    end
  end)
end)
