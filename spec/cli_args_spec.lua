-- gong.cli.args: how gong-library reads its command line, and every usage
-- error it answers with instead.

local args = require "gong.cli.args"

describe("gong.cli.args.parse()", function()
  it("reads a command with global options before or after it", function()
    local a = assert(args.parse({ "--json", "folders" }))
    local b = assert(args.parse({ "folders", "--json" }))
    assert.are.same(a, b)
    assert.are.equal("folders", a.command)
    assert.are.equal("json", a.format)
  end)

  it("takes option values as --opt=value or --opt value", function()
    local a = assert(args.parse({ "tree", "--workspace=W1", "--timeout", "2.5", "--base-url", "http://127.0.0.1:9" }))
    assert.are.equal("W1", a.workspace)
    assert.are.equal(2.5, a.timeout)
    assert.are.equal("http://127.0.0.1:9", a.base_url)
    assert.are.equal("table", a.format)
  end)

  it("treats everything after -- as arguments, so a folder id may start with -", function()
    local a = assert(args.parse({ "calls", "--csv", "--", "-42" }))
    assert.are.equal("-42", a.folder_id)
    assert.are.equal("csv", a.format)
  end)

  it("answers --help and COMMAND --help without checking the rest", function()
    assert.is_true(assert(args.parse({ "--help" })).help)
    local a = assert(args.parse({ "calls", "-h" }))
    assert.is_true(a.help)
    assert.are.equal("calls", a.command)
    assert.are.equal("calls", assert(args.parse({ "help", "calls" })).topic)
    assert.is_true(assert(args.parse({ "--version" })).version)
  end)

  it("reads export's options: json to stdout, 3 folders at once and not strict unless told", function()
    local d = assert(args.parse({ "export" }))
    assert.are.equal("export", d.command)
    assert.are.equal("json", d.format)
    assert.are.equal(3, d.concurrency)
    assert.is_nil(d.output)
    assert.is_false(d.strict)
    assert.is_false(d.allow_empty)
    local a = assert(args.parse({ "export", "-o", "lib.ndjson", "--format", "ndjson", "--concurrency=64",
                                 "--strict", "--workspace", "W", "--allow-empty" }))
    assert.is_true(a.allow_empty)
    assert.are.equal("lib.ndjson", a.output)
    assert.are.equal("ndjson", a.format)
    assert.are.equal(64, a.concurrency)
    assert.is_true(a.strict)
    assert.are.equal("W", a.workspace)
    assert.are.equal(1, assert(args.parse({ "export", "--concurrency", "1" })).concurrency)
    assert.are.equal("out.json", assert(args.parse({ "export", "--output=out.json" })).output)
    assert.is_nil(assert(args.parse({ "export", "-o", "-" })).output, "- is stdout")
    assert.are.equal("json", assert(args.parse({ "export", "--json" })).format)
  end)

  it("takes --credentials FILE before or after any command", function()
    assert.are.equal("creds.env", assert(args.parse({ "--credentials", "creds.env", "folders" })).credentials)
    assert.are.equal("c", assert(args.parse({ "export", "--credentials=c" })).credentials)
    assert.is_nil(assert(args.parse({ "tree" })).credentials)
  end)

  -- Each usage error: the arguments and a piece of the message.
  local usage_errors = {
    { {}, "missing command" },
    { { "frobnicate" }, "unknown command 'frobnicate'" },
    { { "folders", "--bogus" }, "unknown option --bogus" },
    { { "folders", "--bogus=secret-value" }, "unknown option --bogus" },
    { { "calls" }, "missing FOLDER_ID" },
    { { "calls", "a", "b" }, "unexpected argument 'b'" },
    { { "calls", "" }, "FOLDER_ID must not be empty" },
    { { "folders", "extra" }, "unexpected argument 'extra'" },
    { { "folders", "--json", "--csv" }, "--json and --csv cannot be used together" },
    { { "folders", "--timeout", "soon" }, "--timeout needs a number of seconds" },
    { { "folders", "--timeout=0" }, "--timeout needs a number of seconds" },
    { { "folders", "--timeout=-1" }, "--timeout needs a number of seconds" },
    { { "folders", "--timeout=inf" }, "--timeout needs a number of seconds" },
    { { "folders", "--timeout" }, "option --timeout needs a value" },
    { { "folders", "--workspace", "--json" }, "option --workspace needs a value" },
    { { "folders", "--workspace=" }, "option --workspace needs a value" },
    { { "calls", "1", "--workspace", "W" }, "option --workspace is not valid for 'calls'" },
    { { "folders", "--json=yes" }, "option --json takes no value" },
    { { "help", "frobnicate" }, "no help for 'frobnicate'" },
    { { "folders", "--token=abc" }, "credentials are not accepted as options" },
    { { "export", "--concurrency", "0" }, "--concurrency needs a whole number from 1 to 64, not '0'" },
    { { "export", "--concurrency=65" }, "--concurrency needs a whole number from 1 to 64, not '65'" },
    { { "export", "--concurrency=1.5" }, "--concurrency needs a whole number from 1 to 64, not '1.5'" },
    { { "export", "--concurrency=three" }, "--concurrency needs a whole number from 1 to 64, not 'three'" },
    { { "export", "--concurrency=-1" }, "--concurrency needs a whole number from 1 to 64, not '-1'" },
    { { "export", "--concurrency" }, "option --concurrency needs a value" },
    { { "export", "--format", "csv" }, "--format must be json or ndjson, not 'csv'" },
    { { "export", "--json", "--format", "ndjson" }, "--json and --format cannot be used together" },
    { { "export", "--csv" }, "option --csv is not valid for 'export'" },
    { { "export", "-o" }, "option -o needs a value" },
    { { "export", "extra" }, "unexpected argument 'extra'" },
    { { "folders", "-o", "x" }, "option -o is not valid for 'folders'" },
    { { "tree", "--strict" }, "option --strict is not valid for 'tree'" },
    { { "calls", "1", "--concurrency", "2" }, "option --concurrency is not valid for 'calls'" },
    { { "folders", "--format", "json" }, "option --format is not valid for 'folders'" },
    { { "folders", "--credentials" }, "option --credentials needs a value" },
    { { "foldrs" }, "unknown command 'foldrs' (did you mean 'folders'?)" },
    { { "folders", "--jsno" }, "unknown option --jsno (did you mean '--json'?)" },
    { { "folders", "--timeout", "-1" }, "--timeout needs a number of seconds greater than 0, not '-1'" },
    { { "export", "--concurrency", "-3" }, "--concurrency needs a whole number from 1 to 64, not '-3'" },
    { { "tree", "--depth", "two" }, "--depth needs a whole number of levels" },
    { { "tree", "--depth=-1" }, "--depth needs a whole number of levels" },
    { { "folders", "--depth", "1" }, "option --depth is not valid for 'folders'" },
  }
  it("suggests nothing for a word close to none", function()
    assert.are.equal("unknown command 'frobnicate'", select(2, args.parse({ "frobnicate" })))
    assert.are.equal("unknown command 'x'", select(2, args.parse({ "x" })))
  end)

  for _, case in ipairs(usage_errors) do
    it("rejects " .. (#case[1] > 0 and table.concat(case[1], " ") or "no arguments") .. ": " .. case[2], function()
      local opts, msg = args.parse(case[1])
      assert.is_nil(opts)
      assert.truthy(msg:find(case[2], 1, true), msg)
      assert.is_nil(msg:find("secret-value", 1, true))
      assert.is_nil(msg:find("abc", 1, true))
    end)
  end
end)
