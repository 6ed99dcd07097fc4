-- gong-library's --rate (GONG_RATE) and --max-retries, run as a real process
-- against the fake server: what the server gets, and what a bad value says.

local fake = require "spec.support.fake"
local process = require "spec.support.process"


describe("gong-library --rate and --max-retries", function()
  local srv

  setup(function() srv = fake.start({ folders = 10 }) end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  local function run(argv, extra)
    return process.run(process.cli(argv), srv:cli_env(extra))
  end

  it("--max-retries N: a failed request is tried N more times", function()
    srv:faults({ { status = 503, times = -1 } })
    local _, err, status = run({ "--max-retries", "0", "folders" })
    assert.are.equal(1, status, err)
    assert.are.equal(1, #srv:requests())
    srv:reset()
    srv:faults({ { status = 503, times = -1 } })
    _, err, status = run({ "folders", "--max-retries=2" }, { GONG_RATE = "50" })
    assert.are.equal(1, status, err)
    assert.are.equal(3, #srv:requests())
  end)

  it("--rate and GONG_RATE set the limit; a bad value is a usage error naming where it came from", function()
    local out, err, status = run({ "--rate", "5", "folders", "--json" })
    assert.are.equal(0, status, err)
    assert.truthy(#out > 0)
    srv:reset()
    for _, case in ipairs({
      { { "--rate", "0", "folders" }, nil, "gong-library: --rate must be a number from 0.001 to 10000, not '0'\n" },
      { { "--rate", "fast", "folders" }, nil, "gong-library: --rate must be a number, not 'fast'\n" },
      { { "folders" }, { GONG_RATE = "fast" }, "gong-library: GONG_RATE in the environment must be a number, "
        .. "not 'fast'\n" },
      { { "--max-retries", "-1", "folders" }, nil, "gong-library: --max-retries needs a whole number of retries, "
        .. "0 or more, not '-1'\n" },
      { { "--max-retries", "1000", "folders" }, nil, "gong-library: --max-retries must be a number from 0 to 100\n" },
    }) do
      out, err, status = run(case[1], case[2])
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.are.equal(case[3], err:match("^[^\n]*\n"), err)
    end
    assert.are.equal(0, #srv:requests(), "no request with a bad value")
  end)
end)
