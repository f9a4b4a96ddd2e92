#!/bin/sh
# node-smtp.sh start RUNDIR [options]   -> prints the port once the server accepts
# node-smtp.sh stop RUNDIR
#
# Nodemailer smtp-server (node_server.js) on 127.0.0.1. Options:
#   --starttls --tls-cert F --tls-key F   offer STARTTLS with this certificate
#   --secure   --tls-cert F --tls-key F   implicit TLS (smtps) instead
#   --auth-user U --auth-password P       credentials; AUTH is required unless --no-auth
#   --auth-methods LIST                   e.g. PLAIN,LOGIN,CRAM-MD5,XOAUTH2 (default PLAIN,LOGIN)
#   --auth-token T                        the XOAUTH2 bearer token accepted for --auth-user
#   --auth-require-tls                    refuse AUTH before TLS (default: allowed in clear)
#   --no-auth                             AUTH offered but optional (authOptional)
#   --size N                              SIZE limit in bytes
#   --port N                              a fixed port instead of a free one
#   --no-enhanced-status-codes            do not announce/send ENHANCEDSTATUSCODES
#   --no-dsn                              do not announce DSN
# Without --auth-user, AUTH is not offered; without --starttls/--secure, STARTTLS is not.
# Files: RUNDIR/node.pid, RUNDIR/node.port, RUNDIR/node.log,
#        RUNDIR/node/NNNN.eml + NNNN.json for every accepted message.
# Needs tests/servers/node_modules (tests/deps.sh runs npm ci).
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
    pidfile=$rundir/node.pid
    portfile=$rundir/node.port
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
    fi
    command -v node >/dev/null || die "node not found (tests/deps.sh)"
    [ -d "$here/node_modules/smtp-server" ] ||
        die "$here/node_modules/smtp-server missing (run tests/deps.sh)"
    rm -f "$portfile"
    node "$here/node_server.js" --rundir "$rundir" "$@" \
        </dev/null >>"$rundir/node.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    i=0
    while [ ! -s "$portfile" ]; do
        if ! pid_alive "$pid" || [ $i -ge 150 ]; then
            tail -n 20 "$rundir/node.log" >&2 || true
            kill_pidfile "$pidfile"
            die "node smtp-server did not start (log: $rundir/node.log)"
        fi
        i=$((i + 1))
        sleep 0.1
    done
    port=$(cat "$portfile")
    wait_port 127.0.0.1 "$port" 10
    echo "$port"
    ;;
stop)
    kill_pidfile "$rundir/node.pid"
    ;;
*)
    usage
    ;;
esac
