#!/bin/sh
# docs.sh: the documentation cannot drift from the code.
#   - every man page in doc/ is clean under `mandoc -T lint` (a cross-reference to
#     one of our own pages is checked against doc/, since mandoc looks for it only
#     among the installed pages);
#   - doc/libsmtp.3 names every public function of include/smtp.h with .Fn, and
#     no function the header does not declare;
#   - README's API map names every public function, and no smtp_ name the header
#     does not know;
#   - README's C example compiles warning-free.
# Prints "docs: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/smtpdocs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
/usr/bin/python3 tests/release/public_api.py include/smtp.h >"$tmp/api" || exit 1
[ -s "$tmp/api" ] || { echo "docs: no public function found in include/smtp.h"; exit 1; }

for page in doc/*.[0-9]; do
    mandoc -T lint "$page" >"$tmp/lint" 2>&1
    : >"$tmp/left"
    while IFS= read -r line; do
        xr=$(printf '%s\n' "$line" | sed -n 's/.*STYLE: referenced manual not found: Xr \([^ ]*\) \([0-9]\).*/\1.\2/p')
        if [ -n "$xr" ] && [ -f "doc/$xr" ]; then
            continue
        fi
        printf '%s\n' "$line" >>"$tmp/left"
    done <"$tmp/lint"
    if [ -s "$tmp/left" ]; then
        bad "mandoc -T lint $page:"
        cat "$tmp/left"
    else
        ok
    fi
done

grep -o 'Fn smtp_[a-z0-9_]*' doc/libsmtp.3 | sed 's/^Fn //' | sort -u >"$tmp/man"
# the API map: from its heading to the next heading (a line underlined with dashes)
awk '/^The API map \(include\/smtp.h\)$/ { on = 1; n = 0 }
     on { line[++n] = $0 }
     on && n > 2 && /^-+$/ { exit }
     END { for (i = 1; i < n - 1; i++) print line[i] }' README |
    grep -o 'smtp_[a-z0-9_]*' | sort -u >"$tmp/readme"
grep -o 'smtp_[a-z0-9_]*' include/smtp.h | sort -u >"$tmp/header-names"

check_names() { # WHAT LISTFILE
    missing=$(sort -u "$tmp/api" | comm -23 - "$2" | tr '\n' ' ')
    if [ -n "$missing" ]; then
        bad "$1 lacks: $missing"
    else
        ok
    fi
}
check_names doc/libsmtp.3 "$tmp/man"
check_names "README's API map" "$tmp/readme"
stale=$(sort -u "$tmp/api" | comm -13 - "$tmp/man" | tr '\n' ' ')
if [ -n "$stale" ]; then bad "doc/libsmtp.3 names functions include/smtp.h lacks: $stale"; else ok; fi
stale=$(comm -13 "$tmp/header-names" "$tmp/readme" | tr '\n' ' ')
if [ -n "$stale" ]; then bad "README's API map names what include/smtp.h lacks: $stale"; else ok; fi

# the README's C example (the indented block from "#include <smtp.h>" to its first
# closing brace at the margin) compiles warning-free against the header
awk '/^    #include <smtp.h>$/ { on = 1 }
     on { print substr($0, 5) }
     on && /^    }$/ { exit }' README >"$tmp/example.c"
if [ ! -s "$tmp/example.c" ]; then
    bad "README has no C example starting with #include <smtp.h>"
elif ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror -Iinclude \
        -fsyntax-only "$tmp/example.c" 2>"$tmp/cc"; then
    ok
else
    bad "README's C example does not compile:"
    cat "$tmp/cc"
fi

summary docs
