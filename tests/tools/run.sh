#!/bin/sh
# tests/tools/run.sh: smtp-send (and its sendmail personality) against real servers.
# Starts aiosmtpd (plain; STARTTLS+AUTH; STARTTLS without AUTH; an unknown CA; SMTPUTF8) and
# Postfix's smtp-sink (5xx greeting, 5xx EHLO/HELO, 4xx MAIL, 5xx RCPT, a drop after
# DATA, a stalled greeting, no 8BITMIME, ESC in a reply) on loopback, stops them by PID (also when a
# case fails), runs every case and prints "tools: N passed, N failed". Each case
# checks the exit status of doc/smtp-send.1's table and what the server stored (or that
# nothing was stored); composed and signed messages are parsed back by Python's email
# package and their DKIM signatures (one, or two keys at once) verified by dkimpy
# (tests/integration/compose_check.py), with keys made here. No case is skipped: a
# server that does not start fails the run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
servers="$top/tests/servers"
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
T="$build/tools/smtp-send"
PY=/usr/bin/python3
[ -x "$T" ] || { echo "tools: $T is not built"; exit 1; }

R=$(mktemp -d /tmp/smtptools.XXXXXX)
chmod 755 "$R"
SINKS="sink-greet sink-ehlo sink-defer sink-reject sink-drop sink-stall sink-no8bit sink-escape"
AIOS="aio aio-tls aio-noauth aio-unknownca aio-utf8"
stop_all() {
    for s in $AIOS; do
        [ -f "$R/$s/aiosmtpd.pid" ] && sh "$servers/aiosmtpd.sh" stop "$R/$s"
    done
    for s in $SINKS; do
        [ -f "$R/$s/smtp-sink.pid" ] && sh "$servers/smtp-sink.sh" stop "$R/$s"
    done
    rm -rf "$R"
}
trap stop_all EXIT
trap 'exit 1' INT TERM

die() { echo "tools: $*"; exit 1; }
USER_NAME=tester@example.org
PASSWORD='s3cret-Pa55'
sh "$servers/make-certs.sh" "$R/certs" >/dev/null || die "no certificates"
C="$R/certs"
start_aio() { # NAME [options]
    name=$1
    shift
    sh "$servers/aiosmtpd.sh" start "$R/$name" "$@" || die "aiosmtpd $name did not start"
}
start_sink() { # NAME [options]
    name=$1
    shift
    sh "$servers/smtp-sink.sh" start "$R/$name" "$@" || die "smtp-sink $name did not start"
}
AIO=$(start_aio aio) || exit 1
AIO_TLS=$(start_aio aio-tls --tls-cert "$C/good.pem" --tls-key "$C/good.key" \
    --auth-user "$USER_NAME" --auth-password "$PASSWORD" --auth-require-tls) || exit 1
AIO_NOAUTH=$(start_aio aio-noauth --tls-cert "$C/good.pem" --tls-key "$C/good.key") || exit 1
AIO_BADCA=$(start_aio aio-unknownca --tls-cert "$C/unknownca.pem" \
    --tls-key "$C/unknownca.key") || exit 1
AIO_UTF8=$(start_aio aio-utf8 --smtputf8) || exit 1
SINK_GREET=$(start_sink sink-greet -f CONNECT -B "554 5.3.2 No service for you") || exit 1
SINK_EHLO=$(start_sink sink-ehlo -f EHLO,HELO -B "550 5.7.1 Client host rejected") || exit 1
SINK_DEFER=$(start_sink sink-defer -r MAIL -b "451 4.7.1 Greylisted, try later") || exit 1
SINK_REJECT=$(start_sink sink-reject -f RCPT -B "550 5.1.1 No such user") || exit 1
SINK_DROP=$(start_sink sink-drop -q DATA) || exit 1
SINK_STALL=$(start_sink sink-stall -W CONNECT:30) || exit 1
SINK_NO8BIT=$(start_sink sink-no8bit -8) || exit 1
SINK_ESCAPE=$(start_sink sink-escape -f RCPT -B "$(printf '550 5.1.1 evil \033[31mred\033[0m')") || exit 1
STORE="$R/aio/aiosmtpd"
TLS_STORE="$R/aio-tls/aiosmtpd"
PLAIN="smtp://127.0.0.1:$AIO?tls=none"
TLSURL="smtp://127.0.0.1:$AIO_TLS"

# no configuration or password from the person running the tests
export XDG_CONFIG_HOME="$R/xdg"
export HOME="$R/home"
mkdir -p "$XDG_CONFIG_HOME/smtp-send" "$HOME"
unset SMTP_PASSWORD

passed=0
failed=0
OUT="$R/stdout"
ERR="$R/stderr"
status=0

