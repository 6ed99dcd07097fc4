--- gong.cli.report: everything gong-library says on stderr, for one run.
---
--- A failure is one line starting with `gong-library: `; a usage error adds a
--- second line pointing to --help. Every message is redacted first: the
--- credentials of the environment and those the run resolved (a file's) are
--- replaced by `[redacted]` wherever a library message might echo them. A
--- progress line on screen is cleared before anything else is written.

local credentials = require "gong.credentials"
local message = require "gong.message"
local terminal = require "gong.cli.terminal"

local getenv, io, ipairs, setmetatable, tostring, type =
      os.getenv, io, ipairs, setmetatable, tostring, type

local _M = {}

--- The program's name, as messages begin with it.
_M.PROGRAM = "gong-library"

--- The exit status of a run refused for what it would cost: an export whose
--- plan is over --max-requests.
_M.REFUSED = 3

--- What the interpreter raises on SIGINT (and gong.core's catch_signals too).
_M.INTERRUPTED = "interrupted!"

--- True for the interrupt error: a string, perhaps with a position in front.
--- The core lets it through wherever it strikes, JSON decoding included.
---@param e any
---@return boolean
function _M.is_interrupt(e)
  return type(e) == "string" and e:sub(-#_M.INTERRUPTED) == _M.INTERRUPTED
end

---@class gong.cli.Report
---@field progress? gong.cli.Progress the line to clear before a message
---@field hint? fun(err: gong.Error): string|nil what to do about a failure (gong.cli.explain)
---@field describe? fun(err: any): any a failure's text in the CLI's words (gong.cli.explain.message)
local Report = {}
local report_mt = { __index = Report }

--- A report for one run, writing to `stderr` (io.stderr by default).
---@param stderr? file*
---@return gong.cli.Report
function _M.new(stderr)
  return setmetatable({ stderr = stderr or io.stderr, secrets = {}, sources = {} }, report_mt)
end

--- Adds values that must never be printed.
---@param list string[]
function Report:add_secrets(list)
  for _, v in ipairs(list) do self.secrets[#self.secrets + 1] = v end
end

--- Adds a source of such values that change during the run (an OAuth
--- store's tokens, which a refresh replaces): `fn()` -> a list, asked at
--- once and again before each message. What it gave once stays redacted.
---@param fn fun(): string[]
function Report:add_secret_source(fn)
  self.sources[#self.sources + 1] = fn
  self:add_secrets(fn())
end

-- The values to redact: the run's, and the environment's credentials
-- (gong.message.redact skips those too short to be one).
function Report:redactions()
  for _, fn in ipairs(self.sources) do self:add_secrets(fn()) end
  local list = {}
  for _, field in ipairs(credentials.FIELDS) do
    local v = getenv(credentials.ENV[field])
    if v then list[#list + 1] = v end
  end
  for _, v in ipairs(self.secrets) do list[#list + 1] = v end
  return list
end

--- `msg` with every secret replaced by [redacted].
---@param msg string
---@return string
function Report:redact(msg)
  return message.redact(msg, self:redactions())
end

--- One message as one line: redacted, without a gong error's own "gong: "
--- prefix (after "gong-library: " it only stutters), line breaks folded,
--- and safe for a terminal (gong.message.printable), whoever wrote its text.
---@param msg any
---@return string
function Report:one_line(msg)
  local line = self:redact(tostring(msg or "unknown error")):gsub("^gong: ", ""):gsub("%s*[\r\n]+%s*", " ")
  return message.printable(line)
end

--- Writes to stderr, first clearing the progress line if one is shown.
function Report:say(...)
  if self.progress then self.progress:clear() end
  self.stderr:write(...)
end

-- True when this report writes to a terminal's stderr.
function Report:on_terminal()
  return self.stderr == io.stderr and terminal.is_terminal(2)
end

--- Says the run was interrupted; returns its exit status, 130. On a terminal
--- the line is erased first: it holds the "^C" the terminal echoed.
---@return integer
function Report:interrupted()
  self:say(self:on_terminal() and "\r\27[K" or "", _M.PROGRAM, ": interrupted\n")
  return 130
end

--- Reports a failure as one line, with what to do about it when the run
--- knows (see `hint`); returns the exit status, 1 (130 for an interrupt).
---@param msg any
---@return integer
function Report:fail(msg)
  if _M.is_interrupt(msg) then return self:interrupted() end
  self:say(_M.PROGRAM, ": ", self:failure(msg), "\n")
  return 1
end

--- A failure as the one line fail() writes after the program's name: in the
--- CLI's words (see `describe`), with what to do about it when the run knows
--- (see `hint`).
---@param msg any
---@return string
function Report:failure(msg)
  local line = self:one_line(self.describe and self.describe(msg) or msg)
  local advice = type(msg) == "table" and self.hint and self.hint(msg)
  if advice then line = line .. "; " .. advice end
  return line
end

--- Reports a run refused before it did its work, for what that would cost
--- (an export over --max-requests), as one line; returns its exit status,
--- REFUSED.
---@param msg string
---@return integer
function Report:refuse(msg)
  self:say(_M.PROGRAM, ": ", self:one_line(msg), "\n")
  return _M.REFUSED
end

--- Says one attempt of a request, as --verbose does, from what gong's
--- option on_attempt is told (`info`): "GET URL: HTTP 200 (0.212 s,
--- attempt 1 of 5)", what went wrong instead of the status when no answer
--- came, and "; retrying in 2.00 s" when another attempt follows.
---@param info table
function Report:attempt(info)
  local of = info.attempt <= info.max_attempts and " of " .. info.max_attempts or ""
  local line = ("%s %s: %s (%.3f s, attempt %d%s)"):format(info.method, info.url,
    info.status and "HTTP " .. info.status or info.error, info.seconds, info.attempt, of)
  if info.retry_in then line = line .. ("; retrying in %.2f s"):format(info.retry_in) end
  self:say(_M.PROGRAM, ": ", self:one_line(line), "\n")
end

--- Reports something that went wrong without stopping the run.
---@param msg any
function Report:warn(msg)
  self:say(_M.PROGRAM, ": warning: ", self:one_line(msg), "\n")
end

--- Reports a usage error with a pointer to the help of `command`; returns 2.
---@param msg string
---@param command? string
---@return integer
function Report:usage_error(msg, command)
  local hint = command and command ~= "help" and (_M.PROGRAM .. " help " .. command) or (_M.PROGRAM .. " --help")
  self:say(_M.PROGRAM, ": ", self:redact(msg), "\n", "Try '", hint, "' for more information.\n")
  return 2
end

return _M
