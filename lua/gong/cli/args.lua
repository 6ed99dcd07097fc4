--- gong.cli.args: reads the gong-library command line into the options of one
--- run, or says what is wrong with it (a usage error).

local credentials = require "gong.credentials"

local byte, concat, ipairs, min, pairs, remove, require, tonumber =
      string.byte, table.concat, ipairs, math.min, pairs, table.remove, require, tonumber

local _M = {}

--- The commands, in the order help lists them: each with what follows its
--- name in a synopsis (`usage`) and what it does (`summary`); the words its
--- first argument is one of (`words`); a command of actions (oauth) lists
--- them in `actions`, each with its own usage and summary, which the
--- general help lists instead of the command's. The general help's list of
--- commands, the shells' completion (gong.cli.completion) and so the man
--- page are made of this table and OPTIONS: add a command, an action or an
--- option here, and they all have it.
_M.COMMAND_LIST = {
  { name = "folders", usage = "[--workspace ID]", summary = "List the library folders" },
  { name = "tree", usage = "[--workspace ID]", summary = "Show the folders as a tree with call counts" },
  { name = "calls", usage = "FOLDER_ID", summary = "List the calls in a folder" },
  { name = "transcript", usage = "CALL_ID...", summary = "Show calls' transcripts (or --folder FOLDER_ID)" },
  { name = "workspaces", usage = "", summary = "List the workspaces" },
  { name = "export", usage = "[-o FILE]", summary = "Write the whole library, calls included, as JSON" },
  { name = "oauth", summary = "An OAuth app's tokens", actions = {
    { name = "authorize-url", usage = "--redirect-uri URI", summary = "Print the URL to approve an OAuth app" },
    { name = "exchange", usage = "--code CODE --redirect-uri URI", summary = "Create an OAuth app's store of tokens" },
    { name = "status", usage = "", summary = "Show an OAuth app's store: tenant, expiry, scopes" },
  } },
  { name = "completion", usage = "bash|zsh|fish", summary = "Print a shell's completion script",
    words = { "bash", "zsh", "fish" } },
  { name = "help", usage = "[COMMAND]", summary = "Show help for a command" },
}

--- The commands' names, in the same order.
_M.COMMANDS = {}

--- Each command of COMMAND_LIST by name.
_M.COMMAND = {}

--- The actions of the commands that take one (the word after the command),
--- by command, their names in the order help lists them.
_M.ACTIONS = {}

for i, command in ipairs(_M.COMMAND_LIST) do
  _M.COMMANDS[i] = command.name
  _M.COMMAND[command.name] = command
  if command.actions then
    local names = {}
    for k, action in ipairs(command.actions) do names[k] = action.name end
    _M.ACTIONS[command.name] = names
  end
end
_M.COMMAND.help.words = _M.COMMANDS

local IS_COMMAND = _M.COMMAND

