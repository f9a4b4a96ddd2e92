#!/bin/sh
# Replays each fuzz target's checked-in corpus (no libFuzzer needed).
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for src in "$here"/fuzz_*.c; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    if "$build/tests/replay_$name" "$here/corpus/$target" >/dev/null; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: corpus replay of $name"
    fi
done
echo "fuzz corpus replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
