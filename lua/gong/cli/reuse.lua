--- gong.cli.reuse: what an earlier export holds, read back for `export
--- --update`: the details and transcripts of each call it has, so that
--- client:library() asks the Calls API only for the rest (gong.LibraryReuse).
---
--- An export is recognised by its shape, whatever --format the update
--- writes: json is an array of folder objects, each with `children` (an
--- array) and `calls` (an array) or `error`; ndjson is lines of objects whose
--- `type` is "folder", "call" or "transcript", a folder first. An empty file
--- is an empty ndjson export. Anything else is refused before any request.

local cjson = require("cjson.safe").new()

local floor, open, pairs, time, tonumber, tostring, type =
      math.floor, io.open, pairs, os.time, tonumber, tostring, type

-- An export is gong's own JSON; still, no NaN or hex numbers, and no depth
-- a deep tree of the server's could not reach.
cjson.decode_invalid_numbers(false)
cjson.decode_max_depth(1000)

local decode, null = cjson.decode, cjson.null

local _M = {}

--- Seconds after it was filed (else after it started) that a call the
--- earlier export holds without a transcript is asked for one again: Gong
--- transcribes a call within hours, and one that has none after a week
--- never will (no recording, or no consent).
_M.TRANSCRIPT_WAIT = 7 * 86400

-- JSON null as absence, as gong.core's decoding makes it, so that reused
-- data is written as a fresh answer's is.
local function strip_null(v)
  if type(v) ~= "table" then return v end
  for k, item in pairs(v) do
    if item == null then v[k] = nil else strip_null(item) end
  end
  return v
end

-- Seconds since 1970 of an RFC 3339 date-time ("2024-05-01T12:00:00Z",
-- fractions and offsets too), or nil.
local function epoch(s)
  if type(s) ~= "string" then return nil end
  local y, m, d, hh, mm, ss, rest = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local zone = rest:gsub("^%.%d+", "")
  local offset = 0
  if zone ~= "Z" and zone ~= "z" then
    local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (sign == "+" and 1 or -1) * (tonumber(oh) * 3600 + tonumber(om) * 60)
  end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  -- Days from the civil date (time zones of os.time do not apply).
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m > 2 and m - 3 or m + 9) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss) - offset
end

-- When a call was filed in the library, else when it started, or nil.
local function call_time(call)
  local meta = type(call.details) == "table" and call.details.metaData
  return epoch(call.addedToLibraryAt) or epoch(call.started) or (type(meta) == "table" and epoch(meta.started))
end

