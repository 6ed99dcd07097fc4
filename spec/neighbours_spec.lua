-- gong-library among the other users of its machine: what another local user
-- can set up in a shared place (a symlink in /tmp, a directory named where
-- gong keeps its rate state) and what gong must then not do (write another
-- user's file, stop, or write into that user's directory). Each spec makes
-- throwaway users and removes them, and runs the CLI as one of them with
-- runuser: they need root, and are pending without it (CI runs as root).

local fake = require "spec.support.fake"
local process = require "spec.support.process"

local quote, capture, slurp = process.quote, process.capture, process.read_file
local creds = fake.credentials

local is_root = capture("id -u") == "0\n"
local NOT_ROOT = "needs root: it makes throwaway users and runs gong-library as them"

-- A throwaway user (no home: each spec gives HOME itself); returns its name and uid.
local made_users = {}
local function new_user(tag)
  local name = "gong" .. tag .. (#made_users + 1) .. "x" .. process.pid()
  assert(os.execute("useradd -M -d /nonexistent -s /bin/sh " .. name .. " >/dev/null 2>&1"), "useradd " .. name)
  made_users[#made_users + 1] = name
  return name, tonumber(capture("id -u " .. name))
end

-- What `ls -A` shows in `dir`, one name a line ("" for nothing).
local function listing(dir)
  return capture("ls -A " .. quote(dir))
end

-- ls's view of a path: mode and numeric owner.
local function mode_owner(path)
  return capture("ls -lnd " .. quote(path)):match("^(%S+)%s+%S+%s+(%d+)")
end

describe("gong-library and the other users of its machine", function()
  local srv, dirs = nil, {}

  setup(function() srv = fake.start({ folders = 3 }) end)
  teardown(function()
    if srv then srv:stop() end
    for _, dir in ipairs(dirs) do os.execute("rm -rf " .. quote(dir)) end
    for _, name in ipairs(made_users) do os.execute("userdel " .. name .. " >/dev/null 2>&1") end
  end)
  before_each(function() srv:reset() end)

  local function new_dir(mode)
    local dir = process.tmpdir()
    dirs[#dirs + 1] = dir
    if mode then os.execute("chmod " .. mode .. " " .. quote(dir)) end
    return dir
  end

  -- The shell command that runs gong-library with `args`: as `user` when
  -- given (runuser), with the fake server's credentials and `env` added
  -- (a value false: the variable unset, XDG_RUNTIME_DIR included).
  local function cli(args, env, user)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local full = { GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "", GONG_BASE_URL = srv.url,
                   GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret }
    local unset = {}
    for k, v in pairs(env or {}) do
      if v == false then
        full[k] = nil
        unset[#unset + 1] = "-u " .. k
      else
        full[k] = v
      end
    end
    local cmd = "env " .. table.concat(unset, " ") .. " " .. process.command(argv, full)
    if user then cmd = "runuser -u " .. user .. " -- " .. cmd end
    return cmd
  end

  -- Runs a shell command line: stdout, stderr, status.
  local function run(cmd)
    local errfile = os.tmpname()
    local p = assert(io.popen(cmd .. " 2>" .. errfile .. "; echo \"exit:$?\"", "r"))
    local out = p:read("*a")
    p:close()
    local err = slurp(errfile) or ""
    os.remove(errfile)
    return (out:gsub("exit:%d+\n$", "")), err, tonumber(out:match("exit:(%d+)\n$"))
  end

  describe("export -o FILE where FILE is a symlink", function()
    it("refuses another user's symlink in a sticky directory anyone may write to, and leaves its target", function()
      if not is_root then return pending(NOT_ROOT) end
      local mallory = new_user("m")
      local public, private = new_dir("1777"), new_dir()
      local target = process.write_file(private .. "/bashrc", "precious\n", "644")
      local link = public .. "/report.json"
      assert(os.execute("runuser -u " .. mallory .. " -- ln -s " .. quote(target) .. " " .. quote(link)))
      local out, err, status = run(cli({ "export", "-o", link }, { GONG_RATE_SCOPE = "client" }))
      assert.are.same({ "", 1 }, { out, status }, err)
      assert.are.equal("gong-library: cannot write " .. link .. ": it is a symbolic link of another user (uid "
        .. capture("id -u " .. mallory):gsub("\n", "") .. ") in " .. public .. ", a sticky directory anyone may "
        .. "write to, which the kernel's protected_symlinks would not follow either; remove the link, or name "
        .. "the file to write directly\n", err)
      assert.are.equal("precious\n", slurp(target))
      assert.are.same({ "-rw-r--r--", "0" }, { mode_owner(target) })
      assert.are.equal("bashrc\n", listing(private))
      assert.are.equal("report.json\n", listing(public))
      assert.are.equal(0, #srv:requests())
      -- A link of the user's own there, to one of mallory's, is refused all the same: each link is judged.
      local own = public .. "/mine.json"
      os.execute("ln -s report.json " .. quote(own))
      out, err, status = run(cli({ "export", "-o", own }, { GONG_RATE_SCOPE = "client" }))
      assert.are.same({ "", 1 }, { out, status }, err)
      assert.truthy(err:find("cannot write " .. own .. ": it leads through " .. link
        .. ", a symbolic link of another user", 1, true), err)
      assert.are.equal("precious\n", slurp(target))
    end)

    it("refuses another user's link to a file yet to be made in a sticky directory, and makes nothing", function()
      if not is_root then return pending(NOT_ROOT) end
      local mallory = new_user("m")
      local public, private = new_dir("1777"), new_dir()
      local link = public .. "/report.json"
      assert(os.execute("runuser -u " .. mallory .. " -- ln -s " .. quote(private .. "/planted") .. " " .. quote(link)))
      local out, err, status = run(cli({ "export", "-o", link }, { GONG_RATE_SCOPE = "client" }))
      assert.are.same({ "", 1 }, { out, status }, err)
      assert.truthy(err:find("cannot write " .. link .. ": it is a symbolic link of another user", 1, true), err)
      assert.are.equal("", listing(private))
      assert.are.equal(0, #srv:requests())
    end)

    it("refuses a link to another user's file, root included, and writes that file when it is named", function()
      if not is_root then return pending(NOT_ROOT) end
      local _, uid = new_user("v")
      local dir, theirs = new_dir(), new_dir()
      local target = process.write_file(theirs .. "/notes.json", "theirs\n", "600")
      os.execute("chown " .. uid .. " " .. quote(target))
      local link = dir .. "/lib.json"
      os.execute("ln -s " .. quote(target) .. " " .. quote(link))
      local out, err, status = run(cli({ "export", "-o", link }, { GONG_RATE_SCOPE = "client" }))
      assert.are.same({ "", 1 }, { out, status }, err)
      assert.are.equal("gong-library: cannot write " .. link .. ": it is a symbolic link to " .. target
        .. ", a file of another user (uid " .. uid .. "), which an export replaces only when it is named "
        .. "directly; name " .. target .. " with -o, or remove the link\n", err)
      assert.are.equal("theirs\n", slurp(target))
      assert.are.equal(0, #srv:requests())
      -- Named directly, root replaces it, its owner and mode kept.
      _, err, status = run(cli({ "export", "-o", target }, { GONG_RATE_SCOPE = "client" }))
      assert.are.equal(0, status, err)
      assert.are_not.equal("theirs\n", slurp(target))
      assert.are.same({ "-rw-------", tostring(uid) }, { mode_owner(target) })
    end)

    it("writes through the user's own link in a sticky directory to the user's own file", function()
      if not is_root then return pending(NOT_ROOT) end
      local public, private = new_dir("1777"), new_dir()
      local target = process.write_file(private .. "/lib.json", "old\n", "640")
      local link = public .. "/lib.json"
      os.execute("ln -s " .. quote(target) .. " " .. quote(link))
      local _, err, status = run(cli({ "export", "-o", link }, { GONG_RATE_SCOPE = "client" }))
      assert.are.equal(0, status, err)
      assert.are.equal("[", slurp(target):sub(1, 1))
      assert.are.equal("-rw-r-----", (mode_owner(target)))
      assert.are.equal(target .. "\n", capture("readlink " .. quote(link)))
    end)
  end)

  describe("export's temporary file", function()
    -- The mode the temporary file beside `path` was created with (open's
    -- third argument, as strace shows it), running the export as root.
    local function created_mode(path)
      local log = os.tmpname()
      local _, err, status = run("strace -f -e trace=open,openat -o " .. quote(log) .. " "
        .. cli({ "export", "-o", path }, { GONG_RATE_SCOPE = "client" }))
      local trace = slurp(log) or ""
      os.remove(log)
      assert.are.equal(0, status, err)
      local pattern = '"' .. path:gsub("%p", "%%%0") .. '%.tmp%-%x+", [^)]*O_CREAT[^)]*, (0%d+)%)'
      return assert(trace:match(pattern), "no creation of the temporary file in the trace")
    end

    it("is created open to its owner alone when FILE exists, before it gets FILE's group and mode", function()
      if not is_root then return pending(NOT_ROOT .. " (root gives the file FILE's group)") end
      if not os.execute("strace -o /dev/null true >/dev/null 2>&1") then
        return pending("needs strace, allowed to trace here, to see the mode a file is created with")
      end
      local dir = new_dir()
      local path = process.write_file(dir .. "/lib.json", "old\n", "600")
      assert.are.equal("0600", created_mode(path))
      assert.are.same({ "-rw-------", "0" }, { mode_owner(path) })
      -- Shared with a group the user's files are not in by default: not
      -- readable by the user's own group, even for the moment before fchown.
      os.execute("chown 0:65534 " .. quote(path) .. " && chmod 640 " .. quote(path))
      assert.are.equal("0600", created_mode(path))
      assert.are.equal("-rw-r-----", (mode_owner(path)))
      assert.are.equal("65534", capture("stat -c %g " .. quote(path)):gsub("\n", ""))
      -- A new FILE: what the umask makes of 0666, the kernel applying it at creation.
      assert.are.equal("0666", created_mode(dir .. "/new.json"))
      assert.are.equal("-rw-r--r--", (mode_owner(dir .. "/new.json")))
    end)
  end)

  describe("the shared rate limit's directory", function()
    -- The throwaway user whose rate state it is, and a HOME of theirs.
    local function alice()
      local name, uid = new_user("a")
      local home = new_dir()
      os.execute("chown " .. uid .. " " .. quote(home))
      return name, uid, home
    end

    local function assert_fell_back(err, refused, home, uid)
      local cache = home .. "/.cache/gong"
      assert.are.equal("gong-library: warning: refusing " .. refused .. " for the shared rate limit: "
        .. "it belongs to another user; keeping the rate state in " .. cache .. " instead\n", err)
      assert.are.same({ "drwx------", tostring(uid) }, { mode_owner(cache) })
      assert.matches("^%x+\n$", listing(cache))
    end

    it("does without a /tmp/gong-UID another user made first, warns once, and writes nothing there", function()
      if not is_root then return pending(NOT_ROOT) end
      local mallory = new_user("m")
      local name, uid, home = alice()
      local hostile = "/tmp/gong-" .. uid
      dirs[#dirs + 1] = hostile
      assert(os.execute("runuser -u " .. mallory .. " -- mkdir -m 777 " .. hostile))
      local out, err, status = run(cli({ "folders" }, { XDG_RUNTIME_DIR = false, HOME = home }, name))
      assert.are.equal(0, status, err)
      assert.truthy(out:find("\n", 1, true), out)
      assert_fell_back(err, hostile, home, uid)
      assert.are.equal("", listing(hostile))
      -- A plain file of theirs there is refused alike.
      os.execute("rm -rf " .. hostile .. " && runuser -u " .. mallory .. " -- touch " .. hostile)
      out, err, status = run(cli({ "folders" }, { XDG_RUNTIME_DIR = false, HOME = home }, name))
      assert.are.equal(0, status, err)
      assert.truthy(out:find("\n", 1, true), out)
      assert_fell_back(err, hostile, home, uid)
    end)

    it("does without an XDG_RUNTIME_DIR of another user's (su without -), open or closed to it", function()
      if not is_root then return pending(NOT_ROOT) end
      local mallory = new_user("m")
      local name, uid, home = alice()
      for _, mode in ipairs({ "777", "700" }) do
        local runtime = new_dir(mode)
        os.execute("chown " .. mallory .. " " .. quote(runtime))
        local out, err, status = run(cli({ "folders" }, { XDG_RUNTIME_DIR = runtime, HOME = home }, name))
        assert.are.equal(0, status, err)
        assert.truthy(out:find("\n", 1, true), out)
        assert_fell_back(err, runtime, home, uid)
        assert.are.equal("", listing(runtime))
      end
    end)

    it("keeps a window of the client's own when the user has no directory of theirs to use either", function()
      if not is_root then return pending(NOT_ROOT) end
      local mallory = new_user("m")
      local name, uid = alice()
      local hostile = "/tmp/gong-" .. uid
      dirs[#dirs + 1] = hostile
      assert(os.execute("runuser -u " .. mallory .. " -- mkdir -m 777 " .. hostile))
      local out, err, status = run(cli({ "folders" }, { XDG_RUNTIME_DIR = false, HOME = "/" }, name))
      assert.are.equal(0, status, err)
      assert.truthy(out:find("\n", 1, true), out)
      assert.are.equal("gong-library: warning: refusing " .. hostile .. " for the shared rate limit: it belongs "
        .. "to another user; cannot make /.cache: Permission denied; this client keeps a rate limit of its own\n",
        err)
      assert.are.equal("", listing(hostile))
    end)
  end)
end)
