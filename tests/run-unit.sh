#!/bin/sh
# Runs the unit test binaries given as arguments (under valgrind when VALGRIND=1)
# and prints "unit: N passed, N failed" over all of them. test_tls needs the test
# certificates, made here into a temporary directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
certs=$(mktemp -d /tmp/smtpunit.XXXXXX)
trap 'rm -rf "$certs"' EXIT INT TERM
sh "$here/servers/make-certs.sh" "$certs" >/dev/null || exit 1
export SMTP_TEST_CERTS="$certs"
runner=""
if [ "${VALGRIND:-0}" = 1 ]; then
    runner="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
fi
passed=0
failed=0
for t in "$@"; do
    if $runner "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $t"
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
