--- gong.cli.explain: what a library error means in gong-library's terms.
---
--- gong speaks of its options (`base_url`, `allow_http`, `token`); a user of
--- the CLI set a flag, a variable or a line of a credentials file. Given what
--- gong.credentials resolved (where each value came from), this names the
--- source of a bad value and says what to do, in the CLI's words, and adds
--- to a failure the hint that helps (check the key, the base URL; when to
--- retry). The rules themselves stay in gong: only the wording is here.

local core = require "gong.core"
local credentials = require "gong.credentials"

local date, floor, format, time, tostring, type = os.date, math.floor, string.format, os.time, tostring, type

local _M = {}

-- Why the core refused a base URL (err.reason), where the CLI says it in
-- its own terms; for any other reason the core's own words (err.detail) do.
local BASE_URL = {
  credentials = ("must not contain credentials; set %s and %s, or %s, in the environment or a "
    .. "--credentials file"):format(credentials.ENV.access_key, credentials.ENV.access_key_secret,
                                    credentials.ENV.token),
  plain_http = "uses plain http to a host that is not this machine; use https",
  scheme = "must use https (or http to this machine)",
}

-- The flags of the options gong-library sets from its own command line.
local FLAGS = { deadline = "--timeout", max_retries = "--max-retries" }

--- The message for a config error that gong raised about one of the options
--- the CLI gave it (err.option), naming where the value came from; nil when
--- the error is not about such a value.
---@param err gong.Error
---@param resolved gong.credentials.Resolved
---@return string|nil
function _M.bad_value(err, resolved)
  local option = err.kind == "config" and err.option
  if not option then return nil end
  if err.reason == "shared_state" then
    -- The state file of the rate limit runs share, not a value anyone gave.
    return err.detail .. " (or set " .. credentials.ENV.rate_scope .. "=client: then each run keeps its own limit)"
  end
  local origin = FLAGS[option] or resolved.origin[option]
  if not origin then return nil end
  local why = option == "base_url" and BASE_URL[err.reason] or err.detail or err.message
  -- A number given as text that is none (GONG_RATE=fast): say the text, not its type.
  if type(resolved[option]) == "string" and why:find("must be a number", 1, true) then
    why = why:gsub(" %(got string%)$", "") .. ", not '" .. resolved[option] .. "'"
  end
  return origin .. " " .. why
end

--- A number of seconds as people say it: "0.4 s" (to a tenth below 10 s),
--- "20 s", "52 min", "3.5 h", "12 days".
---@param seconds number
---@return string
function _M.span(seconds)
  if seconds < 10 then
    local tenths = floor(seconds * 10 + 0.5)
    return tenths % 10 == 0 and format("%d s", tenths / 10) or format("%.1f s", tenths / 10)
  end
  if seconds < 120 then return format("%d s", floor(seconds + 0.5)) end
  if seconds < 7200 then return format("%d min", floor(seconds / 60 + 0.5)) end
  if seconds < 172800 then return format("%.1f h", seconds / 3600) end
  return format("%d days", floor(seconds / 86400 + 0.5))
end
local span = _M.span

--- When to try again after Gong's rate limit asked to wait `wait` seconds
--- (nil: longer than gong counts): "Gong asks to wait 60 min: try again
--- after 14:05 UTC" (and the date from half a day on).
---@param wait number|nil
---@param now? integer seconds since the epoch (os.time() by default)
---@return string
function _M.try_again(wait, now)
  if wait == nil then return "Gong asks to wait longer than a year: try again much later" end
  local at = (now or time()) + wait
  return "Gong asks to wait " .. span(wait) .. ": try again after " .. date("!%H:%M UTC", at)
    .. (wait >= 43200 and date("! on %Y-%m-%d", at) or "")
end

-- What gong's message of a halt appends, in its option's name (outcome.c):
-- "; the server asks to wait 3600 s, longer than max_retry_wait (60 s)".
local HALT_NOTE = "; the server asks to wait[^;]-longer than max_retry_wait %b()"

--- A failure's text in gong-library's words, before its hint: a request
--- whose Retry-After halted the run is told without gong's option name (the
--- hint says when to try again), and one a halt kept from starting is "not
--- attempted". Anything else is its own text.
---@param err any
---@return any
function _M.message(err)
  if type(err) ~= "table" or not err.halt then return err end
  if err.attempts == 0 then return "not attempted" end
  return (tostring(err):gsub(HALT_NOTE, ""))
end

--- What to do about a failure, or nil: check the credentials after a 401 or
--- 403 (naming where they came from), the base URL after a network error or
--- timeout, when to try again after a rate limit, and --api after a 404
--- from one of Gong's hosts spoken to in the contract (`api`: the API the
--- client speaks; Gong's hosts serve its public API).
---@param err gong.Error
---@param resolved gong.credentials.Resolved
---@param now? integer seconds since the epoch (os.time() by default)
---@param api? string the client's API ("contract" or "public")
---@return string|nil
function _M.hint(err, resolved, now, api)
  local kind, status = err.kind, err.status
  local base_url = resolved.base_url or core.DEFAULT_BASE_URL
  if kind == "http" and status == 404 and api == "contract" and core.api_for(base_url) == "public" then
    return ("%s is Gong's, which serves its public API, not the contract that %s asks for: try --api public")
      :format(resolved.origin.base_url and "the base URL (from " .. resolved.origin.base_url .. ")"
                or "the default base URL", resolved.origin.api or "--api contract")
  elseif kind == "http" and (status == 401 or status == 403) then
    local source = resolved.source
    local names = source.names
    local which = resolved.token and names.token or (names.access_key .. " and " .. names.access_key_secret)
    return "check " .. which .. " (from " .. source.where .. ")"
  elseif kind == "network" or err.timeout == "connect" then
    local where = resolved.origin.base_url and ("from " .. resolved.origin.base_url) or "the default"
    return "check the base URL (" .. where .. ") and the network"
  elseif err.timeout == "deadline" then
    return "raise --timeout to wait longer"
  elseif kind == "rate_limited" and (err.retry_after or err.halt) then
    return _M.try_again(err.retry_after, now)
  end
  return nil
end

return _M
