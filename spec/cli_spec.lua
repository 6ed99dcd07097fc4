-- gong-library, the command-line tool. Read top to bottom this is its manual:
-- first what each output format looks like (gong.output on hand-built data,
-- exact strings), then how the command line is read (gong.cli.parse), then
-- the real program run as a process against the fake Gong server.

local output = require "gong.output"
local cli = require "gong.cli"
local cjson = require("cjson").new()

-- The rendering and parsing specs need neither the C core nor a server, so
-- they run on every interpreter; the process specs need both.
local function lines_of(s)
  local list = {}
  for line in s:gmatch("([^\n]*)\n") do
    list[#list + 1] = line
  end
  return list
end

local function assert_no_trailing_spaces(s)
  for i, line in ipairs(lines_of(s)) do
    assert.is_nil(line:find("[ \t\r]$"), "line " .. i .. " ends in white space: '" .. line .. "'")
  end
end

local FOLDERS = {
  { id = "1", name = "Sales Training", callCount = 3, created = "2024-01-02T03:04:05Z", createdBy = "u1" },
  { id = "22", name = "Überprüfung ✓", parentFolderId = "1", callCount = 12, created = "2024-02-02T03:04:05Z" },
  { id = "333", name = "Ça marche", parentFolderId = "22", callCount = 0 },
}

local CALLS = {
  { callId = "c1", title = "Acme — Kick-off", started = "2024-01-01T10:00:00Z", duration = 3725.4,
    url = "https://app.gong.io/call?id=c1" },
  { callId = "c22", title = "Short", duration = 59.5, url = "https://app.gong.io/call?id=c22" },
  { callId = "c333", started = "2024-03-01T09:00:00Z", duration = 36000 },
}

-- A tree shaped like client:tree()'s: only roots, children and total_calls
-- are read besides the folder fields.
local function node(folder, children, total_calls)
  folder.children = children or {}
  folder.total_calls = total_calls or folder.callCount
  return folder
end

local function sample_tree()
  return {
    roots = {
      node({ id = "1", name = "Sales", callCount = 3 }, {
        node({ id = "2", name = "Discovery", parentFolderId = "1", callCount = 5 }, {
          node({ id = "4", name = "Openers", parentFolderId = "2", callCount = 2 }),
        }, 7),
        node({ id = "3", name = "Objections", parentFolderId = "1", callCount = 1 }),
      }, 11),
      node({ id = "5", name = "Onboarding", callCount = 1 }),
    },
    count = 5,
  }
end

describe("gong.output", function()
  describe("number()", function()
    it("writes integral values without a fraction, whatever Lua's number subtype", function()
      assert.are.equal("12", output.number(12))
      assert.are.equal("12", output.number(12.0))
      assert.are.equal("-3", output.number(-3))
      assert.are.equal("0", output.number(0))
    end)

    it("writes other values in the shortest form that reads back the same", function()
      assert.are.equal("1830.5", output.number(1830.5))
      assert.are.equal("0.1", output.number(0.1))
      assert.are.equal(1 / 3, tonumber(output.number(1 / 3)))
    end)

    it("returns nil for NaN and infinities, which JSON cannot hold", function()
      assert.is_nil(output.number(0 / 0))
      assert.is_nil(output.number(math.huge))
      assert.is_nil(output.number(-math.huge))
    end)
  end)

  describe("width()", function()
    -- East Asian wide characters take two terminal cells but count as one
    -- here, like every other code point: a table of them drifts one cell per
    -- character, which is still far closer than counting bytes.
    it("counts UTF-8 code points, not bytes", function()
      assert.are.equal(3, output.width("abc"))
      assert.are.equal(11, output.width("Überprüfung"))
      assert.are.equal(1, output.width("✓"))
      assert.are.equal(2, output.width("日本"))
      assert.are.equal(6, output.width("Wins 🏆"))
      assert.are.equal(0, output.width(""))
    end)
  end)

  describe("duration()", function()
    it("formats seconds as h:mm:ss, rounded to the nearest second", function()
      assert.are.equal("0:00:00", output.duration(0))
      assert.are.equal("0:01:00", output.duration(59.5))
      assert.are.equal("0:00:59", output.duration(59.25))
      assert.are.equal("1:02:05", output.duration(3725.4))
      assert.are.equal("10:00:00", output.duration(36000))
      assert.are.equal("100:00:01", output.duration(360001))
    end)

    it("shows - when there is no usable duration", function()
      assert.are.equal("-", output.duration(nil))
      assert.are.equal("-", output.duration("12"))
      assert.are.equal("-", output.duration(0 / 0))
    end)
  end)

  describe("folders_table()", function()
    it("aligns columns by display width, right-aligns CALLS and shows - for a top-level parent", function()
      assert.are.equal(
        "ID   NAME            PARENT  CALLS  CREATED\n" ..
        "1    Sales Training  -           3  2024-01-02T03:04:05Z\n" ..
        "22   Überprüfung ✓   1          12  2024-02-02T03:04:05Z\n" ..
        "333  Ça marche       22          0  -\n",
        output.folders_table(FOLDERS))
    end)

    it("leaves no trailing spaces, even when the last column is empty or short", function()
      local s = output.folders_table({
        { id = "1", name = "a", created = "2024-01-01T00:00:00Z" },
        { id = "2", name = "a much longer name" },
      })
      assert_no_trailing_spaces(s)
    end)

    it("shows control characters as spaces, so a name cannot break the layout or drive the terminal", function()
      local s = output.folders_table({ { id = "1", name = "two\nlines\27[31m red\r" } })
      assert.are.equal("ID  NAME                 PARENT  CALLS  CREATED\n" ..
                       "1   two lines [31m red   -           -  -\n", s)
      assert.is_nil(s:find("\27", 1, true))
    end)

    it("prints (no folders) for an empty list", function()
      assert.are.equal("(no folders)\n", output.folders_table({}))
    end)
  end)

  describe("calls_table()", function()
    it("shows CALL ID, TITLE, STARTED, DURATION as h:mm:ss (right-aligned) and URL", function()
      assert.are.equal(
        "CALL ID  TITLE            STARTED               DURATION  URL\n" ..
        "c1       Acme — Kick-off  2024-01-01T10:00:00Z   1:02:05  https://app.gong.io/call?id=c1\n" ..
        "c22      Short            -                      0:01:00  https://app.gong.io/call?id=c22\n" ..
        "c333     -                2024-03-01T09:00:00Z  10:00:00  -\n",
        output.calls_table(CALLS))
    end)

    it("prints (no calls) for an empty list", function()
      assert.are.equal("(no calls)\n", output.calls_table({}))
    end)
  end)

  describe("folders_csv() and calls_csv()", function()
    it("write RFC 4180: a header of contract field names in contract order, CRLF after every record", function()
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created\r\n" ..
        "1,Sales Training,,,3,u1,2024-01-02T03:04:05Z\r\n" ..
        "22,Überprüfung ✓,,1,12,,2024-02-02T03:04:05Z\r\n" ..
        "333,Ça marche,,22,0,,\r\n",
        output.folders_csv(FOLDERS))
    end)

    it("quote fields containing a quote, comma, CR or LF, doubling the quotes", function()
      local s = output.folders_csv({
        { id = "1", name = 'Say "hi"', description = "one, two" },
        { id = "2", name = "line\nbreak", description = "carriage\rreturn" },
        { id = "3", name = "plain", description = "'single' ok" },
      })
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created\r\n" ..
        '1,"Say ""hi""","one, two",,,,\r\n' ..
        '2,"line\nbreak","carriage\rreturn",,,,\r\n' ..
        "3,plain,'single' ok,,,,\r\n",
        s)
    end)

    it("keep durations in seconds, integral ones without a fraction", function()
      assert.are.equal(
        "callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy\r\n" ..
        "c1,Acme — Kick-off,https://app.gong.io/call?id=c1,2024-01-01T10:00:00Z,3725.4,,,\r\n" ..
        "c22,Short,https://app.gong.io/call?id=c22,,59.5,,,\r\n" ..
        "c333,,,2024-03-01T09:00:00Z,36000,,,\r\n",
        output.calls_csv(CALLS))
    end)

    it("write only the header row for an empty list", function()
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created\r\n",
                       output.folders_csv({}))
      assert.are.equal("callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy\r\n",
                       output.calls_csv({}))
    end)
  end)

  describe("folders_json() and calls_json()", function()
    it("write an array of objects, keys in contract order, absent fields omitted, integers as integers", function()
      assert.are.equal(
        '[\n' ..
        '  {\n' ..
        '    "id": "1",\n' ..
        '    "name": "Sales Training",\n' ..
        '    "callCount": 3,\n' ..
        '    "createdBy": "u1",\n' ..
        '    "created": "2024-01-02T03:04:05Z"\n' ..
        '  },\n' ..
        '  {\n' ..
        '    "id": "22",\n' ..
        '    "name": "Überprüfung ✓",\n' ..
        '    "parentFolderId": "1",\n' ..
        '    "callCount": 12,\n' ..
        '    "created": "2024-02-02T03:04:05Z"\n' ..
        '  },\n' ..
        '  {\n' ..
        '    "id": "333",\n' ..
        '    "name": "Ça marche",\n' ..
        '    "parentFolderId": "22",\n' ..
        '    "callCount": 0\n' ..
        '  }\n' ..
        ']\n',
        output.folders_json(FOLDERS))
    end)

    it("write [] for an empty list, never {}", function()
      assert.are.equal("[]\n", output.folders_json({}))
      assert.are.equal("[]\n", output.calls_json({}))
    end)

    it("write 12, not 12.0, for an integral float", function()
      assert.are.equal('[\n  {\n    "callCount": 12\n  }\n]\n', output.folders_json({ { callCount = 12.0 } }))
    end)

    it("escape quotes, backslashes and control characters and keep UTF-8 as it is", function()
      local s = output.calls_json({ { callId = "x", title = 'a "b" \\ c\n\t\1 é' } })
      assert.are.equal('[\n  {\n    "callId": "x",\n    "title": "a \\"b\\" \\\\ c\\n\\t\\u0001 é"\n  }\n]\n', s)
      assert.are.equal('a "b" \\ c\n\t\1 é', cjson.decode(s)[1].title)
    end)

    it("leave out values that are not strings, numbers or booleans (such as a decoder's null)", function()
      local s = output.folders_json({ { id = "1", parentFolderId = cjson.null, description = {} } })
      assert.are.equal('[\n  {\n    "id": "1"\n  }\n]\n', s)
    end)

    it("give JSON that a decoder reads back to the same records", function()
      local decoded = cjson.decode(output.calls_json(CALLS))
      assert.are.equal(3, #decoded)
      assert.are.equal(3725.4, decoded[1].duration)
      assert.are.equal("Acme — Kick-off", decoded[1].title)
      assert.is_nil(decoded[3].title)
    end)
  end)

  describe("tree_text()", function()
    it("draws box-drawing guides, counts per folder, subtree totals on parents, a totals line", function()
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree)  [1]\n" ..
        "├── Discovery  (5 calls, 7 in subtree)  [2]\n" ..
        "│   └── Openers  (2 calls)  [4]\n" ..
        "└── Objections  (1 call)  [3]\n" ..
        "Onboarding  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        output.tree_text(sample_tree()))
    end)

    it("hangs the children of a last child under blank space, not under a rule", function()
      local t = { roots = { node({ id = "a", name = "A", callCount = 0 }, {
        node({ id = "b", name = "B", callCount = 0 }, {
          node({ id = "c", name = "C", callCount = 1 }),
        }, 1),
      }, 1) } }
      assert.are.equal(
        "A  (0 calls, 1 in subtree)  [a]\n" ..
        "└── B  (0 calls, 1 in subtree)  [b]\n" ..
        "    └── C  (1 call)  [c]\n" ..
        "3 folders, 1 call\n",
        output.tree_text(t))
    end)

    it("prints (no folders) for an empty tree", function()
      assert.are.equal("(no folders)\n", output.tree_text({ roots = {}, count = 0 }))
    end)

    it("names a folder without a name (unnamed) and cleans control characters", function()
      local t = { roots = { node({ id = "x", callCount = 1 }), node({ id = "y", name = "a\nb", callCount = 0 }) } }
      assert.are.equal("(unnamed)  (1 call)  [x]\na b  (0 calls)  [y]\n2 folders, 1 call\n", output.tree_text(t))
    end)
  end)

  describe("tree_json()", function()
    it("nests each folder's contract fields, total_calls and children, with no parent back-references", function()
      local t = sample_tree()
      -- Back-references as client:tree() sets them must not leak into the JSON.
      t.roots[1].children[1].parent = t.roots[1]
      local s = output.tree_json(t)
      assert.are.equal(
        '[\n' ..
        '  {\n' ..
        '    "id": "1",\n' ..
        '    "name": "Sales",\n' ..
        '    "callCount": 3,\n' ..
        '    "total_calls": 11,\n' ..
        '    "children": [\n' ..
        '      {\n' ..
        '        "id": "2",\n' ..
        '        "name": "Discovery",\n' ..
        '        "parentFolderId": "1",\n' ..
        '        "callCount": 5,\n' ..
        '        "total_calls": 7,\n' ..
        '        "children": [\n' ..
        '          {\n' ..
        '            "id": "4",\n' ..
        '            "name": "Openers",\n' ..
        '            "parentFolderId": "2",\n' ..
        '            "callCount": 2,\n' ..
        '            "total_calls": 2,\n' ..
        '            "children": []\n' ..
        '          }\n' ..
        '        ]\n' ..
        '      },\n' ..
        '      {\n' ..
        '        "id": "3",\n' ..
        '        "name": "Objections",\n' ..
        '        "parentFolderId": "1",\n' ..
        '        "callCount": 1,\n' ..
        '        "total_calls": 1,\n' ..
        '        "children": []\n' ..
        '      }\n' ..
        '    ]\n' ..
        '  },\n' ..
        '  {\n' ..
        '    "id": "5",\n' ..
        '    "name": "Onboarding",\n' ..
        '    "callCount": 1,\n' ..
        '    "total_calls": 1,\n' ..
        '    "children": []\n' ..
        '  }\n' ..
        ']\n',
        s)
      assert.are.equal("Openers", cjson.decode(s)[1].children[1].children[1].name)
    end)

    it("writes [] for an empty tree", function()
      assert.are.equal("[]\n", output.tree_json({ roots = {}, count = 0 }))
    end)
  end)

  describe("tree_csv()", function()
    it("writes one row per folder, parents first, with the folder columns plus depth and total_calls", function()
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created,depth,total_calls\r\n" ..
        "1,Sales,,,3,,,0,11\r\n" ..
        "2,Discovery,,1,5,,,1,7\r\n" ..
        "4,Openers,,2,2,,,2,2\r\n" ..
        "3,Objections,,1,1,,,1,1\r\n" ..
        "5,Onboarding,,,1,,,0,1\r\n",
        output.tree_csv(sample_tree()))
    end)
  end)

  describe("tree renderers on a deep chain", function()
    it("walk with their own stack, so server data deeper than Lua's call stack still renders", function()
      local depth = 200000
      local root = node({ id = "1", name = "n", callCount = 1 }, {}, depth)
      local at = root
      for i = 2, depth do
        local child = node({ id = tostring(i), name = "n", callCount = 1 }, {}, depth - i + 1)
        at.children[1] = child
        at = child
      end
      local s = output.tree_csv({ roots = { root } })
      assert.are.equal(depth + 1, select(2, s:gsub("\r\n", "")))
      assert.truthy(s:find("\r\n200000,n,,,1,,,199999,1\r\n$"))
    end)
  end)

  -- A library as client:library() returns it: the tree, each node with
  -- `calls`, or `error` when its calls could not be fetched.
  local function sample_library()
    local failure = setmetatable({ message = "HTTP 404 on GET /x" }, {
      __tostring = function(e) return "gong: " .. e.message end,
    })
    local sales = node({ id = "1", name = "Sales", callCount = 1 }, {
      node({ id = "2", name = "Demos", parentFolderId = "1", callCount = 2 }),
    }, 3)
    sales.calls = { { callId = "c1", title = "Kick-off", duration = 60.0, workspaceId = "not a contract field" } }
    sales.children[1].error = failure
    local empty = node({ id = "3", name = "Empty", callCount = 0 })
    empty.calls = {}
    return { roots = { sales, empty }, count = 3 }
  end

  describe("export_json()", function()
    it("nests folders like tree_json(), each with its calls between total_calls and children, "
       .. "or the error that stopped them", function()
      assert.are.equal(
        '[\n' ..
        '  {\n' ..
        '    "id": "1",\n' ..
        '    "name": "Sales",\n' ..
        '    "callCount": 1,\n' ..
        '    "total_calls": 3,\n' ..
        '    "calls": [\n' ..
        '      {\n' ..
        '        "callId": "c1",\n' ..
        '        "title": "Kick-off",\n' ..
        '        "duration": 60\n' ..
        '      }\n' ..
        '    ],\n' ..
        '    "children": [\n' ..
        '      {\n' ..
        '        "id": "2",\n' ..
        '        "name": "Demos",\n' ..
        '        "parentFolderId": "1",\n' ..
        '        "callCount": 2,\n' ..
        '        "total_calls": 2,\n' ..
        '        "error": "gong: HTTP 404 on GET /x",\n' ..
        '        "children": []\n' ..
        '      }\n' ..
        '    ]\n' ..
        '  },\n' ..
        '  {\n' ..
        '    "id": "3",\n' ..
        '    "name": "Empty",\n' ..
        '    "callCount": 0,\n' ..
        '    "total_calls": 0,\n' ..
        '    "calls": [],\n' ..
        '    "children": []\n' ..
        '  }\n' ..
        ']\n',
        output.export_json(sample_library()))
    end)

    it("writes a failed folder's error as error_text returns it", function()
      local text = function(e) return "failed: " .. e.message end
      assert.truthy(output.export_json(sample_library(), text):find('"error": "failed: HTTP 404 on GET /x",', 1, true))
    end)

    it("writes [] for an empty library", function()
      assert.are.equal("[]\n", output.export_json({ roots = {} }))
    end)
  end)

  describe("export_ndjson()", function()
    it("writes one line per folder, followed by a line per call, with path and depth", function()
      assert.are.equal(
        '{"type":"folder","id":"1","name":"Sales","callCount":1,"path":"Sales","depth":0,"total_calls":3}\n' ..
        '{"type":"call","folderId":"1","callId":"c1","title":"Kick-off","duration":60}\n' ..
        '{"type":"folder","id":"2","name":"Demos","parentFolderId":"1","callCount":2,"path":"Sales/Demos",' ..
          '"depth":1,"total_calls":2,"error":"gong: HTTP 404 on GET /x"}\n' ..
        '{"type":"folder","id":"3","name":"Empty","callCount":0,"path":"Empty","depth":0,"total_calls":0}\n',
        output.export_ndjson(sample_library()))
      local text = function(e) return "failed: " .. e.message end
      assert.truthy(output.export_ndjson(sample_library(), text):find('"error":"failed: HTTP 404 on GET /x"}', 1, true))
    end)

    it("keeps each record on one line, whatever the names hold", function()
      local lib = { roots = { node({ id = "x\ny", name = "a\nb\r\"c\"" }) } }
      lib.roots[1].calls = { { callId = "c", title = "line\nbreak" } }
      local s = output.export_ndjson(lib)
      assert.are.equal(2, #lines_of(s))
      assert.are.equal("x\ny", cjson.decode(lines_of(s)[1]).id)
      assert.are.equal("a\nb\r\"c\"", cjson.decode(lines_of(s)[1]).path)
      assert.are.equal("line\nbreak", cjson.decode(lines_of(s)[2]).title)
    end)

    it("writes nothing at all for an empty library", function()
      assert.are.equal("", output.export_ndjson({ roots = {} }))
    end)
  end)

  describe("render()", function()
    it("picks the renderer by kind and format", function()
      assert.are.equal(output.folders_csv(FOLDERS), output.render("folders", "csv", FOLDERS))
      assert.are.equal(output.calls_json(CALLS), output.render("calls", "json", CALLS))
      assert.are.equal(output.tree_text(sample_tree()), output.render("tree", "table", sample_tree()))
    end)
  end)
end)

