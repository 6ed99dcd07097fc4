-- What gong-library's listings look like, as exact strings rendered from
-- hand-made folders and calls (no server, no process): aligned tables
-- (gong.cli.tables), CSV (gong.cli.csv), JSON (gong.cli.json_records), and
-- gong.cli.render, which picks one by kind and format.

local csv = require "gong.cli.csv"
local json_records = require "gong.cli.json_records"
local render = require("gong.cli.render").render
local tables = require "gong.cli.tables"
local text = require "gong.cli.text"
local transcripts = require "gong.cli.transcripts"
local tree = require "gong.tree"
local trees = require "gong.cli.trees"
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

describe("gong.cli.tables", function()
  describe("folders()", function()
    it("aligns columns by display width, right-aligns CALLS and shows - for a top-level parent", function()
      assert.are.equal(
        "ID   NAME            PARENT  CALLS  CREATED\n" ..
        "1    Sales Training  -           3  2024-01-02T03:04:05Z\n" ..
        "22   Überprüfung ✓   1          12  2024-02-02T03:04:05Z\n" ..
        "333  Ça marche       22          0  -\n",
        tables.folders(FOLDERS))
    end)

    it("leaves no trailing spaces, even when the last column is empty or short", function()
      local s = tables.folders({
        { id = "1", name = "a", created = "2024-01-01T00:00:00Z" },
        { id = "2", name = "a much longer name" },
      })
      assert_no_trailing_spaces(s)
    end)

    it("shows control characters as spaces, so a name cannot break the layout or drive the terminal", function()
      local s = tables.folders({ { id = "1", name = "two\nlines\27[31m red\r" } })
      assert.are.equal("ID  NAME                 PARENT\n" ..
                       "1   two lines [31m red   -\n", s)
      assert.is_nil(s:find("\27", 1, true))
    end)

    it("prints (no folders) for an empty list", function()
      assert.are.equal("(no folders)\n", tables.folders({}))
    end)
  end)

  describe("calls()", function()
    it("shows CALL ID, TITLE, STARTED, DURATION as h:mm:ss (right-aligned) and URL", function()
      assert.are.equal(
        "CALL ID  TITLE            STARTED               DURATION  URL\n" ..
        "c1       Acme — Kick-off  2024-01-01T10:00:00Z   1:02:05  https://app.gong.io/call?id=c1\n" ..
        "c22      Short            -                      0:01:00  https://app.gong.io/call?id=c22\n" ..
        "c333     -                2024-03-01T09:00:00Z  10:00:00  -\n",
        tables.calls(CALLS))
    end)

    it("prints (no calls) for an empty list", function()
      assert.are.equal("(no calls)\n", tables.calls({}))
    end)
  end)

  describe("folders() and calls() with a width", function()
    local function widest(s)
      local w = 0
      for _, line in ipairs(lines_of(s)) do w = math.max(w, text.width(line)) end
      return w
    end

    it("narrow NAME so that every line fits, and leave a table that fits as it is", function()
      local s = tables.folders(FOLDERS, { width = 54 })
      assert.are.equal(54, widest(s))
      assert.are.equal("ID   NAME          PARENT  CALLS  CREATED\n" ..
                       "1    Sales Train…  -           3  2024-01-02T03:04:05Z\n" ..
                       "22   Überprüfung…  1          12  2024-02-02T03:04:05Z\n" ..
                       "333  Ça marche     22          0  -\n", s)
      assert.are.equal(tables.folders(FOLDERS), tables.folders(FOLDERS, { width = 200 }))
      assert.are.equal(tables.folders(FOLDERS), tables.folders(FOLDERS, { width = 56 }), "exactly as wide")
    end)

    it("leave out CREATED, then PARENT, once NAME is down to 12 columns, and say so", function()
      assert.are.equal("ID   NAME            PARENT  CALLS\n" ..
                       "1    Sales Training  -           3\n" ..
                       "22   Überprüfung ✓   1          12\n" ..
                       "333  Ça marche       22          0\n" ..
                       "(to fit 53 columns, CREATED is not shown; --format\ncsv shows it)\n",
                       tables.folders(FOLDERS, { width = 53 }))
      local s = tables.folders(FOLDERS, { width = 28 })
      assert.are.equal("ID   NAME            CALLS\n" ..
                       "1    Sales Training      3\n" ..
                       "22   Überprüfung ✓      12\n" ..
                       "333  Ça marche           0\n" ..
                       "(to fit 28 columns, CREATED\nand PARENT are not shown;\n--format csv shows them)\n", s)
    end)

    it("cut whole lines with … only when even the id and the name do not fit", function()
      local s = tables.folders(FOLDERS, { width = 12 })
      assert.are.equal(12, widest(s))
      assert.are.equal("1    Sales …", lines_of(s)[2])
    end)

    it("leave URL out rather than cut it, and give TITLE the room, on an 80-column terminal", function()
      local calls = {}
      for i = 1, 3 do
        calls[i] = { callId = ("7%018d"):format(i), title = "A rather long title of a call number " .. i,
                     started = "2024-01-01T10:00:00Z", duration = 61,
                     url = ("https://app.gong.io/call?id=7%018d"):format(i) }
      end
      local lines = lines_of(tables.calls(calls, { width = 80 }))
      assert.are.same({
        "CALL ID              TITLE                        STARTED               DURATION",
        "7000000000000000001  A rather long title of a c…  2024-01-01T10:00:00Z   0:01:01",
        "7000000000000000002  A rather long title of a c…  2024-01-01T10:00:00Z   0:01:01",
        "7000000000000000003  A rather long title of a c…  2024-01-01T10:00:00Z   0:01:01",
        "(to fit 80 columns, URL is not shown; --format csv shows it)",
      }, lines)
    end)

    it("with details, cut the widest of TITLE and the people first, and keep them longest", function()
      local calls = {}
      for i = 1, 2 do
        calls[i] = { callId = ("7%018d"):format(i), title = "A rather long title of call " .. i,
                     started = "2024-01-01T10:00:00Z", duration = 61, primaryUserId = "u1",
                     url = ("https://app.gong.io/call?id=7%018d"):format(i),
                     details = { parties = { { userId = "u1", name = "Ana Lima" },
                                             { name = "Dmitri Ivanov" }, { emailAddress = "grace@example.com" } } } }
      end
      local lines = lines_of(tables.calls(calls, { width = 80, details = true }))
      assert.are.same({
        "CALL ID              TITLE              DURATION  PRIMARY USER  SPEAKERS",
        "7000000000000000001  A rather long ti…   0:01:01  Ana Lima      Ana Lima, Dmitr…",
        "7000000000000000002  A rather long ti…   0:01:01  Ana Lima      Ana Lima, Dmitr…",
        "(to fit 80 columns, URL and STARTED are not shown; --format csv shows them)",
      }, lines)
      lines = lines_of(tables.calls(calls, { width = 40, details = true }))
      assert.are.equal("7000000000000000001  A rather long titl…", lines[2])
      assert.are.equal("(to fit 40 columns, URL, STARTED,", lines[4])
    end)

    it("leave DESCRIPTION out of workspaces when NAME and it do not fit", function()
      local ws = { { id = "5840390422153820931", name = "Sales", description = "New business, from start to end" } }
      assert.are.equal("ID                   NAME   DESCRIPTION\n" ..
                       "5840390422153820931  Sales  New business, from…\n", tables.workspaces(ws, { width = 47 }))
      assert.are.equal("ID                   NAME   DESCRIPTION\n" ..
                       "5840390422153820931  Sales  New busines…\n", tables.workspaces(ws, { width = 40 }))
      assert.are.equal("ID                   NAME\n" ..
                       "5840390422153820931  Sales\n" ..
                       "(to fit 39 columns, DESCRIPTION is not\nshown; --format csv shows it)\n",
                       tables.workspaces(ws, { width = 39 }))
    end)
  end)
end)

