-- gong.json: the one JSON writer of gong's products. Exact numbers, [] for
-- empty lists, keys in the order written, and a layout over lines or on one.

local json = require "gong.json"
local cjson = require("cjson").new()

local raises_argument = require("spec.support.errors").raises_argument

describe("gong.json", function()
  describe("number()", function()
    it("writes integral values without a fraction, whatever Lua's number subtype", function()
      assert.are.equal("12", json.number(12))
      assert.are.equal("12", json.number(12.0))
      assert.are.equal("-3", json.number(-3))
      assert.are.equal("0", json.number(0))
    end)

    it("writes other values in the shortest form that reads back the same", function()
      assert.are.equal("1830.5", json.number(1830.5))
      assert.are.equal("0.1", json.number(0.1))
      assert.are.equal(1 / 3, tonumber(json.number(1 / 3)))
    end)

    it("returns nil for NaN and infinities, which JSON cannot hold", function()
      assert.is_nil(json.number(0 / 0))
      assert.is_nil(json.number(math.huge))
      assert.is_nil(json.number(-math.huge))
    end)
  end)

  describe("string()", function()
    it("escapes quotes, backslashes and control characters and keeps UTF-8 as it is", function()
      assert.are.equal('"a \\"b\\" \\\\ c\\n\\t\\u0001\\b\\f é"', json.string('a "b" \\ c\n\t\1\b\f é'))
      assert.are.equal('a "b" \\ c\n\t\1 é', cjson.decode(json.string('a "b" \\ c\n\t\1 é')))
    end)
  end)

  describe("present()", function()
    it("counts strings, numbers and booleans, nothing else", function()
      for _, v in ipairs({ "", "x", 0, 1.5, true, false }) do assert.is_true(json.present(v)) end
      for _, v in ipairs({ {}, cjson.null, print }) do assert.is_false(json.present(v)) end
      assert.is_false(json.present(nil))
    end)
  end)

  describe("writer()", function()
    it("lays documents out over lines with indent, two spaces a level, [] and {} when empty", function()
      local w = json.writer({ indent = true })
      w:array()
      w:object()
      w:field("id", "1")
      w:key("list")
      w:array()
      w:close_array()
      w:key("empty")
      w:object()
      w:close_object()
      w:key("nested")
      w:array()
      w:value(1)
      w:value(2.5)
      w:close_array()
      w:close_object()
      w:close_array()
      assert.are.equal('[\n  {\n    "id": "1",\n    "list": [],\n    "empty": {},\n    "nested": [\n      1,\n'
        .. '      2.5\n    ]\n  }\n]', w:take())
    end)

    it("writes everything on one line without indent", function()
      local w = json.writer()
      w:object()
      w:field("type", "folder")
      w:field("n", 12.0)
      w:field("ok", false)
      w:key("xs")
      w:array()
      w:value("a")
      w:value("b")
      w:close_array()
      w:close_object()
      assert.are.equal('{"type":"folder","n":12,"ok":false,"xs":["a","b"]}', w:take())
    end)

    it("writes a record's fields in the order given, leaving out absent ones", function()
      local w = json.writer()
      w:object()
      w:fields({ b = 2, a = "x", c = cjson.null, d = {} }, { "a", "b", "c", "d", "e" })
      w:close_object()
      assert.are.equal('{"a":"x","b":2}', w:take())
    end)

    it("starts afresh after take(), for a document per line", function()
      local w = json.writer()
      w:object()
      w:field("i", 1)
      w:close_object()
      assert.are.equal('{"i":1}', w:take())
      w:object()
      w:field("i", 2)
      w:close_object()
      assert.are.equal('{"i":2}', w:take())
    end)

    it("writes null for NaN and infinities, and raises gong's argument error for what JSON cannot hold", function()
      local w = json.writer()
      w:array()
      w:value(0 / 0)
      w:value(math.huge)
      w:close_array()
      assert.are.equal("[null,null]", w:take())
      raises_argument("gong.json: cannot write a function", w.value, json.writer(), print)
    end)
  end)

  describe("writer():raw()", function()
    it("writes JSON text as the writer would have written the value, at any depth", function()
      local value = { a = { 1, { b = "x\ny" } }, c = {} }
      for _, layout in ipairs({ { indent = true }, {} }) do
        local top = json.writer(layout)
        top:any(value)
        local text = top:take()
        local direct, raw = json.writer(layout), json.writer(layout)
        for _, w in ipairs({ direct, raw }) do
          w:array()
          w:object()
          w:key("k")
        end
        direct:any(value)
        raw:raw(text)
        for _, w in ipairs({ direct, raw }) do
          w:close_object()
          w:close_array()
        end
        assert.are.equal(direct:take(), raw:take())
      end
    end)
  end)

  describe("encode()", function()
    it("writes lists, records, scalars and an empty table as []", function()
      assert.are.equal('[1,"two",true,[]]', json.encode({ 1, "two", true, {} }))
      assert.are.equal('{"a":[1.5]}', json.encode({ a = { 1.5 } }))
      assert.are.equal('"x"', json.encode("x"))
    end)

    it("writes every double so that it reads back the same", function()
      local values = { 1234.5678901234567, 0.1, -2.5e-300, 1e300, 2 ^ 53 + 2, 3, 1 / 3 }
      local back = cjson.decode(json.encode(values))
      for i, v in ipairs(values) do assert.are.equal(v, back[i], ("%.17g"):format(v)) end
    end)

    it("raises gong's argument error for functions, naming the type and no value", function()
      raises_argument("gong.json: cannot write a function", json.encode, { headers = { x = print } })
    end)
  end)

  it("loads and writes without gong.core, as gong.nvim needs before it knows whether the core loads", function()
    local loaded, preload = package.loaded, package.preload
    local saved_json, saved_core = loaded["gong.json"], loaded["gong.core"]
    loaded["gong.json"], loaded["gong.core"] = nil, nil
    preload["gong.core"] = function() error("no gong.core here") end
    local ok, text = pcall(function() return require("gong.json").encode({ a = { 1 } }) end)
    preload["gong.core"] = nil
    loaded["gong.json"], loaded["gong.core"] = saved_json, saved_core
    assert.is_true(ok, text)
    assert.are.equal('{"a":[1]}', text)
  end)
end)
