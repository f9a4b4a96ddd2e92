# lib.sh: helpers sourced by the server scripts (and usable by test drivers).
#   die MSG...                  print "NAME: MSG" to stderr, exit 1
#   free_port [HOST]            print a free TCP port on HOST (default 127.0.0.1)
#   wait_port HOST PORT SECS    wait until HOST:PORT accepts a connection, or die
#   kill_pidfile FILE           TERM the PIDs in FILE, wait, KILL after 5 s, remove FILE
#   pid_alive PID               true if PID is a live process (not a zombie)
#   stop_servers SERVERS_DIR ROOT   stop the servers of every run directory in ROOT
#   start_postfix_sasl SERVERS_DIR ROOT USER PASSWORD CERT KEY   Postfix + Dovecot + sink
# Uses Debian's /usr/bin/python3 (not whatever python3 is first on PATH).
# Never kills by process name: only PIDs recorded in pid files.

SYS_PYTHON=${SYS_PYTHON:-/usr/bin/python3}

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

free_port() {
    "$SYS_PYTHON" - "${1:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
PY
}

wait_port() {
    [ $# -eq 3 ] || die "usage: wait_port HOST PORT TIMEOUT"
    "$SYS_PYTHON" - "$1" "$2" "$3" <<'PY' || die "nothing accepts connections on [$1]:$2 after $3 s"
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + limit
while True:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        if time.monotonic() >= end:
            sys.exit(1)
        time.sleep(0.05)
PY
}

pid_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    # a zombie still answers kill -0; treat it as gone
    if [ -r "/proc/$1/stat" ]; then
        state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        [ "$state" != Z ] || return 1
    fi
    return 0
}

kill_pidfile() {
    [ $# -eq 1 ] || die "usage: kill_pidfile FILE"
    [ -f "$1" ] || return 0
    _kp_pids=
    for _kp_p in $(cat "$1"); do
        case $_kp_p in *[!0-9]*|'') continue ;; esac
        _kp_pids="$_kp_pids $_kp_p"
        kill -TERM "$_kp_p" 2>/dev/null || true
    done
    # up to 5 s for a clean exit, then SIGKILL
    _kp_i=0
    while :; do
        _kp_alive=
        for _kp_p in $_kp_pids; do
            if pid_alive "$_kp_p"; then _kp_alive="$_kp_alive $_kp_p"; fi
        done
        [ -n "$_kp_alive" ] || break
        _kp_i=$((_kp_i + 1))
        if [ $_kp_i -ge 50 ]; then
            echo "kill_pidfile: SIGKILL to$_kp_alive ($1)" >&2
            for _kp_p in $_kp_alive; do kill -KILL "$_kp_p" 2>/dev/null || true; done
            break
        fi
        sleep 0.1
    done
    # then up to 5 s more until the processes are gone entirely (reaped, no zombie):
    # the server was started in the background, so its parent is init, not us
    _kp_i=0
    while [ $_kp_i -lt 50 ]; do
        _kp_left=
        for _kp_p in $_kp_pids; do
            if kill -0 "$_kp_p" 2>/dev/null; then _kp_left=1; fi
        done
        [ -n "$_kp_left" ] || break
        _kp_i=$((_kp_i + 1))
        sleep 0.1
    done
    rm -f "$1"
}

# stop_servers SERVERS_DIR ROOT: stops, through their scripts in SERVERS_DIR and by
# their pid files, the servers started in the run directories right below ROOT
# (Postfix before the Dovecot it authenticates with). For a test driver's trap.
stop_servers() {
    [ $# -eq 2 ] || die "usage: stop_servers SERVERS_DIR ROOT"
    for _ss_d in "$2"/*/; do
        _ss_d=${_ss_d%/}
        [ -f "$_ss_d/node.pid" ] && sh "$1/node-smtp.sh" stop "$_ss_d" || true
        [ -f "$_ss_d/aiosmtpd.pid" ] && sh "$1/aiosmtpd.sh" stop "$_ss_d" || true
        [ -f "$_ss_d/smtp-sink.pid" ] && sh "$1/smtp-sink.sh" stop "$_ss_d" || true
        [ -f "$_ss_d/postfix.pid" ] && bash "$1/postfix.sh" stop "$_ss_d" || true
        [ -f "$_ss_d/dovecot.pid" ] && bash "$1/dovecot.sh" stop "$_ss_d" || true
    done
}

# start_postfix_sasl SERVERS_DIR ROOT USER PASSWORD CERT KEY: an smtp-sink in
# ROOT/pfsink, Dovecot SASL knowing USER with PASSWORD, and Postfix smtpd (TLS with
# CERT and KEY) that authenticates through it and proxies to the sink, in ROOT/pf.
# Prints "SUBMISSION_PORT SMTPS_PORT PLAIN_PORT SINK_DUMP_DIR". stop_servers ends them.
start_postfix_sasl() {
    [ $# -eq 6 ] || die "usage: start_postfix_sasl SERVERS_DIR ROOT USER PASSWORD CERT KEY"
    _ps_sink=$(sh "$1/smtp-sink.sh" start "$2/pfsink") || return 1
    mkdir -p "$2/pf"
    _ps_sasl=$(bash "$1/dovecot.sh" start "$2/pf" --user "$3" --password "$4") || return 1
    _ps_ports=$(bash "$1/postfix.sh" start "$2/pf" --sink-port "$_ps_sink" \
        --sasl-port "$_ps_sasl" --tls-cert "$5" --tls-key "$6") || return 1
    echo "$_ps_ports $2/pfsink/sink"
}
