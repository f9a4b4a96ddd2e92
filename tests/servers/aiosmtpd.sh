#!/bin/sh
# aiosmtpd.sh start RUNDIR [options]   -> prints the port once the server accepts
# aiosmtpd.sh stop RUNDIR
#
# Options (passed to aiosmtpd_server.py):
#   --ipv6                        bind ::1 instead of 127.0.0.1
#   --tls-cert F --tls-key F      offer STARTTLS
#   --require-starttls            530 for everything but EHLO/NOOP/QUIT before STARTTLS
#   --auth-user U --auth-password P   offer AUTH PLAIN LOGIN with these credentials
#   --auth-oauthbearer TOKEN      offer OAUTHBEARER for --auth-user with this bearer token
#   --auth-external               offer EXTERNAL with the TLS client certificate
#   --tls-client-ca F             on STARTTLS, request a client certificate verified by F
#   --auth-require-tls            offer AUTH only over TLS (default: in clear text too)
#   --auth-required               530 for MAIL/RCPT/DATA before AUTH
#   --smtputf8                    announce SMTPUTF8
#   --size N                      data_size_limit (SIZE N); 0 = unlimited
#   --port N                      a fixed port instead of a free one
#   --greylist S [--greylist-only PREFIX]   451 4.7.1 to a new triplet for S seconds
#   --throttle-every N            454 4.7.0 Throttling failure to every Nth MAIL
# Files: RUNDIR/aiosmtpd.pid, RUNDIR/aiosmtpd.port, RUNDIR/aiosmtpd.log,
#        RUNDIR/aiosmtpd/NNNN.eml + NNNN.json for every accepted message.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { echo "usage: $0 start RUNDIR [options] | stop RUNDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
rundir=$2
shift 2

case $cmd in
start)
    mkdir -p "$rundir"
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/aiosmtpd.pid
    portfile=$rundir/aiosmtpd.port
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
    fi
    "$SYS_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
        die "$SYS_PYTHON has no aiosmtpd (install python3-aiosmtpd: tests/deps.sh)"
    host=127.0.0.1
    for a in "$@"; do [ "$a" = --ipv6 ] && host=::1; done
    rm -f "$portfile"
    "$SYS_PYTHON" -u "$here/aiosmtpd_server.py" --rundir "$rundir" "$@" \
        </dev/null >>"$rundir/aiosmtpd.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    i=0
    while [ ! -s "$portfile" ]; do
        if ! pid_alive "$pid" || [ $i -ge 100 ]; then
            tail -n 20 "$rundir/aiosmtpd.log" >&2 || true
            kill_pidfile "$pidfile"
            die "aiosmtpd did not start (log: $rundir/aiosmtpd.log)"
        fi
        i=$((i + 1))
        sleep 0.1
    done
    port=$(cat "$portfile")
    wait_port "$host" "$port" 10
    echo "$port"
    ;;
stop)
    kill_pidfile "$rundir/aiosmtpd.pid"
    ;;
*)
    usage
    ;;
esac
