-- README.md's Lua examples, each run as it stands against the fake Gong
-- server, so that they cannot rot.

local fake = require "spec.support.fake"
local process = require "spec.support.process"

-- Every ```lua block of the README, in order.
local function examples()
  local readme = assert(process.read_file("README.md"))
  local list = {}
  for code in readme:gmatch("\n```lua\n(.-)\n```") do list[#list + 1] = code end
  return list
end

describe("README.md's Lua examples", function()
  local srv

  setup(function() srv = fake.start({ folders = 10 }) end)
  teardown(function() srv:stop() end)

  -- Runs `code` under Lua 5.4 (the examples use its <close>) with gong found
  -- as make test builds it, and `env` as its environment's Gong configuration.
  local function run(code, env)
    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(code)
    f:close()
    local lua_cpath = "build/5.4/?.so;;"
    local out, err, status = process.run({ "env", "LUA_CPATH=" .. lua_cpath, "lua5.4", file }, env)
    os.remove(file)
    return out, err, status
  end

  local function good_env()
    return { GONG_BASE_URL = srv.url, GONG_TOKEN = fake.credentials.token }
  end

  it("are four, and each runs without an error against a tenant", function()
    local list = examples()
    assert.are.equal(4, #list)
    for i, code in ipairs(list) do
      local out, err, status = run(code, good_env())
      assert.are.equal(0, status, ("example %d: %s"):format(i, err))
      assert.are.equal("", err, "example " .. i)
      assert.is_true(#out > 0 or i == 3, "example " .. i .. " printed nothing")
    end
  end)

  it("the error example prints an HTTP error, and a network error without a server's messages", function()
    local errors = examples()[3]
    local out, err, status = run(errors, { GONG_BASE_URL = srv.url, GONG_TOKEN = "wrong-token" })
    assert.are.equal(0, status, err)
    assert.matches("^gong: HTTP 401 on GET /library/folders: Invalid credentials %(request %x+%)\n"
      .. "http\t401\t%x+\tInvalid credentials\t" .. srv.url:gsub("%p", "%%%0") .. "/library/folders\t1\n$", out)
    out, err, status = run(errors, { GONG_BASE_URL = "http://127.0.0.1:1", GONG_TOKEN = "t" })
    assert.are.equal(0, status, err)
    assert.matches("\nnetwork\tnil\tnil\tnil\thttp://127%.0%.0%.1:1/library/folders\t5\n$", out)
  end)

  it("the event loop example prints what the blocking client answers", function()
    local out, err, status = run(examples()[4], good_env())
    assert.are.equal(0, status, err)
    local client = require("gong").new({ base_url = srv.url, token = fake.credentials.token, rate = false })
    local folders = assert(client:folders())
    local calls = assert(client:calls(folders[1].id))
    client:close()
    assert.are.equal(("%d folders\n%d calls in the first\n"):format(#folders, #calls), out)
  end)
end)
