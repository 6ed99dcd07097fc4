--- gong.cli: the gong-library command. bin/gong-library only calls main();
--- each job has its module: gong.cli.args (the command line), gong.cli.help
--- (the pages), gong.cli.report (messages), gong.cli.progress (the status
--- line), gong.cli.atomic_file (export's output file), gong.cli.commands
--- (what each command does), gong.cli.terminal (whether stdout and stderr
--- are terminals). Rendering is gong.cli.render's (folders, calls, trees,
--- workspaces, transcripts) and gong.cli.exports's (export), on
--- gong.cli.text (text as a terminal shows it).
---
--- Exit statuses: 0 success, 1 failure (a refused key or token, network,
--- HTTP, output, or an export that lost some folders), 2 usage error: the
--- command line, or a bad value in what configures a run (a credentials
--- file, the environment: unreadable, malformed, credentials missing or of
--- two kinds, a base URL gong refuses), 3 refused (an export whose plan is
--- over --max-requests), 130 interrupted (Ctrl-C). A failure is reported as
--- one line on stderr starting with `gong-library: `; a usage error adds a
--- second line pointing to --help.
---
--- Credentials are read from the environment or from a credentials file
--- (gong.credentials decides), never from the command line, where other
--- users of the machine can read them with `ps`.

local args = require "gong.cli.args"
local message = require "gong.message"
local report = require "gong.cli.report"
local version = require "gong.version"

local error, getenv, io, ipairs, pcall, rawget, require, tostring, traceback, type, xpcall =
      error, os.getenv, io, ipairs, pcall, rawget, require, tostring, debug.traceback, type, xpcall

local _M = {}

local PROGRAM = report.PROGRAM

-- The variable that turns --verbose on and shows an internal error's traceback.
local DEBUG = "GONG_DEBUG"

local function nonempty(name)
  local v = getenv(name)
  return v ~= nil and v ~= "" and v or nil
end

-- The Lua this runs on, as make's LUA= names it.
local function make_lua()
  return rawget(_G, "jit") and "luajit" or _VERSION:match("%d+%.%d+")
end

-- What to tell about gong's modules not loading (`why`, gong.message's
-- load_failure): the piece that is missing and what to do about it
-- (gong.core is built with make, lua-cjson installed, a module built for
-- another Lua rebuilt), then require's whole reason in parentheses.
-- `what` names what was required, for a failure that names no module.
local function load_problem(why, what)
  local module, lua = why.module, make_lua()
  local this = lua == "luajit" and "LuaJIT" or "Lua " .. lua
  local text
  if module == "cjson" or module == "cjson.safe" then
    if why.problem == "missing" then
      text = "lua-cjson, which gong needs, is not installed for " .. this .. "; install it (Debian: apt-get "
        .. "install lua-cjson; LuaRocks: luarocks install lua-cjson) or set LUA_CPATH to where its cjson.so is"
    elseif why.problem == "other_lua" then
      text = "the lua-cjson found was built for another Lua than " .. this .. "; install lua-cjson for " .. this
        .. " or set LUA_CPATH to where its cjson.so is"
    end
  elseif module == "gong.core" then
    if why.problem == "missing" then
      text = "gong.core, gong's C module, is not built for " .. this .. " or not on LUA_CPATH; build it (make LUA="
        .. lua .. ") or set LUA_CPATH to where gong/core.so is"
    elseif why.problem == "other_lua" then
      text = "gong.core, gong's C module, was built for another Lua than " .. this .. "; build it for this one "
        .. "(make LUA=" .. lua .. ") or set LUA_CPATH to where that build is"
    end
  end
  if text then return text .. " (" .. why.text .. ")" end
  local label = module == "gong.core" and "gong.core, gong's C module" or module or what
  return label .. " does not load: " .. why.text
end

-- gong and the CLI's modules that need its core, or nil and a message saying
-- the module cannot be loaded (a build or path problem, not a crash).
local function load_modules()
  local gong, why = message.require("gong")
  if not gong then
    return nil, load_problem(why, "gong")
  end
  return {
    gong = gong,
    core = require "gong.core",
    help = require "gong.cli.help",
    commands = require "gong.cli.commands",
    credentials = require "gong.credentials",
    explain = require "gong.cli.explain",
    progress = require "gong.cli.progress",
  }
end

local function lua_version()
  local jit = rawget(_G, "jit")
  return type(jit) == "table" and jit.version or _VERSION
end

