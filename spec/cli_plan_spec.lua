-- gong-library export's plan: before it asks for any folder's calls it says
-- how many requests it will make and how long they take at the rate limit,
-- and --max-requests N refuses a run of more. Gong allows 3 requests a second
-- and 10,000 a day: a large library is a good part of a tenant's day. Run as
-- a real process against the fake Gong server, whose record of the requests
-- it received is what each count is held against.

local commands = require "gong.cli.commands"
local core = require "gong.core"
local duration = require("gong.cli.text").duration

describe("gong-library export's plan", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"

  -- 10 folders, 15 for the Calls API (the smallest library with a call in
  -- two folders): each export takes seconds at 3 requests/s.
  local small, small_lib, shared, shared_lib, scratch

  setup(function()
    small, small_lib = fake.start({ folders = 10 }), fake.contract_library({ folders = 10 })
    shared, shared_lib = fake.start({ folders = 15 }), fake.contract_library({ folders = 15 })
    scratch = process.tmpdir()
  end)

  teardown(function()
    if small then small:stop() end
    if shared then shared:stop() end
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  before_each(function()
    small:reset()
    shared:reset()
  end)

  -- Runs bin/gong-library with `args` against `srv` (the small library's
  -- unless told), `extra` added to its environment; GONG_PROGRESS is unset
  -- unless given, and each run has a rate window of its own.
  local function run(args, extra, srv)
    return process.run(process.cli(args), (srv or small):cli_env(extra))
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
    local names = {}
    for name in process.capture("ls -A " .. process.quote(dir)):gmatch("[^\n]+") do names[#names + 1] = name end
    table.sort(names)
    return names
  end

  -- The folders of `lib` an export asks for their calls (the contract's
  -- empty ones are not), and the calls their counts add up to.
  local function asked(lib)
    local folders, calls = 0, 0
    for _, f in ipairs(lib.folders) do
      if f.callCount ~= 0 then folders, calls = folders + 1, calls + f.callCount end
    end
    return folders, calls
  end

  -- The requests `srv` received, by path: the folder list, folders' calls,
  -- and each Calls API phase.
  local function received(srv)
    local n = { list = 0, folders = 0, calls_api = 0, all = 0 }
    for _, req in ipairs(srv:requests()) do
      n.all = n.all + 1
      if req.path == "/library/folders" or req.path == "/tenant/library/folders" then
        n.list = n.list + 1
      elseif req.path:find("^/calls/") or req.path:find("^/tenant/calls/") then
        n.calls_api = n.calls_api + 1
      else
        n.folders = n.folders + 1
      end
    end
    return n
  end

  -- The plan line of an export's stderr, and what comes before it.
  local function plan_line(err)
    return err:match("gong%-library: export will make [^\n]*\n"), err:match("^(.-)gong%-library: export will make ")
  end

  it("says where progress shows how many requests it will make and how long they take: what the server gets",
    function()
      -- Runs that share the tenant's limit (the CLI's default, rate_scope "host") count its requests today.
      local out, err, status = run({ "export", "--format", "ndjson" },
        { GONG_PROGRESS = "1", GONG_RATE_SCOPE = "host" })
      assert.are.equal(0, status, err)
      assert.truthy(#out > 0)
      local folders = asked(small_lib)
      local want = ("gong-library: export will make %d requests (1 folder list, %d folders), about %s at 3 "
        .. "requests/s; "):format(1 + folders, folders, duration(core.rate_duration(3, 1 + folders)))
      local line, before = plan_line(err)
      assert.are.equal(want, line:sub(1, #want), err)
      local today = tonumber(line:sub(#want + 1):match("^([%d,]+) of the tenant's 10,000 a day made today from this "
        .. "machine\n$"):gsub(",", ""), 10)
      assert.truthy(today >= 1, line)
      -- Said once the folder list is back, before any folder is asked.
      local listing_line = "listing folders..."
      assert.are.equal("\r" .. listing_line .. "\r" .. (" "):rep(#listing_line) .. "\r", before,
                       "no folder was done before the plan was said")
      local got = received(small)
      assert.are.same({ list = 1, folders = folders, calls_api = 0, all = 1 + folders }, got)
    end)

  -- #once: these two export a library at 3 requests/s (seconds each) for
  -- what library()'s plan counts, which library_spec holds on every Lua; they
  -- run under the first Lua only (the Makefile's HOST_SPECS).
  it("counts the Calls API requests of --details and --transcripts from the folders' call counts #once", function()
    local folders, calls = asked(shared_lib)
    local batches = math.ceil(calls / core.MAX_BATCH)
    local dir = new_dir()
    local _, err, status = run({ "export", "--details", "--transcripts", "-o", dir .. "/lib.json" },
                               { GONG_PROGRESS = "1" }, shared)
    assert.are.equal(0, status, err)
    local total = 1 + folders + 2 * batches
    assert.are.equal(("gong-library: export will make about %d requests (1 folder list, %d folders, %d Calls API "
      .. "requests for up to %d calls), about %s at 3 requests/s\n"):format(total, folders, 2 * batches, calls,
      duration(core.rate_duration(3, total))), plan_line(err), err)
    -- A call in two folders is asked for once: the counts are an estimate,
    -- here one that holds (their calls fill as many batches of 100).
    local got = received(shared)
    assert.are.same({ list = 1, folders = folders, calls_api = 2 * batches, all = total }, got)
  end)

  it("says 'at least' for a real tenant, whose folders have no count, and a Calls API request per 100 calls #once",
    function()
      local _, err, status = run({ "export", "--details" }, { GONG_PROGRESS = "1", GONG_BASE_URL = small.tenant_url,
                                                               GONG_API = "public" })
      assert.are.equal(0, status, err)
      local n = #small_lib.folders
      assert.are.equal(("gong-library: export will make at least %d requests (1 folder list, %d folders, and 1 Calls "
        .. "API request per %d calls), at least %s at 3 requests/s\n"):format(1 + n, n, core.MAX_BATCH,
        duration(core.rate_duration(3, 1 + n))), plan_line(err), err)
      local got = received(small)
      assert.are.equal(1 + n, got.list + got.folders, "each folder is asked: a tenant sends no count to skip by")
      assert.is_true(got.calls_api >= 1)
    end)

  describe("--max-requests N", function()
    it("refuses a larger export after the folder list, with status 3, touching no file", function()
      local folders = asked(small_lib)
      local dir = new_dir()
      local path = process.write_file(dir .. "/lib.json", "old\n", "644")
      for _, progress in ipairs({ "", "1" }) do
        small:reset()
        local out, err, status = run({ "export", "-o", path, "--max-requests", tostring(folders) },
                                     { GONG_PROGRESS = progress })
        assert.are.equal(3, status, err)
        assert.are.equal("", out)
        local message = ("gong-library: export would make %d requests (1 folder list, %d folders), more than "
          .. "--max-requests %d: nothing was exported; raise --max-requests, or export one workspace at a time "
          .. "with --workspace ID\n"):format(1 + folders, folders, folders)
        if progress == "1" then
          assert.matches("^\rlisting folders%.%.%.\r +\r", err)
          assert.are.equal(message, err:gsub("^\rlisting folders%.%.%.\r +\r", ""))
        else
          assert.are.equal(message, err)
        end
        assert.is_nil(plan_line(err), "a refused plan is not announced as a run")
        local requests = small:requests()
        assert.are.equal(1, #requests, "only the folder list")
        assert.are.equal("/library/folders", requests[1].path)
        assert.are.equal("old\n", process.read_file(path))
        assert.are.same({ "lib.json" }, listing(dir), "no temporary file left")
      end
      local empty = new_dir()
      local _, err, status = run({ "export", "-o", empty .. "/new.json", "--max-requests=1" })
      assert.are.equal(3, status, err)
      assert.are.same({}, listing(empty), "no FILE is created")
    end)

    it("refuses one workspace's export without suggesting --workspace, which it has", function()
      local ws
      for _, f in ipairs(small_lib.folders) do
        if f.callCount > 0 then ws = f.workspaceId break end
      end
      local folders = 0
      for _, f in ipairs(small_lib.folders) do
        if f.workspaceId == ws and f.callCount > 0 then folders = folders + 1 end
      end
      local out, err, status = run({ "export", "--workspace", ws, "--max-requests", tostring(folders) })
      assert.are.same({ "", 3 }, { out, status }, err)
      assert.are.equal(("gong-library: export would make %d requests (1 folder list, %d %s) for workspace %s, more "
        .. "than --max-requests %d: nothing was exported; raise --max-requests\n")
        :format(1 + folders, folders, folders == 1 and "folder" or "folders", ws, folders), err)
      assert.are.equal(1, #small:requests())
    end)

    it("runs an export of exactly N requests, and makes them, quiet where progress does not show", function()
      local n = 1 + asked(small_lib)
      -- GONG_PROGRESS=0 as in a pipeline: the plan is said where progress shows.
      local out, err, status = run({ "export", "--max-requests", tostring(n) }, { GONG_PROGRESS = "0" })
      assert.are.equal(0, status, err)
      assert.are.equal("", err)
      assert.truthy(#out > 0)
      assert.are.equal(n, #small:requests())
    end)

    it("counts the Calls API estimate, and a real tenant's least, against N", function()
      local folders, calls = asked(shared_lib)
      local total = 1 + folders + math.ceil(calls / core.MAX_BATCH)
      local _, err, status = run({ "export", "--details", "--max-requests", tostring(total - 1) }, nil, shared)
      assert.are.equal(3, status, err)
      assert.truthy(err:find("^gong%-library: export would make about " .. total .. " requests %(1 folder list, "
        .. folders .. " folders, %d+ Calls API requests? for up to " .. calls .. " calls%), more than "
        .. "%-%-max%-requests " .. (total - 1) .. ": "), err)
      assert.are.equal(1, #shared:requests())
      local n = #small_lib.folders
      _, err, status = run({ "export", "--details", "--max-requests", tostring(n) },
                           { GONG_BASE_URL = small.tenant_url, GONG_API = "public" })
      assert.are.equal(3, status, err)
      assert.truthy(err:find("^gong%-library: export would make at least " .. (n + 1) .. " requests "), err)
      assert.are.equal(1, #small:requests())
    end)

    for _, bad in ipairs({ "0", "-3", "ten", "1.5", "1e3", " 5" }) do
      it("refuses '" .. bad .. "' as a usage error naming the flag, status 2, before any request", function()
        local out, err, status = run({ "export", "--max-requests", bad })
        assert.are.equal(2, status, err)
        assert.are.equal("", out)
        assert.are.equal("gong-library: --max-requests needs a whole number of requests, 1 or more, not '" .. bad
          .. "'\nTry 'gong-library help export' for more information.\n", err)
        assert.are.equal(0, #small:requests())
      end)
    end

    it("is export's alone, and needs a value", function()
      local _, err, status = run({ "folders", "--max-requests", "5" })
      assert.are.equal(2, status, err)
      assert.truthy(err:find("^gong%-library: option %-%-max%-requests is not valid for 'folders'\n"), err)
      _, err, status = run({ "export", "--max-requests" })
      assert.are.equal(2, status, err)
      assert.truthy(err:find("^gong%-library: option %-%-max%-requests needs a value %(N%)\n"), err)
      assert.are.equal(0, #small:requests())
    end)
  end)

  describe("plan_text()", function()
    local plan = { requests = 7, exact = true, folder_list = 1, folders = 6, calls = 40, phases = 0,
                   batch_size = core.MAX_BATCH, calls_api = 0 }

    it("says the limit is off instead of a time when there is none", function()
      assert.are.equal("export will make 7 requests (1 folder list, 6 folders); the rate limit is off",
                       commands.plan_text(plan, false))
      assert.are.equal("export will make 7 requests (1 folder list, 6 folders), about 0:00:06 at 1 request/s",
                       commands.plan_text(plan, 1))
    end)

    it("says how many requests this machine made to the tenant today, when it knows", function()
      assert.are.equal("export will make 7 requests (1 folder list, 6 folders), about 0:00:06 at 1 request/s; "
        .. "1,204 of the tenant's 10,000 a day made today from this machine", commands.plan_text(plan, 1, 1204))
      assert.are.equal("export will make 7 requests (1 folder list, 6 folders); the rate limit is off; "
        .. "7 of the tenant's 10,000 a day made today from this machine", commands.plan_text(plan, false, 7))
    end)

    it("gives no time when the folder list was all, and counts in the singular", function()
      local one = { requests = 1, exact = true, folder_list = 1, folders = 0, calls = 0, phases = 2,
                    batch_size = core.MAX_BATCH, calls_api = 0 }
      assert.are.equal("export will make 1 request (1 folder list, 0 folders)", commands.plan_text(one, 3))
      local two = { requests = 3, exact = false, folder_list = 1, folders = 1, calls = 1, phases = 1,
                    batch_size = core.MAX_BATCH, calls_api = 1 }
      assert.are.equal("export will make about 3 requests (1 folder list, 1 folder, 1 Calls API request for up to "
        .. "1 call), about 0:00:01 at 2 requests/s", commands.plan_text(two, 2))
    end)
  end)
end)
