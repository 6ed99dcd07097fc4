-- gong-library export -o FILE --update: FILE, an earlier export, is read
-- back, the folder list and each folder's calls are fetched again (Gong has
-- no change feed for the library), and the Calls API is asked only for the
-- calls FILE lacks. Run as a real process against the fake Gong server, whose
-- record of the requests it received is what each count is held against.

local cjson = require("cjson").new()

describe("gong-library export --update", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"

  -- 10 folders: each export takes a few seconds at 3 requests/s.
  local srv, lib, scratch

  setup(function()
    srv, lib = fake.start({ folders = 10 }), fake.contract_library({ folders = 10 })
    scratch = process.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  before_each(function() srv:reset() end)

  -- Runs bin/gong-library with `args`, `extra` added to its environment.
  local function run(args, extra)
    return process.run(process.cli(args), srv:cli_env(extra))
  end

  local files = 0
  -- A path in the scratch directory no run has used.
  local function new_path(ext)
    files = files + 1
    return scratch .. "/lib" .. files .. "." .. ext
  end

  -- The folders an export asks for their calls, the first of them, and the distinct calls of the library.
  local function asked()
    local folders, first, seen, calls = 0, nil, {}, 0
    for _, f in ipairs(lib.folders) do
      if f.callCount ~= 0 then
        folders, first = folders + 1, first or f
        for _, call in ipairs(lib.calls[f.id]) do
          if not seen[call.callId] then seen[call.callId], calls = true, calls + 1 end
        end
      end
    end
    return folders, first, calls
  end

  -- The requests the server received: how many in all, and the ids each Calls API route was asked for.
  local function received()
    local all, routes = 0, {}
    for _, req in ipairs(srv:requests()) do
      all = all + 1
      if req.path:find("^/calls/") then
        routes[req.path] = routes[req.path] or {}
        for _, id in ipairs(cjson.decode(req.body).filter.callIds) do table.insert(routes[req.path], id) end
      end
    end
    return all, routes
  end

  -- Exports with `args` to a new file of `format`; returns its path and content.
  local function export(format, args)
    local path = new_path(format)
    local argv = { "export", "--format", format, "-o", path }
    for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
    local _, err, status = run(argv)
    assert.are.equal(0, status, err)
    return path, process.read_file(path)
  end

  for _, format in ipairs({ "json", "ndjson" }) do
    it("of an unchanged library (" .. format .. ") makes 1 + folders-with-calls requests, none of the Calls API, "
       .. "and writes what it read; the plan and the summary say how many calls were reused", function()
      local path, before = export(format, { "--details", "--transcripts" })
      srv:reset()
      local _, err, status = run({ "export", "--format", format, "-o", path, "--update", "--details",
                                   "--transcripts" }, { GONG_PROGRESS = "1" })
      assert.are.equal(0, status, err)
      local folders, _, calls = asked()
      local all, routes = received()
      assert.are.equal(1 + folders, all)
      assert.are.same({}, routes)
      assert.are.equal(before, process.read_file(path))
      assert.truthy(err:find(("export will make about %d requests (1 folder list, %d folders, %d calls reused)")
        :format(1 + folders, folders, calls), 1, true), err)
      assert.truthy(err:find(("(%d requests, %d calls reused)\n"):format(1 + folders, calls), 1, true), err)
    end)

    it("after 3 calls were filed (" .. format .. ") asks the Calls API for those 3 only: 2 requests, and writes "
       .. "what a full export writes", function()
      local path = export(format, { "--details", "--transcripts" })
      srv:reset()
      local folders, folder = asked()
      local ids = srv:add_calls(folder.id, 3)
      local _, err, status = run({ "export", "--format", format, "-o", path, "--update", "--details",
                                   "--transcripts" })
      assert.are.equal(0, status, err)
      local all, routes = received()
      assert.are.equal(1 + folders + 2, all)
      assert.are.same({ ["/calls/extensive"] = ids, ["/calls/transcript"] = ids }, routes)
      local _, full = export(format, { "--details", "--transcripts" })
      assert.are.equal(full, process.read_file(path))
      for _, id in ipairs(ids) do assert.truthy(full:find('"callId":' .. (format == "json" and " " or "") .. '"' .. id
        .. '"', 1, true), id) end
    end)
  end

  it("asks a call without a transcript again while Gong may still transcribe it, and no older one", function()
    local _, folder = asked()
    local ids = srv:add_calls(folder.id, 2, { transcribed = false,
                                              addedToLibraryAt = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    local path = export("ndjson", { "--transcripts" })
    srv:reset()
    srv:add_calls(folder.id, 2, { transcribed = false, addedToLibraryAt = os.date("!%Y-%m-%dT%H:%M:%SZ") })
    srv:transcribe(ids)
    local _, err, status = run({ "export", "--format", "ndjson", "-o", path, "--update", "--transcripts" })
    assert.are.equal(0, status, err)
    local _, routes = received()
    -- The library's own calls without a transcript were filed long ago.
    assert.are.same({ ["/calls/transcript"] = ids }, routes)
    for _, id in ipairs(ids) do
      assert.truthy(process.read_file(path):find('{"type":"transcript","callId":"' .. id .. '"', 1, true), id)
    end
  end)

  it("serves for what FILE holds: an export without --transcripts has every transcript asked", function()
    local path = export("json", { "--details" })
    srv:reset()
    local _, _, calls = asked()
    local _, err, status = run({ "export", "-o", path, "--update", "--details", "--transcripts" })
    assert.are.equal(0, status, err)
    local _, routes = received()
    assert.is_nil(routes["/calls/extensive"])
    assert.are.equal(calls, #routes["/calls/transcript"])
  end)

  it("refuses a FILE that is not an export of gong-library before any request, and leaves it as it was", function()
    local tree_json = new_path("json")
    local out, err, status = run({ "tree", "--json" })
    assert.are.equal(0, status, err)
    for _, content in ipairs({ "notes\n", '{"a":1}\n', out, '{"type":"call"}\n', "[1]\n" }) do
      process.write_file(tree_json, content)
      srv:reset()
      local _, e, s = run({ "export", "-o", tree_json, "--update" })
      assert.are.equal(1, s, e)
      assert.are.equal("gong-library: " .. tree_json .. " is not an export of gong-library (json: an array of "
        .. "folders with \"calls\" and \"children\"; ndjson: lines with \"type\"): --update would replace it; "
        .. "nothing was done\n", e)
      assert.are.equal(0, #srv:requests())
      assert.are.equal(content, process.read_file(tree_json))
    end
  end)

  it("exports everything when FILE does not exist yet, with a note", function()
    local path = new_path("json")
    local _, err, status = run({ "export", "-o", path, "--update" })
    assert.are.equal(0, status, err)
    assert.are.equal("gong-library: " .. path .. " does not exist yet: --update exports everything\n", err)
    assert.truthy(process.read_file(path):find('"calls"', 1, true))
  end)

  it("needs -o FILE", function()
    local _, err, status = run({ "export", "--update" })
    assert.are.equal(2, status)
    assert.matches("^gong%-library: %-%-update needs %-o FILE", err)
    assert.are.equal(0, #srv:requests())
  end)
end)
