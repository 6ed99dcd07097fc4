-- make demo (tools/demo.sh): a short tour of the fake library through the
-- real CLI, which never leaves its fake server running.

local process = require "spec.support.process"

-- The processes running the demo's fake server (its --idle-exit 120 --folders 12 is the demo's own).
local function demo_servers()
  local pids = {}
  for pid in process.capture("ls /proc"):gmatch("(%d+)\n") do
    local cmdline = process.read_file("/proc/" .. pid .. "/cmdline") or ""
    -- Specs under another Lua may run a fake server of 12 folders meanwhile: theirs idle out after 3000 s.
    if cmdline:find("fake/server.lua", 1, true) and cmdline:find("--idle-exit\0" .. "120\0" .. "--folders\0" .. "12\0",
                                                                 1, true) then
      pids[#pids + 1] = pid
    end
  end
  return pids
end

-- SIGPIPE as a terminal's shell has it: LuaSocket, loaded in this process,
-- ignores it, and children would inherit that.
local function demo(pipe)
  return process.capture(("env --default-signal=PIPE LUA_BIN=%s BUILD=%s sh tools/demo.sh 2>&1 %s"):format(
    process.quote(process.lua), process.quote(process.build), pipe or ""))
end

describe("make demo", function()
  it("shows the top of the tree, a folder's calls, a transcript and an export's summary, in a screenful", function()
    local out = demo()
    local lines = select(2, out:gsub("\n", ""))
    assert.is_true(lines <= 40, lines .. " lines")
    assert.truthy(out:find("$ gong-library tree --depth 1\n", 1, true), out)
    assert.truthy(out:find("\nCALL ID +TITLE +STARTED +DURATION +URL\n"), out)
    assert.truthy(out:find("\n%$ gong%-library transcript (%d+) | head %-5\n== [^\n]* %(%1%) ==\n%[%d%d:%d%d%] "), out)
    assert.truthy(out:find("\ngong%-library: exported 12 folders and %d+ calls to library%.json in %d:%d%d:%d%d "
      .. "%(%d+ requests%)\n$"), out)
    assert.are.same({}, demo_servers())
  end)

  it("stops its fake server when its reader goes away (make demo | head)", function()
    -- Where the reader leaves decides which command the broken pipe hits.
    for _, lines in ipairs({ 1, 5, 8, 20 }) do
      local out = demo("| head -" .. lines)
      assert.matches("^== fake Gong server at http://127%.0%.0%.1:%d+ ==\n", out)
      local deadline = os.time() + 10
      while #demo_servers() > 0 and os.time() < deadline do os.execute("sleep 0.1") end
      assert.are.same({}, demo_servers(), "after head -" .. lines)
    end
  end)
end)
