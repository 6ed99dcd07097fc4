-- The outside look: gong in public mode against Stoplight Prism serving Gong's
-- own description of its API (doc/gong-v2-openapi.json, from the public
-- repository cedricziel/gong-rs). Prism, not our fake server, judges every
-- request gong makes: a path, a parameter, a body or an Authorization header
-- that the description does not allow is a 400 with sl-violations and a
-- logged violation, and each case here fails on either. gong must also
-- decode the description's own example answers. In static mode every Calls
-- API page names the same next cursor, so a paged method ends with the
-- paging error after its second page: that second page's request is made,
-- and checked, too.

local gong = require "gong"
local cjson = require("cjson").new()
local prism = require "spec.support.prism"
local process = require "spec.support.process"

-- The description's example ids.
local FOLDER, WORKSPACE, CALL = "3843152912968920037", "623457276584334", "7782342274025937895"
local FIELDS = { "parties", "content", "interaction", "collaboration", "media" }
local CONTEXTS = { "None", "Basic", "Extended" }

describe("conformance to Gong's own API description (Stoplight Prism)", function()
  local mock

  setup(function() mock = prism.start() end)
  teardown(function() if mock then mock:stop() end end)

  -- Every request since the last check conformed, and there were `n` of them.
  local function conformed(n, what)
    local made = mock:requests()
    assert.are.same({}, mock:violations(), what)
    if n then assert.are.equal(n, made, what) end
  end
  before_each(function() conformed() end)

  local AUTH = {
    basic = { access_key = "conformance-key", access_key_secret = "conformance-secret" },
    bearer = { token = "conformance-token" },
  }

  local function client(auth)
    local opts = { base_url = mock.url, api = "public", rate = false, backoff_base = 0.01 }
    for k, v in pairs(AUTH[auth or "basic"]) do opts[k] = v end
    return assert(gong.new(opts))
  end

  for _, auth in ipairs({ "basic", "bearer" }) do
    describe("with " .. auth .. " auth", function()
      it("lists folders, with and without a workspace, in the contract's names", function()
        local c = client(auth)
        local folders, rid = assert(c:folders())
        assert.are.equal("4al018gzaztcr8nbukw", rid)
        assert.are.equal(1, #folders)
        assert.are.equal(FOLDER, folders[1].id)
        assert.are.equal("2020-03-14T13:30:00Z", folders[1].updated)
        assert.is_table(assert(c:folders({ workspaceId = WORKSPACE })))
        conformed(2)
      end)

      it("lists a folder's calls (folder-content), note and snippet as sent", function()
        local calls = assert(client(auth):calls(FOLDER))
        assert.are.equal(CALL, calls[1].callId)
        assert.are.equal("sample note", calls[1].note)
        assert.are.same({ fromSec = 21, toSec = 132 }, calls[1].snippet)
        conformed(1)
      end)

      it("lists the workspaces", function()
        local list = assert(client(auth):workspaces())
        assert.are.equal(WORKSPACE, list[1].id)
        conformed(1)
      end)
    end)
  end

  describe("the Calls API", function()
    -- One page: what gong sends for `opts`, and that it decodes the example.
    local function one_page(kind, opts)
      local records, rid, cursor = client():request(kind, { CALL, "1234" }, opts)
      assert.is_table(records, kind)
      assert.is_table(records[CALL], kind)
      assert.are.equal("4al018gzaztcr8nbukw", rid)
      assert.is_string(cursor)
    end

    it("asks calls/extensive for each field selection and each context as the description allows", function()
      for _, field in ipairs(FIELDS) do one_page("call_details", { fields = { field } }) end
      one_page("call_details", { fields = FIELDS })
      for _, context in ipairs(CONTEXTS) do one_page("call_details", { context = context, fields = FIELDS }) end
      conformed(#FIELDS + 1 + #CONTEXTS)
    end)

    it("asks calls/transcript as the description allows", function()
      one_page("transcripts")
      conformed(1)
    end)

    for _, kind in ipairs({ "call_details", "transcripts" }) do
      it(kind .. " follows the second page with its cursor, then stops the repeated cursor", function()
        local records, err = client()[kind](client(), { CALL })
        assert.is_nil(records)
        assert.are.equal("decode", err.kind)
        assert.matches("paged without end: page 2 repeats the cursor of page 1", err.message, 1, true)
        conformed(2)
      end)
    end

    it("library() walks the folders and their calls; with details it reports the repeated cursor", function()
      local c = client()
      local tree = assert(c:library())
      -- The example folder's parent is not in the list: it is an orphan, made a root.
      assert.are.equal(FOLDER, tree.roots[1].id)
      assert.are.equal(CALL, tree.roots[1].calls[1].callId)
      conformed(2)
      local _, errors = c:library({ details = true })
      assert.matches("paged without end", errors[1].message, 1, true)
      conformed(4)
    end)
  end)

  describe("the CLI", function()
    local function cli(...)
      local out, err, status = process.run({ process.lua, "bin/gong-library", "--api", "public", ... }, {
        GONG_BASE_URL = mock.url, GONG_ACCESS_KEY = "conformance-key",
        GONG_ACCESS_KEY_SECRET = "conformance-secret", GONG_RATE_SCOPE = "client",
      })
      return out, err, status
    end

    it("runs folders, tree, calls, workspaces and export as the description allows", function()
      for _, argv in ipairs({ { "folders" }, { "folders", "--workspace", WORKSPACE, "--json" }, { "tree" },
                              { "calls", FOLDER, "--json" }, { "workspaces", "--csv" } }) do
        local out, err, status = cli(table.unpack(argv))
        assert.are.equal(0, status, table.concat(argv, " ") .. ": " .. err)
        assert.truthy(#out > 0)
      end
      conformed(5)
      local dir = process.tmpdir()
      local out, err, status = cli("export", "-o", dir .. "/library.json")
      assert.are.equal(0, status, err)
      assert.are.equal("", out)
      local text = process.read_file(dir .. "/library.json")
      assert.is_string(text)
      local export = cjson.decode(text)
      assert.are.equal(FOLDER, export[1].id)
      os.execute("rm -rf " .. process.quote(dir))
      conformed(2)
    end)

    it("ends calls --details, transcript and export --details with the paging error, exit 1", function()
      for _, argv in ipairs({ { "calls", FOLDER, "--details" }, { "transcript", CALL },
                              { "export", "--details", "--transcripts" } }) do
        local _, err, status = cli(table.unpack(argv))
        assert.are.equal(1, status, table.concat(argv, " ") .. ": " .. err)
        assert.matches("paged without end", err, 1, true)
      end
      conformed()
    end)
  end)
end)
