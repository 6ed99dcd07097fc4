--- gong.cli.commands: what each gong-library command does with a client,
--- given the run's context and its parsed options; each returns the exit status.
---
--- The context (`ctx`) is the run's: `ctx.report` says things on stderr
--- (gong.cli.report), `ctx.cleanups` collects what must be undone however the
--- run ends (gong.cli's main runs them), `ctx.rate` is the client's rate limit
--- in requests per second (false: none).

local atomic_file = require "gong.cli.atomic_file"
local core = require "gong.core"
local exports = require "gong.cli.exports"
local explain = require "gong.cli.explain"
local json = require "gong.json"
local batch = require "gong.batch"
local library = require "gong.library"
local progress = require "gong.cli.progress"
local render = require("gong.cli.render").render
local report_module = require "gong.cli.report"
local reuse_module = require "gong.cli.reuse"
local spool_module = require "gong.cli.spool"
local terminal = require "gong.cli.terminal"
local trees = require "gong.cli.trees"
local duration = require("gong.cli.text").duration

local concat, format, io, ipairs, os, tostring, type = table.concat, string.format, io, ipairs, os, tostring, type

local _M = {}

-- Writes `s` to stdout and flushes it: true, or nil and a message.
local function to_stdout(s)
  local ok, err = io.stdout:write(s)
  if ok then
    ok, err = io.stdout:flush()
  end
  if not ok then
    return nil, "cannot write output: " .. tostring(err)
  end
  return true
end

--- Writes `s` to stdout, a status line on stderr cleared first (a wait
--- said there: both may be the one terminal); the exit status (1 when
--- stdout cannot be written).
---@param ctx table
---@param s string
---@return integer
function _M.write(ctx, s)
  if ctx.report.progress then ctx.report.progress:clear() end
  local ok, err = to_stdout(s)
  if not ok then
    return ctx.report:fail(err)
  end
  return 0
end

-- Hangs each call's details on it (call.details), filling what a real
-- tenant's records lack: true, or nil and the error.
local function add_details(client, calls)
  local ids = {}
  for i, call in ipairs(calls) do ids[i] = call.callId end
  local details, err = client:call_details(ids)
  if not details then return nil, err end
  library.attach(calls, "details", details)
  return true
end

--- folders, tree, calls and workspaces: fetches and prints what the command shows.
---@param ctx table
---@param client gong.Client
---@param opts table
---@return integer
function _M.show(ctx, client, opts)
  local data, err
  if opts.command == "folders" then
    data, err = client:folders({ workspaceId = opts.workspace })
  elseif opts.command == "tree" then
    data, err = client:tree({ workspaceId = opts.workspace })
  elseif opts.command == "workspaces" then
    data, err = client:workspaces()
  else
    data, err = client:calls(opts.folder_id)
    if data and opts.details then
      local added
      added, err = add_details(client, data)
      if not added then data = nil end
    end
  end
  if not data then
    return ctx.report:fail(err)
  end
  -- A table fits the terminal it is shown on; elsewhere it is as wide as it is.
  local status = _M.write(ctx, render(opts.command, opts.format, data, {
    width = terminal.columns(1), depth = opts.depth, details = opts.details,
  }))
  local problems = opts.command == "tree" and trees.problems(data)
  if problems then ctx.report:warn(problems) end
  return status
end

--- transcript: the transcripts of the calls named (or of a folder's calls),
--- as text with a heading per call, or JSON. An id Gong knows no call by is
--- shown as such, named on stderr, and makes the exit status 1.
---@param ctx table
---@param client gong.Client
---@param opts table
---@return integer
function _M.transcript(ctx, client, opts)
  local ids, titles = {}, {}
  for _, id in ipairs(opts.call_ids) do ids[#ids + 1] = id end
  if opts.folder then
    local calls, err = client:calls(opts.folder)
    if not calls then return ctx.report:fail(err) end
    for _, call in ipairs(calls) do
      ids[#ids + 1] = call.callId
      titles[call.callId] = call.title
    end
  end
  local details, err = client:call_details(ids)
  if not details then return ctx.report:fail(err) end
  local transcripts
  transcripts, err = client:transcripts(ids)
  if not transcripts then return ctx.report:fail(err) end
  local items, unknown = {}, {}
  for _, id in ipairs(batch.distinct(ids)) do
    local d = details[id]
    local meta = type(d) == "table" and type(d.metaData) == "table" and d.metaData or {}
    items[#items + 1] = { callId = id, title = meta.title or titles[id], transcript = transcripts[id],
                          parties = type(d) == "table" and d.parties or nil, unknown = d == nil or nil }
    -- The Calls API answers every call it knows: one it left out does not exist.
    if d == nil then unknown[#unknown + 1] = id end
  end
  local status = _M.write(ctx, render("transcripts", opts.format, items))
  if #unknown == 0 or status ~= 0 then return status end
  return ctx.report:fail(format("Gong knows no call %s %s", #unknown == 1 and "with the id" or "with the ids",
    concat(unknown, ", ")))
end

local WRITE_EXPORT = { json = exports.write_json, ndjson = exports.write_ndjson }

-- How each format keeps a call's details or transcript in the spool: as its
-- writer writes them (gong.json.Writer:raw moves the indented ones to their depth).
local SPOOL_TEXT = {
  json = function(data)
    local w = json.writer({ indent = true })
    w:any(data)
    return w:take()
  end,
  ndjson = json.encode,
}

-- What an export writes at once, at least: fewer, larger writes.
local CHUNK = 65536

-- stdout as an export's output: write(text) as it goes, commit() says
-- whether all of it was written.
local function stdout_output()
  local failure
  local out = { discard = function() end }
  function out.write(_, text)
    if failure == nil then
      local ok, err = to_stdout(text)
      if not ok then failure = err end
    end
  end
  function out.commit(self, text)
    if text then self:write(text) end
    if failure then return nil, failure end
    return true
  end
  return out
end

-- Where an export goes: stdout, or an atomic FILE whose discard the run's
-- cleanups call however it ends.
local function open_output(ctx, path)
  if path == nil then
    return stdout_output()
  end
  local out, err = atomic_file.open(path)
  if out then
    ctx.cleanups[#ctx.cleanups + 1] = function() out:discard() end
  end
  return out, err
end

-- "gong-library: exported 12 folders and 180 calls to lib.json in 0:00:05 (13 requests)"; after
-- --update "(3 requests, 177 calls reused)"; "exported 300 folders (259 without their calls) and ..." when
-- some folders' calls could not be fetched.
local function summary(tree, path, requests, seconds)
  local calls, failed = 0, 0
  for node in tree:walk() do
    if node.calls then calls = calls + #node.calls elseif node.error ~= nil then failed = failed + 1 end
  end
  local reused = tree.reused and format(", %d %s reused", tree.reused, tree.reused == 1 and "call" or "calls") or ""
  return format("%s: exported %d %s%s and %d %s to %s in %s (%d %s%s)\n", report_module.PROGRAM, tree.count,
    tree.count == 1 and "folder" or "folders", failed > 0 and format(" (%d without their calls)", failed) or "",
    calls, calls == 1 and "call" or "calls", path or "stdout", duration(seconds), requests,
    requests == 1 and "request" or "requests", reused)
end

-- "1 folder", "412 folders".
local function count(n, one, many)
  return format("%d %s", n, n == 1 and one or many)
end

-- What a plan's requests are, and how sure the count is: "413 requests (1
-- folder list, 412 folders)", "about 503 requests (..., 90 Calls API
-- requests for up to 4500 calls)", "at least 413 requests (..., and 2 Calls
-- API requests per 100 calls)" when the calls are not counted yet.
local function plan_requests(plan)
  local parts = { count(plan.folder_list, "folder list", "folder lists"), count(plan.folders, "folder", "folders") }
  if plan.calls_api == nil then
    parts[#parts + 1] = format("and %s per %d calls", count(plan.phases, "Calls API request", "Calls API requests"),
                               plan.batch_size)
  elseif plan.calls_api > 0 then
    parts[#parts + 1] = format("%s for up to %s", count(plan.calls_api, "Calls API request", "Calls API requests"),
                               count(plan.calls, "call", "calls"))
  end
  if plan.reused then parts[#parts + 1] = count(plan.reused, "call reused", "calls reused") end
  local how = plan.exact and "" or plan.calls_api and "about " or "at least "
  return how .. count(plan.requests, "request", "requests") .. " (" .. concat(parts, ", ") .. ")"
end

-- "1,204": a count with its thousands marked, as the plan line says it.
local function thousands(n)
  return (format("%d", n):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- What export says of its plan (see gong.LibraryPlan) before it asks for
--- the folders' calls: "export will make 413 requests (1 folder list, 412
--- folders), about 0:02:24 at 3 requests/s", the time gong's limiter takes
--- for the requests still to make at `rate` requests per second, its margin
--- included (none when the folder list was all); `rate` false says the
--- limit is off. With `today` (client:stats().today: this machine's requests
--- to the tenant today, counted where runs share the limit), "; 1,204 of
--- the tenant's 10,000 a day made today from this machine".
---@param plan gong.LibraryPlan
---@param rate number|false
---@param today? integer
---@return string
function _M.plan_text(plan, rate, today)
  local text, left = "export will make " .. plan_requests(plan), plan.requests - plan.folder_list
  if not rate then
    text = text .. "; the rate limit is off"
  elseif left > 0 then
    text = format("%s, %s %s at %g %s", text, plan.calls_api == nil and "at least" or "about",
      duration(core.rate_duration(rate, plan.requests)), rate, rate == 1 and "request/s" or "requests/s")
  end
  if today then
    text = format("%s; %s of the tenant's %s a day made today from this machine", text, thousands(today),
      thousands(core.DAILY_REQUESTS))
  end
  return text
end

-- Why an export over --max-requests `max` does not start, and what to do:
-- one workspace at a time, unless it is one already (`workspace`).
local function refusal(plan, max, workspace)
  local text = format("export would make %s%s, more than --max-requests %d: nothing was exported; raise "
    .. "--max-requests", plan_requests(plan), workspace and " for workspace " .. workspace or "", max)
  if workspace then return text end
  return text .. ", or export one workspace at a time with --workspace ID"
end

-- Why an export that found no folder wrote nothing (a mistyped --workspace
-- ID, a tenant's answer without folders), and what to do.
local function nothing_found(opts, out)
  local kept = out.replaces and out.replaces > 0 and "; " .. opts.output .. " was left as it was" or ""
  if opts.workspace then
    return format("found no folders in workspace %s: nothing was exported%s; `%s workspaces` lists the IDs, "
      .. "and --allow-empty writes an empty export", opts.workspace, kept, report_module.PROGRAM)
  end
  return format("found no folders: nothing was exported%s; --allow-empty writes an empty export", kept)
end

-- The spool of an export that asks for details or transcripts (gong.cli.spool),
-- beside its FILE or, for stdout, in $TMPDIR, removed by the run's cleanups
-- however it ends; false when it asks for neither; nil and a message when
-- it cannot be made.
local function open_spool(ctx, opts, out)
  if not (opts.details or opts.transcripts) then return false end
  local near = out.path and out.path .. ".spool" or (os.getenv("TMPDIR") or "/tmp") .. "/gong-library-export.spool"
  local spool, err = spool_module.open(near)
  if spool then ctx.cleanups[#ctx.cleanups + 1] = function() spool:close() end end
  return spool, err
end

-- Writes the export of `tree` to `out` in chunks of CHUNK bytes or more,
-- the calls' details and transcripts from `spool` (when there is one).
local function write_export(opts, tree, out, spool, error_text)
  local pending, size = {}, 0
  local function write(text)
    pending[#pending + 1] = text
    size = size + #text
    if size >= CHUNK then
      out:write(concat(pending))
      pending, size = {}, 0
    end
  end
  WRITE_EXPORT[opts.format](tree, write, {
    error_text = error_text,
    data = spool and function(call, field) return spool:get(call.callId, field) end or nil,
  })
  if size > 0 then out:write(concat(pending)) end
end

--- export: the whole library, calls included, to stdout or `opts.output`.
--- On a terminal (where the progress line shows) it first says what it is to
--- make (plan_text) and ends with a summary. With `opts.max_requests`, a plan
--- of more requests stops it before any request but the folder list, with
--- nothing written: the exit status is report.REFUSED. An export that finds
--- no folder writes nothing, FILE as it was, and fails, unless
--- `opts.allow_empty`. With `opts.update`, the earlier export at
--- `opts.output` is read first (gong.cli.reuse; one that is not an export
--- fails before any request) and only what it lacks is asked of the Calls API.
---
--- It holds the folder tree and its calls' records, not their details and
--- transcripts: those go to a spool as they come (gong.cli.spool), and the
--- document is written a call at a time from the tree and the spool.
---@param ctx table
---@param client gong.Client
---@param opts table
---@return integer
function _M.export(ctx, client, opts)
  local report = ctx.report
  local out, err = open_output(ctx, opts.output)
  if not out then
    return report:fail(err)
  end
  local spool
  spool, err = open_spool(ctx, opts, out)
  if spool == nil then
    out:discard()
    return report:fail(err)
  end
  -- --update: what the earlier export holds is not asked again. Its details
  -- and transcripts go to the spool as they are read, and the reuse keeps
  -- stand-ins (`stand_ins`), which on_call_data knows are spooled already.
  local reuse, held
  local stand_ins = setmetatable({}, { __mode = "k" })
  if opts.update then
    reuse, held = reuse_module.read(opts.output, nil, function(id, field, value)
      local stand_in = {}
      if spool then
        spool:put(id, field, SPOOL_TEXT[opts.format](value))
        -- What client:library() takes from the details for the call itself.
        local meta = field == "details" and type(value.metaData) == "table" and value.metaData
        if meta then
          stand_in.metaData = {}
          for _, name in ipairs(library.FROM_META) do stand_in.metaData[name] = meta[name] end
        end
      end
      stand_ins[stand_in] = true
      return stand_in
    end)
    if held == false then
      report:say(report_module.PROGRAM, ": ", opts.output, " does not exist yet: --update exports everything\n")
    elseif not reuse then
      out:discard()
      return report:fail(held)
    end
    if spool then spool:release() end
  end
  local line
  local interactive = progress.wanted()
  local started, requests = progress.clock(), client:stats().requests
  if interactive then
    line = progress.new()
    report.progress = line
    line:draw("listing folders...")
  end
  local refused, planned
  local tree, errors = client:library({
    on_plan = function(plan)
      planned = plan
      if opts.max_requests and plan.requests > opts.max_requests then
        refused = plan
        return false
      end
      if line then
        report:say(report_module.PROGRAM, ": ", _M.plan_text(plan, ctx.rate, client:stats().today), "\n")
        -- Until the first folder is back, the line shows how many are to come.
        line:update(0, plan.folders, nil, "calls")
      end
    end,
    workspaceId = opts.workspace,
    concurrency = opts.concurrency,
    strict = opts.strict or nil,
    details = opts.details or nil,
    transcripts = opts.transcripts or nil,
    reuse = reuse,
    keep = not spool,
    on_call_data = spool and function(id, field, data)
      if type(data) == "table" and not stand_ins[data] then spool:put(id, field, SPOOL_TEXT[opts.format](data)) end
    end or nil,
    on_progress = line and function(done, total, node, _, phase)
      line:update(done, total, node, phase)
    end,
  })
  if line then
    line:clear()
    report.progress = nil
  end
  -- What the fetch left behind is not held while the document is written.
  if spool then spool:release() end
  if not tree then
    out:discard()
    if refused then return report:refuse(refusal(refused, opts.max_requests, opts.workspace)) end
    return report:fail(errors)
  end
  if tree.count == 0 and not opts.allow_empty then
    out:discard()
    return report:fail(nothing_found(opts, out))
  end
  -- A phase that failed is left out whole, as it is when nothing is spooled.
  for _, e in ipairs(spool and errors or {}) do
    if e.phase then spool:drop(e.phase == "call_details" and "details" or "transcript") end
  end
  -- A halt is said in the CLI's words, with when to try again, in the file as on stderr.
  write_export(opts, tree, out, spool, function(e) return e.halt and report:failure(e) or report:one_line(e) end)
  if spool and spool.failed then
    out:discard()
    return report:fail(spool.failed)
  end
  local ok
  ok, err = out:commit()
  if spool then spool:close() end
  if not ok then
    return report:fail(err)
  end
  -- Folders a long Retry-After stopped are one line, however many: the same cause, the same remedy.
  local halted, wait = 0, nil
  for _, e in ipairs(errors) do
    if e.folder_id ~= nil and e.halt then
      halted = halted + 1
      if e.retry_after and (wait == nil or e.retry_after > wait) then wait = e.retry_after end
    elseif e.folder_id ~= nil then
      local node = tree:get(e.folder_id)
      report:warn("folder " .. (node and node.path .. " " or "") .. "[" .. tostring(e.folder_id) .. "]: "
        .. report:one_line(e))
    else
      report:warn("calls' " .. tostring(e.phase == "call_details" and "details" or "transcripts") .. ": "
        .. (e.halt and report:failure(e) or report:one_line(e)))
    end
  end
  if halted > 0 then
    report:warn(format("the calls of %d of %d folders were not fetched: %s", halted,
      planned and planned.folders or halted, explain.try_again(wait)))
  end
  if interactive then
    report:say(summary(tree, opts.output, client:stats().requests - requests, progress.clock() - started))
  end
  return #errors > 0 and 1 or 0
end

return _M
