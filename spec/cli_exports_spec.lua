-- gong.cli.exports: what gong-library export writes, the whole library as
-- nested JSON or NDJSON, as exact strings rendered from a hand-made library
-- (no server, no process).

local exports = require "gong.cli.exports"
local json = require "gong.json"
local tree = require "gong.tree"
local cjson = require("cjson").new()
local text_support = require "spec.support.text"

local lines_of = text_support.lines_of

describe("gong.cli.exports", function()
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

  describe("json()", function()
    it("nests folders like gong.cli.trees.json(), each with its calls between total_calls and children, "
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
        exports.json(sample_library()))
    end)

    it("writes a failed folder's error as error_text returns it", function()
      local text = function(e) return "failed: " .. e.message end
      assert.truthy(exports.json(sample_library(), text):find('"error": "failed: HTTP 404 on GET /x",', 1, true))
    end)

    it("writes [] for an empty library", function()
      assert.are.equal("[]\n", exports.json(tree.build({})))
    end)
  end)

  describe("ndjson()", function()
    it("writes one line per folder, followed by a line per call, with path and depth", function()
      assert.are.equal(
        '{"type":"folder","id":"1","name":"Sales","callCount":1,"path":"Sales","depth":0,"total_calls":3}\n' ..
        '{"type":"call","folderId":"1","callId":"c1","title":"Kick-off","duration":60}\n' ..
        '{"type":"folder","id":"2","name":"Demos","parentFolderId":"1","callCount":2,"path":"Sales/Demos",' ..
          '"depth":1,"total_calls":2,"error":"gong: HTTP 404 on GET /x"}\n' ..
        '{"type":"folder","id":"3","name":"Trials","callCount":0,"path":"Trials","depth":0,"total_calls":0}\n',
        exports.ndjson(sample_library()))
      local text = function(e) return "failed: " .. e.message end
      assert.truthy(exports.ndjson(sample_library(), text):find('"error":"failed: HTTP 404 on GET /x"}', 1, true))
    end)

    it("keeps each record on one line, whatever the names hold", function()
      local lib = tree.build({ { id = "x\ny", name = "a\nb\r\"c\"" } })
      lib.roots[1].calls = { { callId = "c", title = "line\nbreak" } }
      local s = exports.ndjson(lib)
      assert.are.equal(2, #lines_of(s))
      assert.are.equal("x\ny", cjson.decode(lines_of(s)[1]).id)
      assert.are.equal("a\nb\r\"c\"", cjson.decode(lines_of(s)[1]).path)
      assert.are.equal("line\nbreak", cjson.decode(lines_of(s)[2]).title)
    end)

    it("writes nothing at all for an empty library", function()
      assert.are.equal("", exports.ndjson(tree.build({})))
    end)
  end)

  describe("write_json() and write_ndjson()", function()
    -- A library whose calls have details and transcripts, a call in two
    -- folders at different depths (sharing its tables), one without either.
    local function with_data()
      local t = tree.build({
        { id = "1", name = "Sales", callCount = 2 },
        { id = "2", name = "Demos", parentFolderId = "1", callCount = 1 },
        { id = "3", name = "Deep", parentFolderId = "2", callCount = 1 },
      })
      local details = { metaData = { id = "c1", title = "Kick-off", duration = 60 }, parties = {} }
      local sentence = { start = 0, ["end"] = 1500, text = "Hi \"there\"\n" }
      local transcript = { { speakerId = "s1", sentences = { sentence } } }
      local c1 = { callId = "c1", title = "Kick-off", details = details, transcript = transcript }
      t:get("1").calls = { c1, { callId = "c2", title = "Bare" } }
      t:get("2").calls = {}
      t:get("3").calls = { { callId = "c1", title = "Kick-off", details = details, transcript = transcript } }
      return t, { details = details, transcript = transcript }
    end

    -- The library without its calls' data, and the data as JSON text in `layout`, by field and call id.
    local function spooled(layout)
      local t, data = with_data()
      for node in t:walk() do
        for _, call in ipairs(node.calls) do call.details, call.transcript = nil, nil end
      end
      local texts = {}
      for field, value in pairs(data) do
        local w = json.writer(layout)
        w:any(value)
        texts[field] = { c1 = w:take() }
      end
      return t, function(call, field) return texts[field][call.callId] end
    end

    it("write the same text as json() and ndjson(), a call at a time", function()
      local whole, pieces = exports.json(with_data()), {}
      exports.write_json(with_data(), function(s) pieces[#pieces + 1] = s end)
      assert.are.equal(whole, table.concat(pieces))
      assert.is_true(#pieces >= 4, "a piece per call, and the rest")
      local lines = {}
      exports.write_ndjson(with_data(), function(s) lines[#lines + 1] = s end)
      assert.are.equal(exports.ndjson(with_data()), table.concat(lines))
      assert.are.equal(#lines_of(exports.ndjson(with_data())), #lines, "a piece per line")
    end)

    it("take the calls' details and transcripts as JSON text from data(call, field), byte for byte", function()
      local t, data = spooled({ indent = true })
      assert.are.equal(exports.json(with_data()), exports.collect(exports.write_json, t, { data = data }))
      t, data = spooled()
      local s = exports.collect(exports.write_ndjson, t, { data = data })
      assert.are.equal(exports.ndjson(with_data()), s)
      local transcripts = select(2, s:gsub('"type":"transcript"', ""))
      assert.are.equal(1, transcripts, "a transcript once, however many folders hold its call")
    end)
  end)
end)
