# gong — build, test, install. `make help` lists the targets.
#
#   make [LUA=5.4|5.3|5.2|5.1|luajit]   build gong.core for one Lua into build/<LUA>/
#   make test                            install missing Debian packages, build, run every spec on every Lua
#   make install PREFIX=/usr/local       standard layout: lib/lua/<ver>, share/lua/<ver>, bin

LUA     ?= 5.4
LUAS    ?= 5.4 5.3 5.2 5.1 luajit
PREFIX  ?= /usr/local

ifeq ($(LUA),luajit)
  LUA_PC  := luajit
  LUA_BIN := luajit
  LUA_ABI := 5.1
  # OpenResty's LuaJIT 2.1 branch: the nginx lua module wants it, Neovim
  # accepts it, and it conflicts with Debian's other LuaJIT packages.
  LUA_DEB := luajit2 libluajit2-5.1-dev
else
  LUA_PC  := lua$(LUA)
  LUA_BIN := lua$(LUA)
  LUA_ABI := $(LUA)
  LUA_DEB := lua$(LUA) $(if $(filter 5.1,$(LUA)),liblua5.1-0-dev,liblua$(LUA)-dev)
endif

BUILD   ?= build/$(LUA)
CORE    := $(BUILD)/gong/core.so
SOURCES := $(wildcard src/*.c src/*.h)
LUA_SRC := $(wildcard lua/gong/*.lua)
CLI_SRC := $(wildcard lua/gong/cli/*.lua)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
# The version is written once, in lua/gong/version.lua; the core is built with it.
VERSION := $(shell sed -n 's/^return "\(.*\)"$$/\1/p' lua/gong/version.lua)
DEFS    := -D_XOPEN_SOURCE=700 -DGONG_VERSION='"$(VERSION)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(LUA_PC) libcurl)
PKG_LIBS   = $(shell pkg-config --libs libcurl)
SANITIZE ?=

# Debian packages per purpose; tools/deps.sh installs the missing ones.
DEB_LUAS  := lua5.4 liblua5.4-dev lua5.3 liblua5.3-dev lua5.2 liblua5.2-dev lua5.1 liblua5.1-0-dev \
             luajit2 libluajit2-5.1-dev
DEB_BUILD := gcc make pkg-config libcurl4-openssl-dev $(LUA_DEB)
DEB_TEST  := gcc make pkg-config libcurl4-openssl-dev $(DEB_LUAS) lua-cjson lua-busted lua-socket lua-luv \
             neovim nginx-light libnginx-mod-http-lua tmux lua-ldoc lua-discount strace zsh fish \
             groff-base man-db
DEB_LINT  := lua-check cppcheck clang-tidy
DEB_DOCS  := lua-ldoc lua-discount
DEB_UCD   := unicode-data lua5.4
DEB_BENCH := time gcc pkg-config libcurl4-openssl-dev liblua5.4-dev lua5.4 lua-cjson lua-socket lua-luv nginx-light curl \
             python3-requests valgrind neovim libnginx-mod-http-lua luajit2 libluajit2-5.1-dev

# Stoplight Prism, pinned in tools/prism/package-lock.json, serving Gong's
# own API description (doc/gong-v2-openapi.json) as tools/prism-spec.js
# prepares it: the outside look of spec/conformance_spec.lua.
PRISM_DIR  := build/prism
PRISM      := $(PRISM_DIR)/node_modules/.bin/prism
PRISM_SPEC := $(PRISM_DIR)/gong-v2-openapi.json

LUA_ENV  = LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" LUA_CPATH="$(BUILD)/?.so;;"
BUSTED   = env $(LUA_ENV) GONG_TEST_LUA="$(LUA_BIN)" GONG_BUILD="$(BUILD)" GONG_PRISM="$(PRISM)" \
           GONG_PRISM_SPEC="$(PRISM_SPEC)" $(LUA_BIN) /usr/bin/busted

.PHONY: all build man test test-one run-busted demo install uninstall lint docs clean help deps deps-test deps-prism \
        check-asan check-valgrind check-luarocks fuzz bench bench-smoke bench-check widths

all: build man

build: $(CORE)

## man: the man page gong-library(1), made of the help pages, into build/
MAN := build/gong-library.1
man: $(MAN)

# The man page and the completion scripts are made by the CLI's Lua, on the
# plain core of build/<LUA>: a sanitizer's build (check-asan's BUILD) loads
# only under its runtime.
GEN_BUILD := build/$(LUA)
GEN_ENV    = LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" LUA_CPATH="$(GEN_BUILD)/?.so;;"
ifneq ($(GEN_BUILD),$(BUILD))
$(GEN_BUILD)/gong/core.so: $(SOURCES) lua/gong/version.lua
	@$(MAKE) --no-print-directory build BUILD=$(GEN_BUILD) SANITIZE=
endif

$(MAN): tools/gen-man.lua $(LUA_SRC) $(CLI_SRC) $(GEN_BUILD)/gong/core.so
	env $(GEN_ENV) $(LUA_BIN) tools/gen-man.lua > $@.tmp && mv $@.tmp $@

$(CORE): $(SOURCES) lua/gong/version.lua
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) $(WARN) $(DEFS) -fPIC -shared $(PKG_CFLAGS) \
	  src/gong.c -o $@ $(PKG_LIBS) -lpthread -lm

deps:
	@tools/deps.sh $(DEB_BUILD)

deps-test:
	@tools/deps.sh $(DEB_TEST)

# Node.js and npm come with the machine; Debian's are the fallback.
deps-prism: $(PRISM) $(PRISM_SPEC)

$(PRISM): tools/prism/package.json tools/prism/package-lock.json
	@command -v npm >/dev/null 2>&1 || tools/deps.sh nodejs npm
	@mkdir -p $(PRISM_DIR) && cp tools/prism/package.json tools/prism/package-lock.json $(PRISM_DIR)/
	cd $(PRISM_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(PRISM_SPEC): doc/gong-v2-openapi.json tools/prism-spec.js
	@mkdir -p $(PRISM_DIR)
	node tools/prism-spec.js doc/gong-v2-openapi.json $@

# Specs of what runs outside the busted interpreter (the fake server, Prism, Neovim,
# nginx): they run once, under the first Lua of LUAS, not once per Lua. So do
# specs tagged #once: slow runs of the CLI at Gong's rate whose Lua-dependent
# parts other specs hold on every Lua. So does cli_update_spec: exports at
# Gong's rate (about 50 s), whose library side library_reuse_spec holds on
# every Lua.
HOST_SPECS := --exclude-pattern=cli_update_spec --exclude-pattern=conformance_spec \
              --exclude-pattern=fake_server_spec --exclude-pattern=nvim_spec --exclude-pattern=resty_spec \
              --exclude-pattern=demo_spec --exclude-pattern=docs_html_spec --exclude-pattern=readme_spec \
              --exclude-pattern=rate_scope_spec --exclude-tags=once

## test: install missing packages, build for every Lua in LUAS, run every spec under each
# Two Luas at a time (TEST_JOBS): the specs mostly wait (rate limits, servers,
# processes), so two lanes take about half as long on two cores. Each Lua's
# output is printed whole when it ends (--output-sync); every Lua runs even
# when one fails (-k), and the status says whether any did.
TEST_JOBS ?= 2
test: deps-test deps-prism
	@for v in $(LUAS) luajit; do $(MAKE) --no-print-directory build LUA=$$v BUILD=build/$$v || exit 1; done
	@$(MAKE) --no-print-directory -k -j$(TEST_JOBS) --output-sync=target $(addprefix test-lua-,$(LUAS))

# The specs under one Lua of LUAS; the host specs under the first only. (A
# pattern rule: make does not apply those to .PHONY targets.)
test-lua-%:
	@echo "== specs under Lua $*"
	@$(MAKE) --no-print-directory run-busted LUA=$* BUILD=build/$* \
	  BUSTED_ARGS="$(BUSTED_ARGS) $(if $(filter $*,$(firstword $(LUAS))),,$(HOST_SPECS))"

## test-one: the specs under one Lua only (LUA=5.4 by default), for a quick loop
test-one: deps-test deps-prism
	@$(MAKE) --no-print-directory build LUA=luajit BUILD=build/luajit
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory run-busted

# The specs get an XDG_RUNTIME_DIR of their own: rate_scope "host" keeps a
# state file per tenant there, and each fake server is another tenant.
run-busted:
	@runtime=$$(mktemp -d); XDG_RUNTIME_DIR=$$runtime $(BUSTED) $(BUSTED_ARGS); status=$$?; \
	  rm -rf "$$runtime"; exit $$status

## demo: start the fake Gong server and show its library through the CLI
demo: deps-test
	@$(MAKE) --no-print-directory build
	@LUA_BIN=$(LUA_BIN) BUILD=$(BUILD) tools/demo.sh

# Where install puts gong: the C core, the Lua modules, the command. The
# command gets LIB_DIR and SHARE_DIR written in (its INSTALLED line), so it
# finds them through any link or copy of it. Under DATA_DIR, where other
# programs look: the man page, the shells' completions (bash-completion's,
# zsh's and fish's places) and :checkhealth gong (Neovim's site directory).
LIB_DIR   = $(PREFIX)/lib/lua/$(LUA_ABI)
SHARE_DIR = $(PREFIX)/share/lua/$(LUA_ABI)
BIN_DIR   = $(PREFIX)/bin
DATA_DIR  = $(PREFIX)/share
COMPLETIONS := bash:bash-completion/completions/gong-library zsh:zsh/site-functions/_gong-library \
               fish:fish/vendor_completions.d/gong-library.fish
DATA_FILES  := man/man1/gong-library.1 nvim/site/lua/gong/health.lua $(foreach c,$(COMPLETIONS),$(word 2,$(subst :, ,$(c))))

## install: PREFIX/lib/lua/<ver>/gong/core.so, PREFIX/share/lua/<ver>/gong/..., PREFIX/bin/gong-library,
##          its man page, its bash, zsh and fish completions and :checkhealth gong under PREFIX/share
install: build man
	install -d $(DESTDIR)$(LIB_DIR)/gong $(DESTDIR)$(SHARE_DIR)/gong/cli $(DESTDIR)$(BIN_DIR) \
	  $(addprefix $(DESTDIR)$(DATA_DIR)/,$(sort $(dir $(DATA_FILES))))
	install -m 0755 $(CORE) $(DESTDIR)$(LIB_DIR)/gong/core.so
	install -m 0644 $(LUA_SRC) $(DESTDIR)$(SHARE_DIR)/gong/
	install -m 0644 $(CLI_SRC) $(DESTDIR)$(SHARE_DIR)/gong/cli/
	sed -e '1s|.*|#!/usr/bin/env $(LUA_BIN)|' \
	  -e 's|^local INSTALLED = nil$$|local INSTALLED = { share = [==[$(abspath $(SHARE_DIR))]==], lib = [==[$(abspath $(LIB_DIR))]==] }|' \
	  bin/gong-library > $(DESTDIR)$(BIN_DIR)/gong-library
	chmod 0755 $(DESTDIR)$(BIN_DIR)/gong-library
	install -m 0644 $(MAN) $(DESTDIR)$(DATA_DIR)/man/man1/gong-library.1
	install -m 0644 lua/gong/health.lua $(DESTDIR)$(DATA_DIR)/nvim/site/lua/gong/health.lua
	$(foreach c,$(COMPLETIONS),env $(GEN_ENV) $(LUA_BIN) bin/gong-library completion $(word 1,$(subst :, ,$(c))) \
	  > $(DESTDIR)$(DATA_DIR)/$(word 2,$(subst :, ,$(c))) &&) true

## uninstall: remove what install put under PREFIX (same PREFIX and LUA)
uninstall:
	rm -f $(DESTDIR)$(LIB_DIR)/gong/core.so $(DESTDIR)$(BIN_DIR)/gong-library \
	  $(addprefix $(DESTDIR)$(SHARE_DIR)/gong/,$(notdir $(LUA_SRC))) \
	  $(addprefix $(DESTDIR)$(SHARE_DIR)/gong/cli/,$(notdir $(CLI_SRC))) \
	  $(addprefix $(DESTDIR)$(DATA_DIR)/,$(DATA_FILES))
	-rmdir $(DESTDIR)$(SHARE_DIR)/gong/cli $(DESTDIR)$(SHARE_DIR)/gong $(DESTDIR)$(LIB_DIR)/gong \
	  $(DESTDIR)$(DATA_DIR)/nvim/site/lua/gong 2>/dev/null


# The unity build includes .c files on purpose (see src/gong.c).
TIDY_CHECKS := -*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier
TIDY_CHECKS := $(TIDY_CHECKS),-bugprone-suspicious-include,performance-*,portability-*

## lint: luacheck, cppcheck and clang-tidy, zero findings
lint:
	@tools/deps.sh $(DEB_LINT) $(DEB_BUILD)
	luacheck --quiet lua bin/gong-library spec fake tools bench
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem $(DEFS) -DLUA_VERSION_NUM=504 src/gong.c
	clang-tidy --quiet --warnings-as-errors='*' --checks='$(TIDY_CHECKS)' src/gong.c -- $(WARN) $(DEFS) $(PKG_CFLAGS)

## docs: API reference from the LuaLS/LDoc comments into doc/api/
docs:
	@tools/deps.sh $(DEB_DOCS)
	@rm -rf doc/api build/ldoc && mkdir -p build/ldoc/gong
	for f in init client credentials oauth tree transcript loop nvim resty; do \
	  name=gong.$$f; [ $$f = init ] && name=gong; \
	  lua5.4 tools/ldoc-prep.lua lua/gong/$$f.lua build/ldoc/gong/$$f.lua $$name || exit 1; \
	done
	ldoc -c doc/config.ld .

## check-asan: the suite against a core built with ASan + UBSan, leaks included
ASAN_SPECS := spec/core_spec.lua spec/gong_spec.lua spec/reliability_spec.lua spec/library_spec.lua \
              spec/tree_spec.lua spec/credentials_spec.lua spec/wire_spec.lua spec/cli_text_spec.lua \
              spec/cli_render_spec.lua spec/cli_trees_spec.lua spec/cli_exports_spec.lua \
              spec/cli_args_spec.lua spec/cli_spec.lua spec/calls_api_spec.lua spec/transcript_spec.lua \
              spec/rate_scope_spec.lua spec/oauth_spec.lua
# On a luv loop LeakSanitizer's exit-time tracer crashed once (signal 11 in
# the tracer, after every spec had passed): those specs run with ASan and
# UBSan but no leak check; make check-valgrind checks the driver's leaks.
ASAN_NOLEAK_SPECS := spec/loop_spec.lua spec/token_spec.lua
check-asan: deps-test
	@$(MAKE) --no-print-directory build BUILD=build/asan-$(LUA) CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all"
	env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  GONG_ASAN_CHILD_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  $(MAKE) --no-print-directory run-busted BUILD=build/asan-$(LUA) BUSTED_ARGS="$(BUSTED_ARGS) $(ASAN_SPECS)"
	env ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  GONG_ASAN_CHILD_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  $(MAKE) --no-print-directory run-busted BUILD=build/asan-$(LUA) BUSTED_ARGS="$(BUSTED_ARGS) $(ASAN_NOLEAK_SPECS)"

## check-valgrind: a stress run of thousands of requests under memcheck, zero errors or definite leaks
STRESS_ROUNDS ?= 600
check-valgrind: deps-test
	@tools/deps.sh valgrind
	@$(MAKE) --no-print-directory build
	@runtime=$$(mktemp -d); env $(LUA_ENV) XDG_RUNTIME_DIR=$$runtime valgrind --quiet --error-exitcode=99 \
	  --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	  $(LUA_BIN) tools/stress.lua $(STRESS_ROUNDS); status=$$?; rm -rf "$$runtime"; exit $$status

## check-luarocks: `luarocks make` and `luarocks test` for Lua 5.1 and 5.4 into local trees, the installed gong-library run
check-luarocks: deps-test
	@tools/deps.sh luarocks
	tools/check-luarocks.sh 5.4 5.1

## fuzz: libFuzzer on URL encoding and response decoding, FUZZ_SECONDS in all
FUZZ_SECONDS ?= 60
FUZZ_CC      := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(DEFS)
FUZZ_FLAGS    = $(shell pkg-config --cflags lua5.4 libcurl)
FUZZ_LIBS     = $(shell pkg-config --libs lua5.4 libcurl) -lpthread -lm
fuzz: deps-test
	@tools/deps.sh clang libclang-rt-dev
	@mkdir -p build/fuzz/url build/fuzz/decode
	for target in url decode; do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) fuzz/$${target}_fuzz.c -o build/fuzz/$${target}_fuzz $(FUZZ_LIBS) || exit 1; \
	done
	build/fuzz/url_fuzz -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) -print_final_stats=1 \
	  build/fuzz/url fuzz/corpus/url
	build/fuzz/decode_fuzz -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) -print_final_stats=1 \
	  build/fuzz/decode fuzz/corpus/decode

## bench: the benchmarks of BENCHMARKS.md (minutes); bench-smoke: every part once, tiny sizes
bench:
	@tools/deps.sh $(DEB_BENCH)
	@$(MAKE) --no-print-directory build LUA=5.4 BUILD=build/5.4
	@$(MAKE) --no-print-directory build LUA=luajit BUILD=build/luajit
	GONG_BUILD=build/5.4 bench/run.sh $(BENCH_ARGS)

bench-smoke:
	@tools/deps.sh $(DEB_BENCH)
	@$(MAKE) --no-print-directory build LUA=5.4 BUILD=build/5.4
	@$(MAKE) --no-print-directory build LUA=luajit BUILD=build/luajit
	GONG_BUILD=build/5.4 bench/run.sh --smoke

## bench-check: fail when an instruction-count target is missed (callgrind, seconds; CI runs it)
bench-check:
	@tools/deps.sh $(DEB_BENCH)
	@$(MAKE) --no-print-directory build LUA=5.4 BUILD=build/5.4
	GONG_BUILD=build/5.4 bench/run.sh --check

## widths: lua/gong/cli/widths.lua (committed) from Unicode's data in UCD (default Debian's unicode-data)
UCD ?= /usr/share/unicode
widths:
	@tools/deps.sh $(DEB_UCD)
	lua5.4 tools/gen-widths.lua $(UCD) lua/gong/cli/widths.lua

## clean: builds, docs, and what `luarocks make` builds in the checkout (gong/core.so, src/*.o)
clean:
	rm -rf build luarocks-tree doc/api gong src/*.o

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
