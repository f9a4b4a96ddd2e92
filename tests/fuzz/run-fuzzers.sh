#!/bin/sh
# `make fuzz`: builds each target with libFuzzer + ASan + UBSan and runs it for
# FUZZ_SECONDS (default 60) on a scratch copy of its corpus; then runs the engine
# oracle (tests/unit/test_oracle.c, with ASan + UBSan) over ORACLE_RUN scenarios
# (default 1,000,000) from a random seed, which it prints with any failure.
# Inputs that crash a target are kept in build/fuzz-artifacts/<target>/ (never in
# the directory it was started from); the script names them when there are any.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
out=$(mktemp -d /tmp/smtpfuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM
artifacts=$top/build/fuzz-artifacts
flags="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I$top/include -I$top/lib"
for src in "$here"/fuzz_*.c; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    clang $flags -o "$out/$name" "$src" "$top"/lib/*/*.c -lssl -lcrypto -lidn2 -lunistring -lpthread
    mkdir -p "$out/corpus-$target" "$artifacts/$target"
    cp "$here/corpus/$target"/* "$out/corpus-$target/"
    echo "== $name for $secs s"
    "$out/$name" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$target/" "$out/corpus-$target" 2>&1 |
        grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
    found=$(ls "$artifacts/$target")
    [ -z "$found" ] || echo "   crash inputs kept in build/fuzz-artifacts/$target/: $found"
done
runs=${ORACLE_RUN:-1000000}
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
clang -std=c11 -D_GNU_SOURCE -g -O2 -fsanitize=address,undefined -fno-sanitize-recover=all \
    -I"$top/include" -I"$top/lib" -I"$top/tests/unit" -o "$out/test_oracle" \
    "$top/tests/unit/test_oracle.c" "$top"/lib/*/*.c -lssl -lcrypto -lidn2 -lunistring -lpthread
echo "== test_oracle: $runs scenarios from seed $seed"
start=$(date +%s)
status=0
ORACLE_SEED=$seed ORACLE_SCENARIOS=$runs "$out/test_oracle" || status=$?
echo "test_oracle took $(( $(date +%s) - start )) s (replay one: ORACLE_SEED=<seed> ORACLE_SCENARIOS=1)"
exit $status
