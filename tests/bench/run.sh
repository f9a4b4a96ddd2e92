#!/bin/sh
# tests/bench/run.sh: the speed of libsmtp against Postfix's smtp-source, libcurl,
# Python's smtplib and a minimal RFC 2920 writer (bench_minimal.c, the ceiling), on
# loopback and through a delay proxy at 20 ms round trip. Run by `make bench`
# (BUILD=dir: where the library and the bench programs were built; default build).
#
#   BENCH_QUICK=1       one repetition and smaller counts (about two minutes)
#   BENCH_REPS=N        repetitions per loopback measurement (default 3; the median)
#   BENCH_WAN_REPS=N    repetitions per WAN measurement (default 1: they wait on the
#                       proxy's fixed delay, not on the CPU)
#   BENCH_FIRST_REPS=N  repetitions of the first-message workload (default 5)
#   BENCH_SAVE=DIR      also keep the raw results there (results, facts: report.py's
#                       input, to print the tables again or compare runs)
#
# The rows, in order (the same message bytes for every client):
#   sink_rows.sh     into smtp-sink on 127.0.0.1: 1 KiB over 1 and 20 connections,
#                    10 MiB over 1, 1,000 concurrent sessions (the sink's own count
#                    against the count the library reports), system calls (strace)
#                    and instructions (callgrind) per message
#   postfix_rows.sh  through a private Postfix smtpd with CHUNKING: BDAT and DATA, and
#                    system calls per message of each
#   wan_rows.sh      at 20 ms round trip (delay_proxy.c): 200 x 1 KiB into smtp-sink,
#                    1,000 x 1 KiB through Postfix with BDAT, and the time to the first
#                    accepted message over STARTTLS + AUTH PLAIN (Postfix + Dovecot)
# then the issue's targets next to the figures that answer them (report.py targets).
#
# Per client and workload: messages/s and MB/s (wall clock, fork to wait4), client CPU
# (user+sys from wait4's rusage) per message, peak RSS (ru_maxrss), round trips per
# message on the WAN, and ratios to smtp-source, the minimal writer and libcurl.
# Everything goes to stdout; scratch files live in a temporary directory removed at the
# end. Every server and proxy started here is stopped by its PID, also on failure.
# shellcheck source-path=SCRIPTDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers=$top/tests/servers
# shellcheck source=../servers/lib.sh
. "$servers/lib.sh"

build_arg=${BUILD:-build}
case $build_arg in /*) build=$build_arg ;; *) build=$top/$build_arg ;; esac
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] || QUICK=1
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; else REPS=${BENCH_REPS:-3}; fi
WAN_REPS=${BENCH_WAN_REPS:-1}
if [ "$QUICK" = 1 ]; then FIRST_REPS=${BENCH_FIRST_REPS:-2}; else FIRST_REPS=${BENCH_FIRST_REPS:-5}; fi
PY=/usr/bin/python3

# ---- scratch directory and cleanup ----

# Short path, searchable by the unprivileged Postfix and Dovecot daemons.
R=$(mktemp -d /tmp/smtpbench.XXXXXX)
chmod 755 "$R"
cleanup() {
    set +e
    for d in "$R/pf" "$R/tls"; do
        [ -f "$d/postfix.pid" ] && bash "$servers/postfix.sh" stop "$d"
        [ -f "$d/dovecot.pid" ] && bash "$servers/dovecot.sh" stop "$d"
    done
    for f in "$R"/*.pid; do
        [ -f "$f" ] && kill_pidfile "$f"
    done
    rm -rf "$R"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- tools ----

find_postfix_tool() {
    for t in "/usr/sbin/$1" "/usr/bin/$1"; do
        [ -x "$t" ] && { echo "$t"; return 0; }
    done
    command -v "$1" || die "$1 not found (install postfix: make deps)"
}
SINK=$(find_postfix_tool smtp-sink)
SRC=$(find_postfix_tool smtp-source)
[ -x "$PY" ] || die "$PY not found"
STRACE=$(command -v strace || true)
VALGRIND=$(command -v valgrind || true)
if [ "$(id -u)" = 0 ]; then SINK_USER="-u nobody"; else SINK_USER=; fi

# ---- build (the Makefile's bench-programs: warning-free, public header only) ----

make -s -C "$top" BUILD="$build_arg" lib bench-programs >"$R/cc.log" 2>&1 ||
    { cat "$R/cc.log" >&2; die "building the bench programs failed"; }
if grep -q 'warning:' "$R/cc.log"; then
    echo "bench: compiler warnings:" >&2
    cat "$R/cc.log" >&2
fi
B=$build/bench
M=$B/measure

# ---- messages: the same bytes on the wire for every client ----
# *.crlf for the libraries and the minimal writer (an RFC 5322 message as an
# application holds it), *.lf for smtp-source -F, which appends CRLF to every line.

"$PY" - "$R" <<'PY'
import sys
def make(n):
    eol = "\r\n"
    head = eol.join(["From: Bench <bench@example.org>", "To: Sink <sink@example.org>",
                     "Subject: benchmark message", "Date: Thu, 01 Jan 2026 00:00:00 +0000",
                     "Message-ID: <bench@example.org>", ""]) + eol
    line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrs" + eol
    full, tail = divmod(n - len(head), len(line))
    body = line * full
    if tail:
        assert tail > len(eol), n
        body += "x" * (tail - len(eol)) + eol
    data = (head + body).encode()
    assert len(data) == n, (n, len(data))
    return data
for name, n in (("1k", 1024), ("10m", 10 * 1024 * 1024)):
    d = make(n)
    open(f"{sys.argv[1]}/msg{name}.crlf", "wb").write(d)
    open(f"{sys.argv[1]}/msg{name}.lf", "wb").write(d.replace(b"\r\n", b"\n"))
PY
K1=$R/msg1k.crlf K1LF=$R/msg1k.lf
M10=$R/msg10m.crlf M10LF=$R/msg10m.lf
SIZE1=1024 SIZE10=10485760

. "$here/helpers.sh"

if [ "$QUICK" = 1 ]; then
    W1=2000 W2=4000 W3=5 W4S=200 CH=500 WA=50 WB=200
else
    W1=10000 W2=20000 W3=20 W4S=1000 CH=1000 WA=200 WB=1000
fi
t_start=$(date +%s)
quick_note=
[ "$QUICK" = 0 ] || quick_note=" (BENCH_QUICK=1: smaller counts)"
echo "bench: libsmtp built in $build_arg; $(nproc) CPUs; $REPS run(s) per loopback case," \
    "$WAN_REPS per WAN case$quick_note" >&2

echo "Ratios are this client / the reference: msg/s above 1 = faster, CPU below 1 = cheaper."
echo "CPU = user+sys of the client process (wait4), MB/s = message bytes (1 KiB or 10 MiB)."
echo "minimal writer = tests/bench/bench_minimal.c: nothing but the protocol, the ceiling;"
echo "\"vs minimal writer\" msg/s is the fraction of it a client reaches."
echo "smtp-source does not pipeline (man smtp-source: BUGS); -d keeps one connection."
echo

. "$here/sink_rows.sh"
. "$here/postfix_rows.sh"
. "$here/wan_rows.sh"

report targets "$RESULTS" "$FACTS" --rtt-ms "$WAN_RTT"
if [ -n "${BENCH_SAVE:-}" ]; then
    mkdir -p "$BENCH_SAVE"
    cp "$RESULTS" "$FACTS" "$BENCH_SAVE/"
fi
echo "bench: done in $(( $(date +%s) - t_start )) s; $FAILED failed run(s)"
[ "$FAILED" = 0 ]
