-- gong.credentials: where base URL and credentials come from (explicit
-- options, a credentials file, the environment), for gong.new and the CLI.

local credentials = require "gong.credentials"
local process = require "spec.support.process"

-- An environment from a table, as os.getenv would read it.
local function env(t)
  return credentials.from_environment(function(name) return t[name] end)
end

local HOW = "pass them"

describe("gong.credentials", function()
  describe("resolve()", function()
    it("takes all credentials from the first source that has any, never half from each", function()
      local r = assert(credentials.resolve({
        credentials.from_options({ token = "from-options" }),
        env({ GONG_ACCESS_KEY = "k", GONG_ACCESS_KEY_SECRET = "s", GONG_BASE_URL = "https://e.example" }),
      }, HOW))
      assert.are.equal("from-options", r.token)
      assert.is_nil(r.access_key)
      assert.is_nil(r.access_key_secret)
      assert.are.equal("the options table", r.source.where)
      assert.are.same({ token = "option 'token'", base_url = "GONG_BASE_URL in the environment" }, r.origin)
      assert.are.same({ "from-options" }, r.secrets)
    end)

    it("takes the base URL from the first source that has one", function()
      local r = assert(credentials.resolve({
        credentials.from_options({ base_url = "https://cli.example" }, "the command line", { base_url = "--base-url" }),
        env({ GONG_TOKEN = "t", GONG_BASE_URL = "https://e.example" }),
      }, HOW))
      assert.are.equal("https://cli.example", r.base_url)
      assert.are.equal("t", r.token)
      assert.are.same({ token = "GONG_TOKEN in the environment", base_url = "--base-url" }, r.origin)
    end)

    it("treats empty environment variables as unset", function()
      local r, err = credentials.resolve({ env({ GONG_TOKEN = "", GONG_ACCESS_KEY = "" }) }, HOW)
      assert.is_nil(r)
      assert.are.equal("no credentials: pass them", err)
    end)

    it("names the source and the names it uses when a key pair is half given", function()
      local _, err = credentials.resolve({ env({ GONG_ACCESS_KEY_SECRET = "s" }) }, HOW)
      assert.are.equal("GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET must be set together: the environment sets "
        .. "GONG_ACCESS_KEY_SECRET but not GONG_ACCESS_KEY", err)
      _, err = credentials.resolve({ credentials.from_options({ access_key = "k" }), env({ GONG_TOKEN = "t" }) }, HOW)
      assert.are.equal("access_key and access_key_secret must be set together: the options table sets "
        .. "access_key but not access_key_secret", err)
    end)

    it("names the source when it holds both kinds", function()
      local _, err = credentials.resolve({ env({ GONG_TOKEN = "t", GONG_ACCESS_KEY_SECRET = "s" }) }, HOW)
      assert.are.equal("the environment sets both GONG_TOKEN and GONG_ACCESS_KEY_SECRET; keep one kind of "
        .. "credentials", err)
    end)
  end)

  describe("default_file()", function()
    it("is gong/credentials under $XDG_CONFIG_HOME, else ~/.config", function()
      local function at(t) return credentials.default_file(function(name) return t[name] end) end
      assert.are.equal("/x/gong/credentials", at({ XDG_CONFIG_HOME = "/x", HOME = "/h" }))
      assert.are.equal("/h/.config/gong/credentials", at({ XDG_CONFIG_HOME = "", HOME = "/h" }))
      assert.is_nil(at({}))
    end)
  end)

  describe("read_file()", function()
    local dir

    setup(function() dir = process.tmpdir() end)
    teardown(function() os.execute("rm -rf " .. process.quote(dir)) end)

    local function file(name, content, mode)
      return process.write_file(dir .. "/" .. name, content, mode)
    end

    it("is a source that supplies the credentials even when it holds none", function()
      local path = file("empty", "# nothing\nGONG_BASE_URL=https://f.example\n")
      local source = assert(credentials.read_file(path))
      local r, err = credentials.resolve({ source, env({ GONG_TOKEN = "t" }) }, HOW)
      assert.is_nil(r)
      assert.are.equal("credentials file " .. path .. " has no credentials: set GONG_ACCESS_KEY and "
        .. "GONG_ACCESS_KEY_SECRET, or GONG_TOKEN", err)
    end)

    it("reads names, values, comments, quotes and CRLF, and its base URL beats the environment's", function()
      local path = file("ok", "# c\r\n GONG_ACCESS_KEY = 'key-1' \r\nGONG_ACCESS_KEY_SECRET=\"s 2\"\r\n"
        .. "GONG_BASE_URL=https://f.example\r\n")
      local r = assert(credentials.resolve({ assert(credentials.read_file(path)),
                                              env({ GONG_BASE_URL = "https://e.example" }) }, HOW))
      assert.are.equal("key-1", r.access_key)
      assert.are.equal("s 2", r.access_key_secret)
      assert.are.equal("https://f.example", r.base_url)
      assert.are.same({ access_key = "GONG_ACCESS_KEY on line 2 of credentials file " .. path,
                        access_key_secret = "GONG_ACCESS_KEY_SECRET on line 3 of credentials file " .. path,
                        base_url = "GONG_BASE_URL on line 4 of credentials file " .. path }, r.origin)
    end)

    it("refuses a file others may read, a directory, a missing file, naming the file and the fix", function()
      local open = file("open", "GONG_TOKEN=t\n", "644")
      assert.are.same({ nil, "credentials file " .. open .. " is accessible by group or others (-rw-r--r--); "
        .. "run: chmod 600 " .. open }, { credentials.read_file(open) })
      assert.are.same({ nil, "credentials file " .. dir .. " is neither a regular file nor a pipe" },
                      { credentials.read_file(dir) })
      assert.are.same({ nil, "cannot read credentials file " .. dir .. "/none: No such file or directory" },
                      { credentials.read_file(dir .. "/none") })
    end)

    it("refuses a file that belongs to another user", function()
      local path = file("foreign", "GONG_TOKEN=t\n")
      if process.capture("id -u") == "0\n" then
        os.execute("chown 65534 " .. process.quote(path))
      else
        path = "/etc/hostname"
      end
      local source, err = credentials.read_file(path)
      assert.is_nil(source)
      assert.matches("^credentials file " .. path:gsub("%p", "%%%0") .. " belongs to another user %(uid %d+%); "
        .. "it must be your own$", err)
    end)

    it("names the line of a malformed one, never its content", function()
      local path = file("bad", "GONG_TOKEN=t\nGONG_SECRET hunter2\n")
      local source, err = credentials.read_file(path)
      assert.is_nil(source)
      assert.are.equal("credentials file " .. path .. ", line 2: expected NAME=VALUE", err)
    end)

    it("takes a shell's `export NAME=VALUE` and a UTF-8 byte order mark", function()
      local path = file("shell", "\239\187\191export GONG_TOKEN=tok-1\r\n  export GONG_BASE_URL='https://s.example'\n")
      local r = assert(credentials.resolve({ assert(credentials.read_file(path)) }, HOW))
      assert.are.equal("tok-1", r.token)
      assert.are.equal("https://s.example", r.base_url)
    end)
  end)
end)
