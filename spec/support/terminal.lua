-- A real terminal for specs of what a terminal shows: a command runs in a
-- detached tmux session of a given size, on a tmux server of its own (a
-- private socket, so a developer's tmux is never touched); the spec types
-- keys into it and reads the screen.
--
--   local t = terminal.start({ "lua5.4", "bin/gong-library", "tree" }, { width = 80, env = {...} })
--   t:wait_for("folders, ")  t:keys("C-c")  t:wait_for("EXIT:130")
--   local lines = t:lines()   t:stop()

local process = require "spec.support.process"
local socket = require "socket"

local M = {}

local Terminal = {}
Terminal.__index = Terminal

local count = 0

--- Runs `argv` in a new terminal of `opts.width` x `opts.height` (default
--- 80 x 24), with `opts.env`, as process.run would. When the command ends,
--- the terminal shows "EXIT:<status>" and stays open.
function M.start(argv, opts)
  opts = opts or {}
  count = count + 1
  local name = ("gong-spec-%d-%d"):format(process.pid(), count)
  -- The shell outlives a Ctrl-C typed at the program (a trapped signal is
  -- the default again in the program) to report its status.
  local script = "trap : INT; " .. process.command(argv, opts.env) .. "; echo EXIT:$?; sleep 600"
  local ok = os.execute(("tmux -L %s -f /dev/null new-session -d -x %d -y %d %s"):format(
    name, opts.width or 80, opts.height or 24, process.quote("sh -c " .. process.quote(script))))
  assert(ok == true or ok == 0, "tmux could not start (is tmux installed?)")
  return setmetatable({ name = name }, Terminal)
end

-- The screen's text, `flags` given to capture-pane, as lines without the
-- spaces they end in and without the blank ones at the bottom.
local function capture(self, flags)
  local text = process.capture(("tmux -L %s capture-pane -p %s"):format(self.name, flags))
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line:gsub("%s+$", "") end
  while lines[#lines] == "" do lines[#lines] = nil end
  return lines
end

--- The screen's lines, a line wrapped by the terminal joined back (-J), so a
--- line longer than the terminal is wide shows as one.
function Terminal:lines()
  return capture(self, "-J")
end

--- The screen's rows as the terminal shows them: a line longer than the
--- terminal is wide is on two rows or more.
function Terminal:rows()
  return capture(self, "")
end

--- Waits (up to `seconds`, default 10) until the screen shows `text`; the lines.
function Terminal:wait_for(text, seconds)
  local deadline = socket.gettime() + (seconds or 10)
  while true do
    local lines = self:lines()
    for _, line in ipairs(lines) do
      if line:find(text, 1, true) then return lines end
    end
    if socket.gettime() > deadline then
      error(("the terminal never showed %q; it shows:\n%s"):format(text, table.concat(lines, "\n")), 2)
    end
    socket.sleep(0.05)
  end
end

--- Types keys, as tmux send-keys names them ("C-c", "Enter").
function Terminal:keys(...)
  local words = {}
  for i, k in ipairs({ ... }) do words[i] = process.quote(k) end
  os.execute(("tmux -L %s send-keys %s"):format(self.name, table.concat(words, " ")))
end

--- Ends the terminal and its tmux server.
function Terminal:stop()
  os.execute(("tmux -L %s kill-server 2>/dev/null"):format(self.name))
end

return M
