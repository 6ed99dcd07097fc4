-- make check-valgrind: thousands of requests through gong.core, the Library
-- and the Calls API — successes, HTTP errors, decode errors, network errors,
-- closed clients (closed inside their own callbacks too), and the event-loop
-- driver (gong.loop on luv: cancelled, closed under way, left to the
-- collector) — with full garbage collections in between, so valgrind sees
-- every path's frees.
--   lua5.4 tools/stress.lua [ROUNDS]

local core = require "gong.core"
local gong = require "gong"
local fake = require "spec.support.fake"
local loop = require "gong.loop"
local oauth = require "gong.oauth"
local uv = require "luv"

local rounds = tonumber(arg[1]) or 200
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -m 700 " .. dir))
local srv = fake.start()
local creds = fake.credentials
local lib = fake.library()
local counts = {}

local function count(ok, err)
  local key = ok and "ok" or err.kind
  counts[key] = (counts[key] or 0) + 1
end

-- One round of the driver: answers, a failure, a cancelled request, one
-- dropped by close(), and a driver with a request left to the collector.
local function loop_round(folder, ids)
  local c = loop.client({ base_url = srv.url, token = creds.token, rate = false, max_retries = 1,
                          backoff_base = 0 }, uv)
  local left = 3
  local function done(ok, err)
    count(ok, err)
    left = left - 1
  end
  c:calls(folder.id, done)
  c:calls("missing", done)
  c:call_details(ids, nil, done)
  c:folders(nil, function() error("a cancelled request was answered") end):cancel()
  while left > 0 do uv.run("once") end
  c:calls(folder.id, function() error("a request dropped by close() was answered") end)
  c:close()
  uv.run("nowait")
  local orphan = core.new({ base_url = srv.url, token = creds.token, rate = false })
  orphan:driver():start("calls", folder.id)
end

-- One round of OAuth: a token function refused once (one refresh for a
-- batch in flight), an exchange into a store, a refresh under its lock and
-- its atomic rewrite, a reused refresh token (invalid_grant), and a token
-- function that raises.
-- close() from inside the client's own callbacks — a token function (one
-- request, a batch, the driver), on_result, on_progress — blocking and on
-- the loop: the run ends with `closed` (the loop calls nothing back), and
-- the client is freed once the run has unwound.
local function close_round(folder_ids, ids)
  local function closing_token(holder)
    return function()
      holder.c:close()
      return creds.token
    end
  end
  local opts = { base_url = srv.url, rate = false }
  for _, run in ipairs({
    function(c) return c:folders() end,
    function(c) return c:calls_batch(folder_ids) end,
    function(c) return c:call_details(ids, { batch_size = 1 }) end,
  }) do
    local holder = {}
    opts.token = closing_token(holder)
    holder.c = gong.new(opts)
    count(run(holder.c))
  end
  opts.token = creds.token
  local c = gong.new(opts)
  count(c:calls_batch(folder_ids, { on_result = function() c:close() end }))
  c = gong.new(opts)
  count(c:library({ on_progress = function() c:close() end }))
  c = gong.new(opts)
  count(c:call_details(ids, { batch_size = 1, on_progress = function() c:close() end }))
  local holder = {}
  holder.c = loop.client({ base_url = srv.url, rate = false, token = closing_token(holder) }, uv)
  holder.c:library({}, function() error("a callback after close()") end)
  local lc = loop.client({ base_url = srv.url, rate = false, token = creds.token }, uv)
  lc:call_details(ids, { batch_size = 1, on_progress = function() lc:close() end },
                  function() error("a callback after close()") end)
  for _ = 1, 200 do
    if not uv.run("once") then break end
  end
end

local function oauth_round(folder_ids)
  local stale = true
  local c = core.new({ base_url = srv.url, rate = false, token = function()
    if stale then
      stale = false
      return "stale"
    end
    return creds.token, 60
  end })
  count(c:calls_batch(folder_ids))
  c:close()
  local app = { client_id = creds.client_id, client_secret = creds.client_secret, store = dir .. "/oauth.json",
                token_url = srv.url .. "/oauth2/generate-customer-token", redirect_uri = "https://app.example/cb" }
  app.code = srv:oauth_code(app.redirect_uri)
  local source = assert(oauth.exchange(app))
  local used = source.state.refresh_token
  source.state.expires_at = 0
  count(source(false))
  count(oauth.new({ client_id = app.client_id, client_secret = app.client_secret, refresh_token = used,
                    token_url = app.token_url })(false))
  local raising = core.new({ base_url = srv.url, token = function() error("no token") end })
  count(raising:folders())
end

srv:settings({ page_size = 2 })
local client = core.new({ base_url = srv.url, token = creds.token, rate = false,
                          max_retries = 1, backoff_base = 0, stall_timeout = 5 })
local shared = core.new({ base_url = srv.url, token = creds.token, rate = 10000, rate_scope = "host" })
for round = 1, rounds do
  local folder = lib.folders[round % #lib.folders + 1]
  count(client:folders())
  count(client:calls(folder.id))
  count(client:calls("missing/" .. round))
  -- The Calls API: POST bodies, paging (2 records a page here) and the
  -- empty-result 404, with a batch of each kind.
  local ids = { lib.call_ids[round % #lib.call_ids + 1], lib.call_ids[(round * 7) % #lib.call_ids + 1], "none" }
  count(client:call_details(ids, { fields = { "parties", "content" } }))
  count(client:transcripts(ids))
  count(client:call_details({ "none" }))
  if round % 25 == 0 then count(client:workspaces()) end
  -- rate_scope "host": the state file, read and written under its lock.
  if round % 4 == 0 then count(shared:folders()) end
  if round % 10 == 5 then loop_round(folder, ids) end
  if round % 10 == 7 then oauth_round({ folder.id, lib.folders[1].id }) end
  if round % 10 == 3 then close_round({ folder.id, lib.folders[1].id }, ids) end
  if round % 10 == 0 then
    srv:faults({ { status = 200, body = '{"folders":[{"id":{"x":1}}]}' },
                 { status = 503, times = 2 }, { action = "reset" },
                 { status = 502, body = "<html>proxy</html>" } })
    count(client:folders())
    count(client:folders())
    count(client:folders())
    srv:faults({ { path = "/calls/extensive", status = 200, body = '{"calls":[{"metaData":7}]}' } })
    count(client:call_details(ids))
    local bad = core.new({ base_url = srv.url, token = "wrong", rate = false })
    count(bad:folders())
    bad:close()
    count(bad:folders())
    local nobody = core.new({ base_url = "http://127.0.0.1:1", token = "t", max_retries = 0 })
    count(nobody:folders())
    -- left to the garbage collector on purpose
    pcall(core.new, { bogus = true })
    pcall(client.calls, client, "")
    collectgarbage()
  end
end
client:close()
shared:close()
srv:stop()
os.execute("rm -rf " .. dir)
collectgarbage()

local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do io.write(k, "=", counts[k], " ") end
io.write("\n")
assert(counts.ok and counts.http and counts.decode and counts.network and counts.closed and counts.auth,
       "stress run did not reach every outcome")
