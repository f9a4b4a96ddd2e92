#!/bin/sh
# Starts the real servers on loopback, runs every integration test binary in blocking
# and nonblocking mode, stops the servers by PID (also when a test fails), and prints
# "integration: N passed, N failed". Exits non-zero on any failure.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers="$top/tests/servers"
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac

# Short path: Postfix and Dovecot put unix sockets inside it.
R=$(mktemp -d /tmp/smtpit.XXXXXX)
chmod 755 "$R"

stop_all() {
    for s in node-secure node-starttls aio-unknownca aio-expired aio-wronghost aio-sasl aio-tls aio aio-big; do
        [ -f "$R/$s/node.pid" ] && sh "$servers/node-smtp.sh" stop "$R/$s" || true
        [ -f "$R/$s/aiosmtpd.pid" ] && sh "$servers/aiosmtpd.sh" stop "$R/$s" || true
    done
    [ -f "$R/pf/postfix.pid" ] && bash "$servers/postfix.sh" stop "$R/pf" || true
    [ -f "$R/pf/dovecot.pid" ] && bash "$servers/dovecot.sh" stop "$R/pf" || true
    for s in pfsink sink sink-reject sink-defer sink-drop sink-no8bit lmtp lmtp-unix lmtp-reject; do
        [ -f "$R/$s/smtp-sink.pid" ] && sh "$servers/smtp-sink.sh" stop "$R/$s" || true
    done
    rm -rf "$R"
}
trap stop_all EXIT INT TERM

export SMTP_IT_USER=tester@example.org
export SMTP_IT_PASSWORD='s3cret-Pa55'
export SMTP_IT_TOKEN='ya29.test-token-0123456789'
sh "$servers/make-certs.sh" "$R/certs" >/dev/null
export SMTP_IT_CERTS="$R/certs"
c=$SMTP_IT_CERTS

export SMTP_IT_SINK_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink")
export SMTP_IT_SINK_DIR="$R/sink/sink"
export SMTP_IT_SINK_REJECT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-reject" \
    -f RCPT -B "550 5.1.1 No such user")
export SMTP_IT_SINK_DEFER_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-defer" \
    -r MAIL -b "451 4.7.1 Greylisted, try later")
export SMTP_IT_SINK_DROP_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-drop" -q DATA)
# it_ext: no 8BITMIME; LMTP over TCP and over a unix socket; LMTP refusing after the dot
export SMTP_IT_SINK_NO8BIT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/sink-no8bit" -8)
export SMTP_IT_SINK_NO8BIT_DIR="$R/sink-no8bit/sink"
export SMTP_IT_LMTP_PORT=$(sh "$servers/smtp-sink.sh" start "$R/lmtp" -L)
export SMTP_IT_LMTP_DIR="$R/lmtp/sink"
export SMTP_IT_LMTP_SOCKET=$(sh "$servers/smtp-sink.sh" start "$R/lmtp-unix" \
    --unix "$R/lmtp-unix/lmtp.sock" -L)
export SMTP_IT_LMTP_SOCKET_DIR="$R/lmtp-unix/sink"
export SMTP_IT_LMTP_REJECT_PORT=$(sh "$servers/smtp-sink.sh" start "$R/lmtp-reject" \
    -L -f . -B "552 5.2.2 Mailbox full")
export SMTP_IT_AIO_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio" --smtputf8)
export SMTP_IT_AIO_DIR="$R/aio/aiosmtpd"
export SMTP_IT_AIOTLS_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-tls" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
    --auth-user "$SMTP_IT_USER" --auth-password "$SMTP_IT_PASSWORD" --auth-require-tls)
export SMTP_IT_AIOTLS_DIR="$R/aio-tls/aiosmtpd"
export SMTP_IT_AIOSASL_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-sasl" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
    --auth-user "$SMTP_IT_USER" --auth-oauthbearer "$SMTP_IT_TOKEN" \
    --auth-external --tls-client-ca "$c/ca.pem" --auth-require-tls)
export SMTP_IT_AIOSASL_DIR="$R/aio-sasl/aiosmtpd"
for bad in wronghost expired unknownca; do
    port=$(sh "$servers/aiosmtpd.sh" start "$R/aio-$bad" \
        --tls-cert "$c/$bad.pem" --tls-key "$c/$bad.key")
    export "SMTP_IT_BAD_$(echo $bad | tr a-z A-Z)_PORT=$port"
done

pfsink=$(sh "$servers/smtp-sink.sh" start "$R/pfsink")
export SMTP_IT_PF_SINK_DIR="$R/pfsink/sink"
mkdir -p "$R/pf"
sasl=$(bash "$servers/dovecot.sh" start "$R/pf" --user "$SMTP_IT_USER" --password "$SMTP_IT_PASSWORD")
bash "$servers/postfix.sh" start "$R/pf" --sink-port "$pfsink" --sasl-port "$sasl" \
    --tls-cert "$c/good.pem" --tls-key "$c/good.key" >/dev/null
export SMTP_IT_PF_SUB_PORT=$(cat "$R/pf/postfix-submission.port")
export SMTP_IT_PF_SMTPS_PORT=$(cat "$R/pf/postfix-smtps.port")
export SMTP_IT_PF_PLAIN_PORT=$(cat "$R/pf/postfix-plain.port")

if [ -x "$servers/node-smtp.sh" ] || [ -f "$servers/node-smtp.sh" ]; then
    export SMTP_IT_NODE_PORT=$(sh "$servers/node-smtp.sh" start "$R/node-starttls" --starttls \
        --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
        --auth-methods PLAIN,LOGIN,CRAM-MD5,XOAUTH2 \
        --auth-user "$SMTP_IT_USER" --auth-password "$SMTP_IT_PASSWORD" \
        --auth-token "$SMTP_IT_TOKEN")
    export SMTP_IT_NODE_DIR="$R/node-starttls/node"
    export SMTP_IT_NODE_SECURE_PORT=$(sh "$servers/node-smtp.sh" start "$R/node-secure" --secure \
        --tls-cert "$c/good.pem" --tls-key "$c/good.key" \
        --auth-methods PLAIN,LOGIN --auth-user "$SMTP_IT_USER" --auth-password "$SMTP_IT_PASSWORD")
    export SMTP_IT_NODE_SECURE_DIR="$R/node-secure/node"
fi
# it_compose: an aiosmtpd without a size limit (a 25 MiB attachment is 34 MB in
# base64, past aiosmtpd's default 32 MiB), and the Python checker of composed messages
export SMTP_IT_AIOBIG_PORT=$(sh "$servers/aiosmtpd.sh" start "$R/aio-big" --size 0)
export SMTP_IT_AIOBIG_DIR="$R/aio-big/aiosmtpd"
export SMTP_IT_COMPOSE_CHECK="$here/compose_check.py"

export SMTP_IT_FAKE="$servers/fake_server.py"
export SMTP_IT_PYTHON=/usr/bin/python3

passed=0
failed=0
# IT_ONLY=it_ext runs only that test binary (the servers all start anyway)
for t in "$build"/tests/${IT_ONLY:-it_*}; do
    [ -x "$t" ] || continue
    for mode in 0 1; do
        if SMTP_IT_NONBLOCKING=$mode ${RUNNER:-} "$t"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAILED: ${t##*/} (nonblocking=$mode)"
        fi
    done
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