describe("gong.cli.parse()", function()
  it("reads a command with global options before or after it", function()
    local a = assert(cli.parse({ "--json", "folders" }))
    local b = assert(cli.parse({ "folders", "--json" }))
    assert.are.same(a, b)
    assert.are.equal("folders", a.command)
    assert.are.equal("json", a.format)
  end)

  it("takes option values as --opt=value or --opt value", function()
    local a = assert(cli.parse({ "tree", "--workspace=W1", "--timeout", "2.5", "--base-url", "http://127.0.0.1:9" }))
    assert.are.equal("W1", a.workspace)
    assert.are.equal(2.5, a.timeout)
    assert.are.equal("http://127.0.0.1:9", a.base_url)
    assert.are.equal("table", a.format)
  end)

  it("treats everything after -- as arguments, so a folder id may start with -", function()
    local a = assert(cli.parse({ "calls", "--csv", "--", "-42" }))
    assert.are.equal("-42", a.folder_id)
    assert.are.equal("csv", a.format)
  end)

  it("answers --help and COMMAND --help without checking the rest", function()
    assert.is_true(assert(cli.parse({ "--help" })).help)
    local a = assert(cli.parse({ "calls", "-h" }))
    assert.is_true(a.help)
    assert.are.equal("calls", a.command)
    assert.are.equal("calls", assert(cli.parse({ "help", "calls" })).topic)
    assert.is_true(assert(cli.parse({ "--version" })).version)
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
  }
  for _, case in ipairs(usage_errors) do
    it("rejects " .. (#case[1] > 0 and table.concat(case[1], " ") or "no arguments") .. ": " .. case[2], function()
      local opts, msg = cli.parse(case[1])
      assert.is_nil(opts)
      assert.truthy(msg:find(case[2], 1, true), msg)
      assert.is_nil(msg:find("secret-value", 1, true))
      assert.is_nil(msg:find("abc", 1, true))
    end)
  end
end)

describe("gong.cli.help()", function()
  it("has a page for each command and names the credential variables in the general one", function()
    for _, command in ipairs({ "folders", "tree", "calls" }) do
      assert.truthy(cli.help(command):find("^Usage: gong%-library " .. command))
    end
    local general = cli.help()
    assert.truthy(general:find("GONG_ACCESS_KEY_SECRET", 1, true))
    assert.truthy(general:find("GONG_TOKEN", 1, true))
    assert_no_trailing_spaces(general)
  end)
end)

describe("the gong-library program", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"
  local tree = require "gong.tree"
  local creds = fake.credentials
  -- Every form a credential could leak in: as given, and as HTTP Basic sends it.
  local SECRETS = { creds.secret, creds.token, "dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", "wrong-secret-value" }

  local srv, lib

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
  end)

  local function basic_env(extra)
    local env = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  -- Runs bin/gong-library with `args` and `env` (default: Basic credentials
  -- and the fake server's URL). Checks on every run that no secret was printed.
  local function run(args, env)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, status = process.run(argv, env or basic_env())
    for _, secret in ipairs(SECRETS) do
      assert.is_nil(out:find(secret, 1, true), "stdout shows a secret")
      assert.is_nil(err:find(secret, 1, true), "stderr shows a secret")
    end
    return out, err, status
  end

  -- A successful run: status 0, nothing on stderr; returns stdout.
  local function ok(args, env)
    local out, err, status = run(args, env)
    assert.are.equal("", err)
    assert.are.equal(0, status)
    return out
  end

  -- A failed run: status 1, nothing on stdout, exactly one line on stderr.
  local function failed(args, env)
    local out, err, status = run(args, env)
    assert.are.equal(1, status, err)
    assert.are.equal("", out)
    assert.truthy(err:find("^gong%-library: [^\n]+\n$"), err)
    return err
  end

  local function folder_with(predicate)
    for _, f in ipairs(lib.folders) do
      if predicate(f) then return f end
    end
    error("the fake library has no such folder")
  end

  describe("folders", function()
    it("prints every folder as an aligned table with a header row", function()
      local out = ok({ "folders" })
      assert.are.equal(output.folders_table(lib.folders), out)
      local lines = lines_of(out)
      assert.truthy(lines[1]:find("^ID +NAME +PARENT +CALLS +CREATED$"))
      assert.are.equal(#lib.folders + 1, #lines)
      assert_no_trailing_spaces(out)
    end)

    it("prints a JSON array of contract-shaped objects with --json", function()
      local out = ok({ "folders", "--json" })
      assert.are.equal(output.folders_json(lib.folders), out)
      local decoded = cjson.decode(out)
      assert.are.equal(#lib.folders, #decoded)
      for i, f in ipairs(decoded) do
        assert.are.equal(lib.folders[i].id, f.id)
        assert.are.equal(lib.folders[i].callCount, f.callCount)
        assert.is_nil(f.workspaceId) -- not a contract field
      end
      assert.is_nil(out:find('"callCount": %d+%.0'), "an integer was printed with a fraction")
    end)

    it("prints RFC 4180 CSV with --csv, global options accepted before the command too", function()
      local out = ok({ "--csv", "folders" })
      assert.are.equal(output.folders_csv(lib.folders), out)
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created\r\n",
                       out:match("^[^\n]*\n"))
    end)

    it("asks for one workspace with --workspace", function()
      local ws = lib.workspaces[3].id
      local expected = {}
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == ws then expected[#expected + 1] = f end
      end
      local out = ok({ "folders", "--workspace", ws, "--json" })
      assert.are.equal(output.folders_json(expected), out)
      local requests = srv:requests()
      assert.are.equal(1, #requests)
      assert.are.equal("/library/folders", requests[1].path)
      assert.truthy(requests[1].query:find("workspaceId=" .. ws, 1, true))
    end)

    it("says (no folders), [] or just the header when a workspace has none", function()
      assert.are.equal("(no folders)\n", ok({ "folders", "--workspace=none" }))
      assert.are.equal("[]\n", ok({ "folders", "--workspace=none", "--json" }))
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created\r\n",
                       ok({ "folders", "--workspace=none", "--csv" }))
    end)

    it("authenticates with GONG_TOKEN as well", function()
      local out = ok({ "folders", "--csv" }, { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.are.equal(output.folders_csv(lib.folders), out)
      assert.are.equal("Bearer " .. creds.token, srv:requests()[1].headers.authorization)
    end)
  end)

  describe("tree", function()
    local built

    setup(function()
      built = tree.build(lib.folders)
    end)

    it("draws the folders as a tree ending in a totals line", function()
      local out = ok({ "tree" })
      assert.are.equal(output.tree_text(built), out)
      local calls = 0
      for _, f in ipairs(lib.folders) do calls = calls + f.callCount end
      assert.are.equal(("%d folders, %d calls"):format(#lib.folders, calls), lines_of(out)[#lines_of(out)])
      assert.truthy(out:find("\n├── ", 1, true))
      assert_no_trailing_spaces(out)
    end)

    it("prints the nested tree as JSON with --json", function()
      local out = ok({ "tree", "--json" })
      assert.are.equal(output.tree_json(built), out)
      local seen = 0
      local function count(nodes)
        for _, n in ipairs(nodes) do
          seen = seen + 1
          assert.is_nil(n.parent)
          assert.are.equal("number", type(n.total_calls))
          count(n.children)
        end
      end
      count(cjson.decode(out))
      assert.are.equal(#lib.folders, seen)
    end)

    it("prints one CSV row per folder, parents first, with --csv", function()
      local out = ok({ "tree", "--csv" })
      assert.are.equal(output.tree_csv(built), out)
    end)

    it("says (no folders) for an empty workspace", function()
      assert.are.equal("(no folders)\n", ok({ "tree", "--workspace", "none" }))
      assert.are.equal("[]\n", ok({ "tree", "--workspace", "none", "--json" }))
    end)
  end)

  describe("calls", function()
    it("lists the calls of a folder as a table, durations as h:mm:ss", function()
      local folder = folder_with(function(f) return f.callCount >= 3 end)
      local out = ok({ "calls", folder.id })
      assert.are.equal(output.calls_table(lib.calls[folder.id]), out)
      assert.truthy(lines_of(out)[1]:find("^CALL ID +TITLE +STARTED +DURATION +URL$"))
      assert.truthy(lines_of(out)[2]:find(" %d+:%d%d:%d%d  "))
      assert_no_trailing_spaces(out)
    end)

    it("prints JSON and CSV with the contract's call fields", function()
      local folder = folder_with(function(f) return f.callCount >= 3 end)
      assert.are.equal(output.calls_json(lib.calls[folder.id]), ok({ "calls", folder.id, "--json" }))
      assert.are.equal(output.calls_csv(lib.calls[folder.id]), ok({ "--csv", "calls", folder.id }))
    end)

    it("finds a folder whose id needs percent-encoding", function()
      local out = ok({ "calls", "--json", "--", lib.special_id })
      assert.are.equal(output.calls_json(lib.calls[lib.special_id]), out)
    end)

    it("says (no calls), [] or just the header for an empty folder", function()
      local folder = folder_with(function(f) return f.callCount == 0 end)
      assert.are.equal("(no calls)\n", ok({ "calls", folder.id }))
      assert.are.equal("[]\n", ok({ "calls", folder.id, "--json" }))
      assert.are.equal("callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy\r\n",
                       ok({ "calls", folder.id, "--csv" }))
    end)

    it("fails with status 1 and the HTTP status and requestId for an unknown folder", function()
      local err = failed({ "calls", "no-such-folder" })
      assert.truthy(err:find("HTTP 404", 1, true), err)
      assert.truthy(err:find("%(request %x+%)"), err)
    end)
  end)

  describe("help and version", function()
    it("prints the general help on stdout with --help, -h and help, without credentials", function()
      for _, args in ipairs({ { "--help" }, { "-h" }, { "help" } }) do
        local out = ok(args, {})
        assert.are.equal(cli.help(), out)
      end
    end)

    it("prints a command's help with help COMMAND and COMMAND --help", function()
      assert.are.equal(cli.help("calls"), ok({ "help", "calls" }, {}))
      assert.are.equal(cli.help("calls"), ok({ "calls", "--help" }, {}))
      assert.are.equal(cli.help("tree"), ok({ "tree", "-h" }, {}))
    end)

    it("prints the gong version and the Lua that runs it with --version", function()
      local expected = process.lua_code(
        'io.write(require("gong")._VERSION, " (", jit and jit.version or _VERSION, ")")')
      assert.are.equal("gong-library " .. expected .. "\n", ok({ "--version" }, {}))
    end)
  end)

  describe("usage errors", function()
    local cases = {
      { "frobnicate" },
      { "folders", "--bogus" },
      { "calls" },
      { "folders", "--json", "--csv" },
      { "folders", "--timeout", "soon" },
      { "--timeout=0", "tree" },
      {},
      { "calls", "1", "2" },
      { "calls", "1", "--workspace", "W" },
      { "--token", "wrong-secret-value", "folders" },
    }
    for _, args in ipairs(cases) do
      it("exit with status 2, a message and a --help hint, before any request: " .. table.concat(args, " "), function()
        local out, err, status = run(args)
        assert.are.equal(2, status, err)
        assert.are.equal("", out)
        assert.truthy(err:find("^gong%-library: [^\n]+\nTry 'gong%-library [%w%- ]+' for more information%.\n$"), err)
        assert.are.equal(0, #srv:requests())
      end)
    end
  end)

  describe("failures", function()
    it("exit with status 1 and the HTTP status and requestId when the credentials are wrong", function()
      local err = failed({ "folders" }, basic_env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.truthy(err:find("HTTP 401", 1, true), err)
      assert.truthy(err:find("Invalid credentials", 1, true), err)
      assert.truthy(err:find("%(request %x+%)"), err)
    end)

    it("exit with status 1 naming the environment variables when there are no credentials", function()
      local err = failed({ "folders" }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("GONG_ACCESS_KEY", 1, true), err)
      assert.truthy(err:find("GONG_ACCESS_KEY_SECRET", 1, true), err)
      assert.truthy(err:find("GONG_TOKEN", 1, true), err)
      assert.are.equal(0, #srv:requests())
    end)

    it("exit with status 1 when only half of the access key pair is set", function()
      local err = failed({ "tree" }, { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key })
      assert.truthy(err:find("GONG_ACCESS_KEY_SECRET is not", 1, true), err)
    end)

    it("never print a credential, even one typed where a folder id goes", function()
      local err = failed({ "calls", creds.secret })
      assert.truthy(err:find("/library/folders/[redacted]/calls", 1, true), err)
    end)

    it("exit with status 1 and one line when the server cannot be reached", function()
      local err = failed({ "folders", "--base-url", "http://127.0.0.1:1" })
      assert.truthy(err:find("127.0.0.1", 1, true), err)
    end)

    it("give up after --timeout seconds on a server that does not answer", function()
      srv:faults({ { delay = 3, times = -1 } })
      local err = failed({ "folders", "--timeout", "0.3" })
      assert.truthy(err:find("0.3 s", 1, true), err)
    end)
  end)

  describe("--base-url", function()
    it("wins over GONG_BASE_URL", function()
      local out = ok({ "folders", "--csv", "--base-url=" .. srv.url },
                     basic_env({ GONG_BASE_URL = "http://127.0.0.1:1" }))
      assert.are.equal(output.folders_csv(lib.folders), out)
    end)
  end)
end)
