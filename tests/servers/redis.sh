#!/bin/sh
# redis.sh start RUNDIR   -> prints the port once redis-server accepts connections
# redis.sh stop RUNDIR
#
# Runs Debian's redis-server on 127.0.0.1:<free port>, in memory only (no RDB, no
# AOF), its files in RUNDIR: redis.pid (the PID we started), redis.port, redis.log.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { echo "usage: $0 start RUNDIR | stop RUNDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
rundir=$2

case $cmd in
start)
    mkdir -p "$rundir"
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/redis.pid
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
    fi
    server=$(command -v redis-server || true)
    [ -n "$server" ] || [ ! -x /usr/bin/redis-server ] || server=/usr/bin/redis-server
    [ -n "$server" ] || die "redis-server not found (install redis-server: tests/deps.sh)"
    port=$(free_port 127.0.0.1)
    "$server" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --daemonize no --protected-mode yes --dir "$rundir" \
        </dev/null >"$rundir/redis.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    echo "$port" > "$rundir/redis.port"
    if ! msg=$( (wait_port 127.0.0.1 "$port" 10) 2>&1 ) || ! pid_alive "$pid"; then
        cat "$rundir/redis.log" >&2 || true
        kill_pidfile "$pidfile"
        die "redis-server did not start: $msg"
    fi
    echo "$port"
    ;;
stop)
    kill_pidfile "$rundir/redis.pid"
    ;;
*)
    usage
    ;;
esac
