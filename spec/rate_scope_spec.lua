-- rate_scope = "host": every process of the user on this machine that talks
-- to one tenant shares one rate window, through a state file under an fcntl
-- lock. Counted where Gong counts, at the server: arrivals per second.
-- (make test points XDG_RUNTIME_DIR at a directory of its own.)

local core = require "gong.core"
require "gong" -- calls_batch is gong.client's, installed in the core's client class
local fake = require "spec.support.fake"
local process = require "spec.support.process"
local socket = require "socket"

local creds = fake.credentials

describe("rate_scope", function()
  local srv, lib

  setup(function()
    -- 4 folders: an export is a few requests, so three at once need seconds at 3/s.
    srv = fake.start({ folders = 4 })
    lib = fake.library({ folders = 4 })
  end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  local function new(opts)
    local o = { base_url = srv.url, access_key = creds.key, access_key_secret = creds.secret,
                rate_scope = "host" }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

  local function env(extra)
    local e = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret }
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end

  local function cli(args)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return argv
  end

  describe("in one process", function()
    it("makes two clients of one tenant share one window", function()
      local a, b = new(), new()
      for _ = 1, 4 do
        assert(a:folders())
        assert(b:folders())
      end
      assert.are.same({ 3, 8 }, { srv:most_in_window() })
      assert.are.equal(a:stats().rate_file, b:stats().rate_file)
      assert.matches("^/.+/gong/%x+$", a:stats().rate_file)
      a:close()
      b:close()
    end)

    it("keeps tenants apart: another token is another window", function()
      local a = new()
      local b = core.new({ base_url = srv.url, token = creds.token, rate_scope = "host" })
      assert.are_not.equal(a:stats().rate_file, b:stats().rate_file)
      for _ = 1, 3 do assert(a:folders()) end
      -- a's window is full now; b's three go at once all the same.
      for _ = 1, 3 do assert(b:folders()) end
      local times = {}
      for _, req in ipairs(srv:requests()) do
        if req.headers.authorization:find("^Bearer ") then times[#times + 1] = req.time end
      end
      assert.are.equal(3, #times)
      assert.is_true(times[3] - times[1] < 0.5, "b waited for a's window")
    end)

    it("counts this machine's requests to the tenant today in stats().today, for every client of it", function()
      local a, b = new(), new()
      local before = a:stats().today
      assert.are.equal("number", type(before))
      assert(a:folders())
      assert(b:folders())
      assert.are.equal(before + 2, a:stats().today)
      assert.are.equal(before + 2, b:stats().today)
      local own = core.new({ base_url = srv.url, token = creds.token })
      assert.is_nil(own:stats().today, "rate_scope client counts none")
      own:close()
      a:close()
      b:close()
    end)

    it("counts calls_batch's transfers in the same window", function()
      local a, b = new(), new()
      local ids = {}
      for i = 1, 4 do ids[i] = lib.folders[i].id end
      assert(a:calls_batch(ids, { concurrency = 4 }))
      assert(b:folders())
      assert(b:folders())
      assert.are.same({ 3, 6 }, { srv:most_in_window() })
    end)

    it("replaces a state file that is damaged or foreign, and says so once through core.on_warning", function()
      local path = new():stats().rate_file
      process.write_file(path, "hello, world\n")
      local warnings = {}
      core.on_warning(function(msg) warnings[#warnings + 1] = msg end)
      local ok, c = pcall(new)
      core.on_warning(nil)
      assert.is_true(ok, tostring(c))
      assert.are.same({ path .. " was not a gong rate state file, or was damaged: replaced it" }, warnings)
      assert.matches("^gong rate state 2\n", process.read_file(path))
      assert(c:folders())
      assert(new():folders())
      assert.are.equal(1, #warnings)
    end)

    it("comes from GONG_RATE_SCOPE for gong.new, as the other settings do", function()
      local code = ("local c = require('gong').new({ base_url = %q, token = %q }) print(c:stats().rate_file ~= nil)")
        :format(srv.url, creds.token)
      assert.are.equal("true\n", (process.lua_code(code, { GONG_RATE_SCOPE = "host" })))
      assert.are.equal("false\n", (process.lua_code(code, {})))
      local out, err = process.lua_code(code, { GONG_RATE_SCOPE = "planet" })
      assert.are.equal("", out)
      assert.matches("option 'rate_scope' must be \"client\" or \"host\"", err)
    end)

    it("is off by default, and refuses a scope it does not know", function()
      assert.is_nil(core.new({ base_url = srv.url, token = creds.token }):stats().rate_file)
      local ok, err = pcall(new, { rate_scope = "planet" })
      assert.is_false(ok)
      assert.are.equal('option \'rate_scope\' must be "client" or "host"', err.message)
    end)
  end)

  describe("across gong-library processes", function()
    it("lets three runs at once share the limit, which each run alone would not", function()
      local function together(extra)
        srv:reset()
        local waits = {}
        for i = 1, 3 do
          local _, wait = process.spawn(cli({ "export", "--format", "ndjson" }), env(extra))
          waits[i] = wait
        end
        for _, wait in ipairs(waits) do
          local _, err, status = wait()
          assert.are.equal(0, status, err)
        end
        return srv:most_in_window()
      end
      local per_run = 1 -- the folder list, then each folder with calls
      for _, f in ipairs(lib.folders) do
        if f.callCount ~= 0 then per_run = per_run + 1 end
      end
      local most, total = together()
      assert.are.equal(3 * per_run, total)
      assert.are.equal(3, most, "the shared window lets 3 a second arrive, whoever sends them")
      most = together({ GONG_RATE_SCOPE = "client" })
      assert.is_true(most > 3, "each run on its own window: " .. most .. " in a second")
    end)

    -- A process that holds the state file's lock (an OFD lock, as gong takes
    -- it) until it is killed: LuaJIT's FFI calls fcntl directly.
    local LOCKER = [[
      local ffi = require "ffi"
      ffi.cdef [=[
        struct gong_flock { short l_type; short l_whence; int64_t l_start; int64_t l_len; int32_t l_pid; };
        int open(const char *path, int flags, ...);
        int fcntl(int fd, int cmd, ...);
        unsigned int sleep(unsigned int seconds);
      ]=]
      local fd = ffi.C.open(PATH, 2 + 0x80000) -- O_RDWR | O_CLOEXEC
      assert(fd >= 0)
      local lock = ffi.new("struct gong_flock", { 1, 0, 0, 0, 0 }) -- F_WRLCK, the whole file
      assert(ffi.C.fcntl(fd, 38, lock) == 0) -- F_OFD_SETLKW
      io.open(PATH .. ".held", "w"):close()
      ffi.C.sleep(60)
    ]]

    local function hold_lock(path)
      local code = "local PATH = " .. string.format("%q", path) .. "\n" .. LOCKER
      local pid = process.spawn({ "luajit", "-e", code }, {})
      local deadline = socket.gettime() + 5
      while not process.read_file(path .. ".held") do
        assert(socket.gettime() < deadline, "the locker never took the lock")
        socket.sleep(0.02)
      end
      os.remove(path .. ".held")
      return pid
    end

    it("waits while another process holds the lock, and goes on once it is killed", function()
      local path = new():stats().rate_file
      local locker = hold_lock(path)
      -- Held longer than --timeout: a stopped process, say so.
      local out, err, status = process.run(cli({ "folders", "--timeout", "1" }), env())
      assert.are.equal(1, status, err)
      assert.are.equal("", out)
      assert.matches("has stayed locked by another process for 1 s: is one stopped%?", err)
      assert.are.equal(0, #srv:requests())
      local pid, wait = process.spawn(cli({ "folders" }), env())
      socket.sleep(0.5)
      assert.is_false(process.exited(pid), "gong-library did not wait for the lock")
      assert.are.equal(0, #srv:requests())
      os.execute("kill -9 " .. locker)
      local started = socket.gettime()
      local _, err2, status2 = wait()
      assert.are.equal(0, status2, err2)
      assert.is_true(socket.gettime() - started < 3, "the kernel released the killed process's lock")
      assert.are.equal(1, #srv:requests())
    end)

    it("refuses a state directory others may enter, in the CLI's terms", function()
      local dir = process.tmpdir()
      os.execute("mkdir -m 755 " .. process.quote(dir .. "/gong"))
      local out, err, status = process.run(cli({ "folders" }), env({ XDG_RUNTIME_DIR = dir }))
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.are.equal("gong-library: refusing " .. dir .. "/gong for the shared rate limit: group or others "
        .. "may access it (chmod 700 it) (or set GONG_RATE_SCOPE=client: then each run keeps its own limit)\n",
        err:match("^[^\n]*\n"))
      -- GONG_RATE_SCOPE=client does without it.
      local _, err2, status2 = process.run(cli({ "folders" }), env({ XDG_RUNTIME_DIR = dir,
                                                                     GONG_RATE_SCOPE = "client" }))
      assert.are.equal(0, status2, err2)
      os.execute("rm -rf " .. process.quote(dir))
    end)

    it("makes its directory under $XDG_RUNTIME_DIR, private to the user, with one file per tenant", function()
      local dir = process.tmpdir()
      local _, err, status = process.run(cli({ "folders" }), env({ XDG_RUNTIME_DIR = dir }))
      assert.are.equal(0, status, err)
      assert.are.equal("drwx------", process.capture("stat -c %A " .. process.quote(dir .. "/gong")):sub(1, 10))
      local files = process.capture("ls " .. process.quote(dir .. "/gong"))
      assert.matches("^%x+\n$", files)
      local file = dir .. "/gong/" .. files:sub(1, -2)
      assert.are.equal("-rw-------", process.capture("stat -c %A " .. process.quote(file)):sub(1, 10))
      os.execute("rm -rf " .. process.quote(dir))
    end)
  end)
end)
