# tests/bench/helpers.sh: sourced by run.sh (uses its R, B, M, SINK, SRC, REPS ...).
#
#   start_sink PIDFILE PORT     a fresh smtp-sink (no dump files; SINK_OPTS adds
#                               options), its output in PIDFILE's .log
#   stop_sink PIDFILE
#   start_proxy PIDFILE PORT    a delay_proxy of WAN_DELAY ms each way in front of
#                               127.0.0.1:PORT; sets PROXY_PORT
#   run_case WORKLOAD CLIENT MESSAGES SIZE COMMAND...
#                               REPS (or CASE_REPS) measured runs, one RESULTS line
#                               each; a fresh sink on PORT per run unless FRESH_SINK=0;
#                               with SINK_COUNT=1 the sink's count and the client's
#                               "sent N" are added
#   run_first WORKLOAD CLIENT COMMAND...
#                               one warm-up run, then FIRST_REPS measured runs of a
#                               program printing "conn=K ms=T ..." (bench_first.c);
#                               conn=2 is recorded as "CLIENT, TLS resumed"
#   table [--rtt] WORKLOAD REFERENCE...           report.py's table of a workload
#   syscalls_head TITLE                            the head of a syscalls table
#   syscalls TABLE CLIENT COMMAND-WITH-@N@...      strace -c -f at SN0 and SN messages
#   instructions CLIENT COMMAND-WITH-@N@...        callgrind at CN0 and CN messages
# Per-message figures of syscalls and instructions also go to FACTS for the targets.

RESULTS=$R/results
FACTS=$R/facts
: > "$RESULTS"
: > "$FACTS"
FAILED=0
WAN_DELAY=10 # ms each way
WAN_RTT=$((2 * WAN_DELAY))

start_sink() { # PIDFILE PORT
    # shellcheck disable=SC2086
    "$SINK" $SINK_USER ${SINK_OPTS:-} -m 1100 "inet:127.0.0.1:$2" 1024 \
        </dev/null >"${1%.pid}.log" 2>&1 &
    echo $! > "$1"
    wait_port 127.0.0.1 "$2" 10
    pid_alive "$(cat "$1")" || { cat "${1%.pid}.log" >&2; die "smtp-sink did not start"; }
}
stop_sink() { kill_pidfile "$1"; }

start_proxy() { # PIDFILE PORT
    "$B/delay_proxy" "$WAN_DELAY" "$2" </dev/null >"${1%.pid}.port" 2>"${1%.pid}.log" &
    echo $! > "$1"
    _sp_i=0
    while [ ! -s "${1%.pid}.port" ]; do
        _sp_i=$((_sp_i + 1))
        [ $_sp_i -le 100 ] && pid_alive "$(cat "$1")" ||
            { cat "${1%.pid}.log" >&2; die "delay_proxy did not start"; }
        sleep 0.05
    done
    PROXY_PORT=$(cat "${1%.pid}.port")
}

# the highest "mesg=N" of smtp-sink -c's running counters in FILE
sink_count() {
    tr '\r' '\n' < "$1" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | sort -n | tail -n 1
}

src() { # SESSIONS MESSAGES FILE [HOST:PORT]
    echo "$SRC" -s "$1" -m "$2" -d -F "$3" -f bench@example.org -t sink@example.org \
        -M localhost "${4:-127.0.0.1:$PORT}"
}

run_failed() { # WHAT STATUS ERRFILE
    FAILED=$((FAILED + 1))
    echo "bench: $1 failed (status $2):" >&2
    tail -n 5 "$3" >&2
}

run_case() {
    wl=$1 client=$2 n=$3 size=$4
    shift 4
    r=1
    while [ "$r" -le "${CASE_REPS:-$REPS}" ]; do
        [ "${FRESH_SINK:-1}" = 0 ] || start_sink "$R/sink.pid" "$PORT"
        st=0
        "$M" "$R/m" timeout -k 5 300 "$@" </dev/null >"$R/out" 2>"$R/err" || st=$?
        [ "${FRESH_SINK:-1}" = 0 ] || stop_sink "$R/sink.pid"
        [ -s "$R/m" ] || echo "wall=0 user_us=0 sys_us=0 maxrss_kb=0 status=$st" > "$R/m"
        [ "$st" = 0 ] || run_failed "$wl/$client run $r" "$st" "$R/err"
        extra=
        if [ "${SINK_COUNT:-0}" = 1 ]; then
            extra=" sink=$(sink_count "$R/sink.log")"
            sent=$(sed -n 's/^sent \([0-9]*\) of .*/\1/p' "$R/err")
            [ -z "$sent" ] || extra="$extra reported=$sent"
        fi
        printf '%s\t%s\t%s\t%s\t%s%s\n' "$wl" "$client" "$n" "$size" "$(cat "$R/m")" "$extra" \
            >> "$RESULTS"
        printf '.' >&2
        r=$((r + 1))
    done
}

