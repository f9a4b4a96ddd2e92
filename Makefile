# libsmtp build. `make` builds the libraries and examples; `make check` runs every
# test (unit, fuzz corpus replay, real servers, sanitizers, valgrind); `make demo`
# sends a message through a local server; `make install PREFIX=... DESTDIR=...`.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
CC ?= cc
BUILD ?= build

SONAME_MAJOR = 0
VERSION = 0.1.0

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude -Ilib
LIB_CFLAGS = $(ALL_CFLAGS) -DSMTP_BUILDING -fPIC -fvisibility=hidden
LIBS = -lssl -lcrypto -lidn2 -lunistring -lpthread

LIB_SRCS = $(sort $(wildcard lib/*/*.c))
LIB_OBJS = $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
LIB_HDRS = $(wildcard lib/*/*.h) include/smtp.h
SHARED = $(BUILD)/libsmtp.so.$(VERSION)
STATIC = $(BUILD)/libsmtp.a

TOOLS = $(BUILD)/tools/smtp-send $(BUILD)/tools/smtp-worker
# tools/smtp-worker: small files of one concern each, linked with hiredis
WORKER_SRCS = $(sort $(wildcard tools/smtp-worker/*.c))
EXAMPLES = $(BUILD)/examples/nonblocking \
           $(BUILD)/examples/libevent-send $(BUILD)/examples/libuv-send
# composing messages (lib/compose): the newcomer's example
EXAMPLES += $(BUILD)/examples/password-reset
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
INTEG_SRCS = $(sort $(wildcard tests/integration/it_*.c))
INTEG_BINS = $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/%)
# lib/deliver's tests against real servers (tests/deliver/run.sh)
DELIVER_SRCS = $(sort $(wildcard tests/deliver/dl_*.c))
DELIVER_BINS = $(DELIVER_SRCS:tests/deliver/%.c=$(BUILD)/tests/%)

.PHONY: all lib tools examples tests check check-unit check-fuzz check-integration \
        check-asan check-valgrind check-install check-warnings check-python deps demo \
        bench fuzz install clean uninstall dist abi-update check-tools check-docs check-abi \
        check-uninstall check-dist check-release bench-programs check-deliver bench-pool

all: lib tools examples

lib: $(SHARED) $(STATIC)

tools: $(TOOLS)

examples: $(EXAMPLES)

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHARED): $(LIB_OBJS) lib/smtp.map
	$(CC) -shared -Wl,-soname,libsmtp.so.$(SONAME_MAJOR) -Wl,--version-script=lib/smtp.map \
	  -Wl,--no-undefined $(CFLAGS) $(LDFLAGS) $(SHARED_LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)
	ln -sf libsmtp.so.$(VERSION) $(BUILD)/libsmtp.so.$(SONAME_MAJOR)
	ln -sf libsmtp.so.$(SONAME_MAJOR) $(BUILD)/libsmtp.so

$(STATIC): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(BUILD)/tools/%: tools/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

# ---- smtp-send: one folder of small files (tools/smtp-send/smtp-send.h lists them) ----
SMTP_SEND_SRCS = $(sort $(wildcard tools/smtp-send/*.c))
SMTP_SEND_OBJS = $(SMTP_SEND_SRCS:tools/smtp-send/%.c=$(BUILD)/tools/obj/smtp-send/%.o)
SMTP_SEND_PARTS = $(filter-out %/main.o,$(SMTP_SEND_OBJS))

$(BUILD)/tools/obj/smtp-send/%.o: tools/smtp-send/%.c tools/smtp-send/smtp-send.h include/smtp.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tools/smtp-send: $(SMTP_SEND_OBJS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(SMTP_SEND_OBJS) $(STATIC) $(LIBS)

# its parsers (options, config, headers, address lists, URL) tested without main.c
$(BUILD)/tests/test_smtp_send: tests/unit/test_smtp_send.c tests/unit/*.h $(SMTP_SEND_PARTS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itools/smtp-send $(LDFLAGS) -o $@ $< $(SMTP_SEND_PARTS) \
	  $(STATIC) $(LIBS)
# ---- end of smtp-send ----

$(BUILD)/tools/smtp-worker: $(WORKER_SRCS) tools/smtp-worker/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools/smtp-worker $(LDFLAGS) -o $@ $(WORKER_SRCS) $(STATIC) $(LIBS) \
	  -lhiredis

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

# the event-loop adapters are headers; their examples link the loop's library
$(BUILD)/examples/libevent-send: examples/libevent-send.c include/smtp/libevent.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS) -levent

$(BUILD)/examples/libuv-send: examples/libuv-send.c include/smtp/libuv.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS) -luv

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

# the worker's command-line and JSON checks, without Redis
$(BUILD)/tests/test_worker: tests/unit/test_worker.c tests/unit/*.h tools/smtp-worker/json.c \
  tools/smtp-worker/options.c tools/smtp-worker/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itools/smtp-worker $(LDFLAGS) -o $@ $< \
	  tools/smtp-worker/json.c tools/smtp-worker/options.c $(STATIC) $(LIBS)

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(wildcard tests/unit/oracle*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(STATIC) $(LIBS)

$(BUILD)/tests/it_%: tests/integration/it_%.c tests/integration/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/integration -Itests/unit $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/tests/dl_%: tests/deliver/dl_%.c tests/deliver/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/deliver -Itests/unit $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

# the pool under libevent and libuv, through the adapters' pool halves
$(BUILD)/tests/dl_loop: tests/deliver/dl_loop.c tests/deliver/*.h include/smtp/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/deliver -Itests/unit $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS) \
	  -levent -luv

# tools/smtp-worker's test reads and writes Redis itself
$(BUILD)/tests/dl_worker: tests/deliver/dl_worker.c tests/deliver/*.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/deliver -Itests/unit $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS) \
	  -lhiredis

tests: $(UNIT_BINS) $(FUZZ_REPLAY) $(INTEG_BINS) $(DELIVER_BINS) tools examples bench-programs

# ---- bench programs (tests/bench): run by `make bench`; `make tests` builds them too,
# so that tests/warnings.sh keeps them warning-free. Nothing here runs in `make check`.
BENCH_PLAIN = $(BUILD)/bench/measure $(BUILD)/bench/bench_minimal $(BUILD)/bench/delay_proxy
BENCH_BINS = $(BENCH_PLAIN) $(BUILD)/bench/bench_libsmtp $(BUILD)/bench/bench_first \
             $(BUILD)/bench/bench_curl
CURL_LIBS = $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
# the public header only, as a caller sees it
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude

bench-programs: $(BENCH_BINS)

$(BENCH_PLAIN): $(BUILD)/bench/%: tests/bench/%.c tests/bench/bench_file.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/bench/bench_libsmtp $(BUILD)/bench/bench_first: $(BUILD)/bench/%: tests/bench/%.c \
  tests/bench/bench_file.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

$(BUILD)/bench/bench_curl: tests/bench/bench_curl.c tests/bench/bench_file.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libcurl 2>/dev/null) $(LDFLAGS) -o $@ $< \
	  $(CURL_LIBS) -lpthread
# ---- end of bench programs

deps:
	@sh tests/deps.sh

check-unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

check-fuzz: $(FUZZ_REPLAY)
	@sh tests/fuzz/replay-all.sh $(BUILD)

check-integration: tests
	@BUILD=$(BUILD) sh tests/integration/run.sh

check-deliver: $(DELIVER_BINS) tools
	@BUILD=$(BUILD) sh tests/deliver/run.sh

check-install: lib
	@BUILD=$(BUILD) sh tests/install-test.sh

check-warnings:
	@sh tests/warnings.sh

# The shared library links the sanitizer runtime dynamically (-shared-libsan), so
# that it loads into a program not built with it (the Python tests, PY_ASAN=1).
check-asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" SHARED_LDFLAGS=-shared-libsan PY_ASAN=1 \
	  check-unit check-fuzz check-integration check-python check-tools check-deliver

# ---- Python binding (bindings/python): pytest against real servers ----
PY_ASAN ?= 0
check-python: lib
	@BUILD=$(BUILD) PY_ASAN=$(PY_ASAN) sh bindings/python/tests/run.sh
# ---- end of Python binding ----

# test_oracle runs 2,000 of its 20,000 scenarios under valgrind (about 50 times slower)
check-valgrind: tests
	@BUILD=$(BUILD) VALGRIND=1 ORACLE_SCENARIOS=2000 sh tests/run-unit.sh $(UNIT_BINS)

check: deps
	$(MAKE) all tests
	$(MAKE) check-warnings
	$(MAKE) check-unit check-fuzz check-install
	$(MAKE) check-integration
	$(MAKE) check-python
	$(MAKE) check-deliver
	$(MAKE) check-valgrind
	$(MAKE) check-release
	$(MAKE) check-tools
	$(MAKE) check-asan
	@echo "make check: all suites passed"

demo: deps all
	@BUILD=$(BUILD) sh examples/demo.sh

bench: deps all bench-programs
	@BUILD=$(BUILD) sh tests/bench/run.sh
	@BUILD=$(BUILD) sh tests/bench/bench_pool.sh

# smtp_pool against Nodemailer's pool (tests/bench/bench_pool.sh runs alone too)
bench-pool: deps lib
	@BUILD=$(BUILD) sh tests/bench/bench_pool.sh

fuzz:
	@sh tests/fuzz/run-fuzzers.sh

install: lib tools
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 644 include/smtp.h $(DESTDIR)$(INCLUDEDIR)/smtp.h
	install -d $(DESTDIR)$(INCLUDEDIR)/smtp
	install -m 644 include/smtp/*.h $(DESTDIR)$(INCLUDEDIR)/smtp/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libsmtp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsmtp.so.$(SONAME_MAJOR)
	ln -sf libsmtp.so.$(SONAME_MAJOR) $(DESTDIR)$(LIBDIR)/libsmtp.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    smtp.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/smtp.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/

# ---- release (tools branch): uninstall, dist, documentation and ABI checks ----
MAN1 = $(sort $(wildcard doc/*.1))
MAN3 = $(sort $(wildcard doc/*.3))

# removes what `make install` put there, with the same PREFIX, LIBDIR ... and DESTDIR
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS)))
	rm -f $(DESTDIR)$(INCLUDEDIR)/smtp.h
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/smtp/,$(notdir $(wildcard include/smtp/*.h)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/smtp 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/libsmtp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsmtp.so.$(SONAME_MAJOR) \
	      $(DESTDIR)$(LIBDIR)/libsmtp.so $(DESTDIR)$(LIBDIR)/libsmtp.a \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/smtp.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))

# libsmtp-$(VERSION).tar.gz of the tracked files (works in an unpacked tarball too)
dist:
	@sh tests/release/dist.sh make

# the ABI baseline abi/libsmtp.so.N.abi: after adding public functions (to record
# them), or after bumping SONAME_MAJOR for an incompatible change (it refuses an
# incompatible baseline under the same SONAME; ABI_ALLOW_BREAK=1 only while no
# release has shipped that SONAME)
abi-update: lib
	@BUILD=$(BUILD) sh tests/release/abi.sh update

check-abi: lib
	@BUILD=$(BUILD) sh tests/release/abi.sh check

check-docs:
	@sh tests/release/docs.sh

check-uninstall: lib tools
	@sh tests/release/install.sh

check-dist:
	@sh tests/release/dist.sh check

check-release: check-docs check-abi check-uninstall check-dist

check-tools: tools $(BUILD)/tests/test_smtp_send
	@BUILD=$(BUILD) sh tests/tools/run.sh
# ---- end of release ----

clean:
	rm -rf build build-asan build-fuzz
