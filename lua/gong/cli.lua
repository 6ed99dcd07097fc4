--- The gong-library command: argument parsing, the commands, and exit
--- statuses. bin/gong-library only calls main(); rendering is in gong.output.
---
--- Exit statuses: 0 success, 1 failure (credentials, network, HTTP, output,
--- or an export that lost some folders), 2 usage error, 130 interrupted
--- (Ctrl-C). A failure is reported as one line on stderr starting with
--- `gong-library: `; a usage error adds a second line pointing to --help.
---
--- Credentials are read from the environment or from a credentials file,
--- never from the command line, where other users of the machine can read
--- them with `ps`.

local byte = string.byte
local error = error
local format = string.format
local io = io
local ipairs = ipairs
local os = os
local pcall = pcall
local random = math.random
local rawget = rawget
local remove = table.remove
local rep = string.rep
local require = require
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local traceback = debug.traceback
local type = type
local xpcall = xpcall

local output = require "gong.output"

local _M = {}

local PROGRAM = "gong-library"
local DEFAULT_BASE_URL = "https://api.gong.io/v2"
local DEFAULT_CONCURRENCY = 3
local MAX_CONCURRENCY = 64 -- what client:library accepts

local HELP = {}

HELP.general = [[
Usage: gong-library [OPTIONS] COMMAND [ARGS]

Browse the Gong call library.

Commands:
  folders [--workspace ID]   List the library folders
  tree [--workspace ID]      Show the folders as a tree with call counts
  calls FOLDER_ID            List the calls in a folder
  export [-o FILE]           Write the whole library, calls included, as JSON
  help [COMMAND]             Show help for a command

Options (before or after the command):
  --json                Print JSON instead of a table
  --csv                 Print CSV (RFC 4180) instead of a table
  --base-url URL        API base URL (default: the credentials file's
                        GONG_BASE_URL, else $GONG_BASE_URL, else
                        ]] .. DEFAULT_BASE_URL .. [[)
  --credentials FILE    Read credentials from FILE (default:
                        $GONG_CREDENTIALS_FILE; see below)
  --timeout SECONDS     Give up on a request after SECONDS
  -h, --help            Show help (also: gong-library COMMAND --help)
  --version             Show the version
  --                    End of options; what follows are arguments

Credentials come from the environment:
  GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET   access key and secret (Basic auth)
  GONG_TOKEN                                   OAuth bearer token
or from a credentials file, which then replaces all three. The file has one
NAME=VALUE per line with those names and optionally GONG_BASE_URL; blank
lines and lines starting with # are ignored, and spaces and one pair of
quotes around VALUE are dropped. It must be private to its owner: a file that
group or others may access is refused (fix it with chmod 600 FILE). A pipe
works too and keeps secrets off the disk: --credentials <(pass show gong).

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.
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

HELP.export = [[
Usage: gong-library export [--workspace ID] [-o FILE] [--format json|ndjson]
                           [--concurrency N] [--strict]

Fetch the whole library, every folder and the calls in it, and write it to
stdout or FILE. Folders' calls are fetched N at a time, never faster than the
API's rate limit of 3 requests per second, so a large library takes minutes:
while it runs, a progress line on stderr shows folders done, calls so far,
requests per second and the time left, when stderr is a terminal.

  --workspace ID      Only the folders of workspace ID
  -o, --output FILE   Write to FILE instead of stdout (- is stdout). FILE is
                      written as FILE.tmp-XXXXXXXXXXXX beside it and renamed
                      once complete: a failed or interrupted export leaves
                      no partial file and an existing FILE as it was.
  --format FORMAT     json (the default; --json says the same) or ndjson
  --concurrency N     Folders fetched at once, 1 to 64 (default 3)
  --strict            Write nothing if any folder's calls cannot be fetched

json: an array of the top-level folders, in tree order (by name). Each folder
has the API's folder fields, "total_calls" (its callCount plus its
subfolders'), "calls" (call objects with the API's field names) and
"children" (its subfolders, the same way).

ndjson: one JSON object per line, folders in the same order, each followed
by its calls (FIELDS: the API's fields of a folder or a call):
  {"type":"folder", FIELDS, "path":"Top/Sub", "depth":1, "total_calls":N}
  {"type":"call", "folderId":"FOLDER ID", FIELDS}
"path" joins the folder names from the top (a name may contain "/" itself);
"depth" is 0 for a top-level folder.

A folder whose calls cannot be fetched is written with "error" (the message)
instead of "calls" (json) or call lines (ndjson), a warning naming it is
printed on stderr, and the exit status is 1: the rest of the library is
still written. With --strict that is a failure that writes nothing, as is
failing to list the folders.

Ctrl-C stops the export with status 130 and writes nothing. GONG_PROGRESS=1
shows the progress line even when stderr is not a terminal; GONG_PROGRESS=0
never shows it.
]]

local COMMANDS = { folders = true, tree = true, calls = true, export = true, help = true }

-- What each option sets, and whether it takes a value. `commands` limits an
-- option to some commands; the others are global.
local OPTIONS = {
  ["--json"] = { key = "json" },
  ["--csv"] = { key = "csv" },
  ["--base-url"] = { key = "base_url", value = "URL" },
  ["--credentials"] = { key = "credentials", value = "FILE" },
  ["--timeout"] = { key = "timeout", value = "SECONDS" },
  ["--workspace"] = { key = "workspace", value = "ID", commands = { folders = true, tree = true, export = true } },
  ["-o"] = { key = "output", value = "FILE", commands = { export = true } },
  ["--output"] = { key = "output", value = "FILE", commands = { export = true } },
  ["--format"] = { key = "format", value = "FORMAT", commands = { export = true } },
  ["--concurrency"] = { key = "concurrency", value = "N", commands = { export = true } },
  ["--strict"] = { key = "strict", commands = { export = true } },
  ["-h"] = { key = "help" },
  ["--help"] = { key = "help" },
  ["--version"] = { key = "version" },
}

local EXPORT_FORMATS = { json = true, ndjson = true }

-- Options people reach for by habit; the answer says where credentials go
-- instead of a bare "unknown option".
local CREDENTIAL_OPTIONS = {
  ["--token"] = true, ["--access-key"] = true, ["--access-key-secret"] = true,
  ["--secret"] = true, ["--key"] = true, ["--password"] = true,
}

--- Parses the command line (without the program name).
---
--- Returns a table with `command` ("folders", "tree", "calls", "export" or
--- "help"), `format` ("table", "json" or "csv"; for export "json" or
--- "ndjson"), and as given `workspace`, `folder_id`, `base_url`,
--- `credentials` (a file name), `timeout` (a number), `output` (a file name,
--- nil for stdout), `concurrency` (an integer, export only), `strict`,
--- `topic` (for help), `help` and `version` (booleans). On a usage error
--- returns nil, a message, and the command the user was asking about, if
--- known, for the hint.
---@param argv string[]
---@return table|nil options
---@return string|nil message
---@return string|nil command
function _M.parse(argv)
  local opts = {}
  local given = {} -- option names as typed, in order, to check them against the command
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
            .. "GONG_ACCESS_KEY_SECRET, or GONG_TOKEN, in the environment or a --credentials file",
            positional[1]
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
      given[#given + 1] = name
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

  for _, name in ipairs(given) do
    local commands = OPTIONS[name].commands
    if commands and not commands[command] then
      return nil, "option " .. name .. " is not valid for '" .. command .. "'", command
    end
  end

  if command == "export" then
    if opts.csv then
      return nil, "option --csv is not valid for 'export' (see --format)", command
    end
    if opts.json and opts.format then
      return nil, "--json and --format cannot be used together", command
    end
    result.format = opts.format or "json"
    if not EXPORT_FORMATS[result.format] then
      return nil, "--format must be json or ndjson, not '" .. result.format .. "'", command
    end
    result.concurrency = DEFAULT_CONCURRENCY
    if opts.concurrency then
      local n = opts.concurrency:match("^%d+$") and tonumber(opts.concurrency)
      if not n or n < 1 or n > MAX_CONCURRENCY then
        return nil, "--concurrency needs a whole number from 1 to " .. MAX_CONCURRENCY
          .. ", not '" .. opts.concurrency .. "'", command
      end
      result.concurrency = n
    end
    -- "-" is stdout, as for most tools that take an output file.
    result.output = opts.output ~= "-" and opts.output or nil
    result.strict = opts.strict or false
  else
    if opts.json and opts.csv then
      return nil, "--json and --csv cannot be used together", command
    end
    result.format = opts.json and "json" or opts.csv and "csv" or "table"
  end

  result.workspace = opts.workspace
  result.base_url = opts.base_url
  result.credentials = opts.credentials

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

-- What one run of main() has to remember between its parts: credential values
-- read from a file (to redact them too), the progress line on screen (to
-- clear it before any other message), and what must be undone however the
-- run ends (a half-written output file). main() starts each run afresh.
local session = { secrets = {}, cleanups = {} }

local INTERRUPTED = "interrupted!" -- what the lua interpreter raises on SIGINT

-- True for the interpreter's SIGINT error: a string, perhaps with a position
-- in front. The core lets it through wherever it strikes, JSON decoding included.
local function is_interrupt(e)
  return type(e) == "string" and e:sub(-#INTERRUPTED) == INTERRUPTED
end

-- Values that must never be printed, even if a library message echoed them.
local function secrets()
  local list = {}
  for _, name in ipairs({ "GONG_ACCESS_KEY_SECRET", "GONG_TOKEN", "GONG_ACCESS_KEY" }) do
    list[#list + 1] = os.getenv(name)
  end
  for _, v in ipairs(session.secrets) do
    list[#list + 1] = v
  end
  local long = {}
  for _, v in ipairs(list) do
    -- Very short values would blank out ordinary words; real keys are long.
    if #v >= 6 then
      long[#long + 1] = v
    end
  end
  return long
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

-- One message as one line: redacted, without a gong error's own "gong: "
-- prefix (after "gong-library: " it only stutters), line breaks folded.
local function one_line(msg)
  return (redact(tostring(msg or "unknown error")):gsub("^gong: ", ""):gsub("%s*[\r\n]+%s*", " "))
end

-- Writes lines to stderr, first clearing the progress line if one is shown.
local function say(...)
  if session.progress then
    session.progress:clear()
  end
  io.stderr:write(...)
end

local function interrupted()
  say(PROGRAM, ": interrupted\n")
  return 130
end

-- One line on stderr, so a failure is easy to grep and log.
local function fail(msg)
  if is_interrupt(msg) then
    return interrupted()
  end
  say(PROGRAM, ": ", one_line(msg), "\n")
  return 1
end

local function warn(msg)
  say(PROGRAM, ": warning: ", one_line(msg), "\n")
end

local function usage_error(msg, command)
  local hint = command and command ~= "help" and (PROGRAM .. " help " .. command) or (PROGRAM .. " --help")
  say(PROGRAM, ": ", redact(msg), "\n", "Try '", hint, "' for more information.\n")
  return 2
end

-- Writes `s` to stdout and flushes it: true, or nil and a message.
local function to_stdout(s)
  local ok, err = io.stdout:write(s)
  if ok then
    ok, err = io.stdout:flush()
  end
  if not ok then
    return nil, "cannot write output: " .. tostring(err)
  end
  return true
end

local function write(s)
  local ok, err = to_stdout(s)
  if not ok then
    return fail(err)
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
  return nil, "no credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_TOKEN, "
    .. "or name a file with --credentials"
end

-- Credentials file -------------------------------------------------------------

local FILE_NAMES = { GONG_ACCESS_KEY = true, GONG_ACCESS_KEY_SECRET = true, GONG_TOKEN = true, GONG_BASE_URL = true }

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- A file name as the user should type it in the suggested command.
local function shell_word(s)
  if s:find("^[%w%./_+,:@%%-]+$") and not s:find("^-") then
    return s
  end
  return shell_quote(s)
end

-- The mode string of the file `path` points to, as `ls -l` shows it
-- ("-rw-------"). ls rather than stat(1) because POSIX fixes this column
-- and stat's options differ between systems; -L judges the file a symlink
-- leads to, which is what gets read.
local function file_mode(path)
  local p = io.popen("ls -ldL -- " .. shell_quote(path) .. " 2>/dev/null", "r")
  if not p then
    return nil
  end
  local line = p:read("*l")
  p:close()
  return line and line:match("^([%-%a][%-%a][%-%a][%-%a][%-%a][%-%a][%-%a][%-%a][%-%a][%-%a])")
end

-- Any of these in the group or other triad gives someone else access. S and
-- T (set-id or sticky without x) grant nothing by themselves.
local function grants(triad)
  return triad:find("[rwxst]") ~= nil
end

-- Reads `path` as NAME=VALUE lines. Returns a name -> value table or nil and
-- a message that names the file and a line number but never what the line
-- holds: a malformed line may well be a secret.
local function read_credentials_file(path)
  local what = "credentials file " .. path
  local f, err = io.open(path, "r")
  if not f then
    return nil, "cannot read " .. what .. ": " .. tostring(err):gsub("^.*: ", "")
  end
  local mode = file_mode(path)
  if not mode then
    f:close()
    return nil, "cannot check the permissions of " .. what
  end
  -- A pipe is welcome: `--credentials <(pass show gong)` keeps the secrets
  -- off the disk altogether.
  if mode:sub(1, 1) ~= "-" and mode:sub(1, 1) ~= "p" then
    f:close()
    return nil, what .. " is neither a regular file nor a pipe"
  end
  if grants(mode:sub(5, 7)) or grants(mode:sub(8, 10)) then
    f:close()
    return nil, what .. " is accessible by group or others (" .. mode .. "); run: chmod 600 "
      .. shell_word(path)
  end
  local content
  content, err = f:read("*a")
  f:close()
  if not content then
    return nil, "cannot read " .. what .. ": " .. tostring(err)
  end

  local values = {}
  local lineno, pos = 0, 1
  while pos <= #content do
    local nl = content:find("\n", pos, true) or #content + 1
    local line = content:sub(pos, nl - 1):gsub("\r$", "")
    pos = nl + 1
    lineno = lineno + 1
    local text = line:match("^%s*(.-)%s*$")
    if text ~= "" and text:sub(1, 1) ~= "#" then
      local at = what .. ", line " .. lineno .. ": "
      local name, value = text:match("^([%w_]+)%s*=%s*(.*)$")
      if not name then
        return nil, at .. "expected NAME=VALUE"
      end
      if not FILE_NAMES[name] then
        return nil, at .. "unknown name; expected GONG_ACCESS_KEY, GONG_ACCESS_KEY_SECRET, "
          .. "GONG_TOKEN or GONG_BASE_URL"
      end
      if values[name] then
        return nil, at .. name .. " is set twice"
      end
      local q = value:sub(1, 1)
      if (q == '"' or q == "'") and #value >= 2 and value:sub(-1) == q then
        value = value:sub(2, -2)
      end
      if value == "" then
        return nil, at .. name .. " is empty"
      end
      values[name] = value
      if name ~= "GONG_BASE_URL" then
        -- Redacted from now on, even from the messages below.
        session.secrets[#session.secrets + 1] = value
      end
    end
  end

  local key, secret, token = values.GONG_ACCESS_KEY, values.GONG_ACCESS_KEY_SECRET, values.GONG_TOKEN
  if token and (key or secret) then
    return nil, what .. " sets both GONG_TOKEN and GONG_ACCESS_KEY; keep one kind of credentials"
  elseif key and not secret then
    return nil, what .. " sets GONG_ACCESS_KEY but not GONG_ACCESS_KEY_SECRET"
  elseif secret and not key then
    return nil, what .. " sets GONG_ACCESS_KEY_SECRET but not GONG_ACCESS_KEY"
  elseif not (token or key) then
    return nil, what .. " has no credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_TOKEN"
  end
  return values
end

-- The gong.new options for a run: base URL, timeout, and the credentials of
-- the file when there is one (explicit options make gong ignore the
-- environment's). Precedence: --base-url, then the file, then the
-- environment. Returns nil, message when the credentials are unusable.
local function client_options(opts)
  local o = { base_url = opts.base_url, timeout = opts.timeout }
  local path = opts.credentials
  if path == nil and nonempty("GONG_CREDENTIALS_FILE") then
    path = os.getenv("GONG_CREDENTIALS_FILE")
  end
  if path == nil then
    local ok, err = check_credentials()
    if not ok then
      return nil, err
    end
    return o
  end
  local values, err = read_credentials_file(path)
  if not values then
    return nil, err
  end
  o.access_key, o.access_key_secret = values.GONG_ACCESS_KEY, values.GONG_ACCESS_KEY_SECRET
  o.token = values.GONG_TOKEN
  o.base_url = o.base_url or values.GONG_BASE_URL
  return o
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

-- Progress ---------------------------------------------------------------------

-- GONG_PROGRESS=1 or 0 decides; otherwise whether stderr is a terminal. The
-- shell's test(1) answers that without a C helper; os.execute returns 0 on
-- Lua 5.1 and true on later versions for success.
local function progress_wanted()
  local v = os.getenv("GONG_PROGRESS")
  if v == "1" then
    return true
  elseif v == "0" then
    return false
  end
  local r = os.execute("test -t 2")
  return r == true or r == 0
end

-- Seconds on a monotonic clock, to 1/100 s where Linux tells it through
-- /proc/uptime (os.clock counts CPU time, which waiting does not use), else
-- whole seconds of os.time: enough for an export that lasts minutes.
local function clock()
  local f = io.open("/proc/uptime", "r")
  if f then
    local t = f:read("*n")
    f:close()
    if t then
      return t
    end
  end
  return os.time()
end

local Progress = {}
local progress_mt = { __index = Progress }

-- A status line redrawn in place on stderr.
local function new_progress()
  return setmetatable({ shown = 0, calls = 0, started = clock() }, progress_mt)
end

function Progress:draw(text)
  -- Overwrites the previous line, padding over what a shorter line leaves.
  local pad = self.shown - output.width(text)
  io.stderr:write("\r", text, pad > 0 and rep(" ", pad) or "")
  io.stderr:flush()
  self.shown = output.width(text)
end

function Progress:clear()
  if self.shown > 0 then
    io.stderr:write("\r", rep(" ", self.shown), "\r")
    io.stderr:flush()
    self.shown = 0
  end
end

--- Called as each folder completes: "12/300 folders, 180 calls, 2.9 req/s, ETA 0:01:40".
function Progress:update(done, total, node)
  if type(node) == "table" and type(node.calls) == "table" then
    self.calls = self.calls + #node.calls
  end
  local elapsed = clock() - self.started
  local text = format("%d/%d folders, %d calls", done, total, self.calls)
  -- Rates over less than a second say little; they appear after the first one.
  if elapsed >= 1 then
    -- +1: the folder list was a request too.
    text = text .. format(", %.1f req/s, ETA %s", (done + 1) / elapsed,
      output.duration((total - done) * elapsed / done))
  end
  self:draw(text)
end

-- Output file ------------------------------------------------------------------

-- 48 random bits for the temporary name, so two exports to the same FILE do
-- not share one. Lua 5.1 seeds math.random the same every run, hence urandom.
local function random_suffix()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(6)
  if f then
    f:close()
  end
  if bytes and #bytes == 6 then
    return (bytes:gsub(".", function(c)
      return format("%02x", byte(c))
    end))
  end
  return format("%08x%04x", os.time() % 0x100000000, random(0, 0xffff))
end

-- Where an export goes: stdout, or FILE through a temporary file beside it
-- (same directory, so the rename is atomic). The temporary file is created
-- before anything is fetched, so an unwritable place fails at once rather
-- than after minutes of requests; it is removed by whatever ends the run
-- other than a successful commit.
-- Returns a sink with commit(text) -> true or nil, message, and discard().
local function open_output(path)
  if path == nil then
    return { commit = to_stdout, discard = function() end }
  end
  local tmp = path .. ".tmp-" .. random_suffix()
  local f, err = io.open(tmp, "wb")
  if not f then
    return nil, "cannot write " .. path .. ": " .. tostring(err)
  end
  local finished = false
  local function discard()
    if not finished then
      finished = true
      pcall(f.close, f) -- already closed when a commit failed late
      os.remove(tmp)
    end
  end
  local function commit(text)
    local ok, werr = f:write(text)
    if ok then
      ok, werr = f:flush()
    end
    local closed, cerr = f:close()
    if ok and closed then
      ok, werr = os.rename(tmp, path)
    end
    if not (ok and closed) then
      discard()
      return nil, "cannot write " .. path .. ": " .. tostring(werr or cerr)
    end
    finished = true
    return true
  end
  session.cleanups[#session.cleanups + 1] = discard
  return { commit = commit, discard = discard }
end

-- Commands -------------------------------------------------------------------

local RENDER_EXPORT = { json = output.export_json, ndjson = output.export_ndjson }

local function export(client, opts)
  local out, err = open_output(opts.output)
  if not out then
    return fail(err)
  end
  local progress
  if progress_wanted() then
    progress = new_progress()
    session.progress = progress
    progress:draw("listing folders...")
  end
  local tree, errors = client:library({
    workspaceId = opts.workspace,
    concurrency = opts.concurrency,
    strict = opts.strict or nil,
    on_progress = function(done, total, node)
      if progress then
        progress:update(done, total, node)
      end
    end,
  })
  if progress then
    progress:clear()
    session.progress = nil
  end
  if not tree then
    out.discard()
    return fail(errors)
  end
  local ok
  ok, err = out.commit(RENDER_EXPORT[opts.format](tree, one_line))
  if not ok then
    return fail(err)
  end
  for _, e in ipairs(errors) do
    warn("folder " .. tostring(e.folder_id) .. ": " .. one_line(e))
  end
  return #errors > 0 and 1 or 0
end

-- Fetches and prints what a listing command shows; returns the exit status.
local function show(client, opts)
  local data, err
  if opts.command == "folders" then
    data, err = client:folders({ workspaceId = opts.workspace })
  elseif opts.command == "tree" then
    data, err = client:tree({ workspaceId = opts.workspace })
  else
    data, err = client:calls(opts.folder_id)
  end
  if not data then
    return fail(err)
  end
  return write(output.render(opts.command, opts.format, data))
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

  local client_opts, err = client_options(opts)
  if not client_opts then
    return fail(err)
  end
  local gong
  gong, err = load_gong()
  if not gong then
    return fail(err)
  end
  client_opts.user_agent = PROGRAM .. "/" .. tostring(gong._VERSION)
  local created, client = pcall(gong.new, client_opts)
  if not created then
    return fail(client)
  end
  -- gong raises on arguments it finds malformed; input that got past parse()
  -- is still the user's, so that is reported as a failure, not a crash.
  local done, status = pcall(opts.command == "export" and export or show, client, opts)
  client:close()
  if not done then
    if not gong.is_error(status) then
      error(status, 0)
    end
    return fail(status)
  end
  return status
end

--- Runs the command line `argv` (the global `arg`: arguments from index 1) and
--- returns the exit status. Output is flushed before it returns, and a
--- temporary export file is gone, however the run ended.
---@param argv string[]|nil
---@return integer
function _M.main(argv)
  session = { secrets = {}, cleanups = {} }
  local list = {}
  for i = 1, #(argv or {}) do
    list[i] = argv[i]
  end
  local ok, status = xpcall(function()
    return run(list)
  end, function(e)
    if is_interrupt(e) then
      return INTERRUPTED
    end
    return traceback(tostring(e), 2)
  end)
  for i = #session.cleanups, 1, -1 do
    pcall(session.cleanups[i])
  end
  if not ok then
    if status == INTERRUPTED then
      status = interrupted()
    else
      -- A bug, not a user mistake: still one line, but say so. GONG_DEBUG
      -- shows where, for a bug report.
      if nonempty("GONG_DEBUG") then
        say(status, "\n")
      end
      status = fail("internal error: " .. tostring(status):match("^[^\n]*"))
    end
  end
  if session.progress then
    session.progress:clear()
  end
  io.stdout:flush()
  return status
end

return _M
