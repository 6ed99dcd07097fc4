--- gong.cli.help: the help pages of gong-library, one per command and a
--- general one. Defaults and names come from where they are defined (the
--- core, gong.credentials), so the pages cannot drift from the program.

local args = require "gong.cli.args"
local core = require "gong.core"
local credentials = require "gong.credentials"
local oauth = require "gong.oauth"
local report = require "gong.cli.report"

local concat, ipairs = table.concat, ipairs

local ENV = credentials.ENV

local _M = {}

-- The credential variables, a line each, their meanings in one column.
local function credential_lines()
  local rows = {
    { ENV.access_key .. " and " .. ENV.access_key_secret, "access key and secret (Basic)" },
    { ENV.token, "bearer token" },
    { ENV.client_id .. " and " .. ENV.client_secret, "OAuth app (with --oauth-store)" },
  }
  local width = 0
  for _, row in ipairs(rows) do width = #row[1] > width and #row[1] or width end
  local lines = {}
  for i, row in ipairs(rows) do lines[i] = "  " .. row[1] .. (" "):rep(width - #row[1] + 3) .. row[2] end
  return concat(lines, "\n")
end

-- The settings a credentials file (or the environment) may hold besides
-- the credentials, as lines of at most 78 columns, each starting with `indent`.
local function setting_names(indent)
  local lines, line = {}, indent
  for i, field in ipairs(credentials.SETTINGS) do
    local word = ENV[field] .. (i < #credentials.SETTINGS and "," or "")
    if #line + 1 + #word > 78 and line ~= indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line .. (line == indent and "" or " ") .. word
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

-- The general page's list of commands, from gong.cli.args's table: each
-- synopsis with what it does from column 30, under it when it is longer.
local function command_list()
  local lines = {}
  local function add(synopsis, summary)
    if #synopsis <= 25 then
      lines[#lines + 1] = ("  %-25s  %s"):format(synopsis, summary)
    else
      lines[#lines + 1] = "  " .. synopsis
      lines[#lines + 1] = (" "):rep(29) .. summary
    end
  end
  for _, command in ipairs(args.COMMAND_LIST) do
    for _, row in ipairs(command.actions or { command }) do
      local synopsis = command.name .. (row ~= command and " " .. row.name or "")
      add(synopsis .. (row.usage ~= "" and " " .. row.usage or ""), row.summary)
    end
  end
  return concat(lines, "\n")
end

local TEXTS = {}

TEXTS.general = [[
Usage: gong-library [OPTIONS] COMMAND [ARGS]

Browse the Gong call library.

Commands:
]] .. command_list() .. "\n" .. [[

Options (before or after the command):
  --json                Print JSON instead of a table
  --csv                 Print CSV (RFC 4180) instead of a table
  --base-url URL        API base URL (default: the credentials file's
                        ]] .. ENV.base_url .. ", else $" .. ENV.base_url .. [[, else
                        ]] .. core.DEFAULT_BASE_URL .. [[)
  --api MODE            The API the server speaks: auto (the default: Gong's
                        public API on gong.io hosts, the contract elsewhere),
                        contract or public; also ]] .. ENV.api .. [[

  --credentials FILE    Read credentials from FILE (default:
                        $]] .. credentials.FILE_ENV .. [[, else
                        $XDG_CONFIG_HOME/gong/credentials, that is
                        ~/.config/gong/credentials, when it exists; see below)
  --oauth-store FILE    The OAuth app's tokens (also $]] .. ENV.oauth_store .. [[)
  --timeout SECONDS     Give up on a request after SECONDS, its retries and the
                        waits before them included (default: no limit, and
                        each attempt ]] .. core.options.timeout.default .. [[ s)
  --rate N              At most N requests per second (default ]] .. core.options.rate.default .. [[; also
                        ]] .. ENV.rate .. [[); a 429 slows it down for a while
  --max-retries N       Retries of a failed request (default ]] .. core.options.max_retries.default .. [[)
  --verbose             Say each request on stderr as it ends (see below)
  -h, --help            Show help (also: gong-library COMMAND --help)
  --version             Show the version
  --                    End of options; what follows are arguments

Credentials come from the environment:
]] .. credential_lines() .. [[

or from a credentials file, which then replaces them all. The file has one
NAME=VALUE per line with those names and optionally these settings, which
the environment may hold too (the file's win):
]] .. setting_names("  ") .. [[

An "export " in front is fine; blank lines and lines starting with # are
ignored, and spaces and one pair of quotes around VALUE are dropped. It must
be yours and private to you: a file of another user, or one that group or
others may access, is refused (fix the latter with chmod 600 FILE). A pipe
works too and keeps secrets off the disk: --credentials <(pass show gong).

Runs at once (two terminals, a cron job) share the tenant's ]] .. core.options.rate.default .. [[ requests per
second through a state file under $XDG_RUNTIME_DIR/gong (else
/tmp/gong-UID); ]] .. ENV.rate_scope .. [[=client gives each run a limit of its own.

On a terminal, a request that waits says why on stderr, on one line that is
replaced and then cleared: "rate limited by Gong, retrying in 20 s (attempt 2
of 5)", "no answer yet (30 s), retrying in 0.4 s (attempt 2 of 5)".
GONG_PROGRESS=0 hides it, GONG_PROGRESS=1 shows it on a pipe too.

--verbose says each attempt of a request on stderr as it ends: the method
and URL, the HTTP status or what went wrong, the time it took, the attempt
(1 of ]] .. (core.options.max_retries.default + 1) .. [[ with the default --max-retries) and the wait before the next
one. GONG_DEBUG=1 does the same, and shows where an internal error
happened (for a bug report). Neither shows a credential.

Exit status: 0 success, 1 failure, 2 usage error (a bad value in the
environment or the credentials file too), ]] .. report.REFUSED .. [[ refused (an export over
--max-requests), 130 interrupted (Ctrl-C stops at once), 143 and 129 for
SIGTERM and SIGHUP.
]]

TEXTS.folders = [[
Usage: gong-library folders [--workspace ID] [--json | --csv]

List the library folders, one per line: ID, NAME, PARENT (- for a top-level
folder), CALLS (calls stored in the folder itself) and CREATED.

  --workspace ID   Only the folders of workspace ID

With --json: an array of folder objects with the API's field names; fields the
API did not send are left out. With --csv: a header row and every API field as
a column. An empty library prints "(no folders)", "[]" or the header row.
]]

TEXTS.tree = [[
Usage: gong-library tree [--workspace ID] [--depth N] [--json | --csv]

Show the library folders as a tree. Each line is a folder with its own call
count, the total for the folder and everything under it when it has
subfolders, and its ID in brackets; the last line counts folders and calls.

  --workspace ID   Only the folders of workspace ID
  --depth N        Only N levels below the top-level folders (0: those only);
                   a folder at the limit says how many subfolders it hides

With --json: nested objects, each folder's API fields plus "total_calls" and
"children"; with --depth, a folder at the limit that has subfolders has
"children_not_shown" (how many) instead of "children". With --csv: one row
per folder, parents first, with the API's folder columns plus "depth" (0 for
a top-level folder) and "total_calls".

A folder list that is not a proper tree (a folder whose parent is not in
it, a cycle of parents, two folders with one id) is still shown whole, and
one line on stderr says what is wrong with it.
]]

TEXTS.calls = [[
Usage: gong-library calls FOLDER_ID [--details] [--json | --csv]

List the calls in library folder FOLDER_ID (see "gong-library folders"):
CALL ID, TITLE, STARTED, DURATION (h:mm:ss) and URL.

  --details   Also ask the Calls API for each call's details (one request per
              100 calls): PRIMARY USER and SPEAKERS, and STARTED and DURATION
              where the folder's list has none (a real tenant's has not)

With --json: an array of call objects with the API's field names (with
--details, each with "details", the record the Calls API sent); fields the
API did not send are left out. With --csv: a header row and every API field as
a column, duration in seconds (with --details, "speakers" too). An empty
folder prints "(no calls)", "[]" or the header row.
]]

TEXTS.transcript = [[
Usage: gong-library transcript CALL_ID... [--folder FOLDER_ID] [--json]

Show the transcripts of the calls CALL_ID... (and of every call in folder
FOLDER_ID), each under a heading "== Title (CALL_ID) ==", one line per
monologue: "[mm:ss] Speaker: what they said" ([h:mm:ss] from one hour on),
the speakers named from the call's parties. A call without a transcript
(yet) says "(no transcript)"; an id Gong knows no call by says "(no such
call)", is named on stderr, and the exit status is 1. It needs
two requests per 100 calls: details (for the names and titles) and
transcripts.

  --folder FOLDER_ID   Also every call of this library folder

With --json: an array of {"callId", "title", "transcript"}, the transcript
(a list of monologues with speakerId, topic and sentences, times in
milliseconds) as Gong sent it, absent when there is none yet; an unknown id
is {"callId", "error": "no such call"}.
]]

