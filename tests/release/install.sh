#!/bin/sh
# install.sh (make check-uninstall): `make install` into a DESTDIR puts smtp-send into
# bin/ and the man pages into share/man/man1 and man3, where man finds them; the
# installed smtp-send runs; `make uninstall` then leaves no file behind.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d /tmp/smtpuninst.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
. "$here/lib.sh"
root="$tmp/root"
prefix=/usr/local
make -s -C "$top" install PREFIX=$prefix DESTDIR="$root" >/dev/null
p="$root$prefix"
for f in bin/smtp-send share/man/man1/smtp-send.1 share/man/man3/libsmtp.3 include/smtp.h \
    lib/libsmtp.so.0 lib/libsmtp.a lib/pkgconfig/smtp.pc; do
    if [ -e "$p/$f" ]; then ok; else bad "$prefix/$f not installed"; fi
done
if "$p/bin/smtp-send" --version | grep -q '^smtp-send (libsmtp) '; then ok; else bad "installed smtp-send --version"; fi
for page in smtp-send:1 libsmtp:3; do
    if [ "$(man -M "$p/share/man" -w "${page%:*}" 2>/dev/null)" = "$p/share/man/man${page#*:}/${page%:*}.${page#*:}" ] &&
        MANPAGER=cat man -M "$p/share/man" "${page%:*}" 2>/dev/null | grep -q NAME; then
        ok
    else
        bad "man -M $prefix/share/man ${page%:*} does not find the page"
    fi
done
make -s -C "$top" uninstall PREFIX=$prefix DESTDIR="$root" >/dev/null
left=$(find "$root" ! -type d)
if [ -z "$left" ]; then ok; else bad "left after make uninstall: $left"; fi
summary install
