# tests/bench/postfix_rows.sh: sourced by run.sh. CHUNKING (RFC 3030) through a
# private Postfix smtpd (tests/servers/postfix.sh, needs root) on its plain port, which
# proxies every message before queueing to its own smtp-sink (one sink for all runs):
#   chunking  CH messages of 1 KiB over one connection, BDAT and DATA
# then system calls per message through it (strace -c -f): pipelined BDAT, where
# queued messages may share writes, against pipelined DATA.
# Leaves Postfix running for wan_rows.sh (PF: its plain port; PF_UP=1); run.sh's
# cleanup stops it.

PF_UP=0
if [ "$(id -u)" != 0 ]; then
    echo "CHUNKING: skipped (tests/servers/postfix.sh must run as root)"
    echo
    return 0 # from this sourced file only
fi
PFSINK=$(free_port 127.0.0.1)
while [ "$PFSINK" = "$PORT" ]; do PFSINK=$(free_port 127.0.0.1); done
start_sink "$R/pfsink.pid" "$PFSINK"
mkdir -p "$R/pf"
bash "$servers/postfix.sh" start "$R/pf" --sink-port "$PFSINK" >/dev/null
PF=$(cat "$R/pf/postfix-plain.port")
PF_UP=1
PFURL="smtp://127.0.0.1:$PF?tls=none"
LC="chunking: $CH x 1 KiB through Postfix smtpd (plain port, proxied to smtp-sink)"
echo "bench: workload $LC" >&2
FRESH_SINK=0
run_case "$LC" "libsmtp blocking" "$CH" $SIZE1 "$B/bench_libsmtp" blocking "$PFURL" 1 "$CH" "$K1" --path
path_blocking=$(cat "$R/out")
run_case "$LC" "libsmtp pipelined" "$CH" $SIZE1 "$B/bench_libsmtp" nonblocking "$PFURL" 1 "$CH" "$K1" --path
path_pipelined=$(cat "$R/out")
run_case "$LC" "libsmtp blocking, DATA" "$CH" $SIZE1 "$B/bench_libsmtp" blocking "$PFURL" 1 "$CH" "$K1" --path --data
path_data=$(cat "$R/out")
run_case "$LC" "libsmtp pipelined, DATA" "$CH" $SIZE1 "$B/bench_libsmtp" nonblocking "$PFURL" 1 "$CH" "$K1" --path --data
run_case "$LC" "minimal writer, BDAT" "$CH" $SIZE1 "$B/bench_minimal" bdat "$PF" 1 "$CH" "$K1"
run_case "$LC" "minimal writer, DATA" "$CH" $SIZE1 "$B/bench_minimal" data "$PF" 1 "$CH" "$K1"
# shellcheck disable=SC2046
run_case "$LC" "smtp-source" "$CH" $SIZE1 $(src 1 "$CH" "$K1LF" "127.0.0.1:$PF")
echo >&2

count() { echo "$2" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
offered=no
[ "$(count chunking_offered "$path_pipelined")" != 1 ] || offered=yes
bdat_b=$(count bdat_commands "$path_blocking") data_b=$(count data_commands "$path_blocking")
bdat_p=$(count bdat_commands "$path_pipelined") data_p=$(count data_commands "$path_pipelined")
bdat_d=$(count bdat_commands "$path_data") data_d=$(count data_commands "$path_data")
table "$LC" smtp-source "minimal writer, BDAT"
echo "    Postfix offers CHUNKING: $offered (smtp_session_has_extension). Commands in the trace, per run:"
echo "    blocking ${bdat_b:-?} BDAT + ${data_b:-?} DATA; pipelined ${bdat_p:-?} BDAT + ${data_p:-?} DATA;"
echo "    \", DATA\" rows (smtp_session_set_chunking(s, 0, 0)) ${bdat_d:-?} BDAT + ${data_d:-?} DATA."
if [ "${bdat_p:-0}" -gt 0 ] && [ "${bdat_b:-0}" -gt 0 ]; then
    echo "    libsmtp BDAT: used by the \"libsmtp blocking\" and \"libsmtp pipelined\" rows"
else
    echo "    libsmtp BDAT: not implemented yet (the libsmtp rows used DATA)"
fi
echo "    The minimal writer with BDAT writes up to 128 messages ahead of their replies."

echo
if syscalls_head "System calls per message through Postfix (strace -c -f; 1 KiB, 1 connection, $SN0 and $SN messages)"; then
    syscalls postfix "libsmtp pipelined" "$B/bench_libsmtp" nonblocking "$PFURL" 1 @N@ "$K1"
    syscalls postfix "libsmtp pipelined, DATA" "$B/bench_libsmtp" nonblocking "$PFURL" 1 @N@ "$K1" --data
    syscalls postfix "minimal writer, BDAT" "$B/bench_minimal" bdat "$PF" 1 @N@ "$K1"
    syscalls postfix "minimal writer, DATA" "$B/bench_minimal" data "$PF" 1 @N@ "$K1"
    # shellcheck disable=SC2046
    syscalls postfix "smtp-source" $(src 1 @N@ "$K1LF" "127.0.0.1:$PF")
fi
FRESH_SINK=1
echo
