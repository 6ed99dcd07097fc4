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
local json_scan = require "gong.cli.json_scan"

local floor, ipairs, open, pairs, time, tonumber, tostring, type =
      math.floor, ipairs, io.open, pairs, os.time, tonumber, tostring, type

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
  -- A folder, and the ids of calls of it that call() returned (more may follow).
  function self.folder(id, ids)
    if type(id) ~= "string" then return end
    local list = reuse.folders[id] or {}
    reuse.folders[id] = list
    for _, call_id in ipairs(ids or {}) do list[#list + 1] = call_id end
  end
  -- A call of the folder `folder_id` (nil: of none yet); returns its id, or nil when it has none.
  function self.call(folder_id, call)
    local id = type(call) == "table" and call.callId
    if type(id) ~= "string" or id == "" then return nil end
    local list = type(folder_id) == "string" and reuse.folders[folder_id]
    if list then list[#list + 1] = id end
    if times[id] == nil then count = count + 1 end
    times[id] = call_time(call) or false
    if type(call.details) == "table" then reuse.details[id] = hold(id, "details", call.details) end
    self.transcript(id, call.transcript)
    return id
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

-- The deepest folder a json export is read to (lua-cjson's own limit).
local MAX_DEPTH = 1000

-- Reads the folder object that comes next in `scan` into `c`, its subfolders
-- too: true, or nil when it is not one of an export (an object with an
-- array `children`, and an array `calls` or a string `error`). Each call
-- is decoded alone, handed to `c` and let go.
local function read_folder(scan, c, depth)
  if depth > MAX_DEPTH or not scan:take("{") then return nil end
  local id, ids, children, calls, failed = nil, {}, false, false, false
  if not scan:take("}") then
    repeat
      local key = scan:capture()
      key = key and decode(key)
      if type(key) ~= "string" or not scan:take(":") then return nil end
      if key == "calls" and scan:peek() == "[" then
        calls = true
        scan:take("[")
        if not scan:take("]") then
          repeat
            local text = scan:capture()
            local call = text and decode(text)
            if call == nil then return nil end
            ids[#ids + 1] = c.call(nil, strip_null(call))
          until not scan:take(",")
          if not scan:take("]") then return nil end
        end
      elseif key == "children" and scan:peek() == "[" then
        children = true
        scan:take("[")
        if not scan:take("]") then
          repeat
            if not read_folder(scan, c, depth + 1) then return nil end
          until not scan:take(",")
          if not scan:take("]") then return nil end
        end
      elseif key == "id" or key == "error" then
        local text = scan:capture()
        local value = text and decode(text)
        if value == nil then return nil end
        if key == "id" then id = value else failed = type(value) == "string" end
      elseif not scan:skip() then
        return nil
      end
    until not scan:take(",")
    if not scan:take("}") then return nil end
  end
  if not children or not (calls or failed) then return nil end
  c.folder(id, ids)
  return true
end

-- A json export's folders, read from `f` a piece at a time (gong.cli.json_scan),
-- into `c`; true, or nil when it is not one.
local function read_json(f, c)
  local scan = json_scan.new(f)
  if not scan:take("[") then return nil end
  if not scan:take("]") then
    repeat
      if not read_folder(scan, c, 1) then return nil end
    until not scan:take(",")
    if not scan:take("]") then return nil end
  end
  return scan:at_end()
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
--- keep a stand-in; by default the value itself. Either format is read a
--- piece at a time: an ndjson export a line, a json one a call
--- (gong.cli.json_scan), so what this holds is what `hold` keeps.
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
