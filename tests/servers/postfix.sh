#!/bin/bash
# postfix.sh: a private Postfix 3.7 smtpd on loopback ports, for libsmtp's integration tests.
#
#   postfix.sh start RUNDIR --sink-port N [--tls-cert F --tls-key F] [--sasl-port N]
#                           [--require-tls] [--set NAME=VALUE ...]
#       -> prints "SUBMISSION_PORT SMTPS_PORT PLAIN_PORT"
#   postfix.sh stop RUNDIR
#
# Ports (127.0.0.1), also written to RUNDIR/postfix-{submission,smtps,plain}.port:
#   submission  STARTTLS offered (smtpd_tls_security_level = may; encrypt with
#               --require-tls); with --sasl-port AUTH only after STARTTLS
#   smtps       implicit TLS (smtpd_tls_wrappermode = yes)
#   plain       no TLS at all; with --sasl-port AUTH is offered in the clear
# Every accepted transaction is proxied before queueing (smtpd_proxy_filter) to
# 127.0.0.1:--sink-port, an smtp-sink started with smtp-sink.sh: nothing is queued
# or delivered, the sink's end-of-data reply is the one the client sees.
# Relaying: without --sasl-port, 127.0.0.1 (mynetworks) may relay to any domain;
# with --sasl-port (a dovecot.sh auth port) only authenticated clients may.
# Without --tls-cert/--tls-key, make-certs.sh creates RUNDIR/certs and good.pem is used.
# --set NAME=VALUE (repeatable) sets a main.cf parameter over the template's value
# (postconf -e), e.g. --set smtpd_timeout=1s --set smtpd_client_connection_count_limit=4.
#
# What the sink's dump holds for a message (no cleanup runs, so no header is added
# other than these): smtp-sink's X-Client-Addr/X-Client-Proto/X-Helo-Args (always
# "localhost", Postfix's smtpd_proxy_ehlo)/X-Mail-Args/X-Rcpt-Args lines (MAIL and RCPT
# parameters as the client sent them), smtp-sink's own 3-line Received:, then Postfix's
# 3-line "Received: from <client EHLO> (unknown [127.0.0.1])\n\tby localhost (Postfix)
# with ESMTP[S][A]|UTF8SMTP[S][A]\n\t[for <rcpt>]; <date>", then the content
# dot-unstuffed with CRLF written as LF, followed by one extra empty line.
# TLS resumption: session tickets (TLS 1.3 and 1.2) and a session-ID cache (TLS 1.2,
# btree in RUNDIR/postfix/data) both work, on either TLS port (a session from
# one resumes on the other).
#
# Layout: RUNDIR/postfix/{etc,queue,data}, log RUNDIR/postfix.log (postlogd, no
# syslog needed), master PID in RUNDIR/postfix.pid. The master daemon is run
# directly (`master -c RUNDIR/postfix/etc`), so no change to /etc/postfix is needed.
# Must run as root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() {
    echo "usage: $0 start RUNDIR --sink-port N [--tls-cert F --tls-key F] [--sasl-port N] [--require-tls] [--set NAME=VALUE ...]" >&2
    echo "       $0 stop RUNDIR" >&2
    exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
rundir=$2
shift 2

is_port() {
    case $1 in ''|*[!0-9]*) return 1 ;; esac
    [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

find_postconf() {
    [ -x /usr/sbin/postconf ] && { echo /usr/sbin/postconf; return; }
    command -v postconf || die "postconf not found (install postfix)"
}

# PIDs of live processes whose environment has MAIL_CONFIG=$1 (every process of the
# instance: the master and all its children inherit it). Identified by PID, not name.
instance_pids() {
    local f pid
    for f in $(grep -lsxzF "MAIL_CONFIG=$1" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/environ}
        pid_alive "$pid" && echo "$pid"
    done
    return 0
}

# PIDs of processes whose parent is $1, recursively
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

stop_instance() {
    local rundir=$1 confdir pidfile pids p left i
    confdir=$rundir/postfix/etc
    pidfile=$rundir/postfix.pid
    pids=''
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            case $p in ''|*[!0-9]*) continue ;; esac
            pids="$pids $p $(descendants "$p" | tr '\n' ' ')"
        done
    fi
    pids="$pids $(instance_pids "$confdir" | tr '\n' ' ')"
    pids=$(echo "$pids" | tr ' ' '\n' | sort -un | tr '\n' ' ')
    [ -n "${pids// /}" ] || { rm -f "$pidfile"; return 0; }
    # TERM to the master first: it passes the signal on to its children.
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do kill -TERM "$p" 2>/dev/null || true; done
        i=0
        while [ $i -lt 50 ]; do
            left=
            for p in $pids; do pid_alive "$p" && left="$left $p"; done
            [ -n "$left" ] || break
            sleep 0.1
            i=$((i + 1))
        done
    fi
    # whatever is left (TERM, then KILL after 5 s)
    echo "$pids" > "$pidfile"
    kill_pidfile "$pidfile"
    left=
    for p in $pids $(instance_pids "$confdir"); do
        pid_alive "$p" && left="$left $p"
    done
    [ -z "$left" ] || die "processes still alive after stop:$left"
    return 0
}

