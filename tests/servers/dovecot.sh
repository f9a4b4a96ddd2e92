#!/bin/bash
# dovecot.sh: a private, auth-only Dovecot 2.3 for Postfix's SASL (smtpd_sasl_type = dovecot).
#
#   dovecot.sh start RUNDIR --user U --password P [--user2 U2 --password2 P2]
#       -> prints the auth port
#   dovecot.sh stop RUNDIR
#
# Everything lives in RUNDIR: RUNDIR/dovecot/{dovecot.conf,passwd,run,state},
# log RUNDIR/dovecot.log, PID of `dovecot -F` in RUNDIR/dovecot.pid, and the auth
# service's inet listener port (127.0.0.1) in RUNDIR/dovecot-auth.port.
# Postfix: smtpd_sasl_type = dovecot, smtpd_sasl_path = inet:127.0.0.1:$(cat RUNDIR/dovecot-auth.port)
#
# Mechanisms: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 (no -PLUS in Dovecot 2.3).
# User names may hold any character (auth_username_chars is empty); passwords are
# stored as {PLAIN} in a passwd-file, so neither may contain ':' or a newline.
# auth_failure_delay is Dovecot's default, 2 s: a wrong password is answered after ~2 s.
# Must run as root (Dovecot's master drops privileges to the dovecot/dovenull users).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() {
    echo "usage: $0 start RUNDIR --user U --password P [--user2 U2 --password2 P2] | stop RUNDIR" >&2
    exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
rundir=$2
shift 2

find_dovecot() {
    [ -x /usr/sbin/dovecot ] && { echo /usr/sbin/dovecot; return; }
    command -v dovecot || die "dovecot not found (install dovecot-core)"
}

# pick_user NAME...: first existing system user
pick_user() {
    for u in "$@"; do
        if id "$u" >/dev/null 2>&1; then echo "$u"; return; fi
    done
    die "none of the users '$*' exist (install dovecot-core)"
}

check_cred() {
    case $1 in
        *:*|*$'\n'*|'') die "$2 must be non-empty and contain no ':' or newline (passwd-file format)" ;;
    esac
}

# PIDs of processes whose parent is $1, recursively
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

case $cmd in
start)
    user='' password='' user2='' password2=''
    while [ $# -gt 0 ]; do
        case $1 in
            --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
            --password) [ $# -ge 2 ] || usage; password=$2; shift 2 ;;
            --user2) [ $# -ge 2 ] || usage; user2=$2; shift 2 ;;
            --password2) [ $# -ge 2 ] || usage; password2=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    [ -n "$user" ] || usage
    check_cred "$user" "--user"
    check_cred "$password" "--password"
    if [ -n "$user2" ] || [ -n "$password2" ]; then
        check_cred "$user2" "--user2"
        check_cred "$password2" "--password2"
    fi
    [ "$(id -u)" = 0 ] || die "must run as root"

    mkdir -p "$rundir"
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/dovecot.pid
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
        rm -f "$pidfile"
    fi
    dovecot_bin=$(find_dovecot)
    internal_user=$(pick_user dovecot)
    login_user=$(pick_user dovenull nobody)

    # Dovecot's auth process runs as $internal_user and must reach the passwd-file:
    # the run directory has to be searchable by others (mktemp -d makes it 0700).
    chmod go+x "$rundir"
    d=$rundir/dovecot
    rm -rf "$d"
    mkdir -p "$d/run" "$d/state" "$d/home"
    chmod 755 "$d" "$d/run"

    port=$(free_port 127.0.0.1)
    sed -e "s|@RUNDIR@|$rundir|g" -e "s|@AUTH_PORT@|$port|g" \
        -e "s|@DOVECOT_USER@|$internal_user|g" -e "s|@LOGIN_USER@|$login_user|g" \
        "$here/dovecot/dovecot.conf.in" > "$d/dovecot.conf"

    {
        printf '%s:{PLAIN}%s::::::\n' "$user" "$password"
        if [ -n "$user2" ]; then
            printf '%s:{PLAIN}%s::::::\n' "$user2" "$password2"
        fi
    } > "$d/passwd"
    chown "root:$(id -gn "$internal_user")" "$d/passwd"
    chmod 640 "$d/passwd"
    : > "$rundir/dovecot.log"

    "$dovecot_bin" -c "$d/dovecot.conf" -F </dev/null >>"$rundir/dovecot.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    echo "$port" > "$rundir/dovecot-auth.port"
    if ! msg=$( (wait_port 127.0.0.1 "$port" 15) 2>&1 ) || ! pid_alive "$pid"; then
        cat "$rundir/dovecot.log" >&2 || true
        "$0" stop "$rundir" || true
        die "dovecot did not start: $msg"
    fi
    echo "$port"
    ;;
stop)
    [ -d "$rundir" ] || exit 0
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/dovecot.pid
    [ -f "$pidfile" ] || exit 0
    master_pids='' pids=''
    for p in $(cat "$pidfile"); do
        case $p in ''|*[!0-9]*) continue ;; esac
        master_pids="$master_pids $p"
        pids="$pids $p $(descendants "$p" | tr '\n' ' ')"
    done
    # TERM to the master (dovecot -F) only: it stops its children itself.
    for p in $master_pids; do kill -TERM "$p" 2>/dev/null || true; done
    i=0
    while [ $i -lt 50 ]; do
        left=
        for p in $pids; do pid_alive "$p" && left="$left $p"; done
        [ -n "$left" ] || break
        sleep 0.1
        i=$((i + 1))
    done
    # whatever is left: TERM, KILL after 5 s
    echo "$pids" > "$pidfile"
    kill_pidfile "$pidfile"
    left=
    for p in $pids; do
        pid_alive "$p" && left="$left $p"
    done
    [ -z "$left" ] || die "processes still alive after stop:$left"
    ;;
*)
    usage
    ;;
esac
