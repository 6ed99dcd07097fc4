-- Deterministic Gong library data for the fake server and for specs.
--
-- Specs on every interpreter require this module to compute what the server
-- (always Lua 5.4) must have answered, so the output has to be identical
-- under Lua 5.1-5.4 and LuaJIT: a Park-Miller generator whose products stay
-- below 2^53 (exact in doubles and in integers), no math.random, no integer
-- division, no utf8 library, and only integral numbers except the deliberate
-- .25/.5 durations and .5 talk times, which are exact in binary; divisions
-- are floored right away (or halve), so no rounding can differ either. It
-- requires nothing else, so it loads without LuaSocket.

local format, floor, date = string.format, math.floor, os.date

local _M = {}

--- Defaults shared by the server's command line and spec/support/fake.lua.
_M.defaults = { seed = 1, folders = 300 }

--- The id of the folder whose id needs percent-encoding in a URL path and a
--- query string alike.
_M.SPECIAL_ID = "odd/id ?#%\195\169&=+"

local WORKSPACES = {
  -- The first two differ only in the last digit, beyond double precision.
  { id = "5840390422153820931", name = "Sales", weight = 50,
    description = "New business, from discovery to signature" },
  { id = "5840390422153820932", name = "Customer Success", weight = 35,
    description = "Onboarding, renewals & QBRs" },
  { id = "7129043812209837465", name = "Partners \195\156bersee", weight = 15,
    description = "Resellers outside Europe \226\128\148 \"overseas\"" },
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

-- Where a call's library snippet lies, as shares of the call: Gong's Snippet
-- is {fromSec, toSec}, whole seconds from the call's start.
local SNIPPETS = { { 0.05, 0.15 }, { 0.3, 0.42 }, { 0.6, 0.75 } }

local function snippet(share, seconds)
  return { fromSec = floor(seconds * share[1]), toSec = floor(seconds * share[2]) }
end

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
      snippet = random(100) < 50 and snippet(pick(random, SNIPPETS), seconds) or nil,
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

-- What POST /calls/extensive and POST /calls/transcript add to a call.

-- The 12 users of user_ids(), in order: display name and e-mail local part.
local USERS = {
  { "Ana Lima", "ana.lima" }, { "Jonas Sch\195\164fer", "jonas.schaefer" },
  { "Chlo\195\169 Martin", "chloe.martin" }, { "Kenji Watanabe", "kenji.watanabe" },
  { "Fatima Zahra", "fatima.zahra" }, { "Liam O'Brien", "liam.obrien" },
  { "Sof\195\173a Herrera", "sofia.herrera" }, { "Mateusz W\195\179jcik", "mateusz.wojcik" },
  { "Priya Raman", "priya.raman" }, { "Noah Fischer", "noah.fischer" },
  { "Emma Johansson", "emma.johansson" }, { "Tariq Haddad", "tariq.haddad" },
}
local USER_DOMAIN = "seller.example"

-- Customers' people, and the domains of their companies.
local CONTACTS = {
  { "Olivia Brown", "olivia.brown" }, { "Lukas Weber", "lukas.weber" },
  { "\231\148\176\228\184\173 \230\132\155\229\173\144", "aiko.tanaka" }, { "Marie Dubois", "marie.dubois" },
  { "Carlos Mendes", "carlos.mendes" }, { "Grace Kim", "grace.kim" },
  { "S\195\184ren Nielsen", "soren.nielsen" }, { "Zo\195\171 Adams", "zoe.adams" },
  { 'Dmitri "Dima" Ivanov', "dmitri.ivanov" }, { "Hannah Lee", "hannah.lee" },
}
local CONTACT_DOMAINS = {
  "acme.example", "globex.example", "initech.example", "umbrella.example",
  "wayne.example", "mueller-soehne.example",
}

local DIRECTIONS = { "Inbound", "Outbound", "Conference" }
local SYSTEMS = { "Zoom", "Google Meet", "Microsoft Teams", "Webex", "Gong Dialer" }
local LANGUAGES = { "eng", "eng", "eng", "deu", "fra", "spa", "jpn" }

local CALL_TOPICS = {
  "Call Setup", "Small Talk", "Pricing", "Product Demo", "Next Steps",
  "Security & Compliance", "Integrations", "Wrap-up",
}

-- Trackers are the tenant's, so their ids are fixed.
local TRACKERS = {
  { id = "6124509384756120001", name = "Competitors" },
  { id = "6124509384756120002", name = "Pricing" },
  { id = "6124509384756120003", name = "Budget" },
  { id = "6124509384756120004", name = "Security" },
  { id = "6124509384756120005", name = "Next steps" },
}

local COMMENTS = {
  "Great handling of the pricing question",
  "Listen to this part \240\159\145\130",
  "We should follow up on SSO here.\nAsk legal first.",
  "Nice \"trial close\"",
}

local SENTENCES = {
  "Thanks for making the time today.",
  "Can you walk me through your current process?",
  "We looked at Globex last year \226\128\148 it didn't stick.",
  "What does success look like for you in Q3?",
  "Let me share my screen.",
  "Preis und Laufzeit sind f\195\188r uns entscheidend.",
  "That's a \"must-have\" for our security team.",
  "We could start with a pilot of 50 seats.",
  "Could you send the deck afterwards?",
  "\230\151\165\230\156\172\227\129\174\227\131\129\227\131\188\227\131\160"
    .. "\227\130\130\229\143\130\229\138\160\227\129\151\227\129\190\227\129\153\227\128\130",
  "Sounds good, let's schedule a follow-up.",
  "Is SSO included in the base tier?",
  "Path is C:\\Exports\\calls, by the way.",
  "Um\226\128\166 yeah.",
}

-- One folder in SHARE_EVERY (by creation) also lists a call of an earlier
-- folder of its workspace, as a real library does when a call is filed twice.
local SHARE_EVERY = 15
-- Every call whose serial number (the last 9 digits of its id) is a multiple
-- of NO_TRANSCRIPT has no transcript; of UNKNOWN_SPEAKER has a monologue by
-- a speaker who is none of the parties, as Gong reports unidentified voices.
local NO_TRANSCRIPT = 7
local UNKNOWN_SPEAKER = 23

-- The serial number in a call id.
local function serial_of(id)
  return tonumber(id:sub(-9))
end

-- Seconds since 1970 of a date-time iso() wrote, by the days-from-civil
-- algorithm: os.time would apply the local time zone.
local function epoch_of(s)
  local y, m, d, hh, mm, ss = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m > 2 and m - 3 or m + 9) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * DAY + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

