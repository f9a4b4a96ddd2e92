#!/bin/sh
# tests/bench/bench_pool.sh: libsmtp's smtp_pool against Nodemailer's pool (pool: true,
# maxConnections: 5), 10,000 messages of 1 KiB into Postfix's smtp-sink on 127.0.0.1:
# messages/s (wall clock, fork to wait4) and client CPU per message (user+sys from
# wait4's rusage), medians of BENCH_REPS runs (default 3), and their ratios. Twice:
# with Nodemailer's default of 100 messages per connection (maxMessages; the pool gets
# the same limit) and with no limit on either side. Runnable alone (BUILD=dir: where
# the library was built, default build; BENCH_QUICK=1: 2,000 messages, one run).
# A fresh smtp-sink, without dump files, for every run; stopped by its PID, also on
# failure or interruption.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers=$top/tests/servers
. "$servers/lib.sh"

build_arg=${BUILD:-build}
case $build_arg in /*) build=$build_arg ;; *) build=$top/$build_arg ;; esac
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; N=2000; else REPS=${BENCH_REPS:-3}; N=10000; fi
CONNS=5
CC=${CC:-cc}
PY=/usr/bin/python3
NODE=$(command -v node || true)
[ -n "$NODE" ] || die "node not found (tests/deps.sh installs it)"
[ -d "$servers/node_modules/nodemailer" ] || die "nodemailer missing: run tests/deps.sh"
SINK=/usr/sbin/smtp-sink
[ -x "$SINK" ] || SINK=$(command -v smtp-sink) || die "smtp-sink not found (install postfix)"
if [ "$(id -u)" = 0 ]; then SINK_USER="-u nobody"; else SINK_USER=; fi

R=$(mktemp -d /tmp/smtpbenchpool.XXXXXX)
cleanup() {
    set +e
    kill_pidfile "$R/sink.pid"
    rm -rf "$R"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make -s -C "$top" BUILD="$build_arg" lib >/dev/null
CF="-std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -g -I$top/include"
# shellcheck disable=SC2086
{
    $CC $CF -o "$R/measure" "$here/measure.c"
    $CC $CF -o "$R/bench_pool" "$here/bench_pool.c" "$build/libsmtp.a" \
        -lssl -lcrypto -lidn2 -lunistring -lpthread
} || die "building the bench programs failed"

# 1 KiB: a short header and lines of text, CRLF, exactly 1024 octets
"$PY" -c '
import sys
head = b"From: <bench@example.org>\r\nTo: <sink@example.org>\r\nSubject: pool bench\r\n\r\n"
line = b"Pool benchmark line of text, the same for every client: 0123456789.\r\n"
body = line * ((1024 - len(head)) // len(line))
pad = 1024 - len(head) - len(body)
body += b"x" * (pad - 2) + b"\r\n"
sys.stdout.buffer.write(head + body)' > "$R/msg"
[ "$(wc -c < "$R/msg")" = 1024 ] || die "the message is not 1024 octets"

PORT=$(free_port 127.0.0.1)
RESULTS=$R/results
: > "$RESULTS"
# run CASE CLIENT COMMAND...   REPS times, each against a fresh sink
run() {
    case_=$1 client=$2
    shift 2
    i=1
    while [ "$i" -le "$REPS" ]; do
        # shellcheck disable=SC2086
        "$SINK" $SINK_USER -m 1100 "inet:127.0.0.1:$PORT" 1024 </dev/null >>"$R/sink.log" 2>&1 &
        echo $! > "$R/sink.pid"
        wait_port 127.0.0.1 "$PORT" 10
        st=0
        "$R/measure" "$R/m" timeout -k 5 300 "$@" </dev/null >/dev/null 2>"$R/err" || st=$?
        kill_pidfile "$R/sink.pid"
        [ "$st" = 0 ] || { tail -n 5 "$R/err" >&2; die "$client failed (status $st)"; }
        printf '%s\t%s\t%s\n' "$case_" "$client" "$(cat "$R/m")" >> "$RESULTS"
        printf '.' >&2
        i=$((i + 1))
    done
}

URL="smtp://127.0.0.1:$PORT?tls=none"
for maxmsg in 100 0; do
    if [ "$maxmsg" = 100 ]; then c="maxMessages 100"; else c="no message limit"; fi
    run "$c" "libsmtp pool" "$R/bench_pool" "$URL" "$CONNS" "$maxmsg" "$N" "$R/msg"
    run "$c" "nodemailer pool" "$NODE" "$here/bench_nodemailer_pool.js" 127.0.0.1 "$PORT" \
        "$CONNS" "$maxmsg" "$N" "$R/msg"
done
echo >&2

"$PY" - "$RESULTS" "$N" "$CONNS" "$REPS" "$(nproc)" <<'PY'
import statistics, sys
path, n, conns, reps, cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs = {}
for line in open(path):
    case, client, m = line.rstrip("\n").split("\t")
    kv = {k: float(v) for k, v in (x.split("=", 1) for x in m.split())}
    runs.setdefault(case, {}).setdefault(client, []).append(kv)
print(f"pool bench: {n:,} x 1 KiB, {conns} connections, smtp-sink on 127.0.0.1, "
      f"median of {reps} run(s), {cpus} CPUs")
print(f"{'case':18} {'client':16} {'msg/s':>9} {'CPU us/msg':>11}")
for case, clients in runs.items():
    stats = {}
    for client, rs in clients.items():
        rate = statistics.median(n / r["wall"] for r in rs)
        cpu = statistics.median((r["user_us"] + r["sys_us"]) / n for r in rs)
        stats[client] = (rate, cpu)
        print(f"{case:18} {client:16} {rate:9.0f} {cpu:11.1f}")
    (lr, lc), (nr, nc) = stats["libsmtp pool"], stats["nodemailer pool"]
    print(f"{case:18} {'ratio':16} {lr / nr:8.2f}x {lc / nc:10.2f}x"
          "   (libsmtp / nodemailer: msg/s higher is better, CPU lower is better)")
PY
