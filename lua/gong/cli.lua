--- The gong-library command: argument parsing, the three commands, and exit
--- statuses. bin/gong-library only calls main(); rendering is in gong.output.
---
--- Exit statuses: 0 success, 1 failure (credentials, network, HTTP, output),
--- 2 usage error. A failure is reported as one line on stderr starting with
--- `gong-library: `; a usage error adds a second line pointing to --help.
---
--- Credentials are read from the environment only, never from the command
--- line, where other users of the machine can read them with `ps`.

local io = io
local ipairs = ipairs
local os = os
local pcall = pcall
local rawget = rawget
local remove = table.remove
local require = require
local tonumber = tonumber
local tostring = tostring
local traceback = debug.traceback
local type = type
local xpcall = xpcall

local output = require "gong.output"

local _M = {}

local PROGRAM = "gong-library"
local DEFAULT_BASE_URL = "https://api.gong.io/v2"

local HELP = {}

HELP.general = [[
Usage: gong-library [OPTIONS] COMMAND [ARGS]

Browse the Gong call library.

Commands:
  folders [--workspace ID]   List the library folders
  tree [--workspace ID]      Show the folders as a tree with call counts
  calls FOLDER_ID            List the calls in a folder
  help [COMMAND]             Show help for a command

Options (before or after the command):
  --json                Print JSON instead of a table
  --csv                 Print CSV (RFC 4180) instead of a table
  --base-url URL        API base URL (default: $GONG_BASE_URL, else ]] .. DEFAULT_BASE_URL .. [[)
  --timeout SECONDS     Give up on a request after SECONDS
  -h, --help            Show help (also: gong-library COMMAND --help)
  --version             Show the version
  --                    End of options; what follows are arguments

Credentials come from the environment only:
  GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET   access key and secret (Basic auth)
  GONG_TOKEN                                   OAuth bearer token

Exit status: 0 success, 1 failure, 2 usage error.
]]

HELP.folders = [[
Usage: gong-library folders [--workspace ID] [--json | --csv]

List the library folders, one per line: ID, NAME, PARENT (- for a top-level
folder), CALLS (calls stored in the folder itself) and CREATED.

  --workspace ID   Only the folders of workspace ID

With --json: an array of folder objects with the API's field names; fields the
API did not send are left out. With --csv: a header row and every API field as
a column. An empty library prints "(no folders)", "[]" or the header row.
]]

HELP.tree = [[
Usage: gong-library tree [--workspace ID] [--json | --csv]

Show the library folders as a tree. Each line is a folder with its own call
count, the total for the folder and everything under it when it has
subfolders, and its ID in brackets; the last line counts folders and calls.

  --workspace ID   Only the folders of workspace ID

With --json: nested objects, each folder's API fields plus "total_calls" and
"children". With --csv: one row per folder, parents first, with the API's
folder columns plus "depth" (0 for a top-level folder) and "total_calls".
]]

HELP.calls = [[
Usage: gong-library calls FOLDER_ID [--json | --csv]

List the calls in library folder FOLDER_ID (see "gong-library folders"):
CALL ID, TITLE, STARTED, DURATION (h:mm:ss) and URL.

With --json: an array of call objects with the API's field names; fields the
API did not send are left out. With --csv: a header row and every API field as
a column, duration in seconds. An empty folder prints "(no calls)", "[]" or
the header row.
]]

local COMMANDS = { folders = true, tree = true, calls = true, help = true }

-- What each option sets, and whether it takes a value. `commands` limits an
-- option to some commands; the others are global.
local OPTIONS = {
  ["--json"] = { key = "json" },
  ["--csv"] = { key = "csv" },
  ["--base-url"] = { key = "base_url", value = "URL" },
  ["--timeout"] = { key = "timeout", value = "SECONDS" },
  ["--workspace"] = { key = "workspace", value = "ID", commands = { folders = true, tree = true } },
  ["-h"] = { key = "help" },
  ["--help"] = { key = "help" },
  ["--version"] = { key = "version" },
}

-- Options people reach for by habit; the answer says where credentials go
-- instead of a bare "unknown option".
local CREDENTIAL_OPTIONS = {
  ["--token"] = true, ["--access-key"] = true, ["--access-key-secret"] = true,
  ["--secret"] = true, ["--key"] = true, ["--password"] = true,
}

