# lib.sh: helpers sourced by the server scripts (and usable by test drivers).
#   die MSG...                  print "NAME: MSG" to stderr, exit 1
#   free_port [HOST]            print a free TCP port on HOST (default 127.0.0.1)
#   wait_port HOST PORT SECS    wait until HOST:PORT accepts a connection, or die
#   kill_pidfile FILE           TERM the PIDs in FILE, wait, KILL after 5 s, remove FILE
#   pid_alive PID               true if PID is a live process (not a zombie)
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
