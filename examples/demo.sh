#!/bin/sh
# `make demo`: starts a local aiosmtpd with STARTTLS and AUTH on a loopback port
# (certificates made for the occasion), sends a message through tools/smtp-send,
# prints the report, shows what the server received, and stops the server by PID.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
servers="$top/tests/servers"
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac

R=$(mktemp -d /tmp/smtpdemo.XXXXXX)
trap 'sh "$servers/aiosmtpd.sh" stop "$R/server" 2>/dev/null || true; rm -rf "$R"' EXIT INT TERM

sh "$servers/make-certs.sh" "$R/certs" >/dev/null
printf 'demo-password\n' > "$R/password"
port=$(sh "$servers/aiosmtpd.sh" start "$R/server" \
    --tls-cert "$R/certs/good.pem" --tls-key "$R/certs/good.key" \
    --auth-user demo@example.test --auth-password demo-password --auth-require-tls)
echo "== aiosmtpd listening on 127.0.0.1:$port (STARTTLS, AUTH PLAIN/LOGIN over TLS only)"

cat > "$R/message.eml" <<MSG
From: Demo Sender <demo@example.test>
To: Someone <someone@example.test>
Subject: libsmtp demo
Message-ID: <demo.$$@example.test>

Hello from libsmtp.
.This line starts with a dot, which goes out dot-stuffed.
MSG

echo "== smtp-send --url smtp://localhost:$port --user demo@example.test --password-file ... --ca-file ca.pem --trace"
status=0
"$build/tools/smtp-send" --url "smtp://localhost:$port" \
    --from demo@example.test --to someone@example.test --to unknown@example.test \
    --user demo@example.test --password-file "$R/password" \
    --ca-file "$R/certs/ca.pem" --trace < "$R/message.eml" || status=$?
echo "== smtp-send exit status: $status (1 = sent to some recipients: unknown@ was refused on purpose)"
echo "== the same report as JSON"
"$build/tools/smtp-send" --url "smtp://localhost:$port" \
    --from demo@example.test --to someone@example.test \
    --user demo@example.test --password-file "$R/password" \
    --ca-file "$R/certs/ca.pem" --json < "$R/message.eml" || status=$?
echo "== what the server stored"
for f in "$R/server/aiosmtpd"/*.eml; do echo "--- $f"; cat "$f"; done
[ "$status" -le 1 ]
