-- gong.cli.help: the pages gong-library prints for --help and help COMMAND.

local args = require "gong.cli.args"
local help = require "gong.cli.help"
local text_support = require "spec.support.text"

local assert_no_trailing_spaces = text_support.assert_no_trailing_spaces

describe("gong.cli.help.text()", function()
  it("has a page for each command and names the credential variables in the general one", function()
    for _, command in ipairs(args.COMMANDS) do
      assert.truthy(help.text(command):find("^Usage: gong%-library " .. command), command)
      assert_no_trailing_spaces(help.text(command))
    end
    local general = help.text()
    assert.truthy(general:find("GONG_ACCESS_KEY_SECRET", 1, true))
    assert.truthy(general:find("GONG_TOKEN", 1, true))
    assert_no_trailing_spaces(general)
  end)

  it("tells where a credentials file comes from, its format, and how to make it private", function()
    local general = help.text()
    for _, text in ipairs({ "--credentials FILE", "GONG_CREDENTIALS_FILE", "NAME=VALUE", "GONG_BASE_URL",
                            "chmod 600 FILE", "130 interrupted" }) do
      assert.truthy(general:find(text, 1, true), text)
    end
  end)

  it("names every setting a credentials file may hold, and lines the credential variables up", function()
    local general = help.text()
    local credentials = require "gong.credentials"
    for _, field in ipairs(credentials.SETTINGS) do
      assert.truthy(general:find(credentials.ENV[field], 1, true), credentials.ENV[field])
    end
    local columns = {}
    for _, name in ipairs({ "GONG_ACCESS_KEY and", "GONG_TOKEN", "GONG_CLIENT_ID and" }) do
      local line = general:match("\n(  " .. name:gsub("%p", "%%%0") .. "[^\n]*)")
      assert.truthy(line, name)
      columns[#columns + 1] = line:find("%S", line:find("  %S", 3)) -- where the meaning starts
    end
    assert.are.same({ columns[1], columns[1] }, { columns[2], columns[3] })
    for line in general:gmatch("[^\n]+") do
      assert.is_true(#line <= 80, line)
    end
  end)

  it("documents every oauth action, the variables that point it elsewhere, and what status shows", function()
    local page = help.text("oauth")
    for _, action in ipairs(args.ACTIONS.oauth) do
      assert.truthy(page:find("gong-library oauth " .. action, 1, true), action)
      assert.truthy(help.text():find("oauth " .. action, 1, true), action)
    end
    for _, text in ipairs({ "--scope SCOPES", "--state STATE", "GONG_OAUTH_AUTHORIZE_URL", "GONG_OAUTH_TOKEN_URL",
                            "https://app.gong.io/oauth2/authorize", "api:library:read", "never a token",
                            '"expires_at"' }) do
      assert.truthy(page:find(text, 1, true), text)
    end
  end)

  it("names the default credentials file, the tree's depth and what each exit status means", function()
    local general = help.text()
    for _, text in ipairs({ "$XDG_CONFIG_HOME/gong/credentials", "~/.config/gong/credentials", "143 and 129",
                            "a bad value in the" }) do
      assert.truthy(general:find(text, 1, true), text)
    end
    assert.truthy(help.text("tree"):find("--depth N", 1, true))
    assert.truthy(help.text("export"):find("keeps its mode", 1, true))
    assert.truthy(help.text("export"):find("ends with a summary", 1, true))
  end)

  it("documents export's formats, output file, concurrency, strictness and progress", function()
    local page = help.text("export")
    for _, text in ipairs({ "--format FORMAT", "ndjson", '"type":"folder"', '"type":"call"', "-o, --output FILE",
                            "FILE.tmp-", "--concurrency N", "1 to 64", "--strict", "GONG_PROGRESS=1", "130" }) do
      assert.truthy(page:find(text, 1, true), text)
    end
  end)

  it("documents export's plan and --max-requests, and the exit status of a refused run", function()
    local page = help.text("export")
    for _, text in ipairs({ "[--max-requests N]", "  --max-requests N    Refuse an export of more than N requests",
                            "10,000 a day", "with status 3", "starts with its plan",
                            "gong-library: export will make 413 requests", '"at least N"' }) do
      assert.truthy(page:find(text, 1, true), text)
    end
    assert.truthy(help.text():find("3 refused (an export over\n--max-requests)", 1, true))
  end)

  it("documents the Calls API commands and options, with the request each one costs", function()
    for _, text in ipairs({ "two requests per 100 calls", "--folder FOLDER_ID", "--json", "(no transcript)" }) do
      assert.truthy(help.text("transcript"):find(text, 1, true), text)
    end
    assert.truthy(help.text("calls"):find("one request per\n              100 calls", 1, true))
    assert.truthy(help.text("export"):find("--transcripts", 1, true))
    assert.truthy(help.text("workspaces"):find("^Usage: gong%-library workspaces"))
    assert.truthy(help.text():find("--api", 1, true))
  end)
end)

describe("gong.cli.args's table of commands and options, which help and completion read", function()
  it("lists every command in the general help, with what it does, and every option where it is valid", function()
    local general = help.text()
    for _, command in ipairs(args.COMMAND_LIST) do
      for _, row in ipairs(command.actions or { command }) do
        assert.truthy(general:find("  " .. command.name .. " ", 1, true) or general:find("  " .. command.name .. "\n"),
          command.name)
        assert.truthy(general:find(row.summary, 1, true), row.summary)
      end
    end
    for name, spec in pairs(args.OPTIONS) do
      assert.is_string(spec.summary, name)
      -- A global option is on the general page, a command's on that command's.
      local pages = {}
      if spec.commands then
        for command in pairs(spec.commands) do pages[#pages + 1] = command end
      else
        pages[1] = false
      end
      for _, command in ipairs(pages) do
        local page = help.text(command or nil)
        local escaped = name:gsub("%-", "%%-")
        assert.truthy(page:find(escaped .. "[%s,=%]]"), name .. " on " .. tostring(command))
      end
    end
  end)

  it("says --api's values as the core names them, and the export formats --format takes", function()
    local core = require "gong.core"
    assert.are.same(core.options.api.choices, args.choices(args.OPTIONS["--api"]))
    assert.are.same({ "json", "ndjson" }, args.choices(args.OPTIONS["--format"]))
    assert.is_nil(args.choices(args.OPTIONS["--rate"]))
    assert.are.same({ "authorize-url", "exchange", "status" }, args.ACTIONS.oauth)
    for _, action in ipairs(args.ACTIONS.oauth) do
      local _, why = args.parse({ "oauth", action })
      assert.is_nil((why or ""):find("unknown oauth action", 1, true), action)
    end
  end)

  it("documents --verbose and GONG_DEBUG, and the completion command's shells", function()
    local general = help.text()
    assert.truthy(general:find("  --verbose  ", 1, true))
    assert.truthy(general:find("GONG_DEBUG=1", 1, true))
    for _, shell in ipairs(args.COMMAND.completion.words) do
      assert.truthy(help.text("completion"):find("gong-library completion " .. shell, 1, true), shell)
    end
  end)
end)
