-- gong.cli.exports: what gong-library export writes, the whole library as
-- nested JSON or NDJSON, as exact strings rendered from a hand-made library
-- (no server, no process).

local exports = require "gong.cli.exports"
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
end)