# run STDIN ARGS...: runs smtp-send with STDIN (a file) as standard input
run() {
    input=$1
    shift
    status=0
    "$T" "$@" <"$input" >"$OUT" 2>"$ERR" || status=$?
}
# run_as NAME STDIN ARGS...: the same through a link named NAME (sendmail)
run_as() {
    link="$R/bin/$1"
    input=$2
    shift 2
    status=0
    "$link" "$@" <"$input" >"$OUT" 2>"$ERR" || status=$?
}
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAILED: $1: $2"
    sed 's/^/    stdout: /' "$OUT" | head -n 12
    sed 's/^/    stderr: /' "$ERR" | head -n 8
}
# expect CASE STATUS [TEXT]: the exit status, and TEXT (fixed string) in what the
# program printed (the report on stdout, messages on stderr)
expect() {
    if [ "$status" -ne "$2" ]; then
        fail "$1" "exit status $status, expected $2"
    elif [ $# -ge 3 ] && ! cat "$OUT" "$ERR" | grep -qF -- "$3"; then
        fail "$1" "output lacks: $3"
    else
        pass
    fi
}
# that CASE CONDITION...: one more assertion, counted on its own
that() {
    name=$1
    shift
    if "$@"; then pass; else fail "$name" "not true: $*"; fi
}
count() { ls "$1"/*.eml 2>/dev/null | wc -l; }
last_eml() { ls "$1"/*.eml | sort | tail -n 1; }
last_json() { l=$(last_eml "$1"); echo "${l%.eml}.json"; }
# json_field FILE EXPR: a Python expression over the record j
json_field() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
contains() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qiF -- "$2" "$1"; }
empty() { [ ! -s "$1" ]; }
eq() { [ "$1" = "$2" ]; }

printf '%s\n' "$PASSWORD" >"$R/password"
MSG="$R/msg.eml"
printf 'From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: test\n\nHello.\n' >"$MSG"
: >"$R/empty"
printf '\n\n' >"$R/blank"
printf 'Subject: x\n\nbad \000 octet\n' >"$R/nul"
"$PY" -c 'import sys; sys.stdout.write("Subject: x\n\n" + "y" * 999 + "\n")' >"$R/long"
printf 'From: a@example.org\nSubject: x\n\n8-bit: caf\303\251\n' >"$R/eightbit"

# ---- --help, --version, usage errors (exit 64, naming the option and the reason) ----
run "$MSG" --help
expect help 0
that help-synopsis contains "$OUT" "usage: smtp-send [--url URL | --account NAME]"
that help-sendmail contains "$OUT" "-t [-f ADDR] [-F NAME] [-i]"
that help-compose contains "$OUT" "--from ADDR --to ADDR --subject TEXT --text TEXT|@FILE"
that help-print contains "$OUT" "--print "
run "$MSG" -h
expect help-short 0
run "$MSG" --version
expect version 0
version=$(sed -n 's/^VERSION = //p' "$top/Makefile")
that version-text eq "$(cat "$OUT")" "smtp-send (libsmtp) $version"

usage() { # CASE EXPECTED-TEXT ARGS...
    name=$1
    text=$2
    shift 2
    run "$MSG" "$@"
    expect "$name" 64 "$text"
}
usage no-to "smtp-send: --to: missing" --url "$PLAIN"
usage no-url "smtp-send: --url: missing" --to bob@example.org
usage tls-bogus "--tls 'bogus': expected none, starttls, implicit or opportunistic" \
    --url "$PLAIN" --to bob@example.org --tls bogus
usage unknown-option "--frobnicate: unknown or ambiguous option" --frobnicate
usage missing-argument "--url: needs an argument" --to bob@example.org --url
usage url-space "--url 'smtp://mail example.org': the host 'mail example.org' contains a space" \
    --url "smtp://mail example.org" --to bob@example.org
usage url-port "--url 'smtp://127.0.0.1:99999': the port 99999 is out of range (1 to 65535)" \
    --url "smtp://127.0.0.1:99999" --to bob@example.org
usage url-scheme "--url 'smpt://mail.example.org': unknown scheme 'smpt' (expected smtp, smtps or lmtp)" \
    --url "smpt://mail.example.org" --to bob@example.org
usage url-password-hidden "--url 'smtp://me:****@bad host'" \
    --url "smtp://me:hunter2@bad host" --to bob@example.org
that url-password-not-shown lacks "$ERR" hunter2
usage envid-too-long "1 to 100 characters of printable ASCII (RFC 3461 4.4)" \
    --url "$PLAIN" --to bob@example.org --envid "$(printf '%0101d' 0)"
usage timeout-range "--timeout 0: out of range (1 to 86400 seconds)" \
    --url "$PLAIN" --to bob@example.org --timeout 0
usage timeout-number "--timeout '5s': not a number of seconds" \
    --url "$PLAIN" --to bob@example.org --timeout 5s
usage password-file-without-user "--password-file: needs --user" \
    --url "$PLAIN" --to bob@example.org --password-file "$MSG"
usage password-cmd-without-user "--password-cmd: needs --user" \
    --url "$PLAIN" --to bob@example.org --password-cmd "echo x"
usage two-password-sources "--password-cmd: conflicts with --password-file" \
    --url "$PLAIN" --to bob@example.org --user u --password-file "$MSG" --password-cmd "echo x"
usage user-without-password "--user: needs a password" \
    --url "$PLAIN" --to bob@example.org --user "$USER_NAME"
usage header-injection-F "-F: holds a line break or another control character" \
    --url "$PLAIN" --to bob@example.org -F "$(printf 'Eve\r\nBcc: victim@example.org')"
usage sendmail-flag-under-own-name "-o: unknown option" --url "$PLAIN" -oem bob@example.org
usage no-config-for-account "--account: there is no configuration file" \
    --account work --to bob@example.org
that usage-nothing-sent eq "$(count "$STORE")" 0

# ---- the message is checked before any connection (65, 66) ----
run "$R/empty" --url "$PLAIN" --to bob@example.org
expect empty-input 65 "the message on standard input is empty"
run "$R/blank" --url "$PLAIN" --to bob@example.org
expect blank-input 65 "is empty (only blank lines)"
run "$R/nul" --url "$PLAIN" --to bob@example.org
expect nul-octet 65 "line 3 holds a NUL octet"
run "$R/long" --url "$PLAIN" --to bob@example.org
expect long-line 65 "line 3 is 999 octets long"
run "$MSG" --url "$PLAIN" --to "not an address"
expect bad-address 65 "recipient 'not an address': not a valid address"
run "$MSG" --url "$PLAIN" --to bob@example.org -f "$(printf 'a@example.org\r\nRCPT TO:<x@example.org>')"
expect sender-injection 65 "not a valid address"
run "$MSG" --url "$PLAIN" --to "$(printf 'x\033[31m@example.org')"
expect escaped-output 65 'x\x1b[31m@example.org'
that no-raw-escape lacks "$ERR" "$(printf '\033')"
that checks-nothing-sent eq "$(count "$STORE")" 0
run "$MSG" --url "$PLAIN" --to bob@example.org --user "$USER_NAME" --password-file "$R/none"
expect password-file-missing 66 "--password-file $R/none: No such file or directory"
run "$MSG" --url "$PLAIN" --to bob@example.org --ca-file "$R/none"
expect ca-file-missing 66 "--ca-file $R/none"
run "$MSG" --config "$R/none" --to bob@example.org
expect config-missing 66 "--config $R/none"

# ---- sent, partially sent, refused, deferred: aiosmtpd ----
run "$MSG" --url "$PLAIN" --to bob@example.org
expect sent 0
that sent-report contains "$OUT" "outcome: sent"
that sent-stored eq "$(count "$STORE")" 1
eml=$(last_eml "$STORE")
that sent-date-added contains "$eml" "Date: "
that sent-message-id-added grep -q '^Message-ID: <[0-9]*\.[0-9a-f]*@example\.org>' "$eml"
run "$MSG" --url "$PLAIN" --to bob@example.org --quiet
expect quiet-success 0
that quiet-no-stdout empty "$OUT"
that quiet-no-stderr empty "$ERR"
run "$MSG" --url "$PLAIN" --to unknown@example.org --quiet
expect quiet-failure 69 "outcome: bounced"
that quiet-failure-no-stdout empty "$OUT"
run "$MSG" --url "$PLAIN" --to bob@example.org --to unknown@example.org
expect sent-partial 1
that partial-report contains "$OUT" "outcome: sent_partial"
run "$MSG" --url "$PLAIN" --to later@example.org --json
expect deferred-rcpt 75
that json-outcome eq "$(json_field "$OUT" 'j["outcome"]' 2>&1)" deferred
that json-verdict eq "$(json_field "$OUT" 'j["recipients"][0]["verdict"]' 2>&1)" deferred
stored=$(count "$STORE")
run "$MSG" --url "$PLAIN" --from alice@example.org --to bob@example.org --trace
expect trace 0 "C: MAIL FROM:<alice@example.org>"
that trace-server-lines contains "$ERR" "S: 250"

# ---- -t: recipients from To, Cc and Bcc; Bcc removed (aiosmtpd) ----
cat >"$R/t.eml" <<'EOF'
From: "Doe, Jane" <jane@example.org>
To: "Smith, Bob" <bob@example.org>,
  carol@example.org (Carol)
Cc: undisclosed-recipients:;,
	Team: dave@example.org, "E, Erin" <erin@example.org>;
Bcc: hidden@example.org,
 also-hidden@example.org
Subject: -t test

Body mentions Bcc: but only in the body.
EOF
run "$R/t.eml" --url "$PLAIN" -t --quiet
expect t-sent 0
json=$(last_json "$STORE")
eml=$(last_eml "$STORE")
that t-recipients eq "$(json_field "$json" '" ".join(sorted(j["rcpt_tos"]))')" \
    "also-hidden@example.org bob@example.org carol@example.org dave@example.org erin@example.org hidden@example.org"
that t-sender-from-header eq "$(json_field "$json" 'j["mail_from"]')" jane@example.org
that t-bcc-removed lacks "$eml" "hidden@example.org"
that t-bcc-header-removed sh -c '! grep -qi "^bcc:" "$1"' sh "$eml"
that t-body-kept contains "$eml" "Body mentions Bcc: but only in the body."
that t-cc-kept contains "$eml" "Team: dave@example.org"
printf 'From: a@example.org\nTo: undisclosed-recipients:;\n\nx\n' >"$R/t-none.eml"
run "$R/t-none.eml" --url "$PLAIN" -t
expect t-no-recipients 65 "-t: no recipient in To, Cc or Bcc"

# ---- composing: --subject, --text, --html, --attach, --inline, --header, --cc, --bcc,
# ---- --reply-to, --utf8, --dkim-*, --print (aiosmtpd; Python's email package and
# ---- dkimpy judge what the server stored, tests/integration/compose_check.py) ----
CHECK_PY="$top/tests/integration/compose_check.py"
K="$R/compose"
mkdir -p "$K"
"$PY" -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(3000) + b"\0\r\n.\r\n")' "$K/data.bin"
printf '\211PNG\r\n\032\n fake image' >"$K/logo.png"
printf 'Hello Bob,\n\nthe report is attached. Gr\303\274\303\237e!\n' >"$K/body.txt"
printf '<p>Hello <b>Bob</b> <img src="cid:logo.1"></p>\n' >"$K/page.html"
printf 'line one\nbad \000 octet\n' >"$K/nul.txt"
printf 'not \377 UTF-8\n' >"$K/latin1.txt"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null ||
    die "no RSA key"
openssl genpkey -algorithm ED25519 -out "$K/ed.pem" 2>/dev/null || die "no Ed25519 key"
SUBJ=$(printf 'Gr\303\274\303\237e aus K\303\266ln')  # "Gruesse aus Koeln", with umlauts
JOERG=$(printf 'J\303\266rg M\303\274ller')
MAERZ=$(printf 'Daten M\303\244rz.bin')
# composed CASE EXPECT-JSON FILE [--sink]: compose_check.py finds what EXPECT-JSON says
composed() {
    name=$1
    printf '%s\n' "$2" >"$K/$name.json"
    shift 2
    if "$PY" "$CHECK_PY" "$K/$name.json" "$@" >"$K/$name.out" 2>&1; then
        pass
    else
        failed=$((failed + 1))
        echo "FAILED: $name: compose_check.py:"
        sed 's/^/    /' "$K/$name.out" | head -n 12
    fi
}
# the header section is ASCII and non-ASCII text went into RFC 2047 encoded words
ascii_header() {
    "$PY" -c 'import sys; h=open(sys.argv[1],"rb").read().split(b"\r\n\r\n")[0]
sys.exit(0 if max(h) < 128 and b"=?utf-8?" in h.lower() else 1)' "$1"
}
# the header section holds raw UTF-8 (RFC 6532) and no encoded word
utf8_header() {
    "$PY" -c 'import sys; h=open(sys.argv[1],"rb").read().split(b"\r\n\r\n")[0]
sys.exit(0 if max(h) >= 128 and b"=?" not in h and h.decode("utf-8") else 1)' "$1"
}
full() { # the composing options of one complete message
    "$T" --from "$JOERG <jorg@example.org>" --to "Bob Example <bob@example.org>" \
        --to dave@example.org --cc '"Doe, Carol" <carol@example.org>' \
        --bcc hidden@example.org --reply-to 'Replies <replies@example.org>' \
        --subject "$SUBJ" --text "@$K/body.txt" --html "@$K/page.html" \
        --attach "$K/data.bin;type=application/octet-stream;name=$MAERZ" \
        --inline "$K/logo.png;cid=logo.1" --header 'X-Campaign: spring 2026' "$@" \
        <"$R/empty" >"$OUT" 2>"$ERR"
}
FULL_EXPECT=$(cat <<EOF
{"structure": "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/octet-stream)",
 "headers": {"Subject": "Gr\u00fc\u00dfe aus K\u00f6ln", "X-Campaign": "spring 2026"},
 "absent": ["Bcc"],
 "addresses": {"From": [["J\u00f6rg M\u00fcller", "jorg@example.org"]],
               "To": [["Bob Example", "bob@example.org"], ["", "dave@example.org"]],
               "Cc": [["Doe, Carol", "carol@example.org"]],
               "Reply-To": [["Replies", "replies@example.org"]]},
 "text": "Hello Bob,\n\nthe report is attached. Gr\u00fc\u00dfe!\n",
 "html": "<p>Hello <b>Bob</b> <img src=\"cid:logo.1\"></p>\n",
 "parts": [{"path": "1", "filename": "Daten M\u00e4rz.bin", "content_type": "application/octet-stream",
            "disposition": "attachment", "file": "$K/data.bin"},
           {"path": "0.1.1", "cid": "<logo.1>", "content_type": "image/png", "file": "$K/logo.png"}]}
EOF
)
stored=$(count "$STORE")
status=0
full --url "$PLAIN" --quiet || status=$?
expect compose-sent 0
that compose-stored eq "$(count "$STORE")" $((stored + 1))
eml=$(last_eml "$STORE")
json=$(last_json "$STORE")
composed compose-parsed "$FULL_EXPECT" "$eml"
that compose-envelope-bcc eq "$(json_field "$json" '" ".join(sorted(j["rcpt_tos"]))')" \
    "bob@example.org carol@example.org dave@example.org hidden@example.org"
that compose-envelope-from eq "$(json_field "$json" 'j["mail_from"]')" jorg@example.org
that compose-bcc-not-in-message lacks "$eml" "hidden@example.org"
that compose-encoded-words ascii_header "$eml"
that compose-date grep -q '^Date: [A-Z][a-z][a-z], [0-9]' "$eml"
that compose-message-id grep -q '^Message-ID: <[^@ ]*@example\.org>' "$eml"

# --print: the same message on standard output; no server, nothing sent
stored=$(count "$STORE")
status=0
full --print || status=$?
expect compose-print 0
composed compose-print-parsed "$FULL_EXPECT" "$OUT"
that compose-print-sent-nothing eq "$(count "$STORE")" "$stored"
that compose-print-no-bcc lacks "$OUT" "hidden@example.org"

# the text from standard input; Bcc alone; a recipient named twice goes once
printf 'typed on standard input\n' >"$K/stdin.txt"
run "$K/stdin.txt" --url "$PLAIN" --from a@example.org --bcc only@example.org \
    --subject stdin --text - --quiet
expect compose-text-stdin 0
eml=$(last_eml "$STORE")
composed compose-stdin-parsed '{"structure": "text/plain", "text": "typed on standard input\n",
 "absent": ["To", "Cc", "Bcc"]}' "$eml"
that compose-bcc-only eq "$(json_field "$(last_json "$STORE")" '",".join(j["rcpt_tos"])')" \
    only@example.org
run "$R/empty" --url "$PLAIN" --from a@example.org --to bob@example.org \
    --cc 'Bob again <bob@example.org>' --subject twice --text x --quiet
expect compose-duplicate 0
that compose-rcpt-once eq "$(json_field "$(last_json "$STORE")" '",".join(j["rcpt_tos"])')" \
    bob@example.org

# one recipient refused: sent to the other, exit 1
run "$R/empty" --url "$PLAIN" --from a@example.org --to bob@example.org \
    --to unknown@example.org --subject partial --text x --json
expect compose-partial 1
that compose-partial-json eq "$(json_field "$OUT" 'j["outcome"]' 2>&1)" sent_partial

# DKIM: rsa-sha256 and ed25519-sha256 (RFC 8463), verified by dkimpy
dkim_expect() { # SELECTOR KEY
    printf '{"headers": {"Subject": "signed"}, "dkim": [{"domain": "example.org", "selector": "%s", "key": "%s"}]}' "$1" "$2"
}
for kind in rsa ed; do
    run "$R/empty" --url "$PLAIN" --from 'Signer <signer@example.org>' --to bob@example.org \
        --subject signed --text 'signed text' --attach "$K/data.bin" \
        --dkim-domain example.org --dkim-selector "sel-$kind" --dkim-key "$K/$kind.pem" --quiet
    expect "compose-dkim-$kind" 0
    composed "compose-dkim-$kind-verified" "$(dkim_expect "sel-$kind" "$K/$kind.pem")" \
        "$(last_eml "$STORE")"
done
# a raw message on standard input, signed after Date and Message-ID were added
printf 'From: Signer <signer@example.org>\nTo: bob@example.org\nBcc: secret@example.org\nSubject: signed\n\nraw body\n' >"$K/raw.eml"
run "$K/raw.eml" --url "$PLAIN" --to bob@example.org \
    --dkim-domain example.org --dkim-selector sel-raw --dkim-key "$K/rsa.pem" --quiet
expect raw-dkim 0
eml=$(last_eml "$STORE")
composed raw-dkim-verified "$(dkim_expect sel-raw "$K/rsa.pem")" "$eml"
that raw-dkim-bcc-removed lacks "$eml" "secret@example.org"
that raw-dkim-one-signature eq "$(grep -c '^DKIM-Signature:' "$eml")" 1
# dual signing: ed25519-sha256 and rsa-sha256 at once, each key with its own
# selector; both verify on what the server stored, an altered copy fails both
# (compose_check.py), and the fields come in the order given
DUAL_EXPECT='{"headers": {"Subject": "signed"}, "dkim": [
 {"domain": "example.org", "selector": "sel-ed", "key": "'"$K/ed.pem"'"},
 {"domain": "example.net", "selector": "sel-rsa", "key": "'"$K/rsa.pem"'"}]}'
# dual STDIN ARGS...: run with the two signers
dual() {
    run "$@" --dkim-domain example.org --dkim-selector sel-ed --dkim-key "$K/ed.pem" \
        --dkim-domain example.net --dkim-selector sel-rsa --dkim-key "$K/rsa.pem"
}
# the selectors of the DKIM-Signature fields, top to bottom
selectors() {
    "$PY" -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb"))
print(" ".join([t.strip()[2:] for v in m.get_all("DKIM-Signature", []) for t in v.split(";") if t.strip().startswith("s=")]))' "$1"
}
dual "$R/empty" --url "$PLAIN" --from 'Signer <signer@example.org>' --to bob@example.org \
    --subject signed --text 'signed twice' --attach "$K/data.bin" --quiet
expect compose-dkim-dual 0
eml=$(last_eml "$STORE")
composed compose-dkim-dual-verified "$DUAL_EXPECT" "$eml"
that compose-dkim-dual-order eq "$(selectors "$eml")" "sel-ed sel-rsa"
dual "$K/raw.eml" --url "$PLAIN" --to bob@example.org --quiet
expect raw-dkim-dual 0
eml=$(last_eml "$STORE")
composed raw-dkim-dual-verified "$DUAL_EXPECT" "$eml"
that raw-dkim-dual-order eq "$(selectors "$eml")" "sel-ed sel-rsa"
that raw-dkim-dual-bcc-removed lacks "$eml" "secret@example.org"
dual "$K/raw.eml" --print --to bob@example.org
expect raw-dkim-dual-print 0
that raw-dkim-dual-print-order eq "$(selectors "$OUT")" "sel-ed sel-rsa"
composed raw-dkim-dual-print-checked "$DUAL_EXPECT" "$OUT" --sink
# "Name <addr>" on the command line of a raw message: the address for the
# envelope, the name for the From field added to a message without one
printf 'Subject: no From\n\nbody\n' >"$K/nofrom.eml"
run "$K/nofrom.eml" --url "$PLAIN" --from '"Example, Ann" <ann@example.org>' \
    --to 'Bob Example <bob@example.org>' --quiet
expect raw-name-addr 0
that raw-name-addr-envelope eq "$(json_field "$(last_json "$STORE")" 'j["mail_from"]+" "+",".join(j["rcpt_tos"])')" \
    "ann@example.org bob@example.org"
that raw-name-addr-from contains "$(last_eml "$STORE")" 'From: "Example, Ann" <ann@example.org>'
run "$MSG" --print --to bob@example.org
expect raw-print 0
that raw-print-body contains "$OUT" "Hello."
that raw-print-date contains "$OUT" "Date: "

# --attach with a quoted name: ';', '=' and an escaped quote are the name's
run "$R/empty" --url "$PLAIN" --from a@example.org --to bob@example.org --subject quoted \
    --text x --attach "$K/data.bin;name=\"Q1; final \\\"v2\\\" = ok.bin\";type=application/octet-stream" \
    --quiet
expect attach-quoted-name 0
composed attach-quoted-name-parsed '{"structure": "multipart/mixed(text/plain,application/octet-stream)",
 "parts": [{"path": "1", "filename": "Q1; final \"v2\" = ok.bin",
            "content_type": "application/octet-stream", "file": "'"$K/data.bin"'"}]}' \
    "$(last_eml "$STORE")"

# over STARTTLS with AUTH
run "$R/empty" --url "$TLSURL" --ca-file "$C/ca.pem" --user "$USER_NAME" \
    --password-file "$R/password" --from "$USER_NAME" --to bob@example.org \
    --subject 'over TLS' --text 'sent over STARTTLS' --quiet
expect compose-tls-auth 0
json=$(last_json "$TLS_STORE")
that compose-tls-auth-user eq "$(json_field "$json" 'j["auth_user"]')" "$USER_NAME"
that compose-tls eq "$(json_field "$json" 'j["tls"]')" True
composed compose-tls-parsed '{"headers": {"Subject": "over TLS"}, "text": "sent over STARTTLS\n"}' \
    "$(last_eml "$TLS_STORE")"

# --utf8: RFC 6532 header fields and RFC 6531 addresses, to a server with SMTPUTF8
JOERG_ADDR=$(printf 'j\303\266rg@example.org')
ZOE=$(printf 'Zo\303\253 <zo\303\253@example.net>')
run "$R/empty" --url "smtp://127.0.0.1:$AIO_UTF8?tls=none" --utf8 --from "$JOERG <$JOERG_ADDR>" \
    --to "$ZOE" --subject "$SUBJ" --text "$SUBJ" --quiet
expect compose-utf8 0
eml=$(last_eml "$R/aio-utf8/aiosmtpd")
that compose-utf8-smtputf8 eq "$(json_field "$(last_json "$R/aio-utf8/aiosmtpd")" 'j["smtputf8"]')" True
that compose-utf8-raw-header utf8_header "$eml"
composed compose-utf8-parsed '{"utf8": true, "headers": {"Subject": "Gr\u00fc\u00dfe aus K\u00f6ln"},
 "addresses": {"From": [["J\u00f6rg M\u00fcller", "j\u00f6rg@example.org"]],
               "To": [["Zo\u00eb", "zo\u00eb@example.net"]]}}' "$eml"
# ASCII addresses, raw UTF-8 only in the header fields: SMTPUTF8 all the same
run "$R/empty" --url "smtp://127.0.0.1:$AIO_UTF8?tls=none" --utf8 --from "$JOERG <a@example.org>" \
    --to bob@example.org --subject "$SUBJ" --text x --quiet
expect compose-utf8-ascii-addresses 0
that compose-utf8-ascii-smtputf8 eq "$(json_field "$(last_json "$R/aio-utf8/aiosmtpd")" 'j["smtputf8"]')" True
that compose-utf8-ascii-raw-header utf8_header "$(last_eml "$R/aio-utf8/aiosmtpd")"
run "$R/empty" --url "$PLAIN" --from "$JOERG_ADDR" --to bob@example.org --text x
expect compose-utf8-local-part-needs-utf8 65 "a UTF-8 local part needs --utf8"
run "$R/empty" --url "$PLAIN" --utf8 --from a@example.org --to bob@example.org --subject "$SUBJ" --text x
expect compose-utf8-server-without-smtputf8 69 "SMTP_EUTF8"

# files: unreadable 66, no UTF-8 text 65, not a key 64
compose_run() { run "$R/empty" --url "$PLAIN" --from a@example.org --to bob@example.org "$@"; }
stored=$(count "$STORE")
compose_run --text "@$K/none.txt"
expect compose-text-missing 66 "--text @$K/none.txt: No such file or directory"
compose_run --text x --attach "$K/none.bin"
expect compose-attach-missing 66 "--attach $K/none.bin: No such file or directory"
compose_run --text x --attach "$K"
expect compose-attach-directory 66 "not a regular file"
compose_run --html x --inline "$K/none.png;cid=a"
expect compose-inline-missing 66 "--inline $K/none.png"
compose_run --text x --dkim-domain example.org --dkim-selector s --dkim-key "$K/none.pem"
expect compose-dkim-key-missing 66 "--dkim-key $K/none.pem"
compose_run --text x --dkim-domain example.org --dkim-selector s --dkim-key "$K/body.txt"
expect compose-dkim-not-a-key 64 "not a private key"
compose_run --text "@$K/nul.txt"
expect compose-text-nul 65 "line 2 holds a NUL octet"
compose_run --html "@$K/latin1.txt"
expect compose-html-not-utf8 65 "line 1 is not UTF-8 text"
compose_run --text x --attach "$K/data.bin;type=multipart/mixed"
expect compose-attach-bad-type 64 "type= must be a media type"
compose_run --text x --header 'Subject: again'
expect compose-header-owned 64 "a field the composer writes itself"
run "$R/empty" --url "$PLAIN" --to bob@example.org --subject x
expect compose-no-from 64 "--from: missing"
run "$R/empty" --url "$PLAIN" --from a@example.org --subject x
expect compose-no-rcpt 64 "--to: missing: give --to, --cc or --bcc"
that compose-refusals-sent-nothing eq "$(count "$STORE")" "$stored"

# what the composing options exclude or need together (64)
compose_run -t --subject x
expect compose-with-t 64 "-t: reads the message and its recipients from standard input"
compose_run --text x --dkim-domain example.org --dkim-key "$K/rsa.pem"
expect compose-dkim-incomplete 64 "needs --dkim-selector"
compose_run --text x --dkim-domain example.org --dkim-selector s --dkim-key "$K/rsa.pem" \
    --dkim-domain example.net --dkim-selector t
expect compose-dkim-second-incomplete 64 "--dkim-domain: signature 2 ('example.net') needs --dkim-key"
run "$K/raw.eml" --url "$PLAIN" --to bob@example.org --dkim-domain example.org \
    --dkim-selector s --dkim-key "$K/rsa.pem" --dkim-key "$K/ed.pem"
expect raw-dkim-second-incomplete 64 "signature 2 ('$K/ed.pem') needs --dkim-domain and --dkim-selector"
compose_run --text x --attach "$K/data.bin;name=\"unterminated"
expect compose-attach-unterminated-quote 64 "a quote opened and not closed"
compose_run --text x --notify success
expect compose-notify 64 "--notify: not available for a composed message"
compose_run --text - --html -
expect compose-stdin-twice 64 "--html: '-': standard input is already --text's"
compose_run --text x --inline "$K/logo.png;cid=a"
expect compose-inline-without-html 64 "--inline: needs --html"
compose_run --utf8
expect utf8-alone 64 "--utf8: only for a composed message"

# injection: a line break in any new option is refused, never a header line
LB=$(printf '\r\nBcc: victim@example.org')
inject() { # CASE STATUS TEXT ARGS...
    name=$1
    st=$2
    text=$3
    shift 3
    compose_run "$@"
    expect "inject-$name" "$st" "$text"
}
inject subject 64 "--subject: holds a line break" --subject "x$LB" --text x
inject subject-lf 64 "--subject: holds a line break" --subject "$(printf 'x\nBcc: v@example.org')" --text x
inject header-value 64 "--header: holds a line break" --header "X-A: 1$LB" --text x
inject header-name 64 "the field name holds a space, a control character" --header "X-A$LB: 1" --text x
inject cc 65 "--cc 'c@example.org" --cc "c@example.org$LB" --text x
inject bcc 65 "--bcc 'b@example.org" --bcc "b@example.org$LB" --text x
inject reply-to 65 "--reply-to 'r@example.org" --reply-to "r@example.org$LB" --text x
inject to-name 65 "recipient 'Bob" --to "Bob$LB <bob@example.org>" --text x
inject attach-name 64 "--attach ...;name=: holds a line break" --attach "$K/data.bin;name=a$LB" --text x
inject attach-type 64 "--attach ...;type=: holds a line break" --attach "$K/data.bin;type=text/plain$LB" --text x
inject inline-cid 64 "--inline ...;cid=: holds a line break" --inline "$K/logo.png;cid=a$LB" --html x
inject dkim-domain 64 "--dkim-domain: holds a line break" --text x \
    --dkim-domain "example.org$LB" --dkim-selector s --dkim-key "$K/rsa.pem"
inject dkim-selector 64 "--dkim-selector: holds a line break" --text x \
    --dkim-domain example.org --dkim-selector "s$LB" --dkim-key "$K/rsa.pem"
inject full-name 64 "-F: holds a line break" -F "Eve$LB" --text x
run "$R/empty" --url "$PLAIN" --from "Eve <eve@example.org>$LB" --to bob@example.org --text x
expect inject-from 65 "--from 'Eve <eve@example.org>"
run "$R/empty" --url "$PLAIN" --from a@example.org --to bob@example.org --text x \
    --subject "$(printf 'x\033[31mred')"
expect inject-escape-shown-escaped 64 "--subject: holds a line break or another control character"
that inject-sent-nothing eq "$(count "$STORE")" "$stored"

# ---- TLS and AUTH (aiosmtpd with STARTTLS and AUTH over TLS) ----
tls() { run "$MSG" --url "$TLSURL" --ca-file "$C/ca.pem" --to bob@example.org "$@"; }
tls --user "$USER_NAME" --password-file "$R/password" --quiet
expect auth-password-file 0
that auth-user-recorded eq "$(json_field "$(last_json "$TLS_STORE")" 'j["auth_user"]')" "$USER_NAME"
that auth-over-tls eq "$(json_field "$(last_json "$TLS_STORE")" 'j["tls"]')" True
tls --user "$USER_NAME" --password-cmd "cat; printf '%s\\nsecond line\\n' '$PASSWORD'" --quiet
expect auth-password-cmd 0
SMTP_PASSWORD="$PASSWORD" tls --user "$USER_NAME" --quiet
expect auth-password-env 0
tls --user "$USER_NAME" --password-cmd "exit 3"
expect password-cmd-fails 78 "--password-cmd 'exit 3': exited with status 3"
tls --user "$USER_NAME" --password-cmd "printf wrong-password" --trace
expect auth-refused 77 "SMTP_EAUTH"
for secret in "\0$USER_NAME\0wrong-password" "wrong-password"; do
    b64=$("$PY" -c 'import base64,sys; print(base64.b64encode(sys.argv[1].encode().decode("unicode_escape").encode()).decode())' "$secret")
    that trace-hides-password lacks "$ERR" "$b64"
done
that trace-shows-auth contains "$ERR" "C: AUTH"
run "$MSG" --url "smtp://127.0.0.1:$AIO_NOAUTH" --ca-file "$C/ca.pem" --to bob@example.org \
    --user "$USER_NAME" --password-file "$R/password"
expect auth-no-mechanism 77 "SMTP_ENOMECH"
run "$MSG" --url "smtp://127.0.0.1:$AIO_BADCA" --ca-file "$C/ca.pem" --to bob@example.org
expect certificate-unverified 78 "SMTP_ECERT"
run "$MSG" --url "smtp://127.0.0.1:$AIO" --to bob@example.org
expect starttls-missing 78 "SMTP_ENOTLS"

# ---- accounts in the configuration file ----
CFG="$XDG_CONFIG_HOME/smtp-send/config"
cat >"$CFG" <<EOF
# accounts for the tests
[default]
url = $TLSURL
user = $USER_NAME
password = "$PASSWORD"
ca-file = $C/ca.pem
from = account@example.org
timeout = 20

[plain]
url = $PLAIN
tls = none
EOF
chmod 600 "$CFG"
run "$MSG" --to bob@example.org --quiet
expect config-default 0
json=$(last_json "$TLS_STORE")
that config-default-auth eq "$(json_field "$json" 'j["auth_user"]')" "$USER_NAME"
that config-from-account eq "$(json_field "$json" 'j["mail_from"]')" account@example.org
run "$MSG" --account plain --to bob@example.org --quiet
expect config-account 0
that config-from-header eq "$(json_field "$(last_json "$STORE")" 'j["mail_from"]')" alice@example.org
chmod 644 "$CFG"
stored=$(count "$TLS_STORE")
run "$MSG" --to bob@example.org
expect config-readable-refused 78 "holds a password and group or others may read it"
that config-refused-nothing-sent eq "$(count "$TLS_STORE")" "$stored"
chmod 600 "$CFG"
cp "$CFG" "$R/other-config"
chmod 600 "$R/other-config"
printf '[x]\ncolour = blue\n' >"$R/bad-config"
chmod 600 "$R/bad-config"
run "$MSG" --config "$R/bad-config" --account x --to bob@example.org
expect config-unknown-key 78 "$R/bad-config:2: unknown key 'colour'"
cat >"$CFG" <<EOF
[default]
url = $TLSURL
user = $USER_NAME
password-cmd = printf '%s\\n' '$PASSWORD'
ca-file = $C/ca.pem
EOF
chmod 644 "$CFG"
run "$MSG" --to bob@example.org --quiet
expect config-password-cmd-readable-ok 0
rm -f "$CFG"

# ---- the exit statuses a server decides (smtp-sink, a refused port, a bad name) ----
sink() { run "$MSG" --url "smtp://127.0.0.1:$1?tls=none" --to bob@example.org --timeout 2; }
sink "$SINK_REJECT"
expect bounced-rcpt 69 "outcome: bounced"
sink "$SINK_DEFER"
expect deferred-mail 75 "outcome: deferred"
sink "$SINK_GREET"
expect greeting-refused 76 "failed at greeting"
sink "$SINK_EHLO"
expect ehlo-refused 76 "failed at ehlo"
sink "$SINK_DROP"
expect dropped-after-data 75 "SMTP_ECLOSED"
sink "$SINK_STALL"
expect stalled-greeting-timeout 75 "SMTP_ETIMEDOUT"
run "$R/eightbit" --url "smtp://127.0.0.1:$SINK_NO8BIT?tls=none" --to bob@example.org
expect eight-bit-without-8bitmime 65 "8BITMIME"
run "$MSG" --url "smtp://127.0.0.1:$SINK_ESCAPE?tls=none" --to bob@example.org --trace
expect server-escape 69 'S: 550 5.1.1 evil \x1b[31mred\x1b[0m'
that server-escape-no-raw-esc-stdout lacks "$OUT" "$(printf '\033')"
that server-escape-no-raw-esc-stderr lacks "$ERR" "$(printf '\033')"
closed=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run "$MSG" --url "smtp://127.0.0.1:$closed?tls=none" --to bob@example.org
expect connection-refused 75 "SMTP_ECONNECT"
run "$MSG" --url "smtp://nonexistent.invalid?tls=none" --to bob@example.org
expect unknown-host 68 "SMTP_ERESOLVE"

# ---- invoked as sendmail (a link), with the flags of cron, PHP, git, mutt ----
mkdir -p "$R/bin"
ln -s "$T" "$R/bin/sendmail"
printf '[default]\nurl = %s\nfrom = cron@example.org\n' "$PLAIN" >"$CFG"
chmod 600 "$CFG"
cat >"$R/cron.eml" <<'EOF'
From: root (Cron Daemon)
To: ops@example.org
Subject: Cron <root@host> /usr/local/bin/nightly
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>

nightly: 3 files rotated
EOF
run_as sendmail "$R/cron.eml" -FCronDaemon -i -B8BITMIME -oem ops@example.org
expect sendmail-cron 0
that sendmail-quiet empty "$OUT"
json=$(last_json "$STORE")
that cron-envelope eq "$(json_field "$json" 'j["mail_from"]+" "+",".join(j["rcpt_tos"])')" \
    "cron@example.org ops@example.org"
that cron-message-id grep -q '^Message-ID: <.*@example\.org>' "$(last_eml "$STORE")"
printf 'To: php-user@example.org\nSubject: from PHP\nX-PHP-Originating-Script: 0:x.php\n\nphp body\n' >"$R/php.eml"
run_as sendmail "$R/php.eml" -t -i -fphp@example.org
expect sendmail-php 0
eml=$(last_eml "$STORE")
that php-envelope eq "$(json_field "$(last_json "$STORE")" 'j["mail_from"]+" "+",".join(j["rcpt_tos"])')" \
    "php@example.org php-user@example.org"
that php-from-added contains "$eml" "From: <php@example.org>"
that php-date-added contains "$eml" "Date: "
cat >"$R/git.eml" <<'EOF'
From: Dev Eloper <dev@example.org>
To: list@example.org
Cc: Rev Iewer <rev@example.org>
Subject: [PATCH] fix the thing
Date: Mon, 2 Feb 2026 10:00:00 +0100
Message-ID: <20260202090000.1-dev@example.org>
X-Mailer: git-send-email 2.39.5

---
 a | 1 +
EOF
run_as sendmail "$R/git.eml" -i -f dev@example.org list@example.org rev@example.org
expect sendmail-git 0
eml=$(last_eml "$STORE")
that git-recipients eq "$(json_field "$(last_json "$STORE")" '",".join(j["rcpt_tos"])')" \
    "list@example.org,rev@example.org"
that git-one-date eq "$(grep -c '^Date:' "$eml")" 1
that git-message-id-kept contains "$eml" "Message-ID: <20260202090000.1-dev@example.org>"
run_as sendmail "$MSG" -oem -oi -odi -bm -- bob@example.org
expect sendmail-mutt 0
run_as sendmail "$R/empty" -i -F 'Cron Daemon' --subject 'composed by sendmail' \
    --text 'nightly: ok' ops@example.org
expect sendmail-compose 0
composed sendmail-compose-parsed '{"headers": {"Subject": "composed by sendmail"},
 "addresses": {"From": [["Cron Daemon", "cron@example.org"]], "To": [["", "ops@example.org"]]},
 "text": "nightly: ok\n"}' "$(last_eml "$STORE")"
printf 'Subject: dot\n\nbefore\n.\nafter the dot\n' >"$R/dot.eml"
run_as sendmail "$R/dot.eml" bob@example.org
expect sendmail-dot-ends 0
that dot-ends-message lacks "$(last_eml "$STORE")" "after the dot"
run_as sendmail "$R/dot.eml" -i bob@example.org
expect sendmail-dot-with-i 0
that dot-kept-with-i contains "$(last_eml "$STORE")" "after the dot"
stored=$(count "$STORE")
run_as sendmail "$MSG" -bs
expect sendmail-bs 64 "sendmail: -bs: SMTP on standard input is not supported"
run_as sendmail "$MSG" -bd
expect sendmail-bd 64 "sendmail: -bd: running as a daemon is not supported"
run_as sendmail "$MSG" -bp
expect sendmail-bp 64 "sendmail: -bp:"
run_as sendmail "$MSG" -q1h
expect sendmail-q 64 "sendmail: -q: there is no mail queue to run"
run_as sendmail "$MSG" -oQ/var/spool bob@example.org
expect sendmail-unknown-o 64 "sendmail: -oQ/var/spool: not a sendmail option"
run_as sendmail "$MSG" -F "$(printf 'Eve\nBcc: victim@example.org')" bob@example.org
expect sendmail-F-injection 64 "-F: holds a line break"
run_as sendmail "$R/empty" bob@example.org
expect sendmail-empty 65 "is empty"
run_as sendmail "$MSG" -t -i --subject x
expect sendmail-t-compose 64 "sendmail: -t: reads the message and its recipients from standard input"
that sendmail-refusals-nothing-sent eq "$(count "$STORE")" "$stored"
run_as sendmail "$MSG" unknown@example.org
expect sendmail-bounce 69 "outcome: bounced"
that sendmail-bounce-report-on-stderr empty "$OUT"
rm -f "$CFG"
run_as sendmail "$MSG" bob@example.org
expect sendmail-no-config 64 "sendmail: --url: missing"

echo "tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
