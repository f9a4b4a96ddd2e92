#!/bin/sh
# tests/deliver/run.sh: the pool, retry and worker tests (lib/deliver, tools/smtp-worker)
# against real servers on loopback, started here and stopped by their PIDs (also
# when a test fails or the run is interrupted). Prints "deliver: N passed, N failed";
# exits non-zero on any failure. BUILD=dir: where `make` built the tests (default build).
# DL_ONLY=dl_cap runs only that test binary (the servers all start anyway).
#
# Servers (each test binary reads their ports and record directories from the
# environment):
#   Postfix A   smtpd_client_connection_count_limit = 4, no exceptions for loopback,
#               anvil statistics every second: it refuses a fifth concurrent
#               connection and logs the peak count it saw ("max connection count");
#               proxies to smtp-sink sink-a (dl_cap, dl_maxmsgs, dl_resend)
#   Postfix B   smtpd_timeout = 1s: an idle connection gets "421 4.4.2 ... timeout
#               exceeded" and is closed; proxies to sink-b (dl_idle)
#   sink-plain  smtp-sink as it comes (dl_loop)
#   sink-idle   smtp-sink -t 1: closes an idle connection after 1 s (EOF) (dl_idle)
#   sink-droprcpt  smtp-sink -q RCPT: hangs up after RCPT, before any dot (dl_resend)
#   sink-dropdot   smtp-sink -q .: hangs up after the final dot, no reply (dl_resend)
#   aio-grey    aiosmtpd --greylist 1 --greylist-only grey (dl_retry)
#   aio-throttle  aiosmtpd --throttle-every 7 (dl_throttle)
#   aio-worker  aiosmtpd --greylist 1 --greylist-only grey, and redis-server on a
#               free loopback port (tests/servers/redis.sh), for dl_worker, which
#               runs $BUILD/tools/smtp-worker
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers=$top/tests/servers
. "$servers/lib.sh"
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac

# short path, searchable by the unprivileged Postfix daemons
R=$(mktemp -d /tmp/smtpdl.XXXXXX)
chmod 755 "$R"
stop_all() {
    set +e
    for s in pfa pfb; do
        [ -f "$R/$s/postfix.pid" ] && bash "$servers/postfix.sh" stop "$R/$s"
    done
    for s in sink-a sink-b sink-plain sink-idle sink-droprcpt sink-dropdot; do
        [ -f "$R/$s/smtp-sink.pid" ] && sh "$servers/smtp-sink.sh" stop "$R/$s"
    done
    for s in aio-grey aio-throttle aio-worker; do
        [ -f "$R/$s/aiosmtpd.pid" ] && sh "$servers/aiosmtpd.sh" stop "$R/$s"
    done
    [ -f "$R/redis/redis.pid" ] && sh "$servers/redis.sh" stop "$R/redis"
    rm -rf "$R"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sh "$servers/make-certs.sh" "$R/certs" >/dev/null
export DL_CA="$R/certs/ca.pem"
c=$R/certs

sink_a=$(sh "$servers/smtp-sink.sh" start "$R/sink-a")
export DL_SINK_A_DIR="$R/sink-a/sink"
mkdir -p "$R/pfa"
bash "$servers/postfix.sh" start "$R/pfa" --sink-port "$sink_a" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
    --set smtpd_client_connection_count_limit=4 \
    --set smtpd_client_event_limit_exceptions= \
    --set anvil_status_update_time=1s >/dev/null
export DL_PFA_SUB_PORT=$(cat "$R/pfa/postfix-submission.port")
export DL_PFA_PLAIN_PORT=$(cat "$R/pfa/postfix-plain.port")
export DL_PFA_LOG="$R/pfa/postfix.log"

sink_b=$(sh "$servers/smtp-sink.sh" start "$R/sink-b")
export DL_SINK_B_DIR="$R/sink-b/sink"
mkdir -p "$R/pfb"
bash "$servers/postfix.sh" start "$R/pfb" --sink-port "$sink_b" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" --set smtpd_timeout=1s >/dev/null
export DL_PFB_PLAIN_PORT=$(cat "$R/pfb/postfix-plain.port")
export DL_PFB_LOG="$R/pfb/postfix.log"

export DL_SINK_PLAIN_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-plain")
export DL_SINK_PLAIN_DIR="$R/sink-plain/sink"
export DL_SINK_IDLE_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-idle" -t 1)
export DL_SINK_IDLE_DIR="$R/sink-idle/sink"
export DL_SINK_DROPRCPT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-droprcpt" -q RCPT)
export DL_SINK_DROPRCPT_DIR="$R/sink-droprcpt/sink"
export DL_SINK_DROPDOT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-dropdot" -q .)
export DL_SINK_DROPDOT_DIR="$R/sink-dropdot/sink"

export DL_AIO_GREY_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-grey" \
    --greylist 1 --greylist-only grey)
export DL_AIO_GREY_DIR="$R/aio-grey/aiosmtpd"
export DL_AIO_GREY_LOG="$R/aio-grey/aiosmtpd.log"
export DL_AIO_THROTTLE_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-throttle" \
    --throttle-every 7)
export DL_AIO_THROTTLE_DIR="$R/aio-throttle/aiosmtpd"
export DL_AIO_WORKER_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-worker" \
    --greylist 1 --greylist-only grey)
export DL_AIO_WORKER_DIR="$R/aio-worker/aiosmtpd"
export DL_REDIS_PORT=$(sh "$servers/redis.sh" start "$R/redis")
export DL_WORKER="$build/tools/smtp-worker"

passed=0
failed=0
for t in "$build"/tests/${DL_ONLY:-dl_*}; do
    [ -x "$t" ] || continue
    if ${RUNNER:-} "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: ${t##*/}"
    fi
done
echo "deliver: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