-- --version: the Lua part's version, which needs nothing else; when the C
-- core does not load, it says so on stderr (an installation to fix), and
-- the status is 1.
local function show_version(ctx)
  local core, why = message.require("gong.core")
  io.stdout:write(PROGRAM, " ", version, " (", lua_version(), ")\n")
  io.stdout:flush()
  if not core then
    return ctx.report:fail(load_problem(why, "gong.core, gong's C module"))
  end
  if core._VERSION ~= version then
    return ctx.report:fail("gong.core is version " .. tostring(core._VERSION) .. ", the Lua part " .. version
      .. ": install both from the same release")
  end
  return 0
end

-- The credentials file of a run: --credentials, else $GONG_CREDENTIALS_FILE,
-- else the default file when it exists (gong.credentials.default_file).
local function credentials_file(m, opts)
  local path = opts.credentials or nonempty(m.credentials.FILE_ENV)
  if path then return path end
  path = m.credentials.default_file()
  if path and m.core.sys.stat(path) then return path end
end

-- gong-library's rate scope unless GONG_RATE_SCOPE (or the credentials file) says otherwise.
local RATE_SCOPE = "host"

-- Where a run's settings and credentials come from, in order of precedence:
-- the command line, a credentials file (when there is one), the
-- environment (gong.credentials' sources); or nil and why the file is refused.
local function config_sources(m, opts)
  local credentials = m.credentials
  local sources = { credentials.from_options({ base_url = opts.base_url, api = opts.api, rate = opts.rate,
                                               oauth_store = opts.oauth_store }, "the command line",
                                             { base_url = "--base-url", api = "--api", rate = "--rate",
                                               oauth_store = "--oauth-store" }) }
  local path = credentials_file(m, opts)
  if path ~= nil then
    local file, err = credentials.read_file(path)
    if not file then
      return nil, err
    end
    sources[#sources + 1] = file
  end
  sources[#sources + 1] = credentials.from_environment()
  return sources
end

-- The gong.new options for a run: base URL and credentials as gong.credentials
-- resolves them from `sources` (config_sources'), plus the timeout. Returns
-- the options and the resolution, or nil and a message when the credentials
-- are unusable.
local function client_options(m, ctx, opts, sources)
  local credentials = m.credentials
  local env = credentials.ENV
  local resolved, err = credentials.resolve(sources, ("set %s and %s, or %s, or %s and %s with --oauth-store, "
    .. "or name a file with --credentials")
    :format(env.access_key, env.access_key_secret, env.token, env.client_id, env.client_secret))
  if not resolved then
    return nil, err
  end
  ctx.report:add_secrets(resolved.secrets)
  -- As an echoed Authorization header would show them.
  for _, pair in ipairs({ { "access_key", "access_key_secret" }, { "client_id", "client_secret" } }) do
    local id, secret = resolved[pair[1]], resolved[pair[2]]
    if id and secret then ctx.report:add_secrets({ message.basic(id, secret) }) end
  end
  local store = resolved.oauth_store
  if store then
    -- The store's tokens, those a refresh during the run writes too.
    local decode = require("cjson.safe").decode
    ctx.report:add_secret_source(function()
      local content = m.core.sys.read_private_file(store)
      local t = content and decode(content)
      if type(t) ~= "table" then return {} end
      local list = {}
      for _, field in ipairs({ "access_token", "refresh_token" }) do
        if type(t[field]) == "string" then list[#list + 1] = t[field] end
      end
      return list
    end)
  end
  return {
    -- --verbose, and GONG_DEBUG: each attempt on stderr.
    on_attempt = (opts.verbose or nonempty(DEBUG)) and function(info) ctx.report:attempt(info) end or nil,
    base_url = resolved.base_url, api = resolved.api, user_agent = PROGRAM .. "/" .. version,
    -- --timeout bounds each request whole, its retries and the waits between them included.
    deadline = opts.timeout,
    -- Where the progress line shows (a terminal), each wait of a request is said on it.
    on_wait = m.progress.wanted() and function(info) m.progress.waiting(ctx.report, info) end or nil,
    -- A plain decimal is the number it says; anything else goes as given, for gong.new to refuse by name.
    rate = resolved.rate and (resolved.rate:match("^%d*%.?%d+$") and tonumber(resolved.rate) or resolved.rate),
    max_retries = opts.max_retries,
    access_key = resolved.access_key, access_key_secret = resolved.access_key_secret, token = resolved.token,
    client_id = resolved.client_id, client_secret = resolved.client_secret, oauth_store = resolved.oauth_store,
    oauth_token_url = resolved.oauth_token_url,
    -- Runs at once (two terminals, a cron job) share the tenant's limit.
    rate_scope = resolved.rate_scope or RATE_SCOPE,
  }, resolved
end

local function run(ctx, argv)
  local opts, msg, command = args.parse(argv)
  if not opts then
    return ctx.report:usage_error(msg, command)
  end
  if opts.version then
    return show_version(ctx)
  end
  local m, err = load_modules()
  if not m then
    return ctx.report:fail(err)
  end
  if opts.help or opts.command == "help" then
    -- "help" alone is the general help; "help help" is help's own page.
    local topic = opts.topic or (opts.command ~= "help" and opts.command or nil)
    return m.commands.write(ctx, m.help.text(topic))
  end
  if opts.command == "completion" then
    return m.commands.write(ctx, require("gong.cli.completion").script(opts.shell))
  end
  -- From here on a second Ctrl-C, SIGTERM or SIGHUP still removes a
  -- temporary output file before the process ends.
  m.core.sys.catch_signals()

  -- What is wrong with what the user configured (a credentials file, the
  -- environment, a flag's value) is a usage error, told before any request.
  local sources, refused = config_sources(m, opts)
  if not sources then
    return ctx.report:usage_error(refused)
  end
  if opts.command == "oauth" then
    return require("gong.cli.oauth").run(ctx, opts, sources, function()
      return client_options(m, ctx, opts, sources)
    end)
  end
  local client_opts, resolved = client_options(m, ctx, opts, sources)
  if not client_opts then
    return ctx.report:usage_error(resolved)
  end
  local created, client = pcall(m.gong.new, client_opts)
  if not created then
    -- A value from the command line, a file or the environment that gong
    -- refuses is bad input, told in the CLI's terms.
    local bad = m.gong.is_error(client) and m.explain.bad_value(client, resolved)
    if bad then return ctx.report:usage_error(bad) end
    return ctx.report:fail(client)
  end
  ctx.report.hint = function(e) return m.explain.hint(e, resolved, nil, client.api) end
  ctx.report.describe = m.explain.message
  -- The rate the client keeps to (gong.new's default unless the options set
  -- one), for what an export says its requests will take.
  ctx.rate = client_opts.rate
  if ctx.rate == nil then ctx.rate = m.core.options.rate.default end
  -- gong raises on arguments it finds malformed; input that got past parse()
  -- is still the user's, so that is reported as a failure, not a crash.
  local command_fn = m.commands[opts.command] or m.commands.show
  local done, status = pcall(command_fn, ctx, client, opts)
  client:close()
  if not done then
    if not m.gong.is_error(status) then
      error(status, 0)
    end
    return ctx.report:fail(status)
  end
  return status
end

-- Before anything opens a file: descriptors 0-2 open (core.sys.std_fds), so
-- that a closed stdout becomes no file of gong's and a write to it fails,
-- and the core's warnings on the run's stderr (ctx.stdout_closed: it was).
-- Returns the core, or nil when it does not load (run() says what is wrong).
local function prepare(ctx)
  local core = message.require("gong.core")
  if not core then return nil end
  local opened = core.sys.std_fds()
  core.on_warning(function(msg) ctx.report:warn(msg) end)
  for _, fd in ipairs(opened) do
    if fd == 1 then ctx.stdout_closed = true end
  end
  return core
end

--- Runs the command line `argv` (the global `arg`: arguments from index 1) and
--- returns the exit status. Output is flushed before it returns, and a
--- temporary export file is gone, however the run ended. Once the command
--- line is read, SIGINT, SIGTERM and SIGHUP are gong.core's (catch_signals).
---@param argv string[]|nil
---@return integer
function _M.main(argv)
  -- What one run has to remember between its parts, passed to each.
  local ctx = { report = report.new(), cleanups = {} }
  local core = prepare(ctx)
  local list = {}
  for i = 1, #(argv or {}) do
    list[i] = argv[i]
  end
  local ok, status = xpcall(function()
    return run(ctx, list)
  end, function(e)
    if report.is_interrupt(e) then
      return report.INTERRUPTED
    end
    return traceback(tostring(e), 2)
  end)
  for i = #ctx.cleanups, 1, -1 do
    pcall(ctx.cleanups[i])
  end
  if not ok then
    if status == report.INTERRUPTED then
      status = ctx.report:interrupted()
    else
      -- A bug, not a user mistake: still one line, but say so. GONG_DEBUG
      -- shows where, for a bug report.
      if nonempty(DEBUG) then
        ctx.report:say(status, "\n")
      end
      status = ctx.report:fail("internal error: " .. message.first_line(status))
    end
  end
  if ctx.report.progress then
    ctx.report.progress:clear()
  end
  -- Output the run believed written and was not is a failure, never a 0.
  local flushed, why = io.stdout:flush()
  if status == 0 and (not flushed or (core and core.sys.stdout_failed())) then
    status = ctx.report:fail("cannot write the output: "
      .. (ctx.stdout_closed and "standard output is closed" or tostring(why or "a write failed")))
  end
  return status
end

return _M