TEXTS.workspaces = [[
Usage: gong-library workspaces [--json | --csv]

List the workspaces of the tenant: ID, NAME and DESCRIPTION. A workspace's ID
is what --workspace takes.
]]

TEXTS.export = [[
Usage: gong-library export [--workspace ID] [-o FILE] [--format json|ndjson]
                           [--concurrency N] [--strict] [--details]
                           [--transcripts] [--max-requests N] [--allow-empty]
                           [--update]

Fetch the whole library, every folder and the calls in it, and write it to
stdout or FILE. Folders' calls are fetched N at a time, never faster than the
API's rate limit of 3 requests per second, so a large library takes minutes:
while it runs, a progress line on stderr shows folders done, calls so far,
requests per second and the time left, when stderr is a terminal.

  --workspace ID      Only the folders of workspace ID
  -o, --output FILE   Write to FILE instead of stdout (- is stdout). FILE is
                      written as FILE.tmp-XXXXXXXXXXXX beside it and renamed
                      once complete: a failed or interrupted export leaves
                      no partial file and an existing FILE as it was. An
                      existing FILE keeps its mode (and owner where
                      permitted); a symlink's target is written (made when
                      missing). A FILE that cannot be written fails before
                      the first request.
  --format FORMAT     json (the default; --json says the same) or ndjson
  --concurrency N     Folders fetched at once, 1 to ]] .. core.MAX_CONCURRENCY
  .. " (default " .. core.DEFAULT_CONCURRENCY .. [[)
  --strict            Write nothing if any folder's calls cannot be fetched
  --allow-empty       Write an empty export when no folder is found; without
                      it that writes nothing, leaves FILE as it was and
                      exits 1 (a mistyped --workspace ID finds none)
  --details           Also every call's details (the Calls API: parties, and
                      started, duration and primary user for a real tenant)
  --transcripts       Also every call's transcript
  --update            Bring FILE (-o), an earlier export, up to date: the
                      folders and their calls are fetched again (Gong says
                      nothing of what changed), the Calls API is asked only
                      for the calls FILE lacks, and FILE is replaced whole
                      (see below)
  --max-requests N    Refuse an export of more than N requests (Gong allows
                      10,000 a day): it stops when the folder list is back,
                      before any other request, with status ]] .. report.REFUSED .. [[, and
                      writes nothing
Each distinct call is asked for once, ]] .. core.MAX_BATCH .. [[ calls a request, after the folders'
calls: at 3 requests per second, --details and --transcripts each add about
3.5 s per 1,000 calls. Folders whose call count is 0 are not asked.

Once the folder list is back, the export knows its plan: one request per
folder to ask, and with --details and --transcripts one per ]] .. core.MAX_BATCH .. [[ calls each.
On a terminal it says so before going on, with the time at the rate limit:
  gong-library: export will make 413 requests (1 folder list, 412 folders),
  about 0:02:24 at 3 requests/s
That is "about N requests" when the Calls API part is reckoned from the
folders' call counts (a call in two folders is asked for once, and Gong may
page an answer), and "at least N" when the folders have no count (a real
tenant's: its calls are counted only once they are in). --max-requests is
held against N.

json: an array of the top-level folders, in tree order (by name). Each folder
has the API's folder fields, "total_calls" (its callCount plus its
subfolders'; absent when a count is unknown), "calls" (call objects with the
API's field names, and "details" and "transcript" when asked for) and
"children" (its subfolders, the same way).

ndjson: one JSON object per line, folders in the same order, each followed
by its calls (FIELDS: the API's fields of a folder or a call):
  {"type":"folder", FIELDS, "path":"Top/Sub", "depth":1, "total_calls":N}
  {"type":"call", "folderId":"FOLDER ID", FIELDS [, "details":{...}]}
  {"type":"transcript", "callId":"CALL ID", "transcript":[...]}
(with --transcripts, after a call the first time it appears).
"path" joins the folder names from the top (a name may contain "/" itself);
"depth" is 0 for a top-level folder.

A folder whose calls cannot be fetched is written with "error" (the message)
instead of "calls" (json) or call lines (ndjson), a warning naming it is
printed on stderr, and the exit status is 1: the rest of the library is
still written. With --strict that is a failure that writes nothing, as is
failing to list the folders. When Gong's rate limit asks to wait longer
than ]] .. core.options.max_retry_wait.default .. [[ s, no more folders are asked, and one line says how many
were not fetched and when to try again:
  gong-library: warning: the calls of 259 of 300 folders were not fetched:
  Gong asks to wait 60 min: try again after 14:05 UTC

With --update, FILE is read first: an earlier export, json or ndjson (json:
an array of folders, each with "calls" or "error" and "children"; ndjson:
lines with "type", a folder first; an empty file holds nothing). Anything
else is refused before any request, and FILE is left as it was; a missing
FILE is a full export, with a note. Each call's details and transcript in
FILE are used as they are, and the Calls API is asked only for the calls
that lack what --details and --transcripts ask for: an unchanged library
costs one request for the folder list and one per folder with calls, and N
new calls add one request per ]] .. core.MAX_BATCH .. [[ of them for each. A call FILE holds
without a transcript, when FILE has transcripts, is asked again only in
its first week in the library (Gong may transcribe it late). The plan and
the summary say how many calls were reused.

On a terminal the export starts with its plan and ends with a summary:
folders, calls, destination, time and requests. Ctrl-C stops the export with
status 130 and writes nothing. GONG_PROGRESS=1 shows the plan, the progress
line and the summary even when stderr is not a terminal; GONG_PROGRESS=0
never shows them.
]]

TEXTS.oauth = [[
Usage: gong-library oauth authorize-url --redirect-uri URI [--scope SCOPES]
                                        [--state STATE]
       gong-library oauth exchange --code CODE --redirect-uri URI
                                   [--oauth-store FILE]
       gong-library oauth status [--oauth-store FILE] [--json]

For an app installed through Gong's OAuth flow: from its client id to a
store of tokens every command can use. The app's ]] .. ENV.client_id .. [[ and
]] .. ENV.client_secret .. [[ come from the environment or the credentials file, as
other credentials do (authorize-url needs only the id).

  authorize-url   Print the URL of Gong's page where a technical
                  administrator of the tenant approves the app (nothing is
                  asked of Gong). Gong then sends their browser to URI, the
                  app's redirect URI as registered with Gong, with ?code=CODE.
    --scope SCOPES  The scopes to ask for, separated by spaces or commas;
                    by default what gong-library uses:
]] .. "                    " .. concat(oauth.SCOPES, "\n                    ") .. [[

    --state STATE   Sent back to URI with the code, as it was
  exchange        Exchange CODE (good for one exchange) for the app's first
                  tokens and write them to the store (--oauth-store FILE,
                  else $]] .. ENV.oauth_store .. [[), mode 0600.
  status          Show what the store holds, never a token: the tenant's API
                  base URL, when the access token runs out and the scopes
                  Gong granted. With --json: an object with "store",
                  "base_url", "expires_at" (UTC), "expired" and "scopes".
                  No store there is status 1.

After the exchange every command works with the store:
  ]] .. ENV.oauth_store .. [[=FILE gong-library tree
Access tokens are refreshed shortly before they expire, and after a 401;
Gong's refresh tokens are single-use, so runs at once take turns under a
lock beside the store (FILE.lock) and reuse each other's refresh. The
base URL is the tenant's own, from Gong's token answer, unless --base-url
or ]] .. ENV.base_url .. [[ says otherwise.

When Gong refuses the refresh token (invalid_grant: the app was removed, or
the store is older than the last refresh), authorize the app again and run
oauth exchange with the new code.

Against anything but Gong (a test server, a proxy in front of Gong),
]] .. ENV.oauth_authorize_url .. " and " .. ENV.oauth_token_url .. [[, in the environment or
the credentials file, replace Gong's authorize page and token endpoint:
  ]] .. oauth.AUTHORIZE_URL .. [[

  ]] .. oauth.TOKEN_URL .. [[

]]

TEXTS.completion = [[
Usage: gong-library completion bash|zsh|fish

Print the completion script of a shell: after it, Tab completes
gong-library's commands, its options (those of the command typed), the
values of --api and --format, and file names where an option takes a FILE.
Load it from the shell's startup file, which makes it anew each time:
  ~/.bashrc                    source <(gong-library completion bash)
  ~/.zshrc (after compinit)    source <(gong-library completion zsh)
  ~/.config/fish/config.fish   gong-library completion fish | source
make install also puts the three in PREFIX/share, where bash-completion,
zsh and fish look.
]]

TEXTS.help = [[
Usage: gong-library help [COMMAND]

Show the help of COMMAND (the same as gong-library COMMAND --help), or the
general help without one.
]]

--- The help text for a command, or the general help when `command` is nil.
---@param command string|nil
---@return string
function _M.text(command)
  return TEXTS[command] or TEXTS.general
end

return _M
