"""bench_smtplib: send the same message many times with Python's smtplib.

    python3 bench_smtplib.py HOST PORT SESSIONS MESSAGES FILE

MESSAGES (in total) are spread evenly over SESSIONS connections, one thread per
connection (the main thread alone for SESSIONS=1); each opens one smtplib.SMTP, calls
sendmail() in a loop, then quit(). The content is FILE, read once, from
bench@example.org to sink@example.org. Prints "sent N of M" on stderr; exits 0 when
every message was sent. Run with Debian's /usr/bin/python3 (standard library only).

    python3 bench_smtplib.py first HOST PORT CAFILE USER PASSWORD FILE

Time to the first accepted message on a fresh connection: connect, STARTTLS (the
certificate verified against CAFILE), EHLO, AUTH PLAIN with an initial response
(smtplib's login() would pick CRAM-MD5 when offered, so auth() is called with PLAIN),
sendmail() of FILE once. Prints "conn=1 ms=T resumed=0 tls=VERSION" on stdout, T the
wall time from before the connect to sendmail()'s return (QUIT is not counted).
"""
import smtplib
import ssl
import sys
import threading
import time

FROM = "bench@example.org"
TO = ["sink@example.org"]


def job(host, port, count, data, out, index):
    sent = 0
    try:
        with smtplib.SMTP(host, port, local_hostname="localhost") as s:
            for _ in range(count):
                s.sendmail(FROM, TO, data)
                sent += 1
    except (smtplib.SMTPException, OSError) as e:
        print(f"session {index}: {e}", file=sys.stderr)
    out[index] = sent


def first(host, port, cafile, user, password, data):
    ctx = ssl.create_default_context(cafile=cafile)
    t0 = time.monotonic()
    s = smtplib.SMTP(host, port, local_hostname="localhost")
    s.starttls(context=ctx)
    s.ehlo()
    s.user, s.password = user, password
    s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
    s.sendmail(FROM, TO, data)
    t1 = time.monotonic()
    print(f"conn=1 ms={(t1 - t0) * 1e3:.1f} resumed={int(s.sock.session_reused)} "
          f"tls={s.sock.version()}")
    s.quit()
    return 0


def main():
    if len(sys.argv) == 8 and sys.argv[1] == "first":
        with open(sys.argv[7], "rb") as f:
            data = f.read()
        return first(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], data)
    if len(sys.argv) != 6:
        print("usage: bench_smtplib.py HOST PORT SESSIONS MESSAGES FILE", file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    nsess, nmsg = int(sys.argv[3]), int(sys.argv[4])
    with open(sys.argv[5], "rb") as f:
        data = f.read()
    counts = [nmsg // nsess + (1 if i < nmsg % nsess else 0) for i in range(nsess)]
    out = [0] * nsess
    if nsess == 1:
        job(host, port, counts[0], data, out, 0)
    else:
        threads = [threading.Thread(target=job, args=(host, port, counts[i], data, out, i))
                   for i in range(nsess)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sent = sum(out)
    print(f"sent {sent} of {nmsg}", file=sys.stderr)
    return 0 if sent == nmsg else 1


if __name__ == "__main__":
    sys.exit(main())
