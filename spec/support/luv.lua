-- luv, loaded once per busted process. busted gives each spec file a fresh
-- package.loaded, so a second file's require "luv" would open luv again
-- while the first one's loop is being collected, and libuv then crashes
-- (uv_timer_init on a closed loop). The one module is kept in the registry,
-- which busted leaves alone.
local registry = debug.getregistry()
registry.gong_spec_luv = registry.gong_spec_luv or require "luv"
return registry.gong_spec_luv
