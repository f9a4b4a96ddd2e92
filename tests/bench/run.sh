#!/bin/sh
# tests/bench/run.sh: throughput of libsmtp against Postfix's smtp-source, libcurl and
# Python's smtplib, all sending to Postfix's smtp-sink on 127.0.0.1. Run by `make bench`
# (BUILD=dir: where the library was built; default build).
#
#   BENCH_QUICK=1   one repetition and smaller counts (about a minute)
#   BENCH_REPS=N    repetitions per measurement (default 3; the median is shown)
#   CC=...          compiler for the bench programs (default cc)
#
# Workloads (same message bytes for every client; a fresh smtp-sink, without dump
# files, for every single run):
#   1  10,000 messages of 1 KiB over one connection
#   2  20,000 messages of 1 KiB over 20 concurrent connections
#   3  20 messages of 10 MiB over one connection
#   4  1,000 concurrent sessions of 10 messages of 1 KiB each
# then system calls per message (strace -c -f), instructions per message (valgrind
# --tool=callgrind, client only) and a CHUNKING/BDAT check against a private Postfix
# smtpd (tests/servers/postfix.sh, needs root), which proxies to its own smtp-sink.
#
# Per client and workload: messages/s and MB/s (wall clock, fork to wait4), client CPU
# (user+sys from wait4's rusage) per message, peak RSS (ru_maxrss), and ratios to
# smtp-source and to libcurl. Everything goes to stdout; scratch files live in a
# temporary directory that is removed at the end. Every server started here is stopped
# by its PID, also on failure or interruption.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers=$top/tests/servers
. "$servers/lib.sh"

