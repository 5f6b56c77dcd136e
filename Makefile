# cthreading - GNU Make build.
#
#   make                 the library (static and shared) in build/plain
#   make demo            build and run every example
#   make check           install the test framework if needed, then run the
#                        whole suite four times: plain, tsan, asan, lot
#   make test V=tsan     one run (V = plain | tsan | asan | lot)
#   make bench           the comparison benchmark
#   make install PREFIX=/usr/local [LIBDIR=$(PREFIX)/lib] [DESTDIR=...]
#   make abi             rewrite abi/cthreading.symbols (exported symbols)

V        ?= plain
CC       ?= cc
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
VERSION  := $(shell sed -n "s/^#define CT_VERSION_STRING \"\(.*\)\"/\1/p" include/cthreading/version.h)
SOMAJOR  := 0
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
MINOR    := $(word 2,$(subst ., ,$(VERSION)))
BUILD    ?= build/$(V)

WARN     := -Wall -Wextra -Wpedantic -Werror
BASE     := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -pthread -fvisibility=hidden
OPT_plain := -O2 -g
OPT_tsan  := -O1 -g -fsanitize=thread -DCT_TSAN
OPT_asan  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT_lot   := -O2 -g -DCT_PARK_LOT
ifeq ($(origin OPT_$(V)),undefined)
$(error unknown variant V=$(V): use plain, tsan, asan or lot)
endif
CFLAGS_ALL := $(BASE) $(OPT_$(V)) $(CFLAGS)
LDFLAGS_ALL := -pthread $(filter -fsanitize=%,$(OPT_$(V))) $(LDFLAGS)
LIBS     := -lm

SRCS     := $(wildcard src/*.c)
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
HDRS     := $(wildcard include/*.h include/cthreading/*.h src/*.h)
STATIC   := $(BUILD)/libcthreading.a
SHARED   := $(BUILD)/libcthreading.so.$(VERSION)

TEST_SRCS := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
PROG_SRCS := $(wildcard tests/progs/*.c)
PROGS    := $(PROG_SRCS:tests/progs/%.c=$(BUILD)/progs/%)
EX_SRCS  := $(wildcard examples/*.c)
EXAMPLES := $(EX_SRCS:examples/%.c=$(BUILD)/examples/%)
TEST_CFLAGS := -Isrc -Itests -DCT_BUILD_DIR='"$(abspath $(BUILD))"'
CHECK_FLAGS = $(shell pkg-config --cflags --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

.PHONY: all lib demo check test tests examples bench install uninstall clean abi
.SUFFIXES:

all: lib
lib: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fPIC -fno-strict-aliasing -Isrc -c $< -o $@

$(STATIC): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(OBJS)
	$(CC) -shared -Wl,-soname,libcthreading.so.$(SOMAJOR) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)
	ln -sf libcthreading.so.$(VERSION) $(BUILD)/libcthreading.so.$(SOMAJOR)
	ln -sf libcthreading.so.$(SOMAJOR) $(BUILD)/libcthreading.so

$(BUILD)/tests/support.o: tests/support.c tests/support.h $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/tests/support.o $(STATIC) tests/support.h $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) $< $(BUILD)/tests/support.o \
	    $(STATIC) $(LDFLAGS_ALL) $(CHECK_FLAGS) $(LIBS) -o $@

$(BUILD)/progs/%: tests/progs/%.c $(STATIC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< $(STATIC) $(LDFLAGS_ALL) -rdynamic $(LIBS) -o $@

$(BUILD)/examples/%: examples/%.c $(STATIC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< $(STATIC) $(LDFLAGS_ALL) -rdynamic $(LIBS) -o $@

tests: $(TESTS) $(PROGS) $(EXAMPLES)
examples: $(EXAMPLES)

# One run of the suite in this variant; prints "<variant>: N passed, N failed".
test: tests
	@sh tests/run-tests.sh $(V) $(BUILD) $(TESTS)

check:
	@sh tests/check.sh

demo: examples
	@sh examples/run-all.sh $(BUILD)

bench:
	@$(MAKE) --no-print-directory -C bench

install: lib
	install -d $(DESTDIR)$(PREFIX)/include/cthreading $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/cthreading.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/cthreading/*.h $(DESTDIR)$(PREFIX)/include/cthreading/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libcthreading.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcthreading.so.$(SOMAJOR)
	ln -sf libcthreading.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libcthreading.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    cthreading.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/cthreading.pc
	install -d $(DESTDIR)$(LIBDIR)/cmake/cthreading
	for f in cthreadingConfig cthreadingConfigVersion; do \
	    sed -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
	        -e 's|@VERSION@|$(VERSION)|' -e 's|@SOMAJOR@|$(SOMAJOR)|' \
	        -e 's|@MAJOR@|$(MAJOR)|' -e 's|@MINOR@|$(MINOR)|' \
	        cmake/$$f.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/cthreading/$$f.cmake; \
	done

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/cthreading $(DESTDIR)$(PREFIX)/include/cthreading.h
	rm -f $(DESTDIR)$(LIBDIR)/libcthreading.* $(DESTDIR)$(LIBDIR)/pkgconfig/cthreading.pc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/cthreading

# Rewrite abi/cthreading.symbols from the library just built (after a
# deliberate API change; make check compares the two).
abi: lib
	nm -D --defined-only $(BUILD)/libcthreading.so | awk '$$2 ~ /^[TDBRVW]$$/ {print $$3}' | \
	    sort > abi/cthreading.symbols

clean:
	rm -rf build
