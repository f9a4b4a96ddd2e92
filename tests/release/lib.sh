# lib.sh (sourced by the release checks): counting results.
#   ok                one more passed
#   bad MESSAGE...    one more failed, with "FAILED: MESSAGE"
#   summary NAME      prints "NAME: N passed, N failed"; true when none failed
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
summary() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