describe("gong.cli.csv", function()
  describe("folders() and calls()", function()
    it("write RFC 4180: a header of the contract's fields, then the public API's own, CRLF after each", function()
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created,updated\r\n" ..
        "1,Sales Training,,,3,u1,2024-01-02T03:04:05Z,\r\n" ..
        "22,Überprüfung ✓,,1,12,,2024-02-02T03:04:05Z,\r\n" ..
        "333,Ça marche,,22,0,,,\r\n",
        csv.folders(FOLDERS))
    end)

    it("quote fields containing a quote, comma, CR or LF, doubling the quotes", function()
      local s = csv.folders({
        { id = "1", name = 'Say "hi"', description = "one, two" },
        { id = "2", name = "line\nbreak", description = "carriage\rreturn" },
        { id = "3", name = "plain", description = "'single' ok" },
      })
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created,updated\r\n" ..
        '1,"Say ""hi""","one, two",,,,,\r\n' ..
        '2,"line\nbreak","carriage\rreturn",,,,,\r\n' ..
        "3,plain,'single' ok,,,,,\r\n",
        s)
    end)

    it("keep durations in seconds, integral ones without a fraction", function()
      assert.are.equal(
        "callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy,note,snippet\r\n" ..
        "c1,Acme — Kick-off,https://app.gong.io/call?id=c1,2024-01-01T10:00:00Z,3725.4,,,,,\r\n" ..
        "c22,Short,https://app.gong.io/call?id=c22,,59.5,,,,,\r\n" ..
        "c333,,,2024-03-01T09:00:00Z,36000,,,,,\r\n",
        csv.calls(CALLS))
    end)

    it("write only the header row for an empty list", function()
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created,updated\r\n",
                       csv.folders({}))
      assert.are.equal("callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy,note,snippet\r\n",
                       csv.calls({}))
    end)
  end)
