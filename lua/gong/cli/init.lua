--- gong.cli: the gong-library command. bin/gong-library only calls main();
--- each job has its module: gong.cli.args (the command line), gong.cli.help
--- (the pages), gong.cli.report (messages), gong.cli.progress (the status
--- line), gong.cli.atomic_file (export's output file), gong.cli.commands
--- (what each command does). Rendering is gong.output's.
---
--- Exit statuses: 0 success, 1 failure (credentials, network, HTTP, output,
--- or an export that lost some folders), 2 usage error, 130 interrupted
--- (Ctrl-C). A failure is reported as one line on stderr starting with
--- `gong-library: `; a usage error adds a second line pointing to --help.
---
--- Credentials are read from the environment or from a credentials file
--- (gong.credentials decides), never from the command line, where other
--- users of the machine can read them with `ps`.

local report = require "gong.cli.report"
local version = require "gong.version"

local error, getenv, io, pcall, rawget, require, tostring, traceback, type, xpcall =
      error, os.getenv, io, pcall, rawget, require, tostring, debug.traceback, type, xpcall

local _M = {}

local PROGRAM = report.PROGRAM

local function nonempty(name)
  local v = getenv(name)
  return v ~= nil and v ~= "" and v or nil
end

-- gong and the CLI's modules that need its core, or nil and a message saying
-- the module cannot be loaded (a build or path problem, not a crash).
local function load_modules()
  local ok, gong = pcall(require, "gong")
  if not ok then
    return nil, "cannot load the gong module: " .. tostring(gong)
  end
  return {
    gong = gong,
    core = require "gong.core",
    args = require "gong.cli.args",
    help = require "gong.cli.help",
    commands = require "gong.cli.commands",
    credentials = require "gong.credentials",
  }
end

local function version_line()
  local jit = rawget(_G, "jit")
  local lua = type(jit) == "table" and jit.version or _VERSION
  return PROGRAM .. " " .. version .. " (" .. lua .. ")\n"
end

-- The gong.new options for a run: base URL and credentials as gong.credentials
-- resolves them from the command line, a credentials file (--credentials,
-- else $GONG_CREDENTIALS_FILE) and the environment, plus the timeout.
-- Returns nil, message when the credentials are unusable.
local function client_options(m, ctx, opts)
  local credentials = m.credentials
  local env = credentials.ENV
  local sources = { credentials.from_options({ base_url = opts.base_url }, "the command line") }
  local path = opts.credentials or nonempty(credentials.FILE_ENV)
  if path ~= nil then
    local file, err = credentials.read_file(path)
    if not file then
      return nil, err
    end
    sources[#sources + 1] = file
  end
  sources[#sources + 1] = credentials.from_environment()
  local resolved, err = credentials.resolve(sources, ("set %s and %s, or %s, or name a file with --credentials")
    :format(env.access_key, env.access_key_secret, env.token))
  if not resolved then
    return nil, err
  end
  ctx.report:add_secrets(resolved.secrets)
  return {
    base_url = resolved.base_url, timeout = opts.timeout, user_agent = PROGRAM .. "/" .. version,
    access_key = resolved.access_key, access_key_secret = resolved.access_key_secret, token = resolved.token,
  }
end

local function run(ctx, argv)
  local m, err = load_modules()
  if not m then
    return ctx.report:fail(err)
  end
  local opts, msg, command = m.args.parse(argv)
  if not opts then
    return ctx.report:usage_error(msg, command)
  end
  if opts.help or opts.command == "help" then
    return m.commands.write(ctx, m.help.text(opts.topic or opts.command))
  end
  if opts.version then
    return m.commands.write(ctx, version_line())
  end
  -- From here on a second Ctrl-C, SIGTERM or SIGHUP still removes a
  -- temporary output file before the process ends.
  m.core.catch_signals()

  local client_opts
  client_opts, err = client_options(m, ctx, opts)
  if not client_opts then
    return ctx.report:fail(err)
  end
  local created, client = pcall(m.gong.new, client_opts)
  if not created then
    return ctx.report:fail(client)
  end
  -- gong raises on arguments it finds malformed; input that got past parse()
  -- is still the user's, so that is reported as a failure, not a crash.
  local command_fn = opts.command == "export" and m.commands.export or m.commands.show
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

--- Runs the command line `argv` (the global `arg`: arguments from index 1) and
--- returns the exit status. Output is flushed before it returns, and a
--- temporary export file is gone, however the run ended. Once the command
--- line is read, SIGINT, SIGTERM and SIGHUP are gong.core's (catch_signals).
---@param argv string[]|nil
---@return integer
function _M.main(argv)
  -- What one run has to remember between its parts, passed to each.
  local ctx = { report = report.new(), cleanups = {} }
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
      if nonempty("GONG_DEBUG") then
        ctx.report:say(status, "\n")
      end
      status = ctx.report:fail("internal error: " .. tostring(status):match("^[^\n]*"))
    end
  end
  if ctx.report.progress then
    ctx.report.progress:clear()
  end
  io.stdout:flush()
  return status
end

return _M
