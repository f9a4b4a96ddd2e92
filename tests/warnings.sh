#!/bin/sh
# The library, examples and tests compile without a single warning under gcc and
# clang with the project's warning set, treated as errors here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top"
status=0
for cc in gcc clang; do
    if make -s BUILD="build-warn-$cc" CC="$cc" CFLAGS="-O2 -Werror" all tests >/dev/null 2>"build-warn-$cc.log"; then
        echo "warnings ($cc): none"
    else
        echo "warnings ($cc): FAILED"; cat "build-warn-$cc.log"; status=1
    fi
    rm -rf "build-warn-$cc" "build-warn-$cc.log"
done
exit $status