run_first() {
    wl=$1 client=$2
    shift 2
    timeout -k 5 60 "$@" </dev/null >/dev/null 2>"$R/err" || true # warm-up: an idle smtpd
    r=1
    while [ "$r" -le "$FIRST_REPS" ]; do
        st=0
        "$M" "$R/m" timeout -k 5 60 "$@" </dev/null >"$R/out" 2>"$R/err" || st=$?
        [ "$st" = 0 ] || run_failed "$wl/$client run $r" "$st" "$R/err"
        grep '^conn=' "$R/out" | while read -r line; do
            label=$client
            case $line in conn=2\ *) label="$client, TLS resumed" ;; esac
            ms=$(echo "$line" | sed -n 's/.* ms=\([0-9.]*\).*/\1/p')
            # wall= is the in-process time to the accepted message, not the process's
            wall=$(echo "$ms" | awk '{ printf "%.6f", $1 / 1000 }')
            printf '%s\t%s\t1\t%s\t%s ms=%s %s\n' "$wl" "$label" "$SIZE1" \
                "$(sed "s/^wall=[^ ]*/wall=$wall/" "$R/m")" "$ms" \
                "$(echo "$line" | sed 's/^conn=[0-9]* ms=[^ ]* *//')" >> "$RESULTS"
        done
        printf '.' >&2
        r=$((r + 1))
    done
}

report() { "$PY" "$here/report.py" "$@"; }

# table [--rtt] WORKLOAD REFERENCE...: the table of WORKLOAD with the ratios to each
# reference client ("ID:CLIENT" for a row of another workload); --rtt adds round
# trips per message at WAN_RTT
table() {
    _t_rtt=
    if [ "$1" = --rtt ]; then _t_rtt="--rtt-ms $WAN_RTT"; shift; fi
    _t_wl=$1
    shift
    _t_n=$#
    for _t_ref; do set -- "$@" --ref "$_t_ref"; done
    shift "$_t_n"
    # shellcheck disable=SC2086
    report table "$RESULTS" "$_t_wl" "$@" $_t_rtt
}

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
syscalls_head() { # TITLE: the head of a table, or a note that strace is missing (status 1)
    if [ -z "$STRACE" ]; then
        echo "$1: skipped (strace not installed)"
        return 1
    fi
    echo "$1"
    printf '  %-26s %10s %10s   %s\n' client "per msg" "total/$SN" "top per message"
}
syscalls() { # TABLE CLIENT COMMAND-WITH-@N@...
    table=$1 client=$2
    shift 2
    for n in $SN0 $SN; do
        [ "${FRESH_SINK:-1}" = 0 ] || start_sink "$R/sink.pid" "$PORT"
        st=0
        with_n "$n" "$STRACE" -c -f -o "$R/strace.$n" "$@" </dev/null >/dev/null 2>"$R/err" || st=$?
        [ "$st" = 0 ] || run_failed "strace $client" "$st" "$R/err"
        [ "${FRESH_SINK:-1}" = 0 ] || stop_sink "$R/sink.pid"
    done
    awk -v c="$client" -v t="$table" -v n="$SN" -v n0="$SN0" -v facts="$FACTS" '
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
            printf "  %-26s %10.2f %10.1f   %s\n", c, per, tot[2] / n, top
            printf "syscalls/%s/%s\t%.4f\n", t, c, per >> facts
        }' "$R/strace.$SN0" "$R/strace.$SN"
}

# ---- instructions per message (callgrind, client only) ----

if [ "$QUICK" = 1 ]; then CN=200 CN0=50; else CN=500 CN0=100; fi
instructions() { # CLIENT COMMAND-WITH-@N@...
    client=$1
    shift
    for n in $CN0 $CN; do
        start_sink "$R/sink.pid" "$PORT"
        st=0
        with_n "$n" "$VALGRIND" --tool=callgrind --callgrind-out-file="$R/cg.out" "$@" \
            </dev/null >/dev/null 2>"$R/cg.$n" || st=$?
        [ "$st" = 0 ] || run_failed "callgrind $client" "$st" "$R/cg.$n"
        stop_sink "$R/sink.pid"
    done
    awk -v c="$client" -v n="$CN" -v n0="$CN0" -v facts="$FACTS" '
        FNR == 1 { f++ }
        /Collected :/ { ir[f] = $NF }
        END {
            per = (ir[2] - ir[1]) / (n - n0)
            printf "  %-26s %12.0f %12.0f\n", c, per, ir[2] / n
            printf "callgrind/%s\t%.0f\n", c, per >> facts
        }' "$R/cg.$CN0" "$R/cg.$CN"
}