-- A 19-digit id, like Gong's.
local function long_id(random)
  return format("%d%09d%09d", 1 + random(8), random(1000000000), random(1000000000))
end

-- Fisher-Yates, in place, with `random` from new_random.
local function shuffle(random, list)
  for i = #list, 2, -1 do
    local j = 1 + random(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

-- Files a call of an earlier folder of the same workspace into every
-- SHARE_EVERY-th folder (the special one keeps its two calls), at a random
-- place in its list. The same record is listed, so it is one call.
local function share_calls(random, created, calls, special_id)
  for i = SHARE_EVERY, #created, SHARE_EVERY do
    local target = created[i]
    if target.id ~= special_id then
      local j = 1 + random(i - 1)
      while j >= 1 and not (created[j].workspaceId == target.workspaceId and #calls[created[j].id] > 0) do
        j = j - 1
      end
      if j >= 1 then
        local source, list = calls[created[j].id], calls[target.id]
        table.insert(list, 1 + random(#list + 1), source[1 + random(#source)])
        target.callCount = #list
      end
    end
  end
end

-- 2-5 parties, the primary user among them; speaker ids unique in the call.
local function make_parties(random, call, users, user_index)
  local count = 2 + random(4)
  local internal_only = random(100) < 15
  local colleagues = internal_only and count - 1 or (count > 2 and random(100) < 40 and 1 or 0)
  local members, taken = { call.primaryUserId }, { [call.primaryUserId] = true }
  while #members < colleagues + 1 do
    local user = pick(random, users)
    if not taken[user] then
      taken[user] = true
      members[#members + 1] = user
    end
  end
  local parties, speakers = {}, {}
  for k = 1, count do
    local speaker = long_id(random)
    while speakers[speaker] do speaker = long_id(random) end
    speakers[speaker] = true
    local party = { id = long_id(random), speakerId = speaker }
    local user = members[k]
    if user then
      local person = USERS[user_index[user]]
      party.name, party.emailAddress = person[1], person[2] .. "@" .. USER_DOMAIN
      party.affiliation, party.userId = "Internal", user
    else
      local person = pick(random, CONTACTS)
      party.name, party.emailAddress = person[1], person[2] .. "@" .. pick(random, CONTACT_DOMAINS)
      party.affiliation = "External"
    end
    parties[k] = party
  end
  return shuffle(random, parties), internal_only
end

-- Talk times in seconds, halves included, together 90% of the call.
local function make_speakers(random, parties, seconds)
  local weights, total = {}, 0
  for k = 1, #parties do
    weights[k] = 1 + random(10)
    total = total + weights[k]
  end
  local speakers = {}
  for k, party in ipairs(parties) do
    speakers[k] = { id = party.id, userId = party.userId,
                    talkTime = floor(seconds * 9 * weights[k] / (5 * total)) / 2 }
  end
  return speakers
end

local function make_content(random, seconds)
  local topics, trackers = {}, {}
  local names = {}
  for i, name in ipairs(CALL_TOPICS) do names[i] = name end
  shuffle(random, names)
  for k = 1, 1 + random(4) do
    topics[k] = { name = names[k], duration = floor(seconds * (5 + random(20)) / 100) }
  end
  local first = random(#TRACKERS)
  for k = 1, random(4) do
    local tracker = TRACKERS[1 + (first + k) % #TRACKERS]
    trackers[k] = { id = tracker.id, name = tracker.name, count = 1 + random(12) }
  end
  return { topics = topics, trackers = trackers }
end

local function make_comments(random, users, started, seconds)
  local comments = {}
  local count = random(100) < 40 and 0 or 1 + random(2)
  for k = 1, count do
    local from = random(floor(seconds) - 40)
    local during = random(100) < 20
    comments[k] = {
      id = long_id(random),
      commenterUserId = pick(random, users),
      comment = pick(random, COMMENTS),
      audioStartTime = from,
      audioEndTime = from + 5 + random(30),
      duringCall = during,
      posted = iso(during and started + from or started + floor(seconds) + random(5 * DAY)),
    }
  end
  return comments
end

local function make_context(random, serial)
  local company = pick(random, COMPANIES)
  local objects = {
    { objectType = "Account", objectId = format("001%012d", serial),
      fields = { { name = "Name", value = company } } },
  }
  if random(100) < 50 then
    objects[2] = { objectType = "Opportunity", objectId = format("006%012d", serial),
                   fields = { { name = "Name", value = company .. " renewal" },
                              { name = "Amount", value = 1000 * (1 + random(200)) } } }
  end
  return { { system = "Salesforce", objects = objects } }
end

-- The call as POST /calls/extensive returns it with every section asked for.
local function make_detail(random, call, workspace_id, users, user_index)
  local started, seconds = epoch_of(call.started), call.duration
  local serial = serial_of(call.callId)
  local parties, internal_only = make_parties(random, call, users, user_index)
  local media = random(100) < 70 and "Video" or "Audio"
  local base = "https://media.gong.example/calls/" .. call.callId
  return {
    metaData = {
      id = call.callId, url = call.url, title = call.title,
      scheduled = iso(started - 60 * (1 + random(10))),
      -- Gong's metaData.duration is whole seconds (int64).
      started = call.started, duration = floor(seconds), primaryUserId = call.primaryUserId,
      direction = pick(random, DIRECTIONS), system = pick(random, SYSTEMS),
      scope = internal_only and "Internal" or "External", media = media,
      language = pick(random, LANGUAGES), workspaceId = workspace_id,
    },
    parties = parties,
    content = make_content(random, seconds),
    interaction = {
      speakers = make_speakers(random, parties, seconds),
      questions = { companyCount = random(20), nonCompanyCount = random(15) },
    },
    collaboration = { publicComments = make_comments(random, users, started, seconds) },
    media = { audioUrl = base .. "/audio.mp3", videoUrl = base .. "/video.mp4" },
    context = make_context(random, serial),
  }
end

-- Monologues spread over the whole call, in order, times in ms; sentences
-- last 1.5-13.5 s and the last one ends within the call's last second, so a
-- call over an hour has a transcript past the hour.
local function make_transcript(random, detail)
  local parties, topics = detail.parties, detail.content.topics
  local length = floor(detail.metaData.duration * 1000)
  local count = 3 + random(10)
  local stranger = serial_of(detail.metaData.id) % UNKNOWN_SPEAKER == 0 and 1 + random(count)
  local monologues, previous = {}, nil
  for k = 1, count do
    local from, to = floor(length * (k - 1) / count), floor(length * k / count)
    local speaker
    if k == stranger then
      -- Party speaker ids never start with a 9.
      speaker = format("9%09d%09d", random(1000000000), random(1000000000))
    else
      repeat speaker = pick(random, parties).speakerId until speaker ~= previous
    end
    previous = speaker
    local sentences = {}
    local n = 1 + random(3)
    local step = floor((to - from) / n)
    local slack = floor(step / 4)
    for s = 1, n do
      local start = from + (s - 1) * step + random(slack)
      local finish = start + 1500 + random(12000)
      if finish > from + s * step then finish = from + s * step end
      if k == count and s == n then
        finish = to - random(1000)
        if start < finish - 15000 then start = finish - 15000 end
      end
      sentences[s] = { start = start, ["end"] = finish, text = pick(random, SENTENCES) }
    end
    monologues[k] = {
      speakerId = speaker,
      topic = random(100) < 60 and topics[1 + random(#topics)].name or nil,
      sentences = sentences,
    }
  end
  return monologues
end

-- The second generator's seed is the first's plus this. Drawing the newer
-- data from it left every folder and call of the first generator as it was.
local SECOND_STREAM = 7919

-- Everything the first version of the library did not have, drawn from a
-- second generator: folders' `updated`, calls filed twice, and each call's
-- details and transcript. Returns details, transcripts.
local function add_details(random, created, calls, call_ids, owner, users)
  for _, folder in ipairs(created) do
    folder.updated = iso(epoch_of(folder.created) + random(90 * DAY))
  end
  share_calls(random, created, calls, _M.SPECIAL_ID)
  local user_index = {}
  for i, user in ipairs(users) do user_index[user] = i end
  local details, transcripts = {}, {}
  for _, id in ipairs(call_ids) do
    local detail = make_detail(random, owner[id].call, owner[id].workspaceId, users, user_index)
    details[id] = detail
    if serial_of(id) % NO_TRANSCRIPT ~= 0 then transcripts[id] = make_transcript(random, detail) end
  end
  return details, transcripts
end

--- Generates a library.
---@param opts table|nil {seed = integer (default 1),
---   folders = integer (default 300; the total, special folder included)}
---@return table library {workspaces = {{id, name, description}...}, folders = {folder...} in
---   response order, calls = {[folderId] = {call...}}, by_id = {[folderId] = folder},
---   special_id = string, call_ids = {callId...} (each call once, by serial number),
---   details = {[callId] = detail}, transcripts = {[callId] = {monologue...}}}
--- A folder has the contract fields (description and parentFolderId may be
--- nil = null) plus workspaceId, depth and updated; a call has the contract
--- fields (title may be nil) plus note and snippet (may be nil). A call may be
--- listed by several folders (the same table). fake/README.md describes
--- details and transcripts.
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
  local call_serial, call_ids, owner = 0, {}, {}
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
    for _, call in ipairs(calls[id]) do
      call_ids[#call_ids + 1] = call.callId
      owner[call.callId] = { call = call, workspaceId = ws.id }
    end
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

  local details, transcripts = add_details(new_random(seed + SECOND_STREAM), created, calls,
                                           call_ids, owner, users)
  local workspaces = {}
  for i, ws in ipairs(WORKSPACES) do
    workspaces[i] = { id = ws.id, name = ws.name, description = ws.description }
  end
  return { workspaces = workspaces, folders = folders, calls = calls, by_id = by_id,
           special_id = _M.SPECIAL_ID, call_ids = call_ids, details = details,
           transcripts = transcripts, seed = seed }
end

--- Files `count` new calls at the end of folder `folder_id` of `lib` (from
--- generate), as Gong's library grows between two exports: each with the
--- next serial numbers, its details, and a transcript unless
--- `opts.transcribed` is false (or its serial is a multiple of 7, as every
--- call's); `opts.addedToLibraryAt` replaces the generated date. The same
--- `lib` and arguments always add the same calls. Returns their ids, or nil
--- for an unknown folder.
---@param lib table
---@param folder_id string
---@param count integer
---@param opts? {transcribed?: boolean, addedToLibraryAt?: string}
---@return string[]|nil ids
function _M.add_calls(lib, folder_id, count, opts)
  opts = opts or {}
  local folder = lib.by_id[folder_id]
  if not folder then return nil end
  local first = #lib.call_ids
  -- The users of generate() are its first draw; the rest of this stream is the serial's own.
  local users = user_ids(new_random(lib.seed), 12)
  local user_index = {}
  for i, user in ipairs(users) do user_index[user] = i end
  local random = new_random(lib.seed + SECOND_STREAM + first)
  local list, ids = lib.calls[folder_id], {}
  for _, call in ipairs(make_calls(random, users, count, first)) do
    if opts.addedToLibraryAt then call.addedToLibraryAt = opts.addedToLibraryAt end
    local id = call.callId
    list[#list + 1] = call
    ids[#ids + 1] = id
    lib.call_ids[#lib.call_ids + 1] = id
    local detail = make_detail(random, call, folder.workspaceId, users, user_index)
    lib.details[id] = detail
    if opts.transcribed ~= false and serial_of(id) % NO_TRANSCRIPT ~= 0 then
      lib.transcripts[id] = make_transcript(random, detail)
    end
  end
  folder.callCount = #list
  return ids
end

--- Gives the calls `ids` of `lib` that have none a transcript, as Gong
--- transcribes a call some time after it: the one add_calls would have
--- made. Returns the ids that got one.
---@param lib table
---@param ids string[]
---@return string[]
function _M.transcribe(lib, ids)
  local done = {}
  for _, id in ipairs(ids) do
    local detail = lib.details[id]
    if detail and not lib.transcripts[id] then
      lib.transcripts[id] = make_transcript(new_random(lib.seed + SECOND_STREAM + serial_of(id)), detail)
      done[#done + 1] = id
    end
  end
  return done
end

-- The pieces, for bench/gen.lua, which makes far larger libraries than
-- generate() could: `calls(random, users, count, first_serial)` makes `count`
-- calls whose ids count on from `first_serial`.
_M.new_random, _M.pick, _M.iso, _M.user_ids = new_random, pick, iso, user_ids
_M.calls, _M.shuffle = make_calls, shuffle

return _M
