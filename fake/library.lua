-- Deterministic Gong library data for the fake server and for specs.
--
-- Specs on every interpreter require this module to compute what the server
-- (always Lua 5.4) must have answered, so the output has to be identical
-- under Lua 5.1-5.4 and LuaJIT: a Park-Miller generator whose products stay
-- below 2^53 (exact in doubles and in integers), no math.random, no integer
-- division, no utf8 library, and only integral numbers except the deliberate
-- .25/.5 durations, which are exact in binary. It requires nothing else, so
-- it loads without LuaSocket.

local format, floor, date = string.format, math.floor, os.date

local _M = {}

--- Defaults shared by the server's command line and spec/support/fake.lua.
_M.defaults = { seed = 1, folders = 300 }

--- The id of the folder whose id needs percent-encoding in a URL path and a
--- query string alike.
_M.SPECIAL_ID = "odd/id ?#%\195\169&=+"

local WORKSPACES = {
  -- The first two differ only in the last digit, beyond double precision.
  { id = "5840390422153820931", name = "Sales", weight = 50 },
  { id = "5840390422153820932", name = "Customer Success", weight = 35 },
  { id = "7129043812209837465", name = "Partners \195\156bersee", weight = 15 },
}

-- Folder ids are 19-digit strings (> 2^53) from this prefix and a serial
-- number, so neighbours collapse if a client turns them into doubles.
local FOLDER_PREFIX = "7782391105"
local CALL_PREFIX = "4416029390"

local FOLDER_NAMES = {
  "Best calls", "Discovery", "Demos", "D\195\169mos produit", "Objection handling",
  "Pricing", "N\195\169gociation", "Cold calls", "Renewals", "Onboarding",
  "Kundengespr\195\164che", "\229\149\134\232\171\135\227\129\174\233\140\178\233\159\179",
  "\230\136\144\229\138\159\228\186\139\228\190\139", "\240\159\154\128 Launches",
  "Wins \240\159\143\134", "Q3/Q4 reviews", "EMEA / APAC", "Closing", "Champions",
  "Competitive: Acme vs. Globex", "Training", "New hires", "Archive", "2023", "2024",
  "Ma\195\177ana", "\195\135a marche", "Z\195\188rich team",
  "\208\151\208\176\208\186\209\128\209\139\209\130\208\184\208\181 \209\129\208\180\208\181\208\187\208\190\208\186",
  'Say "hello"', "Back\\slash", "Misc",
}

local DESCRIPTIONS = {
  "Calls worth a listen",
  "Use these for onboarding.\nStart with the first one.",
  "Curated by the enablement team \226\128\148 ask before adding",
  "Best-of \240\159\142\167",
  "Tips & tricks <b>bold</b>",
}

local COMPANIES = {
  "Acme", "Globex", "Initech", "Umbrella", "Soci\195\169t\195\169 G\195\169n\195\169rale de Test",
  "\230\160\170\229\188\143\228\188\154\231\164\190\227\130\181\227\131\179\227\131\151\227\131\171",
  "Wayne Enterprises", "M\195\188ller & S\195\182hne",
}

local TOPICS = {
  "Discovery call", "Demo", "Pricing follow-up", "Kick-off \240\159\142\137", "QBR",
  'Renewal "final" review', "Intro", "Negotiation",
}

local NOTES = {
  "Great discovery.\nWatch the pricing part.",
  "Listen from 12:30",
  "Handles the security objection \226\128\148 well",
  "\240\159\145\141",
}

local SNIPPETS = {
  "\226\128\156We tried Globex last year\226\128\166\226\128\157",
  "Pricing discussion",
  "Customer asks about SSO & SCIM",
}

-- 2023-01-01T00:00:00Z; every date lies within two years after it.
local EPOCH = 1672531200
local DAY = 86400
-- A chain this long opens every workspace, so the tree is always deep.
local CHAIN = 6
local MAX_DEPTH = 8

--- The generator's building blocks, shared with bench/gen.lua: a Park-Miller
--- random source exact in doubles, picking, ISO dates and user ids.
local function new_random(seed)
  local modulus = 2147483647
  local state = floor(seed) % (modulus - 1) + 1
  --- Returns an integer in [0, n).
  return function(n)
    state = state * 16807 % modulus
    return state % n
  end
end

