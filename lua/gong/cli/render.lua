--- gong.cli.render: rendering for the gong-library command: the same folders,
--- calls, workspaces and folder trees as an aligned table (gong.cli.tables,
--- gong.cli.trees), RFC 4180 CSV (gong.cli.csv) or JSON
--- (gong.cli.json_records), and transcripts as text or JSON
--- (gong.cli.transcripts). The whole library, for `export`, is
--- gong.cli.exports's.
---
--- Every renderer is pure (data in, string out) so the exact output can be
--- specified without running a process or a server. Each returned string is the
--- complete output, ending in a newline (only an empty NDJSON export is empty),
--- with no trailing spaces on any line.
---
--- Decisions a user can rely on:
--- * Columns and JSON keys follow the order of the API contract, never the
---   order of a Lua table.
--- * A field that is absent (nil, or any value that is not a string, number or
---   boolean) is omitted from JSON objects, left empty in CSV, and shown as `-`
---   in tables.
--- * An empty list is `[]` in JSON, a header row alone in CSV, and a line such as
---   `(no folders)` in tables and trees, so a person sees the list was empty
---   rather than wondering whether something failed.
--- * Table widths are terminal columns: East Asian wide characters and emoji take
---   two, combining marks and zero-width characters none, everything else one
---   (gong.cli.text). Given a terminal's width, tables and trees fit it
---   (gong.cli.tables, gong.cli.trees); without one they are never cut.
--- * Control characters in names and titles are shown as spaces in tables and
---   trees, so a hostile or sloppy name cannot break the layout or send escape
---   sequences to the terminal (gong.cli.text). CSV and JSON carry the data
---   unchanged.

local csv = require "gong.cli.csv"
local json_records = require "gong.cli.json_records"
local tables = require "gong.cli.tables"
local transcripts = require "gong.cli.transcripts"
local trees = require "gong.cli.trees"

local _M = {}

local RENDERERS = {
  folders = { table = tables.folders, csv = csv.folders, json = json_records.folders },
  calls = { table = tables.calls, csv = csv.calls, json = json_records.calls },
  tree = { table = trees.text, csv = trees.csv, json = trees.json },
  workspaces = { table = tables.workspaces, csv = csv.workspaces, json = json_records.workspaces },
  transcripts = { text = transcripts.text, json = transcripts.json },
}

--- Renders `data` of a kind ("folders", "calls", "tree", "workspaces";
--- "transcripts") in a format ("table", "csv" or "json"; "text" or "json");
--- `opts` go to the renderer (a table's width, a tree's depth, calls' details).
---@param kind string
---@param fmt string
---@param data table
---@param opts? table
---@return string
function _M.render(kind, fmt, data, opts)
  return RENDERERS[kind][fmt](data, opts)
end

return _M