--- What each option sets (`key`), the value it takes (`value`: its name in
--- messages and help; "a|b" for one of those words), and what it does in
--- a few words (`summary`, for the shells' completion). `commands` limits
--- an option to some commands, and `actions` to some of their actions; the
--- others are global.
local OPTIONS = {
  ["--json"] = { key = "json", summary = "Print JSON instead of a table" },
  ["--csv"] = { key = "csv", summary = "Print CSV instead of a table" },
  ["--base-url"] = { key = "base_url", value = "URL", summary = "The API's base URL" },
  ["--api"] = { key = "api", value = "auto|contract|public", summary = "The API the server speaks" },
  ["--credentials"] = { key = "credentials", value = "FILE", summary = "Read credentials from FILE" },
  ["--oauth-store"] = { key = "oauth_store", value = "FILE", summary = "An OAuth app's store of tokens" },
  ["--code"] = { key = "code", value = "CODE", commands = { oauth = true }, actions = { exchange = true },
                 summary = "The authorization code Gong sent the app" },
  ["--redirect-uri"] = { key = "redirect_uri", value = "URI", commands = { oauth = true },
                         actions = { exchange = true, ["authorize-url"] = true }, summary = "The app's redirect URI" },
  ["--scope"] = { key = "scope", value = "SCOPES", commands = { oauth = true },
                  actions = { ["authorize-url"] = true }, summary = "The scopes to ask the tenant's admin for" },
  ["--state"] = { key = "state", value = "STATE", commands = { oauth = true },
                  actions = { ["authorize-url"] = true }, summary = "A value Gong sends back to the redirect URI" },
  ["--timeout"] = { key = "timeout", value = "SECONDS", summary = "A request's time limit" },
  ["--rate"] = { key = "rate", value = "N", summary = "At most N requests per second" },
  ["--max-retries"] = { key = "max_retries", value = "N", summary = "Retries of a failed request" },
  ["--verbose"] = { key = "verbose", summary = "Say each request on stderr: URL, status, time, attempt" },
  ["--workspace"] = { key = "workspace", value = "ID", commands = { folders = true, tree = true, export = true },
                      summary = "Only the folders of workspace ID" },
  ["--depth"] = { key = "depth", value = "N", commands = { tree = true },
                  summary = "Only N levels below the top-level folders" },
  ["-o"] = { key = "output", value = "FILE", commands = { export = true }, summary = "Write to FILE, not stdout" },
  ["--output"] = { key = "output", value = "FILE", commands = { export = true },
                   summary = "Write to FILE, not stdout" },
  ["--format"] = { key = "format", value = "json|ndjson", commands = { export = true },
                   summary = "The export's format" },
  ["--concurrency"] = { key = "concurrency", value = "N", commands = { export = true },
                        summary = "Folders fetched at once" },
  ["--max-requests"] = { key = "max_requests", value = "N", commands = { export = true },
                         summary = "Refuse an export of more than N requests" },
  ["--strict"] = { key = "strict", commands = { export = true },
                   summary = "Write nothing if a folder's calls cannot be fetched" },
  ["--allow-empty"] = { key = "allow_empty", commands = { export = true },
                        summary = "Write an empty export when no folder is found" },
  ["--details"] = { key = "details", commands = { calls = true, export = true },
                    summary = "Also each call's details (the Calls API)" },
  ["--transcripts"] = { key = "transcripts", commands = { export = true }, summary = "Also each call's transcript" },
  ["--update"] = { key = "update", commands = { export = true },
                   summary = "Bring FILE, an earlier export, up to date" },
  ["--folder"] = { key = "folder", value = "FOLDER_ID", commands = { transcript = true },
                   summary = "Also every call of this library folder" },
  ["-h"] = { key = "help", summary = "Show help" },
  ["--help"] = { key = "help", summary = "Show help" },
  ["--version"] = { key = "version", summary = "Show the version" },
}

--- Every option by name, as the parser reads them (see OPTIONS above).
_M.OPTIONS = OPTIONS

--- The words an option's value is one of (its `value` "a|b|c"), or nil
--- for a value of its own (a FILE, a number).
---@param spec table a row of OPTIONS
---@return string[]|nil
function _M.choices(spec)
  if not (spec.value and spec.value:find("|", 1, true)) then return nil end
  local list = {}
  for word in spec.value:gmatch("[^|]+") do list[#list + 1] = word end
  return list
end

local EXPORT_FORMATS = {}
for _, name in ipairs(_M.choices(OPTIONS["--format"])) do EXPORT_FORMATS[name] = true end

-- Options people reach for by habit; the answer says where credentials go
-- instead of a bare "unknown option".
local CREDENTIAL_OPTIONS = {
  ["--token"] = true, ["--access-key"] = true, ["--access-key-secret"] = true,
  ["--secret"] = true, ["--key"] = true, ["--password"] = true,
}

local CREDENTIALS_HINT = ("credentials are not accepted as options; set %s and %s, or %s, "
  .. "in the environment or a --credentials file")
  :format(credentials.ENV.access_key, credentials.ENV.access_key_secret, credentials.ENV.token)

-- The number of single-character edits between `a` and `b` (Levenshtein).
local function distance(a, b)
  local previous = {}
  for j = 0, #b do previous[j] = j end
  for i = 1, #a do
    local current = { [0] = i }
    for j = 1, #b do
      local cost = byte(a, i) == byte(b, j) and 0 or 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
    end
    previous = current
  end
  return previous[#b]
end

-- " (did you mean 'X'?)" for the one name of `names` close to `typed`, else "".
local function suggestion(typed, names)
  local best, best_distance, ties = nil, 3, 0
  for _, name in ipairs(names) do
    local d = distance(typed, name)
    if d < best_distance then
      best, best_distance, ties = name, d, 1
    elseif d == best_distance then
      ties = ties + 1
    end
  end
  if best and ties == 1 and best_distance <= (#typed > 4 and 2 or 1) then
    return " (did you mean '" .. best .. "'?)"
  end
  return ""
end

local OPTION_NAMES = {}
for name in pairs(OPTIONS) do OPTION_NAMES[#OPTION_NAMES + 1] = name end

-- True for a word that is an option's value even though it starts with "-":
-- "-" (stdout) and a negative number, whose message should say it is too small.
local function is_value(word)
  return word == "-" or word:sub(1, 1) ~= "-" or word:find("^%-%.?%d") ~= nil
end

-- Splits argv into option values (by key), option names as typed (to check
-- them against the command) and positional arguments. Returns nil, message,
-- command-so-far on a malformed option.
local function split(argv)
  local opts, given, positional = {}, {}, {}
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
          return nil, CREDENTIALS_HINT, positional[1]
        end
        return nil, "unknown option " .. name .. suggestion(name, OPTION_NAMES), positional[1]
      end
      if spec.value then
        local v = inline
        if not v then
          -- A following option is almost surely a forgotten value, not the
          -- value itself; `--opt=-x` is there for the rare value starting with -.
          local nxt = argv[i + 1]
          if nxt and is_value(nxt) then
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
  return opts, given, positional
end

-- Export's options into `result`; nil or a message.
local function export_options(opts, result)
  if opts.csv then
    return "option --csv is not valid for 'export' (see --format)"
  end
  if opts.json and opts.format then
    return "--json and --format cannot be used together"
  end
  result.format = opts.format or "json"
  if not EXPORT_FORMATS[result.format] then
    return "--format must be json or ndjson, not '" .. result.format .. "'"
  end
  local core = require "gong.core"
  result.concurrency = core.DEFAULT_CONCURRENCY
  if opts.concurrency then
    local n = opts.concurrency:match("^%d+$") and tonumber(opts.concurrency)
    if not n or n < 1 or n > core.MAX_CONCURRENCY then
      return "--concurrency needs a whole number from 1 to " .. core.MAX_CONCURRENCY
        .. ", not '" .. opts.concurrency .. "'"
    end
    result.concurrency = n
  end
  if opts.max_requests then
    -- At least 1: the folder list is asked before there is a plan to refuse.
    local n = opts.max_requests:match("^%d+$") and tonumber(opts.max_requests)
    if not n or n < 1 then
      return "--max-requests needs a whole number of requests, 1 or more, not '" .. opts.max_requests .. "'"
    end
    result.max_requests = n
  end
  -- "-" is stdout, as for most tools that take an output file.
  result.output = opts.output ~= "-" and opts.output or nil
  result.strict = opts.strict or false
  result.allow_empty = opts.allow_empty or false
  result.transcripts = opts.transcripts or false
  result.update = opts.update or false
  if result.update and not result.output then
    return "--update needs -o FILE, the earlier export it brings up to date"
  end
end

-- What each oauth action needs, as the message names it.
local OAUTH_NEEDS = {
  ["authorize-url"] = { { "redirect_uri", "--redirect-uri URI" } },
  exchange = { { "code", "--code CODE" }, { "redirect_uri", "--redirect-uri URI" } },
  status = {},
}

-- The oauth command's action (`action`, the word after it) and options into
-- `result`; nil or a message.
local function oauth_options(opts, given, action, result)
  local actions = _M.ACTIONS.oauth
  if not OAUTH_NEEDS[action] then
    local what = action and "unknown oauth action '" .. action .. "'" .. suggestion(action, actions)
      or "missing action"
    return what .. "; oauth's actions are " .. concat(actions, ", ", 1, #actions - 1) .. " and " .. actions[#actions]
  end
  result.action = action
  for _, name in ipairs(given) do
    local only = OPTIONS[name].actions
    if only and not only[action] then
      return "option " .. name .. " is not valid for 'oauth " .. action .. "'"
    end
  end
  if opts.csv or opts.json and action ~= "status" then
    return "option " .. (opts.csv and "--csv" or "--json") .. " is not valid for 'oauth " .. action .. "'"
  end
  result.format = opts.json and "json" or "text"
  for _, need in ipairs(OAUTH_NEEDS[action]) do
    if not opts[need[1]] then return "oauth " .. action .. " needs " .. need[2] end
    result[need[1]] = opts[need[1]]
  end
  result.scope, result.state = opts.scope, opts.state
end

--- Parses the command line (without the program name).
---
--- Returns a table with `command` (a name of COMMANDS), `format` ("table", "json" or "csv"; for
--- export "json" or "ndjson"; for transcript and oauth "text" or "json"),
--- `action` (oauth: "authorize-url", "exchange" or "status") with its `code`,
--- `redirect_uri`, `scope` and `state`, and as given `workspace`, `folder_id`,
--- `call_ids` and `folder` (transcript), `base_url`, `api`, `details`,
--- `transcripts`,
--- `credentials` (a file name), `timeout` (a number), `rate` (as given),
--- `max_retries` (an integer), `output` (a file name,
--- nil for stdout), `concurrency` (an integer, export only), `max_requests`
--- (an integer, export only, nil for no limit), `strict`, `allow_empty`, `update`,
--- `depth` (tree only: levels shown below the top ones),
--- `topic` (for help), `shell` (for completion), `verbose`, `help` and
--- `version` (booleans). On a usage error
--- returns nil, a message, and the command the user was asking about, if
--- known, for the hint.
---@param argv string[]
---@return table|nil options
---@return string|nil message
---@return string|nil command
function _M.parse(argv)
  local opts, given, positional = split(argv)
  if not opts then return nil, given, positional end

  local command = positional[1]
  if command and not IS_COMMAND[command] then
    return nil, "unknown command '" .. command .. "'" .. suggestion(command, _M.COMMANDS), nil
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
    local bad = export_options(opts, result)
    if bad then return nil, bad, command end
  elseif command == "transcript" then
    if opts.csv then return nil, "option --csv is not valid for 'transcript' (text or --json)", command end
    result.format = opts.json and "json" or "text"
  else
    if opts.json and opts.csv then
      return nil, "--json and --csv cannot be used together", command
    end
    result.format = opts.json and "json" or opts.csv and "csv" or "table"
  end

  if opts.depth then
    result.depth = opts.depth:match("^%d+$") and tonumber(opts.depth)
    if not result.depth then
      return nil, "--depth needs a whole number of levels below the top (0: top-level folders only), not '"
        .. opts.depth .. "'", command
    end
  end

  result.workspace = opts.workspace
  result.base_url = opts.base_url
  result.api = opts.api
  result.credentials = opts.credentials
  result.oauth_store = opts.oauth_store
  result.details = opts.details or false
  result.verbose = opts.verbose or false
  result.folder = opts.folder

  if opts.timeout then
    -- Plain decimal only: tonumber would also take "0x10", "1e3", "inf", "nan".
    local t = (opts.timeout:match("^%d+%.?%d*$") or opts.timeout:match("^%.%d+$")) and tonumber(opts.timeout)
    if not t or t <= 0 then
      return nil, "--timeout needs a number of seconds greater than 0, not '" .. opts.timeout .. "'", command
    end
    result.timeout = t
  end
  -- Checked against its range by gong.new, which names --rate (or GONG_RATE) then.
  result.rate = opts.rate
  if opts.max_retries then
    local n = opts.max_retries:match("^%d+$") and tonumber(opts.max_retries)
    if not n then
      return nil, "--max-retries needs a whole number of retries, 0 or more, not '" .. opts.max_retries .. "'", command
    end
    result.max_retries = n
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
  elseif command == "transcript" then
    if #args == 0 and not opts.folder then
      return nil, "missing CALL_ID (or --folder FOLDER_ID)", command
    end
    for _, id in ipairs(args) do
      if id == "" then return nil, "CALL_ID must not be empty", command end
    end
    result.call_ids = args
    args = {}
  elseif command == "oauth" then
    local bad = oauth_options(opts, given, args[1], result)
    if bad then return nil, bad, command end
    remove(args, 1)
  elseif command == "completion" then
    local shells = _M.COMMAND.completion.words
    local known = false
    for _, shell in ipairs(shells) do known = known or shell == args[1] end
    if not known then
      return nil, (args[1] and "no completion for the shell '" .. args[1] .. "'" or "missing SHELL")
        .. " (" .. concat(shells, ", ") .. ")", command
    end
    result.shell = args[1]
    remove(args, 1)
  elseif command == "help" then
    if args[1] and not IS_COMMAND[args[1]] then
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

return _M
