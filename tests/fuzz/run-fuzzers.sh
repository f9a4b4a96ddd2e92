#!/bin/sh
# `make fuzz`: builds each target with libFuzzer + ASan + UBSan and runs it for
# FUZZ_SECONDS (default 60) on a scratch copy of its corpus.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
out=$(mktemp -d /tmp/smtpfuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM
flags="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I$top/include -I$top/lib"
for src in "$here"/fuzz_*.c; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    clang $flags -o "$out/$name" "$src" "$top"/lib/*/*.c -lssl -lcrypto -lidn2 -lunistring -lpthread
    mkdir -p "$out/corpus-$target"
    cp "$here/corpus/$target"/* "$out/corpus-$target/"
    echo "== $name for $secs s"
    "$out/$name" -max_total_time="$secs" -print_final_stats=1 "$out/corpus-$target" 2>&1 |
        grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
done
