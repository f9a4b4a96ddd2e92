# tests/bench/wan_rows.sh: sourced by run.sh after sink_rows.sh and postfix_rows.sh.
# Mail from applications usually crosses a real network to its relay; this kernel has
# no netem, so every client here talks through delay_proxy.c, which holds each chunk
# WAN_DELAY ms in each direction (WAN_RTT ms round trip; see its header for what it
# does not emulate). Round trips per message = wall time / WAN_RTT / messages.
#   wan-a  WA x 1 KiB into smtp-sink over one connection (a fresh sink per run)
#   wan-b  WB x 1 KiB through Postfix smtpd with CHUNKING over one connection (the
#          Postfix of postfix_rows.sh); the limit is Postfix's own rate without the
#          proxy, the chunking workload's "minimal writer, BDAT"
#   wan-c  the time to the first accepted message on a fresh connection with STARTTLS
#          and AUTH PLAIN through a second Postfix with Dovecot as its SASL back end;
#          libsmtp's second connection resumes TLS from a smtp_tls_cache; first the
#          same clients straight to that Postfix (first-lo, no delay), where only the
#          servers' and the kernels' waits are left
# Every case runs WAN_REPS times (wan-c: FIRST_REPS, after one warm-up run so that an
# idle smtpd is waiting, as on a relay in service).

echo "The WAN rows: every client through tests/bench/delay_proxy.c, $WAN_DELAY ms each way"
echo "($WAN_RTT ms round trip; TCP acknowledgements do not cross the delay, see its header)."
echo "RTT/msg = wall time / RTT / messages; the wall time includes the connection's setup"
echo "and QUIT once per run."
echo
CASE_REPS=$WAN_REPS
start_proxy "$R/proxy-sink.pid" "$PORT"
PP=$PROXY_PORT
PURL="smtp://127.0.0.1:$PP?tls=none"
LA="wan-a: $WA x 1 KiB into smtp-sink, 1 connection, ${WAN_RTT} ms RTT"
echo "bench: workload $LA" >&2
run_case "$LA" "libsmtp pipelined" "$WA" $SIZE1 "$B/bench_libsmtp" nonblocking "$PURL" 1 "$WA" "$K1"
run_case "$LA" "minimal writer" "$WA" $SIZE1 "$B/bench_minimal" data "$PP" 1 "$WA" "$K1"
# shellcheck disable=SC2046
run_case "$LA" "smtp-source" "$WA" $SIZE1 $(src 1 "$WA" "$K1LF" "127.0.0.1:$PP")
run_case "$LA" "libcurl easy" "$WA" $SIZE1 "$B/bench_curl" easy "smtp://127.0.0.1:$PP" 1 "$WA" "$K1"
run_case "$LA" "python smtplib" "$WA" $SIZE1 "$PY" "$here/bench_smtplib.py" 127.0.0.1 "$PP" 1 "$WA" "$K1"
kill_pidfile "$R/proxy-sink.pid"
echo >&2
table --rtt "$LA" smtp-source "minimal writer" "libcurl easy"

if [ "$PF_UP" = 1 ]; then
    start_proxy "$R/proxy-pf.pid" "$PF"
    PP=$PROXY_PORT
    LB="wan-b: $WB x 1 KiB through Postfix smtpd (CHUNKING), 1 connection, ${WAN_RTT} ms RTT"
    echo "bench: workload $LB" >&2
    FRESH_SINK=0
    run_case "$LB" "libsmtp pipelined" "$WB" $SIZE1 "$B/bench_libsmtp" nonblocking \
        "smtp://127.0.0.1:$PP?tls=none" 1 "$WB" "$K1"
    run_case "$LB" "minimal writer, BDAT" "$WB" $SIZE1 "$B/bench_minimal" bdat "$PP" 1 "$WB" "$K1"
    # shellcheck disable=SC2046
    run_case "$LB" "smtp-source" "$WB" $SIZE1 $(src 1 "$WB" "$K1LF" "127.0.0.1:$PP")
    FRESH_SINK=1
    kill_pidfile "$R/proxy-pf.pid"
    bash "$servers/postfix.sh" stop "$R/pf"
    stop_sink "$R/pfsink.pid"
    echo >&2
    table --rtt "$LB" smtp-source "minimal writer, BDAT" "limit=chunking:minimal writer, BDAT"
    echo "    vs limit: Postfix's own rate without the proxy (the chunking workload's"
    echo "    \"minimal writer, BDAT\" row), the most this workload can reach."
    echo "    smtp-source sends DATA (it has no BDAT)."
    echo
