-- gong-library export against a tenant shared with other integrations:
-- Gong allows a tenant a few requests a second, and another integration may
-- use most of them. The limiter learns from the 429s (rateadapt.c): it slows
-- every transfer down and waits out Retry-After for all of them, so an export
-- still finishes, with few of its requests refused. Run as a real process
-- against the fake Gong server, whose record of the requests it received
-- (their statuses) is what the counts are held against.

describe("gong-library export against a tenant with 2 requests/s left", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"
  local srv, scratch

  setup(function()
    srv = fake.start({ folders = 40 })
    scratch = process.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  -- #once: an export of 40 folders at the tenant's real 2/s (about 25 s);
  -- run under the first Lua only (the Makefile's HOST_SPECS).
  it("finishes with status 0, no folder failed, at most 10 % of its requests answered 429 #once", function()
    srv:reset()
    srv:settings({ rate_limit = 2 })
    local out = scratch .. "/lib.json"
    local _, err, status = process.run(process.cli({ "export", "-o", out }), srv:cli_env())
    assert.are.equal(0, status, err)
    assert.is_nil(err:find("fail"), err)
    local all, refused = 0, 0
    for _, req in ipairs(srv:requests()) do
      if req.path ~= "/oauth2/generate-customer-token" then
        all = all + 1
        if req.status == 429 then refused = refused + 1 end
      end
    end
    local asked = 0
    for _, f in ipairs(fake.contract_library({ folders = 40 }).folders) do
      if f.callCount ~= 0 then asked = asked + 1 end
    end
    assert.is_true(all >= 1 + asked, ("a folder list and %d folders: %d"):format(asked, all))
    assert.is_true(refused * 10 <= all, ("%d of %d requests answered 429"):format(refused, all))
  end)
end)
