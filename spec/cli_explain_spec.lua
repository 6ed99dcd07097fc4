-- gong.cli.explain: what a library error means in gong-library's terms, given
-- where each value came from. The errors are real ones, from the fake Gong
-- server; the CLI's own runs of these messages are in cli_spec.

local core = require "gong.core"
local credentials = require "gong.credentials"
local explain = require "gong.cli.explain"
local fake = require "spec.support.fake"

describe("gong.cli.explain.hint()", function()
  local srv, not_found

  setup(function()
    srv = fake.start({ folders = 3 })
    -- A 404 as a server answers a path it does not have: the contract's folder
    -- path, asked of a server that is not the contract's.
    local c = core.new({ base_url = srv.url, token = fake.credentials.token, rate = false, api = "contract" })
    local calls
    calls, not_found = c:calls("no-such-folder")
    assert(calls == nil and not_found.status == 404)
    c:close()
  end)

  teardown(function() srv:stop() end)

  -- What gong.credentials resolves from gong-library's command line (`flags`)
  -- and environment (`env`).
  local function resolved(flags, env)
    return assert(credentials.resolve({
      credentials.from_options(flags, "the command line", { base_url = "--base-url", api = "--api" }),
      credentials.from_environment(function(name) return env[name] end),
    }, "no credentials"))
  end

  it("says to try --api public after a 404 from one of Gong's hosts spoken to in the contract", function()
    local r = resolved({ base_url = "https://us-12345.api.gong.io/v2", api = "contract" }, { GONG_TOKEN = "tok-1" })
    assert.are.equal("the base URL (from --base-url) is Gong's, which serves its public API, not the contract "
      .. "that --api asks for: try --api public", explain.hint(not_found, r, nil, "contract"))
    r = resolved({}, { GONG_TOKEN = "tok-1", GONG_API = "contract" })
    assert.are.equal("the default base URL is Gong's, which serves its public API, not the contract that GONG_API "
      .. "in the environment asks for: try --api public", explain.hint(not_found, r, nil, "contract"))
  end)

  it("has no word on --api for a 404 elsewhere: another host, the public API, or an answer that is no 404", function()
    local r = resolved({ base_url = srv.url }, { GONG_TOKEN = "tok-1" })
    assert.is_nil(explain.hint(not_found, r, nil, "contract"), "a proxy or a mock of the contract may 404")
    r = resolved({ base_url = "https://api.gong.io/v2" }, { GONG_TOKEN = "tok-1" })
    assert.is_nil(explain.hint(not_found, r, nil, "public"))
    local unavailable = core.error("http", "HTTP 503 on GET /library/folders", { status = 503 })
    assert.is_nil(explain.hint(unavailable, resolved({ api = "contract" }, { GONG_TOKEN = "tok-1" }), nil, "contract"))
  end)
end)

describe("gong.cli.explain.span()", function()
  it("says a span of seconds as people do", function()
    assert.are.same({ "45 s", "1.6 s", "2 s", "52 min", "3.5 h", "36.0 h", "12 days" },
      { explain.span(45), explain.span(1.6), explain.span(2.02), explain.span(52 * 60), explain.span(3.5 * 3600),
        explain.span(36 * 3600), explain.span(12 * 86400) })
  end)
end)
