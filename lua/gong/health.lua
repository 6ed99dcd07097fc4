--- gong.health: `:checkhealth gong` in Neovim, what a user runs when gong
--- does not work there. It says whether lua-cjson and gong.core load (the
--- core built for this LuaJIT, of the Lua part's version; when not, what
--- gong.nvim says of it: the piece, what to do, the whole reason), libcurl's
--- version, which credentials the environment gives (by name: a value is
--- never shown), the client they make (base URL, kind of auth, API), whether
--- the state that runs at once share the tenant's rate limit through can be
--- used, and with `vim.g.gong_health_live` set, one live folders() request.
---
--- Neovim finds it as `lua/gong/health.lua` on 'runtimepath' (the lazy.nvim
--- and runtimepath recipes of doc/neovim.md; `make install` puts a copy in
--- PREFIX/share/nvim/site). It needs Neovim only when check() runs.

-- luacheck: globals vim

local concat, ipairs, pcall, rawget, require, tostring, type =
      table.concat, ipairs, pcall, rawget, require, tostring, type

local _M = {}

-- The report functions of this Neovim: vim.health's (0.8 on; named start,
-- ok, ... from 0.10, report_start, report_ok, ... before), or those of the
-- module health (0.7).
local function reporter()
  local h = vim.health or require("health")
  local r = {}
  for _, name in ipairs({ "start", "ok", "warn", "error", "info" }) do
    r[name] = h[name] or h["report_" .. name]
  end
  return r
end

-- The client of the environment's settings and `opts`, or nil and the error gong.new raised.
local function client(gong, opts)
  local ok, c = pcall(gong.new, opts)
  if ok then return c end
  return nil, c
end

--- Runs the checks, reporting each as `:checkhealth` shows it.
function _M.check()
  local h = reporter()
  local version = require "gong.version"
  h.start("gong " .. version)

  -- gong.nvim's loader names the piece that did not load and what to do.
  local load = require("gong.nvim").load
  local cjson, err = load("cjson")
  if not cjson then
    h.error(err.message)
    return
  end
  h.ok("lua-cjson " .. tostring(cjson._VERSION) .. " loads")

  local core
  core, err = load("gong.core")
  local jit = rawget(_G, "jit")
  local lua = type(jit) == "table" and jit.version or _VERSION
  if not core then
    h.error(err.message)
    return
  end
  local file = package.searchpath and package.searchpath("gong.core", package.cpath)
  if core._VERSION ~= version then
    h.error(("gong.core is version %s, the Lua part %s"):format(tostring(core._VERSION), version),
      { "install both from the same release, or rebuild with `make LUA=luajit`" })
  else
    h.ok(("gong.core %s loads in %s%s"):format(core._VERSION, lua, file and " from " .. file or ""))
  end
  h.ok("libcurl " .. core.curl_version)

  local credentials = require "gong.credentials"
  local env = credentials.ENV
  local resolved, why = credentials.resolve({ credentials.from_environment() }, ("set %s and %s, or %s, or %s "
    .. "and %s with %s"):format(env.access_key, env.access_key_secret, env.token, env.client_id, env.client_secret,
    env.oauth_store))
  if not resolved then
    h.warn(why, { "a plugin may pass credentials to gong.new itself; otherwise set them in the environment Neovim "
      .. "starts in (doc/neovim.md, Credentials)" })
    h.info("the rate state and a live request are checked once there are credentials")
    return
  end
  local names = {}
  for _, field in ipairs(credentials.FIELDS) do
    if resolved[field] then names[#names + 1] = env[field] end
  end
  h.ok("credentials in the environment: " .. concat(names, " and ") .. " (the values are not shown)")

  local gong = require "gong"
  -- Its window shared by the runs of this machine: the state file it uses.
  local shared
  shared, err = client(gong, { rate_scope = "host" })
  if not shared then
    h.error("no client can be made of them: " .. tostring(err))
    return
  end
  h.ok("a client of them: " .. tostring(shared))
  local rate_file = shared:stats().rate_file
  shared:close()
  if rate_file then
    h.ok("runs at once share the tenant's rate limit through " .. rate_file)
  else
    h.warn("the shared rate state cannot be used here: each client keeps a rate limit of its own",
      { "see the README, Reliability, on rate_scope \"host\"" })
  end

  local live = vim.g.gong_health_live
  if not live or live == 0 then
    h.info("for a live request to the tenant, `:let g:gong_health_live = 1` and run `:checkhealth gong` again")
    return
  end
  local c
  c, err = client(gong, { timeout = 20, max_retries = 0 })
  local folders, rid
  if c then
    folders, rid = c:folders()
    if not folders then err = rid end
    c:close()
  end
  if folders then
    h.ok(("folders(): %d %s (request %s)"):format(#folders, #folders == 1 and "folder" or "folders", tostring(rid)))
  else
    h.error("folders() failed: " .. tostring(err))
  end
end

return _M