else
    echo "wan-b: skipped (no Postfix: tests/servers/postfix.sh must run as root)"
    echo
fi
CASE_REPS=

if [ "$(id -u)" != 0 ]; then
    echo "wan-c: skipped (tests/servers/postfix.sh and dovecot.sh must run as root)"
    echo
    return 0 # from this sourced file only
fi
BUSER=bench@example.org BPASS=bench-Pa55
sh "$servers/make-certs.sh" "$R/certs" >/dev/null
CA=$R/certs/ca.pem
TLSSINK=$(free_port 127.0.0.1)
start_sink "$R/tlssink.pid" "$TLSSINK"
mkdir -p "$R/tls"
SASL=$(bash "$servers/dovecot.sh" start "$R/tls" --user "$BUSER" --password "$BPASS")
bash "$servers/postfix.sh" start "$R/tls" --sink-port "$TLSSINK" --sasl-port "$SASL" \
    --tls-cert "$R/certs/good.pem" --tls-key "$R/certs/good.key" >/dev/null
SP=$(cat "$R/tls/postfix-submission.port")
LL="first-lo: first accepted message, STARTTLS + AUTH PLAIN, Postfix + Dovecot, loopback"
echo "bench: workload $LL" >&2
run_first "$LL" "libsmtp" "$B/bench_first" "smtp://127.0.0.1:$SP" "$CA" "$BUSER" "$BPASS" "$K1"
run_first "$LL" "libcurl" "$B/bench_curl" first "smtp://127.0.0.1:$SP" "$CA" "$BUSER" "$BPASS" "$K1"
run_first "$LL" "python smtplib" "$PY" "$here/bench_smtplib.py" first 127.0.0.1 "$SP" "$CA" \
    "$BUSER" "$BPASS" "$K1"
echo >&2
start_proxy "$R/proxy-tls.pid" "$SP"
PP=$PROXY_PORT
LF="wan-c: first accepted message, STARTTLS + AUTH PLAIN, Postfix + Dovecot, ${WAN_RTT} ms RTT"
echo "bench: workload $LF" >&2
run_first "$LF" "libsmtp" "$B/bench_first" "smtp://127.0.0.1:$PP" "$CA" "$BUSER" "$BPASS" "$K1"
run_first "$LF" "libsmtp, DATA" "$B/bench_first" "smtp://127.0.0.1:$PP" "$CA" "$BUSER" "$BPASS" "$K1" --data
run_first "$LF" "libcurl" "$B/bench_curl" first "smtp://127.0.0.1:$PP" "$CA" "$BUSER" "$BPASS" "$K1"
run_first "$LF" "python smtplib" "$PY" "$here/bench_smtplib.py" first 127.0.0.1 "$PP" "$CA" \
    "$BUSER" "$BPASS" "$K1"
kill_pidfile "$R/proxy-tls.pid"
bash "$servers/postfix.sh" stop "$R/tls"
bash "$servers/dovecot.sh" stop "$R/tls"
stop_sink "$R/tlssink.pid"
echo >&2
report first "$RESULTS" "$LF" --rtt-ms "$WAN_RTT"
echo "    ms: from just before the client's connect to the reply that accepted the message"
echo "    (QUIT not counted), measured in the client; round trips = ms / RTT. A fresh"
echo "    connection waits for: connect, greeting, EHLO, STARTTLS, the TLS handshake, EHLO,"
echo "    AUTH PLAIN with its initial response, the envelope (MAIL, RCPT and BDAT LAST with"
echo "    the body pipelined in one group; with DATA: MAIL RCPT DATA, then the body)."
echo "    Clients without PIPELINING wait for MAIL, RCPT, DATA and the body one by one."
echo "    Server time (Postfix, Dovecot) is included. \"TLS resumed\": the second"
echo "    connection of the same process, from the smtp_tls_cache the first one filled."
echo "    No minimal writer here: it speaks no TLS."
echo
report first "$RESULTS" "$LL"
echo "    The same clients straight to the same Postfix, no proxy. After a full TLS 1.3"
echo "    handshake Postfix sends a session ticket, then holds its EHLO reply until the"
echo "    ticket is acknowledged (Nagle); a client that leaves that to its delayed-ACK"
echo "    timer waits about 40 ms for the reply to its second EHLO (libcurl here, and"
echo "    libsmtp before it acknowledged at once until the first reply after the"
echo "    handshake). Through the delay proxy the proxy's own kernel acknowledges, with"
echo "    delayed ACKs, for every client alike, so the WAN rows above cannot show this."
echo
