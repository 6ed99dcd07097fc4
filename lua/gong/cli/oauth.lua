--- gong.cli.oauth: gong-library oauth, an OAuth app's way to its tokens:
--- `authorize-url` (the page of Gong's where the tenant's admin approves the
--- app), `exchange` (the code Gong sent back, for the first tokens, into the
--- store) and `status` (what the store holds, never a token). The OAuth
--- itself is gong.oauth's; here are the CLI's words for it.
---
--- Each action takes the run's context, its parsed options, the sources of
--- its settings and credentials (gong.credentials: the command line, a
--- credentials file, the environment) and `resolve()`, which gives the
--- client options of the run (gong.cli's client_options) or nil and why
--- not; each returns the exit status.

local cell = require("gong.cli.text").cell
local credentials = require "gong.credentials"
local explain = require "gong.cli.explain"
local json = require "gong.json"
local oauth = require "gong.oauth"
local report_module = require "gong.cli.report"
local write = require("gong.cli.commands").write

local concat, date, floor, format, ipairs, pcall, time =
      table.concat, os.date, math.floor, string.format, ipairs, pcall, os.time

local ENV = credentials.ENV
local PROGRAM = report_module.PROGRAM

local _M = {}

-- The exchange's command, as messages suggest it.
local EXCHANGE = PROGRAM .. " oauth exchange --code CODE --redirect-uri URI"

--- oauth authorize-url: prints the URL of Gong's authorize page for the
--- app (its client id from the environment or the credentials file, as
--- every credential), with --redirect-uri, the scopes (--scope, else
--- everything gong-library asks for) and --state. Asks nothing of Gong. On a
--- terminal, stderr says what comes next.
---@param ctx table
---@param opts table
---@param sources gong.credentials.Source[]
---@return integer
_M["authorize-url"] = function(ctx, opts, sources)
  local source = credentials.credential_source(sources)
  local client_id = source and source.values.client_id
  if not client_id then
    -- A credentials file's credentials replace the environment's: say so when it is the file that lacks it.
    return ctx.report:usage_error(("oauth authorize-url needs the app's %s, in the environment or the credentials "
      .. "file%s"):format(ENV.client_id, source and source.exclusive
        and " (" .. source.where .. ", whose credentials replace the environment's, has none)" or ""), "oauth")
  end
  if opts.scope and not opts.scope:find("[^%s,]") then
    return ctx.report:usage_error("--scope needs the scopes, separated by spaces", "oauth")
  end
  local settings = credentials.settings(sources)
  local made, url = pcall(oauth.authorize_url, {
    client_id = client_id, redirect_uri = opts.redirect_uri, state = opts.state,
    -- "a,b" as well as "a b": Gong's settings page lists scopes one per line.
    scope = opts.scope and opts.scope:gsub(",", " "), authorize_url = settings.oauth_authorize_url,
  })
  if not made then
    if settings.oauth_authorize_url and tostring(url):find(": authorize_url must", 1, true) then
      return ctx.report:usage_error(settings.origin.oauth_authorize_url .. " must be an http or https URL")
    end
    return ctx.report:usage_error(ctx.report:one_line(url), "oauth")
  end
  local status = write(ctx, url .. "\n")
  if status == 0 and ctx.report:on_terminal() then
    ctx.report:say(PROGRAM, ": ", ctx.report:one_line(("send the tenant's technical administrator to this URL; "
      .. "Gong then sends the browser to %s with ?code=CODE, which %s --oauth-store FILE turns into the app's "
      .. "tokens"):format(opts.redirect_uri, EXCHANGE)), "\n")
  end
  return status
end

--- oauth exchange: the code Gong sent to the redirect URI, for the app's
--- first tokens, written to the store.
---@param ctx table
---@param opts table
---@param _ gong.credentials.Source[]
---@param resolve fun(): table|nil, any
---@return integer
function _M.exchange(ctx, opts, _, resolve)
  local app, err = resolve()
  if not app then return ctx.report:usage_error(err) end
  if not app.client_id then
    return ctx.report:usage_error(("oauth exchange needs the app's %s and %s (in the environment or the "
      .. "credentials file) and --oauth-store FILE"):format(ENV.client_id, ENV.client_secret), "oauth")
  end
  local source
  source, err = oauth.exchange({ client_id = app.client_id, client_secret = app.client_secret,
    store = app.oauth_store, token_url = app.oauth_token_url, code = opts.code,
    redirect_uri = opts.redirect_uri, timeout = opts.timeout })
  if not source then return ctx.report:fail(err) end
  return write(ctx, ("wrote the OAuth tokens to %s; the tenant's API is %s\n")
    :format(app.oauth_store, source:base_url()))
end

-- "2025-03-01 14:05 UTC".
local function utc(t)
  return date("!%Y-%m-%d %H:%M UTC", floor(t))
end

-- The store's status as text, a "label: value" line each.
local function status_text(s, now)
  local left = s.expires_at - now
  local expiry = left > 0
    and format("valid until %s (%s from now); a run near then refreshes it", utc(s.expires_at), explain.span(left))
    or format("expired at %s (%s ago); the next run refreshes it", utc(s.expires_at), explain.span(-left))
  -- What Gong wrote (the tenant's URL, the scopes) is made safe for a terminal, as every cell is.
  local lines = {
    { "store", cell(s.store) }, { "tenant", cell(s.base_url) }, { "access token", expiry },
    { "scopes", s.scopes and cell(concat(s.scopes, " ")) or "(Gong's answer named none)" },
  }
  local out = {}
  for i, line in ipairs(lines) do out[i] = format("%-13s %s", line[1] .. ":", line[2]) end
  return concat(out, "\n") .. "\n"
end

-- The store's status as a JSON object.
local function status_json(s, now)
  local w = json.writer({ indent = true })
  w:object()
  w:field("store", s.store)
  w:field("base_url", s.base_url)
  w:field("expires_at", date("!%Y-%m-%dT%H:%M:%SZ", floor(s.expires_at)))
  w:field("expired", s.expires_at <= now)
  if s.scopes then
    w:key("scopes")
    w:array()
    for _, scope in ipairs(s.scopes) do w:value(scope) end
    w:close_array()
  end
  w:close_object()
  return w:take() .. "\n"
end

--- oauth status: what the store holds (--oauth-store, else the setting
--- GONG_OAUTH_STORE): the tenant's API, when the access token runs out, the
--- scopes Gong granted; never a token. No store there is a failure.
---@param ctx table
---@param opts table
---@param sources gong.credentials.Source[]
---@return integer
function _M.status(ctx, opts, sources)
  local store = credentials.settings(sources).oauth_store
  if not store then
    return ctx.report:usage_error(("oauth status needs the store: --oauth-store FILE, or %s"):format(ENV.oauth_store),
      "oauth")
  end
  local s, err = oauth.status(store)
  if s == false then
    return ctx.report:fail(("there is no OAuth store %s: authorize the app (%s oauth authorize-url), then run "
      .. "%s --oauth-store %s"):format(store, PROGRAM, EXCHANGE, store))
  elseif not s then
    return ctx.report:fail(err)
  end
  local now = time()
  return write(ctx, opts.format == "json" and status_json(s, now) or status_text(s, now))
end

--- Runs the action `opts.action` (see gong.cli.args.ACTIONS.oauth).
---@param ctx table
---@param opts table
---@param sources gong.credentials.Source[]
---@param resolve fun(): table|nil, any
---@return integer
function _M.run(ctx, opts, sources, resolve)
  return _M[opts.action](ctx, opts, sources, resolve)
end

return _M
