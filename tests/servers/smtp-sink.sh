#!/bin/sh
# smtp-sink.sh start RUNDIR [extra smtp-sink options...]   -> prints the port
# smtp-sink.sh start RUNDIR --unix PATH [options...]  -> listens on the unix socket PATH
#                                                     instead, prints PATH
# smtp-sink.sh stop RUNDIR
#
# Runs Postfix's smtp-sink on 127.0.0.1:<free port>, capturing every transaction to
# RUNDIR/sink/<YYYYmmddHHMMSS>.<random hex> (see README for the dump format).
# Writes RUNDIR/smtp-sink.pid, RUNDIR/smtp-sink.port; output goes to RUNDIR/smtp-sink.log.
# Extra options are passed to smtp-sink before the address, e.g.
#   -f RCPT        5xx to every RCPT          -r MAIL       4xx to every MAIL
#   -B "550 5.1.1 No such user"  text of the hard rejections; -b for the soft ones
#   -q DATA        drop the connection after DATA, without a reply
#   -Q .           421 and disconnect after the end-of-data dot
#   -L             LMTP instead of SMTP        -c  running counters in the log
#   -p -N -8 -E -e -a   do not announce PIPELINING / DSN / 8BITMIME / ENH.STATUS / ESMTP / AUTH
# As root it runs as -u nobody, chrooted (-R) into RUNDIR/sink.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { echo "usage: $0 start RUNDIR [smtp-sink options...] | stop RUNDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
rundir=$2
shift 2

find_sink() {
    for s in /usr/sbin/smtp-sink /usr/bin/smtp-sink; do
        [ -x "$s" ] && { echo "$s"; return; }
    done
    s=$(dpkg -L postfix 2>/dev/null | grep '/smtp-sink$' | head -n1) || true
    [ -n "$s" ] && [ -x "$s" ] && { echo "$s"; return; }
    command -v smtp-sink || die "smtp-sink not found (install postfix: tests/deps.sh)"
}

case $cmd in
start)
    mkdir -p "$rundir"
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/smtp-sink.pid
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
    fi
    sink=$(find_sink)
    mkdir -p "$rundir/sink"
    unix_path=
    if [ $# -ge 2 ] && [ "$1" = --unix ]; then
        unix_path=$2
        shift 2
        rm -f "$unix_path"
    fi
    if [ "$(id -u)" = 0 ]; then
        # smtp-sink refuses to run as root; chroot into the dump directory (done as
        # root, before dropping privileges) so the run directory's parents need not
        # be searchable by nobody.
        chown nobody "$rundir/sink"
        set -- -u nobody -R "$rundir/sink" -d "/%Y%m%d%H%M%S." "$@"
    else
        set -- -d "$rundir/sink/%Y%m%d%H%M%S." "$@"
    fi
    if [ -n "$unix_path" ]; then
        # the socket is created before the chroot and the switch to nobody
        TZ=UTC "$sink" "$@" "unix:$unix_path" 128 </dev/null >"$rundir/smtp-sink.log" 2>&1 &
        pid=$!
        echo "$pid" > "$pidfile"
        i=0
        while [ ! -S "$unix_path" ] && [ $i -lt 100 ] && pid_alive "$pid"; do
            sleep 0.1
            i=$((i + 1))
        done
        if [ ! -S "$unix_path" ] || ! pid_alive "$pid"; then
            cat "$rundir/smtp-sink.log" >&2 || true
            kill_pidfile "$pidfile"
            die "smtp-sink did not start on $unix_path"
        fi
        echo "$unix_path"
        exit 0
    fi
    port=$(free_port 127.0.0.1)
    # TZ=UTC: the chroot has no zoneinfo
    TZ=UTC "$sink" "$@" "inet:127.0.0.1:$port" 128 </dev/null >"$rundir/smtp-sink.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    echo "$port" > "$rundir/smtp-sink.port"
    if ! wait_port_quiet=$( (wait_port 127.0.0.1 "$port" 10) 2>&1 ) || ! pid_alive "$pid"; then
        cat "$rundir/smtp-sink.log" >&2 || true
        kill_pidfile "$pidfile"
        die "smtp-sink did not start: $wait_port_quiet"
    fi
    echo "$port"
    ;;
stop)
    kill_pidfile "$rundir/smtp-sink.pid"
    ;;
*)
    usage
    ;;
esac
