#!/bin/sh
# abi.sh check | update: the library's ABI against the baseline abi/SONAME.abi
# (abidw/abidiff from Debian's abigail-tools).
#
#   check   (make check-abi, part of make check) fails when an interface of the
#           baseline was removed or changed (abidiff's "Removed" and "Changed"
#           counts, or its incompatible-change bit), or when the SONAME has no
#           baseline. Added functions and appended enumerators pass, and are listed.
#   update  (make abi-update) writes the baseline of the SONAME the build has. It
#           refuses to overwrite a baseline with an incompatible one: an incompatible
#           change needs SONAME_MAJOR bumped in the Makefile first, which makes a new
#           abi/libsmtp.so.N.abi beside the old one (delete the old one then).
#           ABI_ALLOW_BREAK=1 overrides that, for a SONAME no release has shipped yet.
#
# check also tests the comparison itself on edited copies of the baseline: a removed
# function and a changed return type must fail, an added function must pass.
#
# Only types reachable from include/ are recorded (--headers-dir, --drop-private-types):
# the layout of the library's own structures is not part of the ABI.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build="$top/$build" ;; esac
mode=${1:-check}

lib=$(readlink -f "$build/libsmtp.so")
[ -f "$lib" ] || { echo "abi: $build/libsmtp.so is not built"; exit 1; }
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
baseline="$top/abi/$soname.abi"
tmp=$(mktemp -d /tmp/smtpabi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

abidw --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
    --headers-dir "$top/include" --drop-private-types --out-file "$tmp/now.abi" "$lib"

# compare OLD NEW: prints the report; returns 0 when NEW only adds to OLD
compare() {
    rc=0
    abidiff --no-show-locs "$1" "$2" >"$tmp/report" 2>&1 || rc=$?
    if [ $((rc & 3)) -ne 0 ]; then
        cat "$tmp/report"
        echo "abi: abidiff failed (status $rc)"
        return 2
    fi
    # "Functions changes summary: 0 Removed, 1 Changed (4 filtered out), 2 Added ..."
    bad=$(grep -E 'changes summary:' "$tmp/report" |
        grep -cE '(^|[^0-9])[1-9][0-9]* (Removed|Changed)' || true)
    if [ $((rc & 8)) -ne 0 ] || [ "$bad" -ne 0 ]; then
        cat "$tmp/report"
        return 1
    fi
    if [ $((rc & 4)) -ne 0 ]; then
        echo "abi: compatible additions since the baseline:"
        sed -n 's/^ *\[A\] /  added: /p' "$tmp/report"
    fi
    return 0
}

# edit KIND IN OUT: the baseline with one function removed, or one return type changed
edit() {
    /usr/bin/python3 - "$@" <<'PY'
import re, sys
kind, src, out = sys.argv[1:4]
xml = open(src, encoding="utf-8").read()
decls = re.findall(r"<function-decl name='(smtp_\w+)'[^>]*>(.*?)</function-decl>", xml, re.S)
# the first function that returns int: its return type becomes 64 bits wide (a void
# function given a result would break no caller)
ints = re.search(r"<type-decl name='int' size-in-bits='32' id='(\w+)'", xml).group(1)
wide = re.search(r"<type-decl name='long int' size-in-bits='64' id='(\w+)'", xml).group(1)
name = next(n for n, body in decls if "<return type-id='%s'" % ints in body)
if kind == "removed":
    xml = re.sub(r"\n *<elf-symbol name='%s' [^\n]*" % name, "", xml)
    xml = re.sub(r"\n *<function-decl name='%s' .*?</function-decl>" % name, "", xml, flags=re.S)
else:
    block = re.search(r"<function-decl name='%s' .*?</function-decl>" % name, xml, re.S)
    edited = block.group(0).replace("<return type-id='%s'" % ints, "<return type-id='%s'" % wide)
    xml = xml[:block.start()] + edited + xml[block.end():]
open(out, "w", encoding="utf-8").write(xml)
print(name)
PY
}

case $mode in
check)
    if [ ! -f "$baseline" ]; then
        others=$(cd "$top/abi" 2>/dev/null && ls *.abi 2>/dev/null | tr '\n' ' ')
        echo "abi: no baseline abi/$soname.abi for this SONAME (there is: ${others:-none});"
        echo "abi: run make abi-update after bumping SONAME_MAJOR"
        echo "abi: 0 passed, 1 failed"
        exit 1
    fi
    . "$here/lib.sh"
    if compare "$baseline" "$tmp/now.abi"; then
        echo "abi: $soname matches abi/$soname.abi"
        ok
    else
        bad "abi: INCOMPATIBLE change against abi/$soname.abi: an interface was removed or"
        echo "abi: changed. Restore it, or bump SONAME_MAJOR in the Makefile and run"
        echo "abi: make abi-update (the baseline and the SONAME change together)."
    fi
    gone=$(edit removed "$baseline" "$tmp/removed.abi")
    changed=$(edit changed "$baseline" "$tmp/changed.abi")
    if compare "$baseline" "$tmp/removed.abi" >/dev/null; then bad "abi: removing $gone passed"; else ok; fi
    if compare "$baseline" "$tmp/changed.abi" >/dev/null; then bad "abi: changing $changed passed"; else ok; fi
    if compare "$tmp/removed.abi" "$baseline" | grep -q "added: .*$gone"; then ok; else bad "abi: adding $gone failed"; fi
    summary abi
    ;;
update)
    if [ -f "$baseline" ] && [ "${ABI_ALLOW_BREAK:-0}" != 1 ] &&
        ! compare "$baseline" "$tmp/now.abi" >/dev/null; then
        compare "$baseline" "$tmp/now.abi" || true
        echo "abi: refused: this is incompatible with abi/$soname.abi and the SONAME is"
        echo "abi: unchanged. Bump SONAME_MAJOR in the Makefile, rebuild, and run again."
        exit 1
    fi
    mkdir -p "$top/abi"
    cp "$tmp/now.abi" "$baseline"
    echo "abi: wrote abi/$soname.abi"
    ;;
*)
    echo "usage: abi.sh check | update" >&2
    exit 2
    ;;
esac