build_arg=${BUILD:-build}
case $build_arg in /*) build=$build_arg ;; *) build=$top/$build_arg ;; esac
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] || QUICK=1
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; else REPS=${BENCH_REPS:-3}; fi
CC=${CC:-cc}
PY=/usr/bin/python3

# ---- scratch directory and cleanup ----

# Short path, searchable by the unprivileged Postfix daemons.
R=$(mktemp -d /tmp/smtpbench.XXXXXX)
chmod 755 "$R"
cleanup() {
    set +e
    kill_pidfile "$R/sink.pid"
    [ -f "$R/pf/postfix.pid" ] && bash "$servers/postfix.sh" stop "$R/pf"
    kill_pidfile "$R/pfsink.pid"
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

# ---- build ----

make -s -C "$top" BUILD="$build_arg" lib >/dev/null
B=$build/bench
mkdir -p "$B"
WARN="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
-Wmissing-prototypes -Wformat=2 -Wvla" # the Makefile's WARN
CF="-std=c11 -D_GNU_SOURCE $WARN -O2 -g -I$top/include"
CURL_CF=$(pkg-config --cflags libcurl 2>/dev/null || true)
CURL_LIBS=$(pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
# shellcheck disable=SC2086
{
    $CC $CF -o "$B/measure" "$here/measure.c"
    $CC $CF -o "$B/bench_libsmtp" "$here/bench_libsmtp.c" "$build/libsmtp.a" \
        -lssl -lcrypto -lidn2 -lunistring -lpthread
    $CC $CF $CURL_CF -o "$B/bench_curl" "$here/bench_curl.c" $CURL_LIBS -lpthread
} 2>"$R/cc.log" || { cat "$R/cc.log" >&2; die "building the bench programs failed"; }
if [ -s "$R/cc.log" ]; then
    echo "bench: compiler warnings:" >&2
    cat "$R/cc.log" >&2
fi
M=$B/measure

# ---- messages: the same bytes on the wire for every client ----
# *.crlf for the libraries (an RFC 5322 message as an application holds it), *.lf
# for smtp-source -F, which appends CRLF to every line itself.

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

# ---- smtp-sink (no dump files) ----

PORT=$(free_port 127.0.0.1)
start_sink() { # PIDFILE PORT
    # shellcheck disable=SC2086
    "$SINK" $SINK_USER -m 1100 "inet:127.0.0.1:$2" 1024 </dev/null >>"$R/sink.log" 2>&1 &
    echo $! > "$1"
    wait_port 127.0.0.1 "$2" 10
    pid_alive "$(cat "$1")" || { cat "$R/sink.log" >&2; die "smtp-sink did not start"; }
}
stop_sink() { kill_pidfile "$1"; }

URL="smtp://127.0.0.1:$PORT?tls=none"
CURL_URL="smtp://127.0.0.1:$PORT"
src() { # SESSIONS MESSAGES FILE [HOST:PORT]
    echo "$SRC" -s "$1" -m "$2" -d -F "$3" -f bench@example.org -t sink@example.org \
        -M localhost "${4:-127.0.0.1:$PORT}"
}

# ---- one measured case, REPS times ----

RESULTS=$R/results
: > "$RESULTS"
FAILED=0
# run_case WORKLOAD CLIENT MESSAGES SIZE COMMAND...   (a fresh sink for each run)
run_case() {
    wl=$1 client=$2 n=$3 size=$4
    shift 4
    r=1
    while [ "$r" -le "$REPS" ]; do
        [ "${FRESH_SINK:-1}" = 0 ] || start_sink "$R/sink.pid" "$PORT"
        st=0
        "$M" "$R/m" timeout -k 5 300 "$@" </dev/null >"$R/out" 2>"$R/err" || st=$?
        [ "${FRESH_SINK:-1}" = 0 ] || stop_sink "$R/sink.pid"
        if [ ! -s "$R/m" ]; then echo "wall=0 user_us=0 sys_us=0 maxrss_kb=0 status=$st" > "$R/m"; fi
        if [ "$st" != 0 ]; then
            FAILED=$((FAILED + 1))
            echo "bench: $wl/$client run $r failed (status $st):" >&2
            tail -n 5 "$R/err" >&2
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$wl" "$client" "$n" "$size" "$(cat "$R/m")" >> "$RESULTS"
        printf '.' >&2
        r=$((r + 1))
    done
}

if [ "$QUICK" = 1 ]; then
    W1=2000 W2=4000 W3=5 W4S=200
else
    W1=10000 W2=20000 W3=20 W4S=1000
fi
W2S=20 W4N=$((W4S * 10))
t_start=$(date +%s)
quick_note=
[ "$QUICK" = 0 ] || quick_note=" (BENCH_QUICK=1: smaller counts)"
echo "bench: libsmtp built in $build_arg; $(nproc) CPUs; $REPS run(s) per case$quick_note" >&2

L1="1: $W1 x 1 KiB, 1 connection"
echo "bench: workload $L1" >&2
run_case "$L1" "libsmtp blocking" "$W1" $SIZE1 "$B/bench_libsmtp" blocking "$URL" 1 "$W1" "$K1"
run_case "$L1" "libsmtp pipelined" "$W1" $SIZE1 "$B/bench_libsmtp" nonblocking "$URL" 1 "$W1" "$K1"
# shellcheck disable=SC2046
run_case "$L1" "smtp-source" "$W1" $SIZE1 $(src 1 "$W1" "$K1LF")
run_case "$L1" "libcurl easy" "$W1" $SIZE1 "$B/bench_curl" easy "$CURL_URL" 1 "$W1" "$K1"
run_case "$L1" "python smtplib" "$W1" $SIZE1 "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PORT" 1 "$W1" "$K1"
echo >&2

L2="2: $W2 x 1 KiB, $W2S connections"
echo "bench: workload $L2" >&2
run_case "$L2" "libsmtp blocking ($W2S threads)" "$W2" $SIZE1 "$B/bench_libsmtp" blocking "$URL" $W2S "$W2" "$K1"
run_case "$L2" "libsmtp nonblocking" "$W2" $SIZE1 "$B/bench_libsmtp" nonblocking "$URL" $W2S "$W2" "$K1"
# shellcheck disable=SC2046
run_case "$L2" "smtp-source" "$W2" $SIZE1 $(src $W2S "$W2" "$K1LF")
run_case "$L2" "libcurl easy ($W2S threads)" "$W2" $SIZE1 "$B/bench_curl" easy "$CURL_URL" $W2S "$W2" "$K1"
run_case "$L2" "libcurl multi" "$W2" $SIZE1 "$B/bench_curl" multi "$CURL_URL" $W2S "$W2" "$K1"
run_case "$L2" "python smtplib ($W2S threads)" "$W2" $SIZE1 "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PORT" $W2S "$W2" "$K1"
echo >&2

L3="3: $W3 x 10 MiB, 1 connection"
echo "bench: workload $L3" >&2
run_case "$L3" "libsmtp blocking" "$W3" $SIZE10 "$B/bench_libsmtp" blocking "$URL" 1 "$W3" "$M10"
run_case "$L3" "libsmtp pipelined" "$W3" $SIZE10 "$B/bench_libsmtp" nonblocking "$URL" 1 "$W3" "$M10"
# shellcheck disable=SC2046
run_case "$L3" "smtp-source" "$W3" $SIZE10 $(src 1 "$W3" "$M10LF")
run_case "$L3" "libcurl easy" "$W3" $SIZE10 "$B/bench_curl" easy "$CURL_URL" 1 "$W3" "$M10"
run_case "$L3" "python smtplib" "$W3" $SIZE10 "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PORT" 1 "$W3" "$M10"
echo >&2

L4="4: $W4S concurrent sessions x 10 x 1 KiB"
echo "bench: workload $L4" >&2
run_case "$L4" "libsmtp nonblocking" "$W4N" $SIZE1 "$B/bench_libsmtp" nonblocking "$URL" "$W4S" "$W4N" "$K1"
# shellcheck disable=SC2046
run_case "$L4" "smtp-source" "$W4N" $SIZE1 $(src "$W4S" "$W4N" "$K1LF")
run_case "$L4" "libcurl multi" "$W4N" $SIZE1 "$B/bench_curl" multi "$CURL_URL" "$W4S" "$W4N" "$K1"
echo >&2

echo
echo "Ratios are this client / the reference: msg/s above 1 = faster, CPU below 1 = cheaper."
echo "CPU = user+sys of the client process (wait4), MB/s = message bytes (1 KiB or 10 MiB)."
echo "smtp-source does not pipeline (man smtp-source: BUGS); -d keeps one connection."
echo
"$PY" "$here/report.py" "$RESULTS" \
    "$L1=libcurl easy" "$L2=libcurl multi" "$L3=libcurl easy" "$L4=libcurl multi"
echo "    python smtplib in workload 4: skipped ($W4S threads of blocking smtplib is not"
echo "    the concurrent API this workload compares; asyncio would need aiosmtplib)."

# with_n N COMMAND...: runs COMMAND with every argument "@N@" replaced by N
with_n() {
    _wn=$1
    shift
    _first=1
    for _a; do
        if [ "$_first" = 1 ]; then set --; _first=0; fi
        [ "$_a" = @N@ ] && _a=$_wn
        set -- "$@" "$_a"
    done
    "$@"
}

# ---- system calls per message (strace -c -f) ----
# Two counts, so that start-up and connection costs cancel out: per message is
# (calls(N) - calls(N0)) / (N - N0); "total/N" includes them.

SN=1000 SN0=100
syscalls() { # CLIENT COMMAND-WITH-@N@...
    client=$1
    shift
    for n in $SN0 $SN; do
        start_sink "$R/sink.pid" "$PORT"
        with_n "$n" "$STRACE" -c -f -o "$R/strace.$n" "$@" </dev/null >/dev/null 2>"$R/err" ||
            { FAILED=$((FAILED + 1)); echo "bench: strace $client failed" >&2; tail -n 3 "$R/err" >&2; }
        stop_sink "$R/sink.pid"
    done
    awk -v c="$client" -v n="$SN" -v n0="$SN0" '
        FNR == 1 { f++ }
        $NF == "total" { tot[f] = $4; next }
        /^ *[0-9]/ { calls[f, $NF] = $4; if (f == 2) names[$NF] = 1 }
        END {
            per = (tot[2] - tot[1]) / (n - n0)
            top = ""
            # the three syscalls with the most calls per message
            for (k = 0; k < 3; k++) {
                best = ""; bv = -1
                for (s in names) {
                    v = (calls[2, s] - calls[1, s]) / (n - n0)
                    if (!(s in used) && v > bv) { bv = v; best = s }
                }
                if (best == "") break
                used[best] = 1
                top = top sprintf("%s%s %.1f", (top == "" ? "" : ", "), best, bv)
            }
            printf "  %-22s %10.1f %10.1f   %s\n", c, per, tot[2] / n, top
        }' "$R/strace.$SN0" "$R/strace.$SN"
}
echo
if [ -n "$STRACE" ]; then
    echo "System calls per message (strace -c -f; 1 KiB messages, 1 connection, $SN0 and $SN messages)"
    printf '  %-22s %10s %10s   %s\n' client "per msg" "total/$SN" "top per message"
    syscalls "libsmtp blocking" "$B/bench_libsmtp" blocking "$URL" 1 @N@ "$K1"
    syscalls "libsmtp pipelined" "$B/bench_libsmtp" nonblocking "$URL" 1 @N@ "$K1"
    # shellcheck disable=SC2046
    syscalls "smtp-source" $(src 1 @N@ "$K1LF")
    syscalls "libcurl easy" "$B/bench_curl" easy "$CURL_URL" 1 @N@ "$K1"
else
    echo "System calls per message: skipped (strace not installed)"
fi

# ---- instructions per message (callgrind, client only) ----

if [ "$QUICK" = 1 ]; then CN=200 CN0=50; else CN=500 CN0=100; fi
instructions() { # CLIENT COMMAND-WITH-@N@...
    client=$1
    shift
    for n in $CN0 $CN; do
        start_sink "$R/sink.pid" "$PORT"
        with_n "$n" "$VALGRIND" --tool=callgrind --callgrind-out-file="$R/cg.out" "$@" \
            </dev/null >/dev/null 2>"$R/cg.$n" ||
            { FAILED=$((FAILED + 1)); echo "bench: callgrind $client failed" >&2; tail -n 3 "$R/cg.$n" >&2; }
        stop_sink "$R/sink.pid"
    done
    awk -v c="$client" -v n="$CN" -v n0="$CN0" '
        FNR == 1 { f++ }
        /Collected :/ { ir[f] = $NF }
        END { printf "  %-22s %12.0f %12.0f\n", c, (ir[2] - ir[1]) / (n - n0), ir[2] / n }' \
        "$R/cg.$CN0" "$R/cg.$CN"
}
echo
if [ -n "$VALGRIND" ]; then
    echo "Instructions per message (valgrind --tool=callgrind, client only; 1 KiB, 1 connection, $CN0 and $CN messages)"
    printf '  %-22s %12s %12s\n' client "per msg" "total/$CN"
    instructions "libsmtp blocking" "$B/bench_libsmtp" blocking "$URL" 1 @N@ "$K1"
    instructions "libsmtp pipelined" "$B/bench_libsmtp" nonblocking "$URL" 1 @N@ "$K1"
    # shellcheck disable=SC2046
    instructions "smtp-source" $(src 1 @N@ "$K1LF")
    instructions "libcurl easy" "$B/bench_curl" easy "$CURL_URL" 1 @N@ "$K1"
else
    echo "Instructions per message: skipped (valgrind not installed)"
fi

# ---- CHUNKING (RFC 3030) against a private Postfix smtpd ----

echo
if [ "$(id -u)" != 0 ]; then
    echo "CHUNKING: skipped (tests/servers/postfix.sh must run as root)"
else
    CH=1000
    [ "$QUICK" = 0 ] || CH=500
    PFSINK=$(free_port 127.0.0.1)
    while [ "$PFSINK" = "$PORT" ]; do PFSINK=$(free_port 127.0.0.1); done
    start_sink "$R/pfsink.pid" "$PFSINK"
    mkdir -p "$R/pf"
    bash "$servers/postfix.sh" start "$R/pf" --sink-port "$PFSINK" >/dev/null
    PF=$(cat "$R/pf/postfix-plain.port")
    PFURL="smtp://127.0.0.1:$PF?tls=none"
    LC="chunking: $CH x 1 KiB through Postfix smtpd (plain port, proxied to smtp-sink)"
    RESULTS_ALL=$RESULTS
    RESULTS=$R/results.pf
    : > "$RESULTS"
    FRESH_SINK=0
    run_case "$LC" "libsmtp blocking" "$CH" $SIZE1 "$B/bench_libsmtp" blocking "$PFURL" 1 "$CH" "$K1" --path
    path_blocking=$(cat "$R/out")
    run_case "$LC" "libsmtp pipelined" "$CH" $SIZE1 "$B/bench_libsmtp" nonblocking "$PFURL" 1 "$CH" "$K1" --path
    path_pipelined=$(cat "$R/out")
    run_case "$LC" "libsmtp blocking, DATA" "$CH" $SIZE1 "$B/bench_libsmtp" blocking "$PFURL" 1 "$CH" "$K1" --path --data
    path_data=$(cat "$R/out")
    run_case "$LC" "libsmtp pipelined, DATA" "$CH" $SIZE1 "$B/bench_libsmtp" nonblocking "$PFURL" 1 "$CH" "$K1" --path --data
    # shellcheck disable=SC2046
    run_case "$LC" "smtp-source" "$CH" $SIZE1 $(src 1 "$CH" "$K1LF" "127.0.0.1:$PF")
    FRESH_SINK=1
    echo >&2
    count() { echo "$2" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
    offered=no
    [ "$(count chunking_offered "$path_pipelined")" != 1 ] || offered=yes
    bdat_b=$(count bdat_commands "$path_blocking") data_b=$(count data_commands "$path_blocking")
    bdat_p=$(count bdat_commands "$path_pipelined") data_p=$(count data_commands "$path_pipelined")
    bdat_d=$(count bdat_commands "$path_data") data_d=$(count data_commands "$path_data")
    "$PY" "$here/report.py" "$RESULTS" "$LC="
    echo "    Postfix offers CHUNKING: $offered (smtp_session_has_extension). Commands in the trace, per run:"
    echo "    blocking ${bdat_b:-?} BDAT + ${data_b:-?} DATA; pipelined ${bdat_p:-?} BDAT + ${data_p:-?} DATA;"
    echo "    \", DATA\" rows (smtp_session_set_chunking(s, 0, 0)) ${bdat_d:-?} BDAT + ${data_d:-?} DATA."
    if [ "${bdat_p:-0}" -gt 0 ] && [ "${bdat_b:-0}" -gt 0 ]; then
        echo "    libsmtp BDAT: used by the \"libsmtp blocking\" and \"libsmtp pipelined\" rows"
    else
        echo "    libsmtp BDAT: not implemented yet (the libsmtp rows used DATA)"
    fi
    RESULTS=$RESULTS_ALL
    bash "$servers/postfix.sh" stop "$R/pf"
    stop_sink "$R/pfsink.pid"
fi

echo
echo "bench: done in $(( $(date +%s) - t_start )) s; $FAILED failed run(s)"
[ "$FAILED" = 0 ]