case $cmd in
start)
    sink_port='' sasl_port='' cert='' key='' require_tls=no settings=''
    while [ $# -gt 0 ]; do
        case $1 in
            --sink-port) [ $# -ge 2 ] || usage; sink_port=$2; shift 2 ;;
            --sasl-port) [ $# -ge 2 ] || usage; sasl_port=$2; shift 2 ;;
            --tls-cert) [ $# -ge 2 ] || usage; cert=$2; shift 2 ;;
            --tls-key) [ $# -ge 2 ] || usage; key=$2; shift 2 ;;
            --require-tls) require_tls=yes; shift ;;
            --set)
                [ $# -ge 2 ] || usage
                case $2 in
                    [a-z]*=*) ;;
                    *) die "--set wants NAME=VALUE, got: $2" ;;
                esac
                case $2 in *"
"*) die "--set: no newline in NAME=VALUE" ;; esac
                settings="$settings
$2"
                shift 2 ;;
            --lmtp) die "--lmtp is not implemented (use smtp-sink.sh ... -L for an LMTP server)" ;;
            *) usage ;;
        esac
    done
    is_port "$sink_port" || die "--sink-port N is required"
    [ -z "$sasl_port" ] || is_port "$sasl_port" || die "bad --sasl-port"
    if [ -n "$cert" ] || [ -n "$key" ]; then
        if [ -z "$cert" ] || [ -z "$key" ]; then die "--tls-cert and --tls-key go together"; fi
        if [ ! -r "$cert" ] || [ ! -r "$key" ]; then die "cannot read $cert or $key"; fi
        cert=$(cd "$(dirname "$cert")" && pwd)/$(basename "$cert")
        key=$(cd "$(dirname "$key")" && pwd)/$(basename "$key")
    fi
    [ "$(id -u)" = 0 ] || die "must run as root"
    id postfix >/dev/null 2>&1 || die "user postfix missing (install postfix)"
    getent group postdrop >/dev/null || die "group postdrop missing (install postfix)"

    mkdir -p "$rundir"
    rundir=$(cd "$rundir" && pwd)
    pidfile=$rundir/postfix.pid
    if [ -f "$pidfile" ]; then
        for p in $(cat "$pidfile"); do
            pid_alive "$p" && die "already running in $rundir (pid $p)"
        done
        rm -f "$pidfile"
    fi
    postconf_bin=$(find_postconf)

    if [ -z "$cert" ]; then
        "$here/make-certs.sh" "$rundir/certs" >/dev/null
        cert=$rundir/certs/good.pem
        key=$rundir/certs/good.key
    fi

    # Unprivileged Postfix daemons (user postfix) use paths inside RUNDIR: the run
    # directory has to be searchable by others (mktemp -d makes it 0700).
    chmod go+x "$rundir"
    p=$rundir/postfix
    rm -rf "$p"
    mkdir -p "$p/etc" "$p/data" "$p/queue"
    chmod 755 "$p" "$p/etc" "$p/queue"
    # queue layout as created by post-install (only public/private/pid are used here)
    for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
        mkdir -p "$p/queue/$d"
        chown postfix "$p/queue/$d"
        chmod 700 "$p/queue/$d"
    done
    mkdir -p "$p/queue/maildrop" "$p/queue/public" "$p/queue/pid"
    chown postfix:postdrop "$p/queue/maildrop" "$p/queue/public"
    chmod 730 "$p/queue/maildrop"
    chmod 710 "$p/queue/public"
    chown root "$p/queue/pid"
    chmod 755 "$p/queue/pid"
    chown postfix "$p/data"
    chmod 700 "$p/data"
    : > "$rundir/postfix.log"

    sub_port=$(free_port 127.0.0.1)
    smtps_port=$(free_port 127.0.0.1)
    plain_port=$(free_port 127.0.0.1)
    # free_port may in principle hand out the same port twice
    while [ "$smtps_port" = "$sub_port" ]; do smtps_port=$(free_port 127.0.0.1); done
    while [ "$plain_port" = "$sub_port" ] || [ "$plain_port" = "$smtps_port" ]; do
        plain_port=$(free_port 127.0.0.1)
    done

    if [ -n "$sasl_port" ]; then
        sasl=yes
        relay="permit_sasl_authenticated, reject_unauth_destination"
    else
        sasl=no
        sasl_port=1
        relay="permit_mynetworks, reject_unauth_destination"
    fi
    if [ "$require_tls" = yes ]; then sub_level=encrypt; else sub_level=may; fi

    subst() {
        sed -e "s|@RUNDIR@|$rundir|g" -e "s|@CONFDIR@|$p/etc|g" \
            -e "s|@SINK_PORT@|$sink_port|g" -e "s|@SASL_PORT@|$sasl_port|g" \
            -e "s|@SASL@|$sasl|g" -e "s|@RELAY_RESTRICTIONS@|$relay|g" \
            -e "s|@MYNETWORKS@|127.0.0.0/8|g" \
            -e "s|@TLS_CERT@|$cert|g" -e "s|@TLS_KEY@|$key|g" \
            -e "s|@SUB_PORT@|$sub_port|g" -e "s|@SMTPS_PORT@|$smtps_port|g" \
            -e "s|@PLAIN_PORT@|$plain_port|g" -e "s|@SUB_TLS_LEVEL@|$sub_level|g" \
            "$1"
    }
    subst "$here/postfix/main.cf.in" > "$p/etc/main.cf"
    if [ -n "$settings" ]; then
        printf '%s\n' "$settings" | while IFS= read -r kv; do
            [ -z "$kv" ] || "$postconf_bin" -c "$p/etc" -e "$kv" || die "postconf -e $kv failed"
        done
    fi
    subst "$here/postfix/master.cf.in" > "$p/etc/master.cf"
    daemon_dir=$("$postconf_bin" -c "$p/etc" -h daemon_directory) || die "postconf failed"
    [ -x "$daemon_dir/master" ] || die "no master daemon in $daemon_dir"

    # Run the master daemon directly: `postfix -c DIR start` would want DIR listed in
    # alternate_config_directories of /etc/postfix/main.cf. Without -d/-w it stays in
    # the foreground (a session leader, stdio to /dev/null); its children inherit
    # MAIL_CONFIG, which stop uses to find every process of the instance.
    MAIL_CONFIG=$p/etc "$daemon_dir/master" -c "$p/etc" </dev/null >>"$rundir/postfix.log" 2>&1 &
    pid=$!
    echo "$pid" > "$pidfile"
    echo "$sub_port" > "$rundir/postfix-submission.port"
    echo "$smtps_port" > "$rundir/postfix-smtps.port"
    echo "$plain_port" > "$rundir/postfix-plain.port"
    # The master binds every inet listener before it serves any, so probing the plain
    # port is enough (and keeps TLS handshake errors out of the log).
    ok=yes
    msg=$( (wait_port 127.0.0.1 "$plain_port" 15) 2>&1 ) || ok=no
    if [ "$ok" != yes ] || ! pid_alive "$pid"; then
        cat "$rundir/postfix.log" >&2 || true
        stop_instance "$rundir" || true
        die "postfix did not start: ${msg:-master exited}"
    fi
    echo "$sub_port $smtps_port $plain_port"
    ;;
stop)
    [ -d "$rundir" ] || exit 0
    rundir=$(cd "$rundir" && pwd)
    stop_instance "$rundir"
    ;;
*)
    usage
    ;;
esac
