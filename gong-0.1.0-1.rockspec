rockspec_format = "3.0"
package = "gong"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/gong-lua/gong.git",
  tag = "v0.1.0",
}
description = {
  summary = "Client for the Gong Library API: library folders and the calls in them",
  detailed = [[
A C core on libcurl (keep-alive, retries, rate limiting, timeouts, strict
decoding) with a Lua layer on top: iterators, a folder tree, a CLI.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
}
-- Debian keeps curl.h under a multiarch include directory that LuaRocks does
-- not search, so only the library is looked up; the compiler finds the header.
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["gong.core"] = {
      sources = { "src/gong.c" },
      -- GONG_VERSION is lua/gong/version.lua's (a spec holds the two together).
      defines = { "_XOPEN_SOURCE=700", 'GONG_VERSION="0.1.0"' },
      libraries = { "curl", "pthread", "m" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["gong"] = "lua/gong/init.lua",
    ["gong.version"] = "lua/gong/version.lua",
    ["gong.client"] = "lua/gong/client.lua",
    ["gong.batch"] = "lua/gong/batch.lua",
    ["gong.library"] = "lua/gong/library.lua",
    ["gong.tasks"] = "lua/gong/tasks.lua",
    ["gong.credentials"] = "lua/gong/credentials.lua",
    ["gong.tree"] = "lua/gong/tree.lua",
    ["gong.tree_shape"] = "lua/gong/tree_shape.lua",
    ["gong.transcript"] = "lua/gong/transcript.lua",
    ["gong.json"] = "lua/gong/json.lua",
    ["gong.wire"] = "lua/gong/wire.lua",
    ["gong.message"] = "lua/gong/message.lua",
    ["gong.cli"] = "lua/gong/cli/init.lua",
    ["gong.cli.args"] = "lua/gong/cli/args.lua",
    ["gong.cli.help"] = "lua/gong/cli/help.lua",
    ["gong.cli.completion"] = "lua/gong/cli/completion.lua",
    ["gong.cli.report"] = "lua/gong/cli/report.lua",
    ["gong.cli.spool"] = "lua/gong/cli/spool.lua",
    ["gong.cli.progress"] = "lua/gong/cli/progress.lua",
    ["gong.cli.atomic_file"] = "lua/gong/cli/atomic_file.lua",
    ["gong.cli.commands"] = "lua/gong/cli/commands.lua",
    ["gong.cli.oauth"] = "lua/gong/cli/oauth.lua",
    ["gong.cli.explain"] = "lua/gong/cli/explain.lua",
    ["gong.cli.terminal"] = "lua/gong/cli/terminal.lua",
    ["gong.cli.text"] = "lua/gong/cli/text.lua",
    ["gong.cli.widths"] = "lua/gong/cli/widths.lua",
    ["gong.cli.parties"] = "lua/gong/cli/parties.lua",
    ["gong.cli.tables"] = "lua/gong/cli/tables.lua",
    ["gong.cli.csv"] = "lua/gong/cli/csv.lua",
    ["gong.cli.json_records"] = "lua/gong/cli/json_records.lua",
    ["gong.cli.json_scan"] = "lua/gong/cli/json_scan.lua",
    ["gong.cli.fields"] = "lua/gong/cli/fields.lua",
    ["gong.cli.transcripts"] = "lua/gong/cli/transcripts.lua",
    ["gong.cli.trees"] = "lua/gong/cli/trees.lua",
    ["gong.cli.exports"] = "lua/gong/cli/exports.lua",
    ["gong.cli.render"] = "lua/gong/cli/render.lua",
    ["gong.cli.reuse"] = "lua/gong/cli/reuse.lua",
    ["gong.loop"] = "lua/gong/loop.lua",
    ["gong.oauth"] = "lua/gong/oauth.lua",
    ["gong.nvim"] = "lua/gong/nvim.lua",
    ["gong.health"] = "lua/gong/health.lua",
    ["gong.resty"] = "lua/gong/resty.lua",
    ["gong.resty_worker"] = "lua/gong/resty_worker.lua",
    ["gong.resty_window"] = "lua/gong/resty_window.lua",
  },
  install = {
    bin = { ["gong-library"] = "bin/gong-library" },
  },
}
test = { type = "busted" }
