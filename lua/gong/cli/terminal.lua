--- gong.cli.terminal: whether gong-library's stdout or stderr is a terminal,
--- and how wide it is. Every such question of the CLI is asked here, and
--- answered by gong.core's sys.terminal_columns.

local pcall, require = pcall, require

local _M = {}

-- The core's answer for `fd`: false when it is not a terminal, else its
-- columns (0 when the terminal does not say). The core is required on the
-- first question, not on load: gong.cli.report asks before gong.cli knows the
-- core loads, and without the core no terminal is known.
local function terminal_columns(fd)
  local ok, core = pcall(require, "gong.core")
  if not ok then return false end
  return core.sys.terminal_columns(fd)
end

--- True when `fd` (1 for stdout, 2 for stderr) is a terminal.
---@param fd integer
---@return boolean
function _M.is_terminal(fd)
  return terminal_columns(fd) ~= false
end

--- The columns of the terminal on `fd`, or nil when `fd` is not a terminal
--- or the terminal does not say.
---@param fd integer
---@return integer|nil
function _M.columns(fd)
  local columns = terminal_columns(fd)
  return columns and columns > 0 and columns or nil
end

return _M
