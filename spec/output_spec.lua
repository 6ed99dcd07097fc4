-- gong.output: what each output format of gong-library looks like, as exact
-- strings rendered from hand-made folder lists and trees built from them by
-- gong.tree (no server, no process).

local output = require "gong.output"
local tree = require "gong.tree"
local cjson = require("cjson").new()
local text_support = require "spec.support.text"

local lines_of, assert_no_trailing_spaces = text_support.lines_of, text_support.assert_no_trailing_spaces

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

-- Sales (3) with Discovery (5, with Openers 2) and Objections (1), and Support (1):
-- subtree totals 11 and 7.
local function sample_tree()
  return tree.build({
    { id = "1", name = "Sales", callCount = 3 },
    { id = "2", name = "Discovery", parentFolderId = "1", callCount = 5 },
    { id = "4", name = "Openers", parentFolderId = "2", callCount = 2 },
    { id = "3", name = "Objections", parentFolderId = "1", callCount = 1 },
    { id = "5", name = "Support", callCount = 1 },
  })
end

describe("gong.output", function()
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
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        output.tree_text(sample_tree()))
    end)

    it("hangs the children of a last child under blank space, not under a rule", function()
      local t = tree.build({
        { id = "a", name = "A", callCount = 0 },
        { id = "b", name = "B", parentFolderId = "a", callCount = 0 },
        { id = "c", name = "C", parentFolderId = "b", callCount = 1 },
      })
      assert.are.equal(
        "A  (0 calls, 1 in subtree)  [a]\n" ..
        "└── B  (0 calls, 1 in subtree)  [b]\n" ..
        "    └── C  (1 call)  [c]\n" ..
        "3 folders, 1 call\n",
        output.tree_text(t))
    end)

    it("prints (no folders) for an empty tree", function()
      assert.are.equal("(no folders)\n", output.tree_text(tree.build({})))
    end)

    it("names a folder without a name (unnamed) and cleans control characters", function()
      local t = tree.build({ { id = "x", callCount = 1 }, { id = "y", name = "a\nb", callCount = 0 } })
      assert.are.equal("(unnamed)  (1 call)  [x]\na b  (0 calls)  [y]\n2 folders, 1 call\n", output.tree_text(t))
    end)
  end)

  describe("tree_json()", function()
    it("nests each folder's contract fields, total_calls and children, with no parent back-references", function()
      local t = sample_tree()
      -- The tree's back-references must not leak into the JSON.
      assert.are.equal(t.roots[1], t.roots[1].children[1].parent)
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
        '    "name": "Support",\n' ..
        '    "callCount": 1,\n' ..
        '    "total_calls": 1,\n' ..
        '    "children": []\n' ..
        '  }\n' ..
        ']\n',
        s)
      assert.are.equal("Openers", cjson.decode(s)[1].children[1].children[1].name)
    end)

    it("writes [] for an empty tree", function()
      assert.are.equal("[]\n", output.tree_json(tree.build({})))
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
        "5,Support,,,1,,,0,1\r\n",
        output.tree_csv(sample_tree()))
    end)
  end)

  describe("tree renderers on a deep chain", function()
    it("never recurse, so server data deeper than Lua's call stack still renders", function()
      local depth = 200000
      local chain = { { id = "1", name = "n", callCount = 1 } }
      for i = 2, depth do
        chain[i] = { id = tostring(i), name = "n", parentFolderId = tostring(i - 1), callCount = 1 }
      end
      local t = tree.build(chain)
      local s = output.tree_csv(t)
      assert.are.equal(depth + 1, select(2, s:gsub("\r\n", "")))
      assert.truthy(s:find("\r\n200000,n,,199999,1,,,199999,1\r\n$"))
    end)
  end)

  -- A library as client:library() returns it: the tree, each node with
  -- `calls`, or `error` when its calls could not be fetched.
  local function sample_library()
    local failure = setmetatable({ message = "HTTP 404 on GET /x" }, {
      __tostring = function(e) return "gong: " .. e.message end,
    })
    local t = tree.build({
      { id = "1", name = "Sales", callCount = 1 },
      { id = "2", name = "Demos", parentFolderId = "1", callCount = 2 },
      { id = "3", name = "Trials", callCount = 0 },
    })
    t:get("1").calls = { { callId = "c1", title = "Kick-off", duration = 60.0, workspaceId = "not a contract field" } }
    t:get("2").error = failure
    t:get("3").calls = {}
    return t
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
        '    "name": "Trials",\n' ..
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
      assert.are.equal("[]\n", output.export_json(tree.build({})))
    end)
  end)

  describe("export_ndjson()", function()
    it("writes one line per folder, followed by a line per call, with path and depth", function()
      assert.are.equal(
        '{"type":"folder","id":"1","name":"Sales","callCount":1,"path":"Sales","depth":0,"total_calls":3}\n' ..
        '{"type":"call","folderId":"1","callId":"c1","title":"Kick-off","duration":60}\n' ..
        '{"type":"folder","id":"2","name":"Demos","parentFolderId":"1","callCount":2,"path":"Sales/Demos",' ..
          '"depth":1,"total_calls":2,"error":"gong: HTTP 404 on GET /x"}\n' ..
        '{"type":"folder","id":"3","name":"Trials","callCount":0,"path":"Trials","depth":0,"total_calls":0}\n',
        output.export_ndjson(sample_library()))
      local text = function(e) return "failed: " .. e.message end
      assert.truthy(output.export_ndjson(sample_library(), text):find('"error":"failed: HTTP 404 on GET /x"}', 1, true))
    end)

    it("keeps each record on one line, whatever the names hold", function()
      local lib = tree.build({ { id = "x\ny", name = "a\nb\r\"c\"" } })
      lib.roots[1].calls = { { callId = "c", title = "line\nbreak" } }
      local s = output.export_ndjson(lib)
      assert.are.equal(2, #lines_of(s))
      assert.are.equal("x\ny", cjson.decode(lines_of(s)[1]).id)
      assert.are.equal("a\nb\r\"c\"", cjson.decode(lines_of(s)[1]).path)
      assert.are.equal("line\nbreak", cjson.decode(lines_of(s)[2]).title)
    end)

    it("writes nothing at all for an empty library", function()
      assert.are.equal("", output.export_ndjson(tree.build({})))
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

describe("gong.output on a terminal", function()
  describe("truncate()", function()
    it("cuts to a number of terminal columns, ending in …, and leaves what fits alone", function()
      assert.are.equal("abc", output.truncate("abc", 3))
      assert.are.equal("ab…", output.truncate("abcd", 3))
      assert.are.equal("日…", output.truncate("日本語", 4), "a wide character does not fit in one column")
      assert.are.equal("Über…", output.truncate("Überprüfung", 5))
      assert.are.equal("…", output.truncate("abc", 1))
    end)
  end)

  describe("folders_table() and calls_table() with a width", function()
    local function widest(s)
      local w = 0
      for _, line in ipairs(lines_of(s)) do w = math.max(w, output.width(line)) end
      return w
    end

    it("narrow NAME so that every line fits, and leave a table that fits as it is", function()
      local s = output.folders_table(FOLDERS, { width = 52 })
      assert.are.equal(52, widest(s))
      assert.are.equal("ID   NAME        PARENT  CALLS  CREATED\n" ..
                       "1    Sales Tra…  -           3  2024-01-02T03:04:05Z\n" ..
                       "22   Überprüfu…  1          12  2024-02-02T03:04:05Z\n" ..
                       "333  Ça marche   22          0  -\n", s)
      assert.are.equal(50, widest(output.folders_table(FOLDERS, { width = 40 })), "NAME keeps 8 columns at least")
      assert.are.equal(output.folders_table(FOLDERS), output.folders_table(FOLDERS, { width = 200 }))
    end)

    it("narrow TITLE first, then URL, on an 80-column terminal", function()
      local calls = {}
      for i = 1, 3 do
        calls[i] = { callId = ("7%018d"):format(i), title = "A rather long title of a call number " .. i,
                     started = "2024-01-01T10:00:00Z", duration = 61,
                     url = ("https://app.gong.io/call?id=7%018d"):format(i) }
      end
      local s = output.calls_table(calls, { width = 80 })
      assert.are.equal(80, widest(s))
      assert.are.equal("7000000000000000001  A rather lo…  2024-01-01T10:00:00Z   0:01:01  https://app.…",
                       lines_of(s)[2])
    end)
  end)

  describe("tree renderers with a depth", function()
    it("leave out deeper folders, saying how many subfolders each folder at the limit has", function()
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree; 2 subfolders not shown)  [1]\n" ..
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        output.tree_text(sample_tree(), { depth = 0 }))
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree)  [1]\n" ..
        "├── Discovery  (5 calls, 7 in subtree; 1 subfolder not shown)  [2]\n" ..
        "└── Objections  (1 call)  [3]\n" ..
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        output.tree_text(sample_tree(), { depth = 1 }))
      assert.are.equal(output.tree_text(sample_tree()), output.tree_text(sample_tree(), { depth = 2 }))
      local rows = lines_of(output.tree_csv(sample_tree(), { depth = 0 }))
      assert.are.same({ "1,Sales,,,3,,,0,11\r", "5,Support,,,1,,,0,1\r" }, { rows[2], rows[3] })
      local roots = cjson.decode(output.tree_json(sample_tree(), { depth = 0 }))
      assert.are.same({}, roots[1].children)
      assert.are.equal(11, roots[1].total_calls)
    end)
  end)
end)
