# tests/bench/sink_rows.sh: sourced by run.sh. Every client sends into Postfix's
# smtp-sink on 127.0.0.1 (a fresh sink, without dump files, for every single run):
#   1  W1 messages of 1 KiB over one connection
#   2  W2 messages of 1 KiB over 20 concurrent connections
#   3  W3 messages of 10 MiB over one connection
#   4  W4S concurrent sessions of 10 messages of 1 KiB each; the sink runs with -c
#      here, so its own count of messages is compared to the count the client reports
# then system calls (strace -c -f) and instructions (valgrind --tool=callgrind, client
# only) per message, 1 KiB over one connection.

PORT=$(free_port 127.0.0.1)
URL="smtp://127.0.0.1:$PORT?tls=none"
CURL_URL="smtp://127.0.0.1:$PORT"
# one_connection WORKLOAD MESSAGES SIZE FILE LF-FILE: the clients of workloads 1 and 3
one_connection() {
    run_case "$1" "libsmtp blocking" "$2" "$3" "$B/bench_libsmtp" blocking "$URL" 1 "$2" "$4"
    run_case "$1" "libsmtp pipelined" "$2" "$3" "$B/bench_libsmtp" nonblocking "$URL" 1 "$2" "$4"
    run_case "$1" "minimal writer" "$2" "$3" "$B/bench_minimal" data "$PORT" 1 "$2" "$4"
    # shellcheck disable=SC2046
    run_case "$1" "smtp-source" "$2" "$3" $(src 1 "$2" "$5")
    run_case "$1" "libcurl easy" "$2" "$3" "$B/bench_curl" easy "$CURL_URL" 1 "$2" "$4"
    run_case "$1" "python smtplib" "$2" "$3" "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PORT" 1 "$2" "$4"
    echo >&2
}

L1="1: $W1 x 1 KiB, 1 connection"
echo "bench: workload $L1" >&2
one_connection "$L1" "$W1" $SIZE1 "$K1" "$K1LF"

W2S=20
L2="2: $W2 x 1 KiB, $W2S connections"
echo "bench: workload $L2" >&2
run_case "$L2" "libsmtp blocking ($W2S threads)" "$W2" $SIZE1 "$B/bench_libsmtp" blocking "$URL" $W2S "$W2" "$K1"
run_case "$L2" "libsmtp nonblocking" "$W2" $SIZE1 "$B/bench_libsmtp" nonblocking "$URL" $W2S "$W2" "$K1"
run_case "$L2" "minimal writer" "$W2" $SIZE1 "$B/bench_minimal" data "$PORT" $W2S "$W2" "$K1"
# shellcheck disable=SC2046
run_case "$L2" "smtp-source" "$W2" $SIZE1 $(src $W2S "$W2" "$K1LF")
run_case "$L2" "libcurl easy ($W2S threads)" "$W2" $SIZE1 "$B/bench_curl" easy "$CURL_URL" $W2S "$W2" "$K1"
run_case "$L2" "libcurl multi" "$W2" $SIZE1 "$B/bench_curl" multi "$CURL_URL" $W2S "$W2" "$K1"
run_case "$L2" "python smtplib ($W2S threads)" "$W2" $SIZE1 "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PORT" $W2S "$W2" "$K1"
echo >&2

L3="3: $W3 x 10 MiB, 1 connection"
echo "bench: workload $L3" >&2
one_connection "$L3" "$W3" $SIZE10 "$M10" "$M10LF"

W4N=$((W4S * 10))
L4="4: $W4S concurrent sessions x 10 x 1 KiB"
echo "bench: workload $L4" >&2
SINK_OPTS=-c SINK_COUNT=1
run_case "$L4" "libsmtp nonblocking" "$W4N" $SIZE1 "$B/bench_libsmtp" nonblocking "$URL" "$W4S" "$W4N" "$K1"
run_case "$L4" "minimal writer" "$W4N" $SIZE1 "$B/bench_minimal" data "$PORT" "$W4S" "$W4N" "$K1"
# shellcheck disable=SC2046
run_case "$L4" "smtp-source" "$W4N" $SIZE1 $(src "$W4S" "$W4N" "$K1LF")
run_case "$L4" "libcurl multi" "$W4N" $SIZE1 "$B/bench_curl" multi "$CURL_URL" "$W4S" "$W4N" "$K1"
SINK_OPTS= SINK_COUNT=0
echo >&2

table "$L1" smtp-source "minimal writer" "libcurl easy"
table "$L2" smtp-source "minimal writer" "libcurl multi"
table "$L3" smtp-source "minimal writer" "libcurl easy"
table "$L4" smtp-source "minimal writer" "libcurl multi"
echo "    Workload 4: the sink runs with -c (running counters) for every client here."
echo "    python smtplib in workload 4: skipped ($W4S threads of blocking smtplib is not"
echo "    the concurrent API this workload compares; asyncio would need aiosmtplib)."

echo
if syscalls_head "System calls per message (strace -c -f; 1 KiB messages, 1 connection into smtp-sink, $SN0 and $SN messages)"; then
    syscalls sink "libsmtp blocking" "$B/bench_libsmtp" blocking "$URL" 1 @N@ "$K1"
    syscalls sink "libsmtp pipelined" "$B/bench_libsmtp" nonblocking "$URL" 1 @N@ "$K1"
    syscalls sink "minimal writer" "$B/bench_minimal" data "$PORT" 1 @N@ "$K1"
    # shellcheck disable=SC2046
    syscalls sink "smtp-source" $(src 1 @N@ "$K1LF")
    syscalls sink "libcurl easy" "$B/bench_curl" easy "$CURL_URL" 1 @N@ "$K1"
fi

echo
if [ -n "$VALGRIND" ]; then
    echo "Instructions per message (valgrind --tool=callgrind, client only; 1 KiB, 1 connection, $CN0 and $CN messages)"
    printf '  %-26s %12s %12s\n' client "per msg" "total/$CN"
    instructions "libsmtp blocking" "$B/bench_libsmtp" blocking "$URL" 1 @N@ "$K1"
    instructions "libsmtp pipelined" "$B/bench_libsmtp" nonblocking "$URL" 1 @N@ "$K1"
    instructions "minimal writer" "$B/bench_minimal" data "$PORT" 1 @N@ "$K1"
    # shellcheck disable=SC2046
    instructions "smtp-source" $(src 1 @N@ "$K1LF")
    instructions "libcurl easy" "$B/bench_curl" easy "$CURL_URL" 1 @N@ "$K1"
else
    echo "Instructions per message: skipped (valgrind not installed)"
fi
echo
