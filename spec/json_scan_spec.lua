-- gong.cli.json_scan and the json reader of `export --update` (gong.cli.reuse)
-- built on it: an export read a piece at a time gives what decoding it whole
-- gives, wherever the pieces are cut, and a document that is not an export,
-- or is cut short, is refused without an error raised.

local cjson = require("cjson").new()
local json_scan = require "gong.cli.json_scan"
local reuse = require "gong.cli.reuse"

local process = require "spec.support.process"

describe("export --update's json reader", function()
  local dir, chunk

  setup(function()
    dir = process.tmpdir()
    chunk = json_scan.CHUNK
  end)

  teardown(function()
    json_scan.CHUNK = chunk
    if dir then os.execute("rm -rf " .. process.quote(dir)) end
  end)

  local files = 0
  local function file_of(text)
    files = files + 1
    local path = dir .. "/export" .. files .. ".json"
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
  end

  -- Strings that a scanner could miscount: quotes, backslashes (one ending a
  -- string), brackets and escapes, non-ASCII text.
  local TRICKY = { 'say "hi"', "C:\\path\\", "[{]}", "\\\"", "é 日本 🚀", "\\u0041 not an escape", "" }

  local function call(id, i)
    return {
      callId = id, title = TRICKY[i % #TRICKY + 1], addedToLibraryAt = "2024-05-01T12:00:00Z",
      details = { metaData = { id = id, started = "2024-05-01T11:00:00Z", duration = 60 + i,
                               title = TRICKY[(i + 1) % #TRICKY + 1] },
                  parties = { { name = TRICKY[(i + 2) % #TRICKY + 1] } } },
      transcript = { { speakerId = "s" .. i, sentences = {
        { start = 0, ["end"] = 1000, text = TRICKY[i % #TRICKY + 1] },
        { start = 1000, ["end"] = 2000, text = "[\"]" } } } },
    }
  end

  local document = {
    { id = "1", name = "Root \"one\"", calls = { call("10", 1), call("11", 2) }, children = {
      { id = "2", name = "child [x]", calls = {}, children = {
        { id = "3", name = "deep", calls = { call("12", 3), call("10", 1) }, children = {} } } },
      { id = "4", name = "failed", error = "HTTP 500", children = {} },
    } },
    { id = "5", name = "", calls = { call("13", 4) }, children = {} },
  }

  -- The JSON of `doc`, whose empty calls and children are arrays (cjson makes {} of an empty table).
  local function encode(doc)
    return (cjson.encode(doc):gsub('"calls":{}', '"calls":[]'):gsub('"children":{}', '"children":[]'))
  end

  -- What reading `path` gives, with pieces of `size` bytes.
  local function read(path, size)
    json_scan.CHUNK = size
    local r, count = reuse.read(path, os.time())
    json_scan.CHUNK = chunk
    return r, count
  end

  it("gives what decoding the export whole gives, cut into pieces of any size", function()
    local text = encode(document)
    local pretty = text:gsub(",", ",\n  "):gsub(":", " : ")
    for _, t in ipairs({ text, pretty, "\n\t [  ]  \n" }) do
      local path = file_of(t)
      local expected, count = read(path, 1024 * 1024)
      assert.truthy(expected, count)
      for _, size in ipairs({ 1, 2, 3, 5, 7, 16, 61 }) do
        local got, n = read(path, size)
        assert.are.same(expected, got, "pieces of " .. size)
        assert.are.equal(count, n)
      end
    end
    local r, count = read(file_of(text), 3)
    assert.are.equal(4, count)
    assert.are.same({ "10", "11" }, r.folders["1"])
    assert.are.same({}, r.folders["2"])
    assert.are.same({ "12", "10" }, r.folders["3"])
    assert.are.same({}, r.folders["4"])
    assert.are.same(call("13", 4).details, r.details["13"])
    assert.are.same(call("12", 3).transcript, r.transcripts["12"])
  end)

  it("refuses a document that is not an export, or is cut short, and raises nothing", function()
    local text = encode(document)
    local refused = {
      '{"id":"1"}', '[{"id":"1","calls":[]}]', '[{"id":"1","children":[]}]', '[{"id":"1","calls":{},"children":[]}]',
      '[1]', '[{"id":"1","calls":[],"children":[]}] x', '[{"id":"1","calls":[],"children":[]},]',
      '[{"id":"1" "calls":[],"children":[]}]', '["unterminated', text .. "]",
    }
    -- Cut anywhere: at every tenth byte, and at each of the last twenty.
    for cut = 1, #text - 1, 10 do refused[#refused + 1] = text:sub(1, cut) end
    for cut = #text - 20, #text - 1 do refused[#refused + 1] = text:sub(1, cut) end
    for _, t in ipairs(refused) do
      for _, size in ipairs({ 1, 7, 1024 }) do
        local ok, r, err = pcall(read, file_of(t), size)
        assert.is_true(ok, r)
        assert.is_nil(r, t)
        assert.matches("is not an export of gong%-library", err)
      end
    end
  end)

  it("holds no more than a piece and the call being read (gong.cli.json_scan)", function()
    local calls = {}
    for i = 1, 200 do calls[i] = call(tostring(1000 + i), i) end
    local path = file_of(encode({ { id = "1", name = "big", calls = calls, children = {} } }))
    local f = assert(io.open(path, "rb"))
    local scan = json_scan.new(f)
    json_scan.CHUNK = 512
    local most = 0
    assert.is_true(scan:take("["))
    assert.is_true(scan:take("{"))
    repeat
      local key = cjson.decode(scan:capture())
      assert.is_true(scan:take(":"))
      if key == "calls" then
        assert.is_true(scan:take("["))
        repeat
          assert.truthy(scan:capture())
          most = math.max(most, tonumber(tostring(scan):match("(%d+) bytes")))
        until not scan:take(",")
        assert.is_true(scan:take("]"))
      else
        assert.is_true(scan:skip())
      end
    until not scan:take(",")
    json_scan.CHUNK = chunk
    f:close()
    assert.is_true(most < 512 + #cjson.encode(calls[1]) * 2, most .. " bytes held")
  end)
end)
