#!/bin/sh
# `make install` into a temporary prefix, then a program outside the tree builds with
# pkg-config and runs against the installed shared library; exports are checked too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
tmp=$(mktemp -d /tmp/smtpinst.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
make -s -C "$top" install PREFIX=/opt/libsmtp DESTDIR="$tmp/root" >/dev/null
lib="$tmp/root/opt/libsmtp/lib"
[ -L "$lib/libsmtp.so.0" ] || { echo "install: soname link missing"; exit 1; }
objdump -p "$lib/libsmtp.so.0" | grep -q 'SONAME.*libsmtp.so.0' || { echo "install: bad soname"; exit 1; }
bad=$(nm -D --defined-only "$lib/libsmtp.so.0" | awk '{print $3}' | grep -v '^smtp_' | grep -v '^LIBSMTP' || true)
[ -z "$bad" ] || { echo "install: unexpected exports: $bad"; exit 1; }
# libESMTP's exports must not be ours (STYLE.md)
for n in smtp_strerror smtp_version smtp_create_session smtp_start_session; do
    if nm -D --defined-only "$lib/libsmtp.so.0" | grep -qw "$n"; then echo "install: exports $n"; exit 1; fi
done
cat > "$tmp/prog.c" <<'C'
#include <smtp.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	smtp_session *s = smtp_session_new();
	int ok = s && smtp_session_set_url(s, "smtp://mail.example.org") == 0 &&
		 strcmp(smtp_lib_version(), "0.1.0") == 0 &&
		 strcmp(smtp_error_name(SMTP_ECERT), "SMTP_ECERT") == 0;
	smtp_session_free(s);
	puts(ok ? "ok" : "bad");
	return ok ? 0 : 1;
}
C
PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$lib/pkgconfig" \
    cc "$tmp/prog.c" -o "$tmp/prog" $(PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs smtp)
out=$(LD_LIBRARY_PATH="$lib" "$tmp/prog")
[ "$out" = ok ] || { echo "install: program failed"; exit 1; }
echo "install: 1 passed, 0 failed"
