-- gong: the Lua layer — options from the environment, iterators, the tree,
-- module-level functions — against the fake Gong server.

local gong = require "gong"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local creds = fake.credentials

describe("gong", function()
  local srv, client

  setup(function()
    srv = fake.start()
    client = gong.new({ base_url = srv.url, access_key = creds.key,
                        access_key_secret = creds.secret, rate = false })
  end)

  teardown(function()
    client:close()
    srv:stop()
  end)

  before_each(function() srv:reset() end)

  -- Runs `code` in a child Lua with only `env` as Gong configuration; the
  -- snippet prints its findings.
  local function child(code, env)
    local out, err, status = process.lua_code(code, env)
    assert.are.equal(0, status, err)
    return out
  end

  describe("gong.new()", function()
    it("reads base URL and Basic credentials from the environment", function()
      local out = child([[
        local gong = require "gong"
        local c = gong.new({ rate = false })
        local folders = assert(c:folders())
        print(tostring(c), #folders)
      ]], { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
            GONG_ACCESS_KEY_SECRET = creds.secret })
      assert.are.equal(("gong.client(%s, auth=basic, api=contract) %d\n"):format(srv.url, #fake.library().folders),
                       out:gsub("\t", " "))
    end)

    it("reads a Bearer token from the environment", function()
      local out = child([[
        local c = require("gong").new({ rate = false })
        assert(c:folders())
        print(tostring(c))
      ]], { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.are.equal(("gong.client(%s, auth=bearer, api=contract)\n"):format(srv.url), out)
      assert.are.equal("Bearer " .. creds.token, srv:requests()[1].headers.authorization)
    end)

    it("lets explicit options win over the environment", function()
      local out = child(([[
        local c = require("gong").new({ base_url = %q, token = %q, rate = false })
        print(tostring(c))
      ]]):format(srv.url, creds.token), { GONG_BASE_URL = "https://elsewhere.example",
                                          GONG_ACCESS_KEY = "k", GONG_ACCESS_KEY_SECRET = "s" })
      assert.are.equal(("gong.client(%s, auth=bearer, api=contract)\n"):format(srv.url), out)
    end)

    it("raises a config error naming the variables when no credentials are found", function()
      local out = child([[
        local gong = require "gong"
        local ok, err = pcall(gong.new)
        print(ok, err.kind, tostring(err))
      ]], {})
      assert.matches("^false\tconfig\tgong: no credentials: ", out)
      assert.matches("GONG_ACCESS_KEY", out)
      assert.matches("GONG_TOKEN", out)
    end)

    it("raises when the environment holds half of Basic or both kinds", function()
      local code = [[
        local ok, err = pcall(require("gong").new)
        print(ok, err.kind, err.message)
      ]]
      assert.matches("^false\tconfig\tGONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET must be set together",
                     child(code, { GONG_ACCESS_KEY = "k" }))
      assert.matches("^false\tconfig\tthe environment sets both GONG_TOKEN and GONG_ACCESS_KEY; keep one kind",
                     child(code, { GONG_ACCESS_KEY = "k", GONG_ACCESS_KEY_SECRET = "s",
                                   GONG_TOKEN = "t" }))
    end)

    it("treats empty variables as unset", function()
      local out = child([[
        local ok, err = pcall(require("gong").new)
        print(ok, err.kind)
      ]], { GONG_TOKEN = "", GONG_ACCESS_KEY = "", GONG_ACCESS_KEY_SECRET = "" })
      assert.are.equal("false\tconfig\n", out)
    end)

    it("never shows a secret in tostring", function()
      local c = gong.new({ base_url = srv.url, token = "tok-SECRET-123" })
      assert.is_nil(tostring(c):find("SECRET", 1, true))
      c:close()
      assert.is_nil(tostring(client):find(creds.secret, 1, true))
    end)

    it("raises an argument error for options that are not a table", function()
      local ok, err = pcall(gong.new, "https://x")
      assert.is_false(ok)
      assert.are.equal("argument", err.kind)
    end)
  end)

  describe("client:folders() and client:calls()", function()
    it("return the core's results unchanged", function()
      local folders, rid = client:folders()
      assert.are.equal(#fake.library().folders, #folders)
      assert.is_string(rid)
      local calls, rid2 = client:calls(folders[1].id)
      assert.is_table(calls)
      assert.is_string(rid2)
      local none, err = client:calls("missing")
      assert.is_nil(none)
      assert.are.equal(404, err.status)
    end)
  end)

  describe("client:each_folder() and client:each_call()", function()
    it("iterate over every folder and call in order", function()
      local lib = fake.library()
      local ids = {}
      for folder in client:each_folder() do ids[#ids + 1] = folder.id end
      assert.are.equal(#lib.folders, #ids)
      assert.are.equal(lib.folders[1].id, ids[1])
      local id = lib.special_id
      local n = 0
      for call in client:each_call(id) do
        n = n + 1
        assert.are.equal(lib.calls[id][n].callId, call.callId)
      end
      assert.are.equal(#lib.calls[id], n)
    end)

    it("raise the error object when the request fails", function()
      local ok, err = pcall(function()
        for _ in client:each_call("missing") do end
      end)
      assert.is_false(ok)
      assert.is_true(gong.is_error(err))
      assert.are.equal(404, err.status)
    end)
  end)

  describe("client:tree()", function()
    it("builds the folder tree with subtree totals", function()
      local t = assert(client:tree())
      local lib = fake.library()
      assert.are.equal(#lib.folders, t.count)
      local total, sum = 0, 0
      for _, f in ipairs(lib.folders) do total = total + (f.callCount or 0) end
      for _, root in ipairs(t.roots) do sum = sum + root.total_calls end
      assert.are.equal(total, sum)
      assert.are.same({}, t.orphans)
    end)

    it("returns nil and the error on failure", function()
      local c = gong.new({ base_url = srv.url, token = "wrong", rate = false })
      local t, err = c:tree()
      assert.is_nil(t)
      assert.are.equal(401, err.status)
    end)
  end)

  describe("client:close()", function()
    it("closes the connection; later requests return a closed error", function()
      local c = gong.new({ base_url = srv.url, token = creds.token })
      c:close()
      c:close()
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("closed", err.kind)
      assert.matches("closed%)$", tostring(c))
    end)

    -- The client's own callbacks that close it, and what each run returns.
    local lib = fake.library()
    local folder_ids = { lib.folders[1].id, lib.folders[2].id, lib.folders[3].id }
    local call_ids = { lib.call_ids[1], lib.call_ids[2], lib.call_ids[3] }
    local CASES = {
      { "a token function, one request", true, function(c) return c:folders() end },
      { "a token function, a batch", true, function(c) return c:calls_batch(folder_ids) end },
      { "a token function, the Calls API", true, function(c) return c:call_details(call_ids, { batch_size = 1 }) end },
      { "calls_batch's on_result", false, function(c)
        return c:calls_batch(folder_ids, { on_result = function() c:close() end }) end },
      { "library's on_progress", false, function(c)
        return c:library({ on_progress = function() c:close() end }) end },
      { "call_details' on_progress", false, function(c)
        return c:call_details(call_ids, { batch_size = 1, on_progress = function() c:close() end }) end },
    }
    for _, case in ipairs(CASES) do
      local name, by_token, run = case[1], case[2], case[3]
      it("closed from " .. name .. ": the run ends with a closed error, nothing crashes", function()
        local c
        local opts = { base_url = srv.url, rate = false, token = creds.token }
        if by_token then
          opts.token = function()
            c:close()
            return creds.token
          end
        end
        c = gong.new(opts)
        local result, err = run(c)
        assert.is_nil(result)
        assert.are.equal("closed", err.kind, tostring(err))
        assert.matches("closed%)$", tostring(c))
        local again
        again, err = c:folders()
        assert.is_nil(again)
        assert.are.equal("closed", err.kind)
        collectgarbage()
      end)
    end
  end)

  describe("gong.folders() and gong.calls()", function()
    it("use a default client configured from the environment", function()
      local out = child([[
        local gong = require "gong"
        local folders = assert(gong.folders())
        local calls = assert(gong.calls(folders[1].id))
        print(#folders, type(calls))
      ]], { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.are.equal(#fake.library().folders .. "\ttable\n", out)
    end)

    it("return a config error when the environment has no credentials", function()
      local out = child([[
        local gong = require "gong"
        local folders, err = gong.folders()
        local calls, err2 = gong.calls("1")
        print(folders, err.kind, calls, err2.kind)
      ]], {})
      assert.are.equal("nil\tconfig\tnil\tconfig\n", out)
    end)
  end)

  describe("gong.error() and gong.is_error()", function()
    it("make and recognize the core's error shape", function()
      local err = gong.error("decode", "bad", { status = 200 })
      assert.is_true(gong.is_error(err))
      assert.are.equal("gong: bad", tostring(err))
    end)
  end)
end)
