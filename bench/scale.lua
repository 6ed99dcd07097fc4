-- gong at a real tenant's scale (issue 22): `gong-library export` as users
-- run it (bench/client.lua cli), against the fake server: in public mode for
-- the memory, in the contract's (where a folder tells its callCount, so
-- empty folders are not asked) for the request counts.
--
--   memory   peak RSS of `export --details --transcripts`, json and ndjson,
--            at two library sizes, one 4× the other, with transcripts of a
--            real call's size (transcript_scale 40: 47 kB of JSON on
--            average), rate 1000/s (pages arrive as fast as the server makes
--            them). Targets: ≤ 100 MB, and ≤ 1.25× from one size to the other.
--            The smaller is 80 folders (1,484 calls): below about that, an
--            export's 3 batches of pages are seldom all in flight at once, so
--            its peak is lower than the plateau any larger library reaches
--            (20 folders: 47-61 MB) and the ratio would measure the pipeline
--            filling, not memory growing with the library.
--            And `--update` of the larger export, unchanged: an ndjson export
--            is read back a line at a time (≤ 100 MB), a json one decoded
--            whole (no target: cjson has no streaming decoder).
--   update   the requests the server counts for `--update` of an unchanged
--            library (1 + folders with calls, none of the Calls API) and of
--            one with new calls filed (2 × ⌈new / 100⌉ more).
--   shared   an export against a tenant that has 2 requests/s left (the
--            fake's rate_limit): no folder failed, at most 10 % of its
--            requests answered 429.
--
-- The request counts do not depend on the machine: they are judged in smoke
-- runs too (b.row's `always`), so CI's bench-smoke holds them.

local format = string.format

local SIZES = {
  full = { memory = 80, runs = 3, update = 40, new_calls = 150, shared = 40 },
  smoke = { memory = 3, runs = 1, update = 6, new_calls = 3, shared = 6 },
}
local TRANSCRIPT_SCALE = 40
local MEMORY_MB, MEMORY_GROWTH = 100, 1.25
local SHARED_RATE, REFUSED_SHARE = 2, 0.10
local PUBLIC = "--api"

-- The Calls API's routes, whose requests an unchanged library must not make.
local function calls_api(path)
  return path:find("^/calls/") ~= nil
end

-- What the server saw since `from` requests: all, the Calls API's, the 429s.
local function counted(srv, from)
  local all, api, refused = 0, 0, 0
  for i, req in ipairs(srv:requests()) do
    if i > from then
      all = all + 1
      if calls_api(req.path) then api = api + 1 end
      if req.status == 429 then refused = refused + 1 end
    end
  end
  return all, api, refused
end

local function with_calls(b, folders)
  local n = 0
  for _, f in ipairs(b.fake.library({ folders = folders }).folders) do
    if f.callCount > 0 then n = n + 1 end
  end
  return n
end

local function with_server(b, folders, fn)
  local srv = b.fake.start { folders = folders, idle_exit = 600, max_records = 100000 }
  local ok, err = pcall(fn, srv)
  srv:stop()
  if not ok then error(err, 0) end
end

local function mb(kb) return format("%.1f MB", kb / 1000) end

local function memory(b, size)
  local results, updates = {}, {}
  for _, folders in ipairs { size.memory, size.memory * 4 } do
    with_server(b, folders, function(srv)
      srv:settings { transcript_scale = TRANSCRIPT_SCALE }
      for _, fmt in ipairs { "ndjson", "json" } do
        b.log("export memory: %d folders, %s, x %d runs", folders, fmt, size.runs)
        local out = os.tmpname()
        local function words(...)
          return b.lua("cli", srv.tenant_url, fmt, out, PUBLIC, "public", "--details", "--transcripts",
                       "GONG_RATE=1000", ...)
        end
        local function show(r)
          return format("%.2f s, %s, peak RSS %s", r.seconds, mb(r.bytes / 1000), mb(r.hwm_kb))
        end
        local ok, err = pcall(function()
          results[fmt .. folders] = b.rounds({ { name = fmt, command = words(), show = show } }, size.runs)[fmt]
          -- The larger library's export updated: nothing new, everything read back.
          if folders > size.memory then updates[fmt] = b.measure(words("--update", "GONG_PROGRESS=1")) end
        end)
        os.remove(out)
        if not ok then error(err, 0) end
      end
    end)
  end
  local scenario = format("Export memory: `gong-library export --details --transcripts`, public mode, "
                          .. "transcripts of %d sentences (about 47 kB), rate 1000/s", TRANSCRIPT_SCALE)
  local first = true
  for _, fmt in ipairs { "ndjson", "json" } do
    local small, large = results[fmt .. size.memory], results[fmt .. size.memory * 4]
    local hs, hl = b.medians(small, "hwm_kb"), b.medians(large, "hwm_kb")
    for _, r in ipairs { { size.memory, small, hs }, { size.memory * 4, large, hl } } do
      b.row(first and scenario or "",
            format("%s, %d folders (%s written): peak RSS", fmt, r[1], mb(b.medians(r[2], "bytes") / 1000)),
            mb(r[3]) .. b.spread(r[2], "hwm_kb", 1 / 1000, "%.1f"), "", format("≤ %d MB", MEMORY_MB),
            r[3] <= MEMORY_MB * 1000)
      first = false
    end
    b.row("", format("%s: growth from %d to %d folders", fmt, size.memory, size.memory * 4), "",
          format("%.2f×", hl / hs), format("≤ %.2f×", MEMORY_GROWTH), hl / hs <= MEMORY_GROWTH)
    -- ndjson is read back a line at a time; a json export is decoded whole (cjson has no stream).
    local u = updates[fmt]
    b.row("", format("%s: `--update` of the %d-folder export, unchanged (%d calls reused): peak RSS", fmt,
                     size.memory * 4, u.reused), mb(u.hwm_kb), "",
          fmt == "ndjson" and format("≤ %d MB", MEMORY_MB) or nil,
          fmt == "ndjson" and u.hwm_kb <= MEMORY_MB * 1000 or nil)
  end
end

local function update(b, size)
  local folders = size.update
  local minimum = 1 + with_calls(b, folders)
  local added = 2 * math.ceil(size.new_calls / 100)
  with_server(b, folders, function(srv)
    local out = os.tmpname()
    local ok, err = pcall(function()
      local function export(...)
        local from = #srv:requests()
        local r = b.measure(b.lua("cli", srv.url, "ndjson", out, "--details", "--transcripts", "GONG_RATE=1000",
                                  "GONG_PROGRESS=1", ...))
        r.requests, r.api = counted(srv, from)
        b.log("  %s: %d requests (%d of the Calls API), %d calls reused, %.2f s", select("#", ...) > 0
              and "update" or "export", r.requests, r.api, r.reused, r.seconds)
        return r
      end
      b.log("update: %d folders (%d requests without the Calls API), then %d new calls", folders, minimum,
            size.new_calls)
      local full = export()
      local same = export("--update")
      local list = b.fake.library({ folders = folders }).folders
      local target
      for _, f in ipairs(list) do
        if f.callCount > 0 then target = f.id; break end
      end
      srv:add_calls(target, size.new_calls)
      local grown = export("--update")
      local scenario = format("Update: `export --update` of a library of %d folders (%d requests without the "
                              .. "Calls API); an export from scratch made %d", folders, minimum, full.requests)
      b.row(scenario, "unchanged: requests the server counted (of the Calls API)",
            format("%d (%d); %d calls reused", same.requests, same.api, same.reused), "",
            format("%d (0)", minimum), same.requests == minimum and same.api == 0, true)
      b.row("", format("%d calls filed since: requests the server counted (of the Calls API)", size.new_calls),
            format("%d (%d); %d calls reused", grown.requests, grown.api, grown.reused), "",
            format("%d (%d): 2 × ⌈%d / 100⌉ more", minimum + added, added, size.new_calls),
            grown.requests == minimum + added and grown.api == added, true)
    end)
    os.remove(out)
    if not ok then error(err, 0) end
  end)
end

local function shared(b, size)
  local folders = size.shared
  with_server(b, folders, function(srv)
    srv:settings { rate_limit = SHARED_RATE }
    b.log("shared tenant: %d folders, the tenant allows %d requests/s", folders, SHARED_RATE)
    local r = b.measure(b.lua("cli", srv.url, "ndjson", ""))
    local all, _, refused = counted(srv, 0)
    b.log("  %.2f s, %d folders (%d failed), %d requests, %d × 429", r.seconds, r.folders, r.errors, all, refused)
    b.row(format("Shared tenant: `gong-library export` of %d folders (%d with calls), rate 3, against a tenant "
                 .. "with %d requests/s left", folders, with_calls(b, folders), SHARED_RATE),
          "requests, 429s and failed folders", format("%d requests, %d × 429, %d failed; %.1f s", all, refused,
          r.errors, r.seconds), format("%.0f %% 429", refused / all * 100),
          format("no failed folder, ≤ %d %% 429", REFUSED_SHARE * 100),
          r.errors == 0 and refused <= REFUSED_SHARE * all)
  end)
end

return function(b)
  local size = b.opts.smoke and SIZES.smoke or SIZES.full
  memory(b, size)
  update(b, size)
  shared(b, size)
end