-- A collector of what an export holds: add(folderId, call) for each call
-- of a folder, then finish(now) makes the gong.LibraryReuse. `hold(id,
-- field, value)` says what to keep of a call's details or transcript (the
-- value itself unless it says otherwise); of the call itself only its id
-- and its date are kept.
local function collector(hold)
  local reuse = { details = {}, transcripts = {}, folders = {} }
  local times, any_transcript, count = {}, false, 0
  local self = {}
  function self.folder(id)
    if type(id) == "string" and not reuse.folders[id] then reuse.folders[id] = {} end
  end
  function self.call(folder_id, call)
    local id = type(call) == "table" and call.callId
    if type(id) ~= "string" or id == "" then return end
    local list = type(folder_id) == "string" and reuse.folders[folder_id]
    if list then list[#list + 1] = id end
    if times[id] == nil then count = count + 1 end
    times[id] = call_time(call) or false
    if type(call.details) == "table" then reuse.details[id] = hold(id, "details", call.details) end
    self.transcript(id, call.transcript)
  end
  function self.transcript(id, transcript)
    if type(id) == "string" and type(transcript) == "table" then
      reuse.transcripts[id] = hold(id, "transcript", transcript)
      any_transcript = true
    end
  end
  -- An export with transcripts was made with --transcripts: a call in it
  -- without one had none, and is asked again only while Gong may still make it.
  function self.finish(now)
    if any_transcript then
      for id, t in pairs(times) do
        if reuse.transcripts[id] == nil and t and now - t > _M.TRANSCRIPT_WAIT then reuse.transcripts[id] = false end
      end
    end
    return reuse, count
  end
  return self
end

-- A json export's folders, read from `f`, into `c`; true, or nil when it is
-- not one. The text is let go once decoded, and each call once collected.
local function read_json(f, c)
  local roots = decode(f:read("*a") or "")
  -- The text starts with "[": a table here is an array.
  if type(roots) ~= "table" then return nil end
  local stack = {}
  for i = #roots, 1, -1 do stack[#stack + 1] = roots[i] end
  roots = nil -- luacheck: ignore 311 (the decoded document, let go)
  while #stack > 0 do
    local folder = stack[#stack]
    stack[#stack] = nil
    if type(folder) ~= "table" or type(folder.children) ~= "table"
        or (type(folder.calls) ~= "table" and type(folder.error) ~= "string") then
      return nil
    end
    c.folder(folder.id)
    local calls = type(folder.calls) == "table" and folder.calls or {}
    for i = 1, #calls do
      c.call(folder.id, strip_null(calls[i]))
      calls[i] = false
    end
    for i = #folder.children, 1, -1 do stack[#stack + 1] = folder.children[i] end
  end
  return true
end

local NDJSON_TYPES = { folder = true, call = true, transcript = true }

-- An ndjson export's lines (an iterator) into `c`; true, or nil when it is not one.
local function read_ndjson(lines, c)
  local first = true
  for line in lines do
    if line:find("%S") then
      local record = line:find("^%s*{") and decode(line)
      if type(record) ~= "table" or not NDJSON_TYPES[record.type] or (first and record.type ~= "folder") then
        return nil
      end
      first = false
      if record.type == "folder" then
        c.folder(record.id)
      elseif record.type == "call" then
        c.call(record.folderId, strip_null(record))
      else
        c.transcript(record.callId, strip_null(record.transcript))
      end
    end
  end
  return true
end

local function itself(_, _, value) return value end

--- Reads the earlier export at `path`. Returns the gong.LibraryReuse of
--- what it holds and the number of distinct calls in it; nil and false
--- when there is no such file; nil and a message when it cannot be read or
--- is not an export of gong-library. `now` (seconds since 1970, default the
--- clock) decides which calls without a transcript are asked again (see
--- TRANSCRIPT_WAIT). `hold(callId, field, value)` ("details" or
--- "transcript") returns what the reuse keeps in the value's place, so that
--- a caller can put it elsewhere as it is read (the export's spool) and
--- keep a stand-in; by default the value itself. An ndjson export is read a
--- line at a time; a json one is decoded whole, and let go before this returns.
---@param path string
---@param now? number
---@param hold? fun(callId: string, field: string, value: table): table
---@return gong.LibraryReuse|nil reuse
---@return integer|string|false calls_or_err
function _M.read(path, now, hold)
  local f, err, code = open(path, "rb")
  if not f then
    if code == 2 then return nil, false end -- ENOENT
    return nil, "cannot read " .. path .. " for --update: " .. tostring(err)
  end
  local c = collector(hold or itself)
  local head, read_err = f:read(64)
  local ok
  if head == nil and read_err == nil then
    ok = true -- an empty file: an empty ndjson export
  elseif not head then
    f:close()
    return nil, "cannot read " .. path .. " for --update: " .. tostring(read_err)
  elseif head:find("^%s*%[") then
    f:seek("set", 0)
    ok = read_json(f, c)
  else
    f:seek("set", 0)
    ok = read_ndjson(f:lines(), c)
  end
  f:close()
  if not ok then
    return nil, path .. " is not an export of gong-library (json: an array of folders with \"calls\" and "
      .. "\"children\"; ndjson: lines with \"type\"): --update would replace it; nothing was done"
  end
  return c.finish(now or time())
end

return _M