end)

describe("gong.cli.json_records", function()
  describe("folders() and calls()", function()
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
        json_records.folders(FOLDERS))
    end)

    it("write [] for an empty list, never {}", function()
      assert.are.equal("[]\n", json_records.folders({}))
      assert.are.equal("[]\n", json_records.calls({}))
    end)

    it("write 12, not 12.0, for an integral float", function()
      assert.are.equal('[\n  {\n    "callCount": 12\n  }\n]\n', json_records.folders({ { callCount = 12.0 } }))
    end)

    it("escape quotes, backslashes and control characters and keep UTF-8 as it is", function()
      local s = json_records.calls({ { callId = "x", title = 'a "b" \\ c\n\t\1 é' } })
      assert.are.equal('[\n  {\n    "callId": "x",\n    "title": "a \\"b\\" \\\\ c\\n\\t\\u0001 é"\n  }\n]\n', s)
      assert.are.equal('a "b" \\ c\n\t\1 é', cjson.decode(s)[1].title)
    end)

    it("leave out values that are not strings, numbers or booleans (such as a decoder's null)", function()
      local s = json_records.folders({ { id = "1", parentFolderId = cjson.null, description = {} } })
      assert.are.equal('[\n  {\n    "id": "1"\n  }\n]\n', s)
    end)

    it("give JSON that a decoder reads back to the same records", function()
      local decoded = cjson.decode(json_records.calls(CALLS))
      assert.are.equal(3, #decoded)
      assert.are.equal(3725.4, decoded[1].duration)
      assert.are.equal("Acme — Kick-off", decoded[1].title)
      assert.is_nil(decoded[3].title)
    end)
  end)
end)

describe("gong.cli.render", function()
  describe("render()", function()
    it("picks the renderer by kind and format", function()
      assert.are.equal(csv.folders(FOLDERS), render("folders", "csv", FOLDERS))
      assert.are.equal(json_records.calls(CALLS), render("calls", "json", CALLS))
      assert.are.equal(trees.text(tree.build(FOLDERS)), render("tree", "table", tree.build(FOLDERS)))
      assert.are.equal(tables.workspaces({}), render("workspaces", "table", {}))
      assert.are.equal(transcripts.json({ { callId = "c1" } }), render("transcripts", "json", { { callId = "c1" } }))
    end)

    it("gives the renderer its options", function()
      assert.are.equal(tables.calls(CALLS, { width = 60 }), render("calls", "table", CALLS, { width = 60 }))
      assert.are_not.equal(tables.calls(CALLS), render("calls", "table", CALLS, { width = 60 }))
      assert.are.equal(trees.csv(tree.build(FOLDERS), { depth = 0 }), render("tree", "csv", tree.build(FOLDERS),
                                                                             { depth = 0 }))
    end)
  end)
end)
