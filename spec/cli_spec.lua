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
    it("counts terminal columns: wide characters two, combining marks none", function()
      assert.are.equal(3, output.width("abc"))
      assert.are.equal(11, output.width("Überprüfung"))
      assert.are.equal(1, output.width("✓"))
      assert.are.equal(4, output.width("日本"))
      assert.are.equal(7, output.width("Wins 🏆"))
      assert.are.equal(1, output.width("e\204\129")) -- e + combining acute
      assert.are.equal(2, output.width("\255a")) -- invalid UTF-8: a column a byte
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

  it("reads export's options: json to stdout, 3 folders at once and not strict unless told", function()
    local d = assert(cli.parse({ "export" }))
    assert.are.equal("export", d.command)
    assert.are.equal("json", d.format)
    assert.are.equal(3, d.concurrency)
    assert.is_nil(d.output)
    assert.is_false(d.strict)
    local a = assert(cli.parse({ "export", "-o", "lib.ndjson", "--format", "ndjson", "--concurrency=64",
                                 "--strict", "--workspace", "W" }))
    assert.are.equal("lib.ndjson", a.output)
    assert.are.equal("ndjson", a.format)
    assert.are.equal(64, a.concurrency)
    assert.is_true(a.strict)
    assert.are.equal("W", a.workspace)
    assert.are.equal(1, assert(cli.parse({ "export", "--concurrency", "1" })).concurrency)
    assert.are.equal("out.json", assert(cli.parse({ "export", "--output=out.json" })).output)
    assert.is_nil(assert(cli.parse({ "export", "-o", "-" })).output, "- is stdout")
    assert.are.equal("json", assert(cli.parse({ "export", "--json" })).format)
  end)

  it("takes --credentials FILE before or after any command", function()
    assert.are.equal("creds.env", assert(cli.parse({ "--credentials", "creds.env", "folders" })).credentials)
    assert.are.equal("c", assert(cli.parse({ "export", "--credentials=c" })).credentials)
    assert.is_nil(assert(cli.parse({ "tree" })).credentials)
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
    for _, command in ipairs({ "folders", "tree", "calls", "export" }) do
      assert.truthy(cli.help(command):find("^Usage: gong%-library " .. command))
      assert_no_trailing_spaces(cli.help(command))
    end
    local general = cli.help()
    assert.truthy(general:find("GONG_ACCESS_KEY_SECRET", 1, true))
    assert.truthy(general:find("GONG_TOKEN", 1, true))
    assert_no_trailing_spaces(general)
  end)

  it("tells where a credentials file comes from, its format, and how to make it private", function()
    local general = cli.help()
    for _, text in ipairs({ "--credentials FILE", "GONG_CREDENTIALS_FILE", "NAME=VALUE", "GONG_BASE_URL",
                            "chmod 600 FILE", "130 interrupted" }) do
      assert.truthy(general:find(text, 1, true), text)
    end
  end)

  it("documents export's formats, output file, concurrency, strictness and progress", function()
    local page = cli.help("export")
    for _, text in ipairs({ "--format FORMAT", "ndjson", '"type":"folder"', '"type":"call"', "-o, --output FILE",
                            "FILE.tmp-", "--concurrency N", "1 to 64", "--strict", "GONG_PROGRESS=1", "130" }) do
      assert.truthy(page:find(text, 1, true), text)
    end
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
  -- process.run clears the parent's credential variables; GONG_PROGRESS and
  -- GONG_CREDENTIALS_FILE are cleared here (empty means unset) unless given,
  -- so a developer's own settings cannot change what a spec sees.
  local function run(args, env)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local full = { GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "" }
    for k, v in pairs(env or basic_env()) do full[k] = v end
    local out, err, status = process.run(argv, full)
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
      { "export", "--concurrency", "0" },
      { "export", "--concurrency=65" },
      { "export", "--format", "xml" },
      { "folders", "-o", "out.json" },
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

  -- Files ----------------------------------------------------------------------

  local socket = require "socket"
  local scratch -- a directory of our own for credential and output files

  setup(function()
    local p = assert(io.popen("mktemp -d"))
    scratch = p:read("*l")
    p:close()
    assert.truthy(scratch and scratch:find("^/"), "mktemp -d failed")
  end)

  teardown(function()
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  local slurp = process.read_file

  -- Writes `content` to a new file in the scratch directory with `mode`
  -- (default 600) and returns its path.
  local function write_file(name, content, mode)
    local path = scratch .. "/" .. name
    local f = assert(io.open(path, "wb"))
    f:write(content)
    f:close()
    os.execute("chmod " .. (mode or "600") .. " " .. process.quote(path))
    return path
  end

  local dirs = 0
  -- A new empty directory, so its listing shows exactly what a run left.
  local function new_dir()
    dirs = dirs + 1
    local dir = scratch .. "/d" .. dirs
    os.execute("mkdir " .. process.quote(dir))
    return dir
  end

  local function listing(dir)
    local p = assert(io.popen("ls -A " .. process.quote(dir)))
    local names = {}
    for name in p:lines() do names[#names + 1] = name end
    p:close()
    table.sort(names)
    return names
  end

  describe("--credentials FILE", function()
    local BASIC = "GONG_ACCESS_KEY=test-key\nGONG_ACCESS_KEY_SECRET=test-secret\n"

    local function last_authorization()
      local requests = srv:requests()
      return requests[#requests].headers.authorization
    end

    it("reads the access key and secret from a file only its owner can access", function()
      local path = write_file("basic.env", BASIC)
      local out = ok({ "folders", "--csv", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal(output.folders_csv(lib.folders), out)
      assert.are.equal("Basic dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", last_authorization())
    end)

    it("reads a token, skipping comments and blank lines, trimming spaces, quotes and CRLF line ends", function()
      local path = write_file("token.env", "# Gong, read-only\r\n\r\n   GONG_TOKEN = \"test-token\"  \r\n# end\r\n")
      ok({ "--credentials=" .. path, "tree" }, { GONG_BASE_URL = srv.url })
      assert.are.equal("Bearer test-token", last_authorization())
      path = write_file("token2.env", "GONG_TOKEN='test-token'")
      ok({ "tree", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal("Bearer test-token", last_authorization())
    end)

    it("accepts a file its owner may only read (400)", function()
      local path = write_file("readonly.env", BASIC, "400")
      ok({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
    end)

    it("reads a pipe, so a password manager can hand the credentials over without a file", function()
      local script = 'exec "$@" --credentials <(printf "GONG_TOKEN=%s\\n" test-token)'
      local out, err, status = process.run({ "bash", "-c", script, "bash", process.lua, "bin/gong-library",
                                             "folders", "--csv" }, { GONG_BASE_URL = srv.url })
      assert.are.equal(0, status, err)
      assert.are.equal(output.folders_csv(lib.folders), out)
      assert.are.equal("Bearer test-token", last_authorization())
    end)

    it("takes the file from GONG_CREDENTIALS_FILE, and --credentials over it", function()
      local good = write_file("env-named.env", "GONG_TOKEN=test-token\n")
      ok({ "folders" }, { GONG_BASE_URL = srv.url, GONG_CREDENTIALS_FILE = good })
      assert.are.equal("Bearer test-token", last_authorization())
      ok({ "folders", "--credentials", good },
         { GONG_BASE_URL = srv.url, GONG_CREDENTIALS_FILE = scratch .. "/no-such-file" })
    end)

    it("uses the file's credentials instead of the environment's, all of them", function()
      local token_file = write_file("wins.env", "GONG_TOKEN=test-token\n")
      ok({ "folders", "--credentials", token_file },
         basic_env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.are.equal("Bearer test-token", last_authorization())
      -- A wrong file is not rescued by good credentials in the environment.
      local wrong = write_file("wrong.env", "GONG_ACCESS_KEY=test-key\nGONG_ACCESS_KEY_SECRET=wrong-secret-value\n")
      local err = failed({ "folders", "--credentials", wrong }, { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.truthy(err:find("HTTP 401", 1, true), err)
    end)

    it("takes GONG_BASE_URL from the file over the environment, and --base-url over both", function()
      local path = write_file("url.env", "GONG_TOKEN=test-token\nGONG_BASE_URL=" .. srv.url .. "\n")
      ok({ "folders", "--credentials", path }, { GONG_BASE_URL = "http://127.0.0.1:1" })
      path = write_file("bad-url.env", "GONG_TOKEN=test-token\nGONG_BASE_URL=http://127.0.0.1:1\n")
      ok({ "folders", "--credentials", path, "--base-url", srv.url }, {})
      local err = failed({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("127.0.0.1 port 1", 1, true), err)
    end)

    for _, mode in ipairs({ "640", "604", "660", "620", "601", "644" }) do
      it("refuses a file with mode " .. mode .. ", naming it and the fix, before any request", function()
        local path = write_file("mode" .. mode .. ".env", BASIC, mode)
        local err = failed({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
        assert.truthy(err:find("credentials file " .. path .. " is accessible by group or others", 1, true), err)
        assert.truthy(err:find("chmod 600 " .. path .. "\n", 1, true), err)
        assert.are.equal(0, #srv:requests())
      end)
    end

    it("quotes the file name in the suggested chmod when the shell needs it", function()
      local path = write_file("it's mine.env", BASIC, "644")
      local err = failed({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("chmod 600 '" .. scratch .. "/it'\\''s mine.env'\n", 1, true), err)
    end)

    it("judges the file a symlink points to, not the link", function()
      local private = write_file("target.env", BASIC)
      local link = scratch .. "/link.env"
      os.execute("ln -s " .. process.quote(private) .. " " .. process.quote(link))
      ok({ "folders", "--credentials", link }, { GONG_BASE_URL = srv.url })
      os.execute("chmod 644 " .. process.quote(private))
      local err = failed({ "folders", "--credentials", link }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("is accessible by group or others", 1, true), err)
    end)

    it("fails naming the file when it is missing or not a regular file", function()
      local missing = scratch .. "/missing.env"
      local err = failed({ "folders", "--credentials", missing }, { GONG_BASE_URL = srv.url })
      assert.are.equal("gong-library: cannot read credentials file " .. missing .. ": No such file or directory\n", err)
      err = failed({ "folders", "--credentials", new_dir() }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("is neither a regular file nor a pipe", 1, true), err)
      assert.are.equal(0, #srv:requests())
    end)

    -- Contents that are refused: the message names the file and the line but
    -- never shows what a line holds (the run checks no secret is printed).
    local malformed = {
      { "GONG_TOKEN=test-token\n\nwrong-secret-value\n", "line 3: expected NAME=VALUE" },
      { "# mine\nGONG_SECRET=wrong-secret-value\n", "line 2: unknown name; expected GONG_ACCESS_KEY" },
      { "ABCDEF123456=wrong-secret-value\n", "line 1: unknown name" },
      { "GONG_TOKEN=test-token\nGONG_TOKEN=wrong-secret-value\n", "line 2: GONG_TOKEN is set twice" },
      { "GONG_TOKEN=\n", "line 1: GONG_TOKEN is empty" },
      { "GONG_TOKEN=\"\"\n", "line 1: GONG_TOKEN is empty" },
      { "GONG_ACCESS_KEY=test-key\n", "sets GONG_ACCESS_KEY but not GONG_ACCESS_KEY_SECRET" },
      { "GONG_ACCESS_KEY_SECRET=wrong-secret-value\n", "sets GONG_ACCESS_KEY_SECRET but not GONG_ACCESS_KEY" },
      { "GONG_TOKEN=test-token\n" .. BASIC, "sets both GONG_TOKEN and GONG_ACCESS_KEY" },
      { "# nothing here\n\nGONG_BASE_URL=http://127.0.0.1:1\n", "has no credentials" },
      { "", "has no credentials" },
    }
    for i, case in ipairs(malformed) do
      it("refuses a malformed file with the line and what is wrong: " .. case[2], function()
        local path = write_file("malformed" .. i .. ".env", case[1])
        local err = failed({ "folders", "--credentials", path }, basic_env())
        assert.truthy(err:find("credentials file " .. path, 1, true), err)
        assert.truthy(err:find(case[2], 1, true), err)
        assert.is_nil(err:find("ABCDEF123456", 1, true), err)
        assert.are.equal(0, #srv:requests())
      end)
    end

    it("never prints a credential read from the file, even one typed where a folder id goes", function()
      local path = write_file("redact.env", BASIC)
      local err = failed({ "calls", creds.secret, "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("/library/folders/[redacted]/calls", 1, true), err)
    end)
  end)

  describe("export", function()
    -- A library of 10 folders: at the API's 3 requests per second a whole
    -- export takes about 3 seconds, and it still has nesting, duplicate
    -- names and the folder id that needs percent-encoding.
    local small, small_lib

    setup(function()
      small = fake.start({ folders = 10 })
      small_lib = fake.library({ folders = 10 })
    end)

    teardown(function()
      if small then small:stop() end
    end)

    before_each(function()
      small:reset()
    end)

    local function env(extra)
      local e = basic_env({ GONG_BASE_URL = small.url })
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    -- What the export must contain: the fake library's tree, with calls.
    local function expected()
      local t = tree.build(small_lib.folders)
      for n in t:walk() do n.calls = small_lib.calls[n.id] or {} end
      return t
    end

    local function total_calls()
      local n = 0
      for _, f in ipairs(small_lib.folders) do n = n + #(small_lib.calls[f.id] or {}) end
      return n
    end

    local function a_folder_with_calls()
      for _, f in ipairs(small_lib.folders) do
        if #(small_lib.calls[f.id] or {}) >= 3 and f.id:find("^%d+$") then return f end
      end
      error("the small fake library has no such folder")
    end

    -- Every folder of a decoded JSON export, by id, with its depth.
    local function flatten(roots)
      local by_id, stack = {}, {}
      for i = #roots, 1, -1 do stack[#stack + 1] = { roots[i], 0 } end
      while #stack > 0 do
        local f, depth = stack[#stack][1], stack[#stack][2]
        stack[#stack] = nil
        by_id[f.id] = f
        f.depth = depth
        for i = #f.children, 1, -1 do stack[#stack + 1] = { f.children[i], depth + 1 } end
      end
      return by_id
    end

    it("writes the whole library as nested JSON on stdout, every folder with every call of its own", function()
      local out = ok({ "export" }, env())
      assert.are.equal(output.export_json(expected()), out)
      local by_id = flatten(cjson.decode(out))
      local folders, calls = 0, 0
      for _, f in ipairs(small_lib.folders) do
        local got = by_id[f.id]
        assert.truthy(got, f.id)
        folders = folders + 1
        local want = small_lib.calls[f.id] or {}
        assert.are.equal(#want, #got.calls, f.id)
        for i, call in ipairs(want) do assert.are.equal(call.callId, got.calls[i].callId) end
        calls = calls + #got.calls
      end
      assert.are.equal(#small_lib.folders, folders)
      assert.are.equal(total_calls(), calls)
      assert.is_nil(out:find('"duration": %d+%.0[,\n]'), "an integer was printed with a fraction")
      assert.are.equal(#small_lib.folders + 1, #small:requests(), "one request for the folders, one per folder")
    end)

    it("writes one JSON object per line with --format ndjson, each folder followed by its calls", function()
      local out = ok({ "export", "--format", "ndjson" }, env())
      assert.are.equal(output.export_ndjson(expected()), out)
      local folders, calls, current, paths = 0, 0, nil, {}
      for _, line in ipairs(lines_of(out)) do
        local r = cjson.decode(line)
        if r.type == "folder" then
          folders = folders + 1
          current = r
          assert.are.equal(#(small_lib.calls[r.id] or {}), r.callCount, r.id)
          paths[r.id] = r.path
          if r.depth == 0 then
            assert.are.equal(r.name, r.path)
          else
            assert.are.equal(paths[r.parentFolderId] .. "/" .. r.name, r.path, "a parent comes before its children")
          end
        else
          assert.are.equal("call", r.type)
          assert.are.equal(current.id, r.folderId)
          calls = calls + 1
        end
      end
      assert.are.equal(#small_lib.folders, folders)
      assert.are.equal(total_calls(), calls)
    end)

    it("only exports one workspace with --workspace", function()
      local ws = small_lib.workspaces[2].id
      local out = ok({ "export", "--workspace", ws, "--format=ndjson" }, env())
      local want = 0
      for _, f in ipairs(small_lib.folders) do
        if f.workspaceId == ws then want = want + 1 end
      end
      assert.truthy(want > 0)
      assert.are.equal(want, select(2, out:gsub('{"type":"folder"', "")))
      assert.are.equal("workspaceId=" .. ws, small:requests()[1].query)
      assert.are.equal("[]\n", ok({ "export", "--workspace", "none" }, env()))
      assert.are.equal("", ok({ "export", "--workspace", "none", "--format", "ndjson" }, env()))
    end)

    it("writes FILE with -o only once complete, replacing what was there and leaving no temporary file", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n", "644")
      assert.are.equal("", ok({ "export", "-o", path }, env()))
      assert.are.equal(output.export_json(expected()), slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
    end)

    it("leaves an existing FILE as it was, and no temporary file, when the export fails", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n")
      local err = failed({ "export", "-o", path }, env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.truthy(err:find("HTTP 401", 1, true), err)
      assert.are.equal("old\n", slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
      failed({ "export", "-o", dir .. "/new.json" }, env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.are.same({ "lib.json" }, listing(dir), "no FILE is created by a failed export")
    end)

    it("fails before any request when FILE cannot be written", function()
      local err = failed({ "export", "-o", scratch .. "/no/such/dir/lib.json" }, env())
      assert.truthy(err:find("cannot write " .. scratch .. "/no/such/dir/lib.json: ", 1, true), err)
      assert.truthy(err:find("No such file or directory", 1, true), err)
      assert.are.equal(0, #small:requests())
    end)

    it("still writes the other folders when one folder's calls fail, warns naming it, and exits 1", function()
      local victim = a_folder_with_calls()
      small:faults({ { path = "/library/folders/" .. victim.id .. "/calls", status = 404, times = -1 } })
      local dir = new_dir()
      local out, err, status = run({ "export", "-o", dir .. "/lib.json" }, env())
      assert.are.equal(1, status, err)
      assert.are.equal("", out)
      assert.truthy(err:find("^gong%-library: warning: folder " .. victim.id
        .. ": HTTP 404 on GET /library/folders/" .. victim.id .. "/calls: [^\n]*\n$"), err)
      local written = slurp(dir .. "/lib.json")
      assert.truthy(written, "the export was written")
      local by_id = flatten(cjson.decode(written))
      for _, f in ipairs(small_lib.folders) do
        local got = assert(by_id[f.id], f.id)
        if f.id == victim.id then
          assert.is_nil(got.calls)
          assert.truthy(got.error:find("^HTTP 404 on GET "), got.error)
        else
          assert.are.equal(#(small_lib.calls[f.id] or {}), #got.calls, f.id)
          assert.is_nil(got.error)
        end
      end
      assert.are.same({ "lib.json" }, listing(dir))
    end)

    it("writes nothing with --strict when a folder's calls fail", function()
      local victim = a_folder_with_calls()
      small:faults({ { path = "/library/folders/" .. victim.id .. "/calls", status = 404, times = -1 } })
      local dir = new_dir()
      local err = failed({ "export", "--strict", "-o", dir .. "/lib.json" }, env())
      assert.truthy(err:find("HTTP 404 on GET /library/folders/" .. victim.id .. "/calls", 1, true), err)
      assert.are.same({}, listing(dir))
    end)

    it("shows progress on stderr with GONG_PROGRESS=1, redrawn in place and cleared at the end", function()
      local dir = new_dir()
      local out, err, status = run({ "export", "-o", dir .. "/lib.json" }, env({ GONG_PROGRESS = "1" }))
      assert.are.equal(0, status, err)
      assert.are.equal("", out)
      assert.is_nil(err:find("\n", 1, true), "progress lines are redrawn, never scrolled")
      local frames = {}
      for frame in err:gmatch("\r([^\r]*)") do frames[#frames + 1] = frame end
      assert.are.equal("listing folders...", frames[1])
      assert.truthy(frames[#frames - 1]:find("^ +$"), "the last line drawn is blanked out")
      assert.are.equal("", frames[#frames], "and the cursor is back at the start of the line")
      local n = #small_lib.folders
      for i = 1, n do
        local frame = frames[i + 1]:gsub(" +$", "")
        local done, total, calls = frame:match("^(%d+)/(%d+) folders, (%d+) calls")
        assert.are.equal(i, tonumber(done), frame)
        assert.are.equal(n, tonumber(total), frame)
        assert.truthy(frame == done .. "/" .. total .. " folders, " .. calls .. " calls"
          or frame:find(", %d+%.%d req/s, ETA %d+:%d%d:%d%d$"), frame)
        if i == n then assert.are.equal(total_calls(), tonumber(calls)) end
      end
      assert.truthy(err:find(" req/s, ETA ", 1, true), "an export over a second long shows rate and ETA")
      assert.are.equal(n + 3, #frames)
    end)

    -- script(1) runs the command on a pseudo-terminal; its output is what
    -- the terminal would show (stdout and stderr together).
    local function on_terminal(args, extra)
      local words = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do words[#words + 1] = a end
      for i, w in ipairs(words) do words[i] = process.quote(w) end
      local e = env(extra)
      e.GONG_PROGRESS = e.GONG_PROGRESS or ""
      return process.run({ "sh", "-c", 'exec script -qec "$1" /dev/null </dev/null', "sh",
                           table.concat(words, " ") }, e)
    end

    it("shows progress when stderr is a terminal, and not with GONG_PROGRESS=0", function()
      local ws = small_lib.workspaces[2].id
      local dir = new_dir()
      local out, err, status = on_terminal({ "export", "--workspace", ws, "-o", dir .. "/a.json" })
      assert.are.equal(0, status, err)
      assert.truthy(out:find("\r1/1 folders, %d+ calls"), out)
      out, err, status = on_terminal({ "export", "--workspace", ws, "-o", dir .. "/b.json" }, { GONG_PROGRESS = "0" })
      assert.are.equal(0, status, err)
      assert.are.equal("", out)
    end)

    it("fetches --concurrency N folders at once, one at a time with 1", function()
      -- Each folder's calls take 0.3 s to arrive; the folder list does not wait.
      local function starts(concurrency)
        small:reset()
        small:faults({ { path = "/library/folders/", delay = 0.3, times = -1 } })
        ok({ "export", "--concurrency", concurrency, "--format", "ndjson" }, env())
        local times = {}
        for _, r in ipairs(small:requests()) do
          if r.path:find("/calls$") then times[#times + 1] = r.time end
        end
        table.sort(times)
        assert.are.equal(#small_lib.folders, #times)
        local shortest = math.huge
        for i = 2, #times do shortest = math.min(shortest, times[i] - times[i - 1]) end
        return shortest
      end
      assert.truthy(starts("1") >= 0.25, "with 1, each folder starts after the previous one answered")
      assert.truthy(starts("3") < 0.1, "with 3, folders start together (as far as the rate limit allows)")
    end)

    -- Starts the program in the background: returns its pid and a function
    -- that waits for it and returns stdout, stderr and the exit status.
    local function spawn(args, extra)
      local words = { "env", "-u", "GONG_ACCESS_KEY", "-u", "GONG_ACCESS_KEY_SECRET", "-u", "GONG_TOKEN",
                      "LUA_PATH=" .. process.lua_path, "LUA_CPATH=" .. process.lua_cpath,
                      "GONG_PROGRESS=", "GONG_CREDENTIALS_FILE=" }
      for k, v in pairs(env(extra)) do words[#words + 1] = k .. "=" .. v end
      words[#words + 1] = process.lua
      words[#words + 1] = "bin/gong-library"
      for _, a in ipairs(args) do words[#words + 1] = a end
      for i, w in ipairs(words) do words[i] = process.quote(w) end
      local errfile = os.tmpname()
      -- sh prints its pid, then becomes the program, which keeps that pid.
      local p = assert(io.popen("sh -c 'echo $$; exec \"$@\"' sh " .. table.concat(words, " ")
        .. " 2>" .. errfile .. "; echo \"exit:$?\"", "r"))
      local pid = assert(tonumber(p:read("*l")))
      return pid, function()
        local rest = p:read("*a")
        p:close()
        local err = slurp(errfile)
        os.remove(errfile)
        return rest:gsub("exit:%d+\n$", ""), err, tonumber(rest:match("exit:(%d+)\n$"))
      end
    end

    -- Waits until the export is under way: folder calls requested and the
    -- temporary file there to be cleaned up.
    local function wait_for_export(dir)
      local deadline = socket.gettime() + 10
      while socket.gettime() < deadline do
        local names = listing(dir)
        if #small:requests() >= 3 and names[#names] and names[#names]:find("%.tmp%-%x+$") then return end
        socket.sleep(0.05)
      end
      error("the export did not start")
    end

    it("stops on Ctrl-C with status 130 and 'interrupted', leaving FILE as it was and no temporary file", function()
      small:faults({ { delay = 0.2, times = -1 } })
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n")
      local pid, finish = spawn({ "export", "-o", path }, { GONG_PROGRESS = "0" })
      wait_for_export(dir)
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      assert.are.equal(130, status, err)
      assert.are.equal("gong-library: interrupted\n", err)
      assert.are.equal("", out)
      assert.are.equal("old\n", slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
      assert.truthy(#small:requests() < #small_lib.folders + 1, "the export stopped early")
    end)

    it("clears the progress line before saying it was interrupted, and creates no FILE", function()
      small:faults({ { delay = 0.2, times = -1 } })
      local dir = new_dir()
      local pid, finish = spawn({ "export", "--format", "ndjson", "-o", dir .. "/lib.ndjson" }, { GONG_PROGRESS = "1" })
      wait_for_export(dir)
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      assert.are.equal(130, status, err)
      assert.are.equal("", out)
      assert.truthy(err:find("\r +\rgong%-library: interrupted\n$"), err)
      assert.are.same({}, listing(dir))
    end)
  end)
end)
