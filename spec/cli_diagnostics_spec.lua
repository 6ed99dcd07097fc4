-- What gong-library says on stderr to help find what is wrong: --verbose
-- (and GONG_DEBUG) tell each attempt of a request, never a credential; tree
-- says in one line when the folder list is not a proper tree. The lines
-- (gong.cli.report's attempt, gong.cli.trees' problems) under every Lua,
-- the program as a real process against the fake Gong server once (#once).

local report = require "gong.cli.report"
local tree = require "gong.tree"
local trees = require "gong.cli.trees"

-- A report writing to a buffer: its :take() is what it wrote.
local function buffered()
  local parts = {}
  local r = report.new({ write = function(self, ...)
    for _, s in ipairs({ ... }) do parts[#parts + 1] = s end
    return self
  end })
  return r, function() return table.concat(parts) end
end

describe("gong.cli.report:attempt()", function()
  it("says an attempt in one line: method, URL, status, time, attempt of how many, the wait before the next", function()
    local r, text = buffered()
    r:attempt({ method = "GET", url = "https://api.gong.io/v2/library/folders", status = 429, seconds = 0.0512,
                attempt = 1, max_attempts = 5, retry_in = 2 })
    r:attempt({ method = "GET", url = "https://api.gong.io/v2/library/folders", status = 200, seconds = 0.21,
                attempt = 2, max_attempts = 5 })
    assert.are.equal("gong-library: GET https://api.gong.io/v2/library/folders: HTTP 429 (0.051 s, attempt 1 of 5); "
      .. "retrying in 2.00 s\n"
      .. "gong-library: GET https://api.gong.io/v2/library/folders: HTTP 200 (0.210 s, attempt 2 of 5)\n", text())
  end)

  it("says what went wrong when no answer came, and an attempt past the count (after a new token) alone", function()
    local r, text = buffered()
    r:attempt({ method = "POST", url = "https://x.test/calls/extensive", seconds = 10,
                error = "connect timeout on this attempt: no connection within 10 s", attempt = 6, max_attempts = 5 })
    assert.are.equal("gong-library: POST https://x.test/calls/extensive: connect timeout on this attempt: no "
      .. "connection within 10 s (10.000 s, attempt 6)\n", text())
  end)

  it("redacts the run's secrets and makes control characters visible", function()
    local r, text = buffered()
    r:add_secrets({ "s3cr3t-value" })
    r:attempt({ method = "GET", url = "https://x.test/library/folders?workspaceId=s3cr3t-value",
                error = "network error on this attempt: bad\27[2Jthing", seconds = 0, attempt = 1, max_attempts = 1 })
    assert.is_nil(text():find("s3cr3t-value", 1, true))
    assert.is_nil(text():find("\27", 1, true))
    assert.truthy(text():find("[redacted]", 1, true))
  end)
end)

describe("gong.cli.trees.problems()", function()
  it("is nil for a proper tree", function()
    assert.is_nil(trees.problems(tree.build({ { id = "a" }, { id = "b", parentFolderId = "a" } })))
    assert.is_nil(trees.problems(tree.build({})))
  end)

  it("names folders whose parent is not in the list, cycles of parents and ids two folders have", function()
    local t = tree.build({ { id = "a" }, { id = "b", parentFolderId = "gone" }, { id = "c", parentFolderId = "d" },
                           { id = "d", parentFolderId = "c" }, { id = "a", name = "again" } })
    assert.are.equal("the folder list is not a proper tree: 1 folder whose parent is not in the list (b), shown at "
      .. "the top; 1 cycle of parents (c > d > c), broken at c, shown at the top; 1 folder with the id of another "
      .. "(a), shown as a folder of its own", trees.problems(t))
  end)

  it("names three of each at most, and counts them all", function()
    local folders = {}
    for i = 1, 5 do folders[i] = { id = "o" .. i, parentFolderId = "gone" } end
    for i = 1, 2 do
      folders[#folders + 1] = { id = "x" .. i, parentFolderId = "x" .. i }
      folders[#folders + 1] = { id = "o1" }
    end
    assert.are.equal("the folder list is not a proper tree: 5 folders whose parent is not in the list (o1, o2, o3, "
      .. "…), shown at the top; 2 cycles of parents (x1 > x1, x2 > x2), each broken at its first folder, shown at the "
      .. "top; 2 folders with the id of another (o1, o1), shown as folders of their own",
      trees.problems(tree.build(folders)))
  end)
end)

describe("gong-library on stderr", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"
  local creds = fake.credentials
  -- Every form a credential could take on stderr.
  local SECRETS = { creds.secret, creds.token, fake.BASIC:sub(7) }
  local srv

  setup(function() srv = fake.start({ folders = 3 }) end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  local function run(argv, env)
    local full = { process.lua, "bin/gong-library" }
    for _, a in ipairs(argv) do full[#full + 1] = a end
    local all = { GONG_BASE_URL = srv.url, GONG_RATE_SCOPE = "client", GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "" }
    for k, v in pairs(env or { GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret }) do all[k] = v end
    local out, err, status = process.run(full, all)
    for _, secret in ipairs(SECRETS) do
      assert.is_nil(err:find(secret, 1, true), "stderr shows a secret: " .. err)
    end
    return out, err, status
  end

  local function lines_of(text)
    local lines = {}
    for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
    return lines
  end

  -- `url` as a pattern that matches it.
  local function pattern(url)
    return (url:gsub("%p", "%%%0"))
  end

  it("--verbose: a line per attempt, the retried ones with their wait, and the output as without it #once", function()
    local quoted_url = pattern(srv.url)
    srv:faults({ { path = "/workspaces", status = 503 } })
    local out, err, status = run({ "--verbose", "workspaces" })
    assert.are.equal(0, status, err)
    assert.are.equal(run({ "workspaces" }), out)
    local lines = lines_of(err)
    assert.are.equal(2, #lines, err)
    assert.matches("^gong%-library: GET " .. quoted_url .. "/workspaces: HTTP 503 %(%d+%.%d%d%d s, attempt 1 of 5%); "
      .. "retrying in %d+%.%d%d s$", lines[1])
    assert.matches("^gong%-library: GET " .. quoted_url .. "/workspaces: HTTP 200 %(%d+%.%d%d%d s, attempt 2 of 5%)$",
      lines[2])
  end)

  it("GONG_DEBUG=1 as --verbose; a bearer token, --max-retries: no credential shown #once", function()
    local quoted_url = pattern(srv.url)
    local _, err, status = run({ "folders" }, { GONG_TOKEN = creds.token, GONG_DEBUG = "1" })
    assert.are.equal(0, status, err)
    assert.matches("^gong%-library: GET " .. quoted_url .. "/library/folders: HTTP 200 %([^)]+ attempt 1 of 5%)\n$",
      err)
    srv:faults({ { status = 401 } })
    _, err, status = run({ "tree", "--verbose", "--max-retries", "2" }, { GONG_TOKEN = creds.token })
    assert.are.equal(1, status)
    local lines = lines_of(err)
    assert.matches("HTTP 401 %([^)]+ attempt 1 of 3%)$", lines[1])
    assert.matches("^gong%-library: HTTP 401 on GET /library/folders", lines[2])
  end)

  it("--verbose: what went wrong when no answer came, each attempt, before the failure's own line #once", function()
    local url = "http://127.0.0.1:" .. process.free_port()
    local _, err, status = run({ "--verbose", "--max-retries", "1", "folders" },
      { GONG_BASE_URL = url, GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret })
    assert.are.equal(1, status)
    local lines = lines_of(err)
    assert.are.equal(3, #lines, err)
    local at = pattern(url)
    assert.matches("^gong%-library: GET " .. at .. "/library/folders: network error on this attempt: .* %(%d+%.%d+ s, "
      .. "attempt 1 of 2%); retrying in ", lines[1])
    assert.matches("attempt 2 of 2%)$", lines[2])
    assert.matches("^gong%-library: network error on GET /library/folders", lines[3])
  end)

  it("tree: one line on stderr when the folder list is not a proper tree, the tree on stdout whole #once", function()
    local folders = {
      { id = "1", name = "Sales", parentFolderId = "404", callCount = 1 },
      { id = "2", name = "Loop A", parentFolderId = "3", callCount = 0 },
      { id = "3", name = "Loop B", parentFolderId = "2", callCount = 0 },
      { id = "1", name = "Sales again", callCount = 2 },
    }
    local body = require("cjson").encode({ requestId = "r-1", folders = folders })
    for _, format in ipairs({ {}, { "--json" } }) do
      srv:faults({ { path = "/library/folders", status = 200, body = body } })
      local argv = { "tree" }
      for _, a in ipairs(format) do argv[#argv + 1] = a end
      local out, err, status = run(argv)
      assert.are.equal(0, status, err)
      assert.are.equal("gong-library: warning: the folder list is not a proper tree: 1 folder whose parent is not "
        .. "in the list (1), shown at the top; 1 cycle of parents (2 > 3 > 2), broken at 2, shown at the top; 1 "
        .. "folder with the id of another (1), shown as a folder of its own\n", err)
      for _, name in ipairs({ "Sales", "Loop A", "Loop B", "Sales again" }) do
        assert.truthy(out:find(name, 1, true), name)
      end
    end
    local _, err = run({ "tree" })
    assert.are.equal("", err)
  end)
end)
