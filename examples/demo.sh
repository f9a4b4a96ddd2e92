#!/bin/sh
# `make demo`: starts a local aiosmtpd with STARTTLS and AUTH on a loopback port
# (certificates made for the occasion), composes a message with tools/smtp-send
# (a non-ASCII subject, text and HTML, an attachment, Cc, Bcc, and a recipient the
# server refuses on purpose), sends it, prints the report as text and as JSON,
# shows what the server stored, and stops the server by PID.
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

printf 'Hello,\n\nthe agenda is attached.\n' > "$R/note.txt"
printf '<p>Hello,</p>\n<p>the <b>agenda</b> is attached.</p>\n' > "$R/note.html"
printf '09:00 coffee\n09:30 libsmtp\n' > "$R/agenda.txt"
subject=$(printf 'Caf\303\251 meeting')  # "Cafe meeting", with an e acute

send() { # the composed message, with the report options given
    "$build/tools/smtp-send" --url "smtp://localhost:$port" --ca-file "$R/certs/ca.pem" \
        --user demo@example.test --password-file "$R/password" \
        --from 'Demo Sender <demo@example.test>' --to 'Someone <someone@example.test>' \
        --to unknown@example.test --cc carol@example.test --bcc archive@example.test \
        --subject "$subject" --text "@$R/note.txt" --html "@$R/note.html" \
        --attach "$R/agenda.txt;name=agenda.txt" "$@"
}
echo "== smtp-send --subject '$subject' --text @note.txt --html @note.html --attach agenda.txt"
echo "   --to someone@ --to unknown@ (refused on purpose) --cc carol@ --bcc archive@"
status=0
send || status=$?
echo "== exit status: $status (1 = sent to some recipients: unknown@ was refused)"
echo "== the same, with --json"
send --json || status=$?
echo
echo "== what the server stored: the envelopes (archive@ is there, as Bcc)"
for f in "$R/server/aiosmtpd"/*.json; do
    /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print("MAIL FROM:<%s> RCPT TO:%s" % (j["mail_from"], ",".join("<%s>" % r for r in j["rcpt_tos"])))' "$f"
done
first=$(ls "$R/server/aiosmtpd"/*.eml | sort | head -n 1)
echo "== and the first message (no Bcc field in it)"
cat "$first"
[ "$status" -le 1 ]
