#!/bin/sh
# Runs the Python binding's pytest suite against real servers started here on
# loopback (aiosmtpd, Postfix smtpd + Dovecot SASL, smtp-sink), and stops them by
# PID also when a test fails.
#
#   BUILD=build sh bindings/python/tests/run.sh [pytest args...]
#
# The tests load BUILD/libsmtp.so.0 (LIBSMTP_PATH). PY_ASAN=1 runs them under the
# library's ASan+UBSan build: the clang ASan runtime is preloaded into Debian's
# /usr/bin/python3. BUILD must then be an ASan build: run it as `make check-asan`
# does, through make, whose variables the install tests' `make install` inherits.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
servers="$top/tests/servers"
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
PY=/usr/bin/python3

[ -e "$build/libsmtp.so.0" ] || { echo "python: $build/libsmtp.so.0 missing (make lib)" >&2; exit 1; }
"$PY" -c 'import pytest' 2>/dev/null || { echo "python: $PY has no pytest (tests/deps.sh)" >&2; exit 1; }

# Short path: Postfix and Dovecot put unix sockets inside it.
R=$(mktemp -d /tmp/smtppy.XXXXXX)
chmod 755 "$R"

. "$servers/lib.sh"
test_pid=
stop_all() {
    [ -z "$test_pid" ] || kill -TERM "-$test_pid" 2>/dev/null || true
    stop_servers "$servers" "$R"
    rm -rf "$R"
}
trap stop_all EXIT INT TERM

export SMTP_PY_USER=tester@example.org
export SMTP_PY_PASSWORD='s3cret-Pa55'
sh "$servers/make-certs.sh" "$R/certs" >/dev/null
export SMTP_PY_CERTS="$R/certs"
c=$SMTP_PY_CERTS

export SMTP_PY_AIO_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio" --smtputf8)
export SMTP_PY_AIO_DIR="$R/aio/aiosmtpd"
export SMTP_PY_AIOTLS_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-tls" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
    --auth-user "$SMTP_PY_USER" --auth-password "$SMTP_PY_PASSWORD" --auth-require-tls)
export SMTP_PY_AIOTLS_DIR="$R/aio-tls/aiosmtpd"
export SMTP_PY_UNKNOWNCA_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-unknownca" \
    --tls-cert "$c/unknownca.pem" --tls-key "$c/unknownca.key")

export SMTP_PY_SINK_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink")
export SMTP_PY_SINK_DIR="$R/sink/sink"
export SMTP_PY_SINK_REJECT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-reject" \
    -f RCPT -B "550 5.1.1 No such user")
export SMTP_PY_SINK_DEFER_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-defer" \
    -r MAIL -b "451 4.7.1 Greylisted, try later")
# no reply to DATA for 60 s: a message stays in flight (timeouts, cancellation)
export SMTP_PY_SINK_STALL_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-stall" -w 60)

# Postfix smtpd, Dovecot SASL behind it, smtp-sink after it
pf=$(start_postfix_sasl "$servers" "$R" "$SMTP_PY_USER" "$SMTP_PY_PASSWORD" \
    "$c/good.pem" "$c/good.key")
read -r SMTP_PY_PF_SUB_PORT SMTP_PY_PF_SMTPS_PORT _plain SMTP_PY_PF_SINK_DIR <<PORTS
$pf
PORTS
[ -d "$SMTP_PY_PF_SINK_DIR" ] || { echo "python: Postfix did not start: $pf" >&2; exit 1; }
export SMTP_PY_PF_SUB_PORT SMTP_PY_PF_SMTPS_PORT SMTP_PY_PF_SINK_DIR

export LIBSMTP_PATH="$build/libsmtp.so.0"
export SMTP_PY_BUILD="$build"
export SMTP_PY_TOP="$top"
unset LD_LIBRARY_PATH
if [ "${PY_ASAN:-0}" = 1 ]; then
    rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
    [ -f "$rt" ] || { echo "python: no ASan runtime ($rt)" >&2; exit 1; }
    # The interpreter's own allocations that live until exit are not the
    # library's: leaks are checked on short stacks, and those inside the
    # interpreter binary alone are suppressed (tests/asan-python.supp).
    export LSAN_OPTIONS="suppressions=$here/asan-python.supp:print_suppressions=0"
    export ASAN_OPTIONS="detect_leaks=1:malloc_context_size=5:abort_on_error=0:halt_on_error=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    export SMTP_PY_ASAN=1
    export SMTP_PY_PRELOAD="$rt"
    # pytest's default fd capture would keep a sanitizer's report (written to fd 2
    # by a process that then exits) from ever being shown
    set -- --capture=sys "$@"
fi

cd "$here"
# Only the test process gets the runtime (not the servers, not the trap). It runs
# in a session of its own, ended by its id afterwards: an llvm-symbolizer that ASan
# started for a report can outlive the test process and hold its output open.
env ${SMTP_PY_PRELOAD:+LD_PRELOAD="$SMTP_PY_PRELOAD"} \
    setsid "$PY" -m pytest -p no:cacheprovider -q "$@" &
test_pid=$!
status=0
wait "$test_pid" || status=$?
kill -TERM "-$test_pid" 2>/dev/null || true
test_pid=
exit "$status"
