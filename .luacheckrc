-- luacheck configuration: `make lint` must report nothing.
std = "max"
max_line_length = 120
-- A method may leave its implicit self unused (a host whose way ignores it).
self = false
exclude_files = { "build/**", "luarocks-tree/**", "doc/api/**" }

files["spec/**"] = { std = "+busted" }
files["lua/gong/nvim.lua"] = { globals = { "vim" } }
files["spec/nvim/**"] = { globals = { "vim" } }
files["lua/gong/resty.lua"] = { std = "+ngx_lua" }
files["lua/gong/resty_worker.lua"] = { std = "+ngx_lua" }
files["lua/gong/resty_window.lua"] = { std = "+ngx_lua" }
files["spec/resty/**"] = { std = "+ngx_lua" }
