#!/usr/bin/python3
"""The public functions of a header: every SMTP_API declaration, comments removed.

Usage: public_api.py include/smtp.h   -> one function name a line, in header order.
Used by tests/release/docs.sh to check doc/libsmtp.3 and README's API map.
"""
import re
import sys


def public_functions(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^[ \t]*#.*$", " ", text, flags=re.M)
    names = []
    for decl in re.finditer(r"\bSMTP_API\b([^;]*);", text):
        m = re.search(r"\b(smtp_\w+)\s*\(", decl.group(1))
        if m:
            names.append(m.group(1))
    return names


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: public_api.py HEADER\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        for name in public_functions(f.read()):
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
