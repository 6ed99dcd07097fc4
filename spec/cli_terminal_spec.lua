-- gong.cli.terminal: whether gong-library's stdout or stderr is a terminal,
-- and how wide, asked by a child interpreter on a real terminal (tmux) and
-- on pipes and files.

local process = require "spec.support.process"

describe("gong.cli.terminal", function()
  -- What the child says of its stdout (1) and stderr (2): "is_terminal columns".
  local ASK = "local t = require 'gong.cli.terminal' "
    .. "io.write('ANSWER ', tostring(t.is_terminal(1)), ' ', tostring(t.columns(1)), ' ', "
    .. "tostring(t.is_terminal(2)), ' ', tostring(t.columns(2)), '\\n')"

  it("says a pipe or a file is not a terminal, and has no columns", function()
    local out, err, status = process.lua_code(ASK)
    assert.are.equal(0, status, err)
    assert.are.equal("ANSWER false nil false nil\n", out)
  end)

  it("says a terminal is one, with its columns", function()
    local terminal = require "spec.support.terminal"
    local t = terminal.start({ process.lua, "-e", ASK }, { width = 72 })
    local ok, lines = pcall(t.wait_for, t, "EXIT:0")
    t:stop()
    assert(ok, lines)
    assert.are.equal("ANSWER true 72 true 72", lines[1])
  end)

  it("says a descriptor that is not open is not a terminal", function()
    local terminal = require "gong.cli.terminal"
    assert.is_false(terminal.is_terminal(255))
    assert.is_nil(terminal.columns(255))
  end)
end)
