#!/bin/sh
# dist.sh make | check
#   make   write libsmtp-VERSION.tar.gz (top of the tree): the files git tracks (their
#          contents in the working tree), under libsmtp-VERSION/, with a MANIFEST of
#          them, so that `make dist` also works in an unpacked tarball (no git).
#   check  (make check-dist) build the tarball into a temporary directory, check what
#          it holds, unpack it elsewhere and run `make all check-unit check-docs
#          check-abi` there (the suites that need no server: the integration and
#          tool suites run the same code in the tree), then `make dist` there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
version=$(sed -n 's/^VERSION = //p' Makefile)
name="libsmtp-$version"

# the files of the release, one a line
list_files() {
    if [ "$(git rev-parse --show-toplevel 2>/dev/null || true)" = "$top" ]; then
        git ls-files | while IFS= read -r f; do
            [ -e "$f" ] && printf '%s\n' "$f"
        done
    elif [ -f MANIFEST ]; then
        grep -vx MANIFEST MANIFEST
    else
        echo "dist: neither a git checkout nor an unpacked tarball (no MANIFEST)" >&2
        return 1
    fi
}

make_tarball() { # OUT
    stage=$(mktemp -d /tmp/smtpdist.XXXXXX)
    list_files | sort >"$stage/list"
    mkdir "$stage/$name"
    tar -cf - -T "$stage/list" | tar -xf - -C "$stage/$name"
    { cat "$stage/list"; echo MANIFEST; } | sort >"$stage/$name/MANIFEST"
    tar --sort=name --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$name" |
        gzip -n >"$1"
    rm -rf "$stage"
}

case ${1:-make} in
make)
    make_tarball "$top/$name.tar.gz"
    echo "dist: wrote $name.tar.gz"
    ;;
check)
    tmp=$(mktemp -d /tmp/smtpdistcheck.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT INT TERM
    . "$here/lib.sh"
    make_tarball "$tmp/$name.tar.gz"
    tar -tzf "$tmp/$name.tar.gz" | sed "s|^$name/||" | grep -v '/$' | grep -v '^$' | sort >"$tmp/contents"
    for f in LICENSE README Makefile doc/NEWS doc/smtp-send.1 doc/libsmtp.3 abi/libsmtp.so.0.abi \
        include/smtp.h tools/smtp-send/main.c MANIFEST; do
        if grep -qx "$f" "$tmp/contents"; then ok; else bad "the tarball lacks $f"; fi
    done
    if grep -E '^(build|build-asan|build-fuzz)/|node_modules/|\.o$|\.a$' "$tmp/contents"; then
        bad "the tarball holds build output (above)"
    else
        ok
    fi
    list_files | sort >"$tmp/tracked"
    if grep -vx MANIFEST "$tmp/contents" | cmp -s - "$tmp/tracked"; then ok; else bad "not the tracked files"; fi
    mkdir "$tmp/unpacked"
    tar -xzf "$tmp/$name.tar.gz" -C "$tmp/unpacked"
    src="$tmp/unpacked/$name"
    if (cd "$src" && make -s -j2 all >"$tmp/build.log" 2>&1 &&
        make -s check-unit check-docs check-abi >"$tmp/check.log" 2>&1); then
        ok
        grep -E '^(unit|docs|abi):' "$tmp/check.log" | sed 's/^/  in the tarball: /'
    else
        bad "make all check-unit check-docs check-abi failed in the unpacked tarball:"
        tail -n 30 "$tmp/build.log" "$tmp/check.log" 2>/dev/null
    fi
    if (cd "$src" && rm -rf build && make -s dist >/dev/null 2>&1) &&
        tar -tzf "$src/$name.tar.gz" | sed "s|^$name/||" | grep -v '/$' | grep -v '^$' | sort |
        cmp -s - "$tmp/contents"; then
        ok
    else
        bad "make dist in the unpacked tarball did not give the same files"
    fi
    summary dist
    ;;
*)
    echo "usage: dist.sh make | check" >&2
    exit 2
    ;;
esac