--- Parses the command line (without the program name).
---
--- Returns a table with `command` ("folders", "tree", "calls" or "help"),
--- `format` ("table", "json" or "csv"), and as given `workspace`, `folder_id`,
--- `base_url`, `timeout` (a number), `topic` (for help), `help` and `version`
--- (booleans). On a usage error returns nil, a message, and the command the
--- user was asking about, if known, for the hint.
---@param argv string[]
---@return table|nil options
---@return string|nil message
---@return string|nil command
function _M.parse(argv)
  local opts = {}
  local positional = {}
  local i = 1
  local only_positional = false
  while i <= #argv do
    local a = argv[i]
    if only_positional or a == "-" or a:sub(1, 1) ~= "-" then
      positional[#positional + 1] = a
    elseif a == "--" then
      only_positional = true
    else
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local spec = OPTIONS[name]
      if not spec then
        -- Only the name is echoed: `--token=...` must not print the value.
        if CREDENTIAL_OPTIONS[name] then
          return nil, "credentials are not accepted as options; set GONG_ACCESS_KEY and "
            .. "GONG_ACCESS_KEY_SECRET, or GONG_TOKEN, in the environment", positional[1]
        end
        return nil, "unknown option " .. name, positional[1]
      end
      if spec.value then
        local v = inline
        if not v then
          -- A following option is almost surely a forgotten value, not the
          -- value itself; `--opt=-x` is there for the rare value starting with -.
          local nxt = argv[i + 1]
          if nxt and (nxt == "-" or nxt:sub(1, 1) ~= "-") then
            v = nxt
            i = i + 1
          end
        end
        if not v or v == "" then
          return nil, "option " .. name .. " needs a value (" .. spec.value .. ")", positional[1]
        end
        opts[spec.key] = v
      elseif inline then
        return nil, "option " .. name .. " takes no value", positional[1]
      else
        opts[spec.key] = true
      end
    end
    i = i + 1
  end

  local command = positional[1]
  if command and not COMMANDS[command] then
    return nil, "unknown command '" .. command .. "'", nil
  end

  local result = { command = command, help = opts.help or false, version = opts.version or false }
  if result.help or result.version then
    -- `COMMAND --help` is help on COMMAND; nothing else needs to be valid.
    return result
  end
  if not command then
    return nil, "missing command", nil
  end

  if opts.json and opts.csv then
    return nil, "--json and --csv cannot be used together", command
  end
  result.format = opts.json and "json" or opts.csv and "csv" or "table"

  if opts.workspace and not OPTIONS["--workspace"].commands[command] then
    return nil, "option --workspace is not valid for '" .. command .. "'", command
  end
  result.workspace = opts.workspace
  result.base_url = opts.base_url

  if opts.timeout then
    -- Plain decimal only: tonumber would also take "0x10", "1e3", "inf", "nan".
    local t = (opts.timeout:match("^%d+%.?%d*$") or opts.timeout:match("^%.%d+$")) and tonumber(opts.timeout)
    if not t or t <= 0 then
      return nil, "--timeout needs a number of seconds greater than 0, not '" .. opts.timeout .. "'", command
    end
    result.timeout = t
  end

  local args = {}
  for k = 2, #positional do
    args[#args + 1] = positional[k]
  end
  if command == "calls" then
    if #args == 0 then
      return nil, "missing FOLDER_ID", command
    elseif args[1] == "" then
      return nil, "FOLDER_ID must not be empty", command
    end
    result.folder_id = args[1]
    remove(args, 1)
  elseif command == "help" then
    if args[1] and not COMMANDS[args[1]] then
      return nil, "no help for '" .. args[1] .. "'", nil
    end
    result.topic = args[1]
    remove(args, 1)
  end
  if #args > 0 then
    return nil, "unexpected argument '" .. args[1] .. "'", command
  end
  return result
end

--- The help text for a command, or the general help when `command` is nil.
---@param command string|nil
---@return string
function _M.help(command)
  return HELP[command] or HELP.general
end

-- Values that must never be printed, even if a library message echoed them.
local function secrets()
  local list = {}
  for _, name in ipairs({ "GONG_ACCESS_KEY_SECRET", "GONG_TOKEN", "GONG_ACCESS_KEY" }) do
    local v = os.getenv(name)
    -- Very short values would blank out ordinary words; real keys are long.
    if v and #v >= 6 then
      list[#list + 1] = v
    end
  end
  return list
end

local function redact(msg)
  for _, s in ipairs(secrets()) do
    local start, stop = msg:find(s, 1, true)
    while start do
      msg = msg:sub(1, start - 1) .. "[redacted]" .. msg:sub(stop + 1)
      start, stop = msg:find(s, start + #"[redacted]", true)
    end
  end
  return msg
end

-- One line on stderr, so a failure is easy to grep and log. A gong error's own
-- "gong: " prefix is dropped: after "gong-library: " it only stutters.
local function fail(msg)
  msg = redact(tostring(msg or "unknown error")):gsub("^gong: ", ""):gsub("%s*[\r\n]+%s*", " ")
  io.stderr:write(PROGRAM, ": ", msg, "\n")
  return 1
end

local function usage_error(msg, command)
  local hint = command and command ~= "help" and (PROGRAM .. " help " .. command) or (PROGRAM .. " --help")
  io.stderr:write(PROGRAM, ": ", redact(msg), "\n", "Try '", hint, "' for more information.\n")
  return 2
end

local function write(s)
  local ok, err = io.stdout:write(s)
  if ok then
    ok, err = io.stdout:flush()
  end
  if not ok then
    return fail("cannot write output: " .. tostring(err))
  end
  return 0
end

local function nonempty(name)
  local v = os.getenv(name)
  return v ~= nil and v ~= ""
end

-- Checked here rather than left to gong.new so the message always names the
-- variables, whatever wording the library uses.
local function check_credentials()
  if nonempty("GONG_TOKEN") or (nonempty("GONG_ACCESS_KEY") and nonempty("GONG_ACCESS_KEY_SECRET")) then
    return true
  end
  if nonempty("GONG_ACCESS_KEY") then
    return nil, "GONG_ACCESS_KEY is set but GONG_ACCESS_KEY_SECRET is not"
  end
  if nonempty("GONG_ACCESS_KEY_SECRET") then
    return nil, "GONG_ACCESS_KEY_SECRET is set but GONG_ACCESS_KEY is not"
  end
  return nil, "no credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_TOKEN"
end

local function load_gong()
  local ok, gong = pcall(require, "gong")
  if not ok then
    return nil, "cannot load the gong module: " .. tostring(gong)
  end
  return gong
end

local function version_line(gong)
  local jit = rawget(_G, "jit")
  local lua = type(jit) == "table" and jit.version or _VERSION
  return PROGRAM .. " " .. tostring(gong._VERSION) .. " (" .. lua .. ")\n"
end

-- Fetches what the command shows; returns data or nil, err.
local function fetch(client, opts)
  if opts.command == "folders" then
    return client:folders({ workspaceId = opts.workspace })
  elseif opts.command == "tree" then
    return client:tree({ workspaceId = opts.workspace })
  end
  return client:calls(opts.folder_id)
end

local function run(argv)
  local opts, msg, command = _M.parse(argv)
  if not opts then
    return usage_error(msg, command)
  end
  if opts.help or opts.command == "help" then
    return write(_M.help(opts.topic or opts.command))
  end
  if opts.version then
    local gong, err = load_gong()
    if not gong then
      return fail(err)
    end
    return write(version_line(gong))
  end

  local ok, err = check_credentials()
  if not ok then
    return fail(err)
  end
  local gong
  gong, err = load_gong()
  if not gong then
    return fail(err)
  end
  local created, client = pcall(gong.new, {
    base_url = opts.base_url,
    timeout = opts.timeout,
    user_agent = PROGRAM .. "/" .. tostring(gong._VERSION),
  })
  if not created then
    return fail(client)
  end
  -- gong raises on arguments it finds malformed; input that got past parse()
  -- is still the user's, so that is reported as a failure, not a crash.
  local fetched, data
  fetched, data, err = pcall(fetch, client, opts)
  client:close()
  if not fetched then
    if not gong.is_error(data) then
      error(data, 0)
    end
    return fail(data)
  end
  if not data then
    return fail(err)
  end
  return write(output.render(opts.command, opts.format, data))
end

--- Runs the command line `argv` (the global `arg`: arguments from index 1) and
--- returns the exit status. Output is flushed before it returns.
---@param argv string[]|nil
---@return integer
function _M.main(argv)
  local list = {}
  for i = 1, #(argv or {}) do
    list[i] = argv[i]
  end
  local ok, status = xpcall(function()
    return run(list)
  end, function(e)
    return traceback(tostring(e), 2)
  end)
  if not ok then
    -- A bug, not a user mistake: still one line, but say so. GONG_DEBUG shows
    -- where, for a bug report.
    if nonempty("GONG_DEBUG") then
      io.stderr:write(status, "\n")
    end
    status = fail("internal error: " .. tostring(status):match("^[^\n]*"))
  end
  io.stdout:flush()
  return status
end

return _M
