-- Writes the response bodies the benchmark's nginx serves, as files:
--
--   OUT/small/folders.json             GET /small/library/folders      (--small folders)
--   OUT/large/folders.json             GET /large/library/folders      (one folder)
--   OUT/large/calls/<id>.json          GET /large/library/folders/<id>/calls  (--large calls)
--   OUT/large/calls/<id2>.json         the same for a folder of --medium calls
--   OUT/tree<N>/folders.json           GET /tree<N>/library/folders    (one per --trees size)
--   OUT/manifest.lua                   what was written, for bench/bench.lua
--
-- Bodies are contract-shaped (rendered by fake/contract.lua, so they have the
-- fake server's exact field order, nulls and 19-digit string ids). Calls come
-- from fake.library's call maker; folders are made here, because
-- fake.library.generate also makes thousands of calls per thousand folders,
-- which is too slow at 100,000 folders. Deterministic for a seed.
--
--   lua5.4 bench/gen.lua OUT [--small 50] [--medium 1000] [--large 100000] [--trees 10000,100000] [--seed 1]

local contract = require "fake.contract"

local concat, format = table.concat, string.format

local FOLDER_PREFIX = "7782391105"
local EPOCH = 1672531200 -- 2023-01-01T00:00:00Z
local DAY = 86400
local MAX_DEPTH = 10

-- Folder names repeat, as in a real library, so that sorting siblings by name
-- has ties to break by id.
local NAMES = {
  "Best calls", "Discovery", "Demos", "D\195\169mos produit", "Objection handling", "Pricing",
  "N\195\169gociation", "Cold calls", "Renewals", "Onboarding", "Kundengespr\195\164che",
  "Q3/Q4 reviews", "EMEA / APAC", "Closing", "Champions", "Training", "New hires", "Archive",
  "2023", "2024", "Ma\195\177ana", "Z\195\188rich team", 'Say "hello"', "Misc",
}
local DESCRIPTIONS = { "Calls worth a listen", "Use these for onboarding.\nStart with the first one.",
                       "Curated by the enablement team \226\128\148 ask before adding" }

-- Park-Miller, like fake.library: the same bytes on every run.
local library = require "fake.library"
local new_random, pick, iso, user_ids = library.new_random, library.pick, library.iso, library.user_ids
local make_calls, shuffle = library.calls, library.shuffle

-- `count` folders shaped like a real library: a few roots, mostly deep
-- chains under recent folders, some wide branches, depth at most MAX_DEPTH;
-- then shuffled, so that children often come before their parents.
local function make_folders(random, users, count, first_serial)
  local folders, depth = {}, {}
  for i = 1, count do
    local parent
    local roll = random(100)
    if i > 1 and roll >= 3 then
      if roll < 60 then
        parent = i - 1 - random(i - 1 < 10 and i - 1 or 10)
      else
        parent = 1 + random(i - 1)
      end
      while depth[parent] >= MAX_DEPTH do parent = folders[parent].parent end
    end
    depth[i] = parent and depth[parent] + 1 or 1
    local droll = random(100)
    folders[i] = {
      id = FOLDER_PREFIX .. format("%09d", first_serial + i),
      parent = parent,
      name = pick(random, NAMES),
      description = droll < 30 and nil or droll < 40 and "" or pick(random, DESCRIPTIONS),
      callCount = random(100) < 15 and 0 or 1 + random(40),
      createdBy = pick(random, users),
      created = iso(EPOCH + random(600 * DAY)),
    }
  end
  for i = 1, count do
    local p = folders[i].parent
    folders[i].parentFolderId = p and folders[p].id or nil
  end
  return shuffle(random, folders)
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
end

local function mkdir(path)
  assert(os.execute("mkdir -p '" .. path .. "'"), "cannot create " .. path)
end

local function folders_body(list)
  return contract.body("bench-folders", "folders", contract.folders(list))
end

local function parse_args(argv)
  local opts = { small = 50, medium = 1000, large = 100000, trees = { 10000, 100000 }, seed = 1 }
  opts.out = argv[1]
  local i = 2
  while argv[i] do
    local flag, value = argv[i], argv[i + 1]
    if flag == "--trees" then
      opts.trees = {}
      for n in value:gmatch("%d+") do opts.trees[#opts.trees + 1] = tonumber(n) end
    elseif flag == "--small" or flag == "--medium" or flag == "--large" or flag == "--seed" then
      opts[flag:sub(3)] = assert(tonumber(value), flag .. " needs a number")
    else
      error("unknown argument " .. flag)
    end
    i = i + 2
  end
  assert(opts.out, "usage: gen.lua OUT [--small N] [--medium N] [--large N] [--trees N,N] [--seed N]")
  return opts
end

local function main(argv)
  local opts = parse_args(argv)
  local random = new_random(opts.seed)
  local users = user_ids(random, 12)
  local out = opts.out
  local manifest = { "return {" }
  local function record(key, value)
    manifest[#manifest + 1] = format("  %s = %q,", key, value)
  end

  local small = make_folders(random, users, opts.small, 0)
  mkdir(out .. "/small")
  local body = folders_body(small)
  write(out .. "/small/folders.json", body)
  record("small_folders", opts.small)
  record("small_bytes", #body)

  local big = make_folders(random, users, 1, 900000000)[1]
  big.callCount = opts.large
  mkdir(out .. "/large/calls")
  write(out .. "/large/folders.json", folders_body { big })
  body = contract.body("bench-calls", "calls", contract.calls(make_calls(random, users, opts.large, 0)))
  write(out .. "/large/calls/" .. big.id .. ".json", body)
  record("large_id", big.id)
  record("large_calls", opts.large)
  record("large_bytes", #body)

  -- A folder of a more usual size, beside the large one (the folder list
  -- does not name it: only its calls are asked for).
  local medium = make_folders(random, users, 1, 910000000)[1]
  body = contract.body("bench-calls", "calls", contract.calls(make_calls(random, users, opts.medium, 0)))
  write(out .. "/large/calls/" .. medium.id .. ".json", body)
  record("medium_id", medium.id)
  record("medium_calls", opts.medium)
  record("medium_bytes", #body)

  local sizes = {}
  for _, n in ipairs(opts.trees) do
    mkdir(out .. "/tree" .. n)
    write(out .. "/tree" .. n .. "/folders.json", folders_body(make_folders(random, users, n, 0)))
    sizes[#sizes + 1] = n
  end
  manifest[#manifest + 1] = "  trees = { " .. concat(sizes, ", ") .. " },"
  manifest[#manifest + 1] = "}"
  write(out .. "/manifest.lua", concat(manifest, "\n") .. "\n")
end

main(arg)
