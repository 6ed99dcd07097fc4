# gong — build, test, install. `make help` lists the targets.
#
#   make [LUA=5.4|5.3|5.2|5.1|luajit]   build gong.core for that Lua
#   make test                            install missing Debian packages, build, run the specs
#   make install PREFIX=/usr/local       standard layout: lib/lua/<ver>, share/lua/<ver>, bin

LUA     ?= 5.4
PREFIX  ?= /usr/local

ifeq ($(LUA),luajit)
  LUA_PC  := luajit
  LUA_BIN := luajit
  LUA_ABI := 5.1
  LUA_DEB := luajit libluajit-5.1-dev
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

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
DEFS    := -D_POSIX_C_SOURCE=200809L
PKG_CFLAGS = $(shell pkg-config --cflags $(LUA_PC) libcurl)
PKG_LIBS   = $(shell pkg-config --libs libcurl)
SANITIZE ?=

# Packages the targets need on Debian; tools/deps.sh installs what is missing.
DEB_BUILD := gcc make pkg-config libcurl4-openssl-dev $(LUA_DEB)
DEB_TEST  := $(DEB_BUILD) lua-cjson lua-busted lua-socket lua5.4
DEB_LINT  := lua-check cppcheck

BUSTED   = env LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" \
               LUA_CPATH="$(BUILD)/?.so;;" GONG_TEST_LUA="$(LUA_BIN)" GONG_BUILD="$(BUILD)" \
               $(LUA_BIN) /usr/bin/busted

.PHONY: all build test demo install lint clean help deps deps-test check-asan check-valgrind fuzz

all: build

build: $(CORE)

$(CORE): $(SOURCES)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) $(WARN) $(DEFS) -fPIC -shared $(PKG_CFLAGS) \
	  src/gong.c -o $@ $(PKG_LIBS) -lpthread -lm

deps:
	@tools/deps.sh $(DEB_BUILD)

deps-test:
	@tools/deps.sh $(DEB_TEST)

## test: install missing packages, build, run every spec under $(LUA_BIN)
test: deps-test
	@$(MAKE) --no-print-directory build
	$(BUSTED) $(BUSTED_ARGS)

## demo: start the fake Gong server and show its library as a tree
demo: deps-test
	@$(MAKE) --no-print-directory build
	@LUA_BIN=$(LUA_BIN) BUILD=$(BUILD) tools/demo.sh

## install: PREFIX/lib/lua/<ver>/gong/core.so, PREFIX/share/lua/<ver>/gong/*.lua, PREFIX/bin/gong-library
install: build
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/gong $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/gong \
	  $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(CORE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/gong/core.so
	install -m 0644 $(LUA_SRC) $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/gong/
	sed '1s|.*|#!/usr/bin/env $(LUA_BIN)|' bin/gong-library > $(DESTDIR)$(PREFIX)/bin/gong-library
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/gong-library

## lint: luacheck and cppcheck, zero findings
lint:
	@tools/deps.sh $(DEB_LINT)
	luacheck lua bin/gong-library spec fake tools
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem $(PKG_CFLAGS) $(DEFS) src/gong.c

## check-asan: the whole suite against a core built with ASan + UBSan, leaks included
check-asan: deps-test
	@$(MAKE) --no-print-directory build BUILD=build/asan-$(LUA) CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all"
	env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  $(MAKE) --no-print-directory run-busted BUILD=build/asan-$(LUA)

run-busted:
	$(BUSTED) $(BUSTED_ARGS)

## check-valgrind: a stress run of thousands of requests under memcheck, zero errors or definite leaks
check-valgrind: deps-test
	@tools/deps.sh valgrind
	@$(MAKE) --no-print-directory build
	env LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" LUA_CPATH="$(BUILD)/?.so;;" \
	  valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite --trace-children=no $(LUA_BIN) tools/stress.lua $(STRESS_ROUNDS)

STRESS_ROUNDS ?= 600
FUZZ_SECONDS ?= 60
FUZZ_CC      := clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(DEFS)
FUZZ_FLAGS    = $(shell pkg-config --cflags lua5.4 libcurl)
FUZZ_LIBS     = $(shell pkg-config --libs lua5.4 libcurl) -lpthread -lm

## fuzz: libFuzzer on URL encoding and response decoding, FUZZ_SECONDS in all
fuzz: deps-test
	@tools/deps.sh clang libclang-rt-dev liblua5.4-dev
	@mkdir -p build/fuzz/url build/fuzz/decode
	for target in url decode; do \
	  $(FUZZ_CC) $(FUZZ_FLAGS) fuzz/$${target}_fuzz.c -o build/fuzz/$${target}_fuzz $(FUZZ_LIBS) || exit 1; \
	done
	build/fuzz/url_fuzz -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) -print_final_stats=1 \
	  build/fuzz/url fuzz/corpus/url
	build/fuzz/decode_fuzz -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) -print_final_stats=1 \
	  build/fuzz/decode fuzz/corpus/decode

clean:
	rm -rf build luarocks-tree

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