local function iso(t)
  return date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local function pick(random, list)
  return list[1 + random(#list)]
end

local function user_ids(random, count)
  local users = {}
  for i = 1, count do
    users[i] = format("%d%09d%09d", 1 + random(8), random(1000000000), random(1000000000))
  end
  return users
end

local function pick_workspace(random)
  local roll = random(100)
  for _, ws in ipairs(WORKSPACES) do
    if roll < ws.weight then return ws end
    roll = roll - ws.weight
  end
  return WORKSPACES[1]
end

-- Chooses where the next folder of a workspace hangs: the first CHAIN
-- folders nest in one line, then mostly under recent folders (depth) and
-- sometimes anywhere or at the top (breadth).
local function pick_parent(random, members)
  local count = #members
  if count == 0 then return nil end
  if count < CHAIN then return members[count] end
  local roll = random(100)
  local parent
  if roll < 8 then
    return nil
  elseif roll < 60 then
    local recent = count < 10 and count or 10
    parent = members[count - random(recent)]
  else
    parent = members[1 + random(count)]
  end
  while parent.depth >= MAX_DEPTH do parent = parent.parent end
  return parent
end

local function description(random)
  local roll = random(100)
  if roll < 30 then return nil end
  if roll < 40 then return "" end
  return pick(random, DESCRIPTIONS)
end

local function duration(random)
  local seconds, roll = 60 + random(5400), random(100)
  if roll < 75 then return seconds end
  if roll < 90 then return seconds + 0.5 end
  return seconds + 0.25
end

local function make_calls(random, users, count, next_serial)
  local calls = {}
  for i = 1, count do
    local started = EPOCH + random(700 * DAY)
    local seconds = duration(random)
    local id = CALL_PREFIX .. format("%09d", next_serial + i)
    local title
    if random(100) >= 8 then
      title = pick(random, COMPANIES) .. " \226\128\148 " .. pick(random, TOPICS)
    end
    calls[i] = {
      callId = id,
      title = title,
      url = "https://app.gong.io/call?id=" .. id,
      started = iso(started),
      duration = seconds,
      primaryUserId = pick(random, users),
      addedToLibraryAt = iso(started + floor(seconds) + random(30 * DAY)),
      addedBy = pick(random, users),
      -- Only the public folder-content variant shows these two.
      note = random(100) < 45 and pick(random, NOTES) or nil,
      snippet = random(100) < 50 and pick(random, SNIPPETS) or nil,
    }
  end
  return calls
end

local function call_count(random)
  local roll = random(100)
  if roll < 15 then return 0 end
  if roll < 90 then return 1 + random(20) end
  return 30 + random(90)
end

--- Generates a library.
---@param opts table|nil {seed = integer (default 1),
---   folders = integer (default 300; the total, special folder included)}
---@return table library {workspaces = {{id, name}...}, folders = {folder...} in response order,
---   calls = {[folderId] = {call...}}, by_id = {[folderId] = folder}, special_id = string}
--- A folder has the contract fields (description and parentFolderId may be
--- nil = null) plus workspaceId and depth; a call has the contract fields
--- (title may be nil) plus note and snippet (may be nil).
function _M.generate(opts)
  opts = opts or {}
  local seed = opts.seed or _M.defaults.seed
  local total = opts.folders or _M.defaults.folders
  if total < 1 then total = 1 end
  local random = new_random(seed)
  local users = user_ids(random, 12)

  local members = {}
  for _, ws in ipairs(WORKSPACES) do members[ws.id] = {} end
  local created, calls, by_id = {}, {}, {}
  local call_serial = 0
  local special_at = floor(total / 2) + 1
  local special

  for i = 1, total do
    local ws, parent, id, name, count
    if i == special_at then
      ws, id, name, count = WORKSPACES[1], _M.SPECIAL_ID, "Odd \226\156\177 folder", 2
    else
      -- The folder after the special one is its child, so a parentFolderId
      -- that needs encoding exists too.
      if special and i == special_at + 1 then
        ws, parent = WORKSPACES[1], special
      else
        ws = pick_workspace(random)
        parent = pick_parent(random, members[ws.id])
      end
      id = FOLDER_PREFIX .. format("%09d", i)
      name = pick(random, FOLDER_NAMES)
      count = call_count(random)
    end
    local folder = {
      id = id,
      name = name,
      description = description(random),
      parentFolderId = parent and parent.id or nil,
      callCount = count,
      createdBy = pick(random, users),
      created = iso(EPOCH + random(600 * DAY)),
      workspaceId = ws.id,
      depth = parent and parent.depth + 1 or 1,
      parent = parent,
    }
    if i == special_at then special = folder end
    local list = members[ws.id]
    list[#list + 1] = folder
    created[i] = folder
    by_id[id] = folder
    calls[id] = make_calls(random, users, count, call_serial)
    call_serial = call_serial + count
  end

  -- Shuffle a little so clients cannot rely on parents preceding children,
  -- and make sure at least one child (the deepest in the first chain) does.
  local folders = {}
  for i = 1, total do folders[i] = created[i] end
  for _ = 1, floor(total / 10) do
    local a, b = 1 + random(total), 1 + random(total)
    folders[a], folders[b] = folders[b], folders[a]
  end
  local deepest = 1
  for i = 2, total do
    if folders[i].depth > folders[deepest].depth then deepest = i end
  end
  folders[1], folders[deepest] = folders[deepest], folders[1]
  for _, folder in ipairs(folders) do folder.parent = nil end

  local workspaces = {}
  for i, ws in ipairs(WORKSPACES) do workspaces[i] = { id = ws.id, name = ws.name } end
  return { workspaces = workspaces, folders = folders, calls = calls, by_id = by_id,
           special_id = _M.SPECIAL_ID }
end

-- Fisher-Yates, in place, with `random` from new_random.
local function shuffle(random, list)
  for i = #list, 2, -1 do
    local j = 1 + random(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

-- The pieces, for bench/gen.lua, which makes far larger libraries than
-- generate() could: `calls(random, users, count, first_serial)` makes `count`
-- calls whose ids count on from `first_serial`.
_M.new_random, _M.pick, _M.iso, _M.user_ids = new_random, pick, iso, user_ids
_M.calls, _M.shuffle = make_calls, shuffle

return _M
