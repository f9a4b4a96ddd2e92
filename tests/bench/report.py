"""report.py: tables for tests/bench/run.sh.

    report.py RESULTS "WORKLOAD=CURL_REFERENCE_CLIENT" ...

RESULTS has one line per run, tab-separated: workload, client, messages, message
size, and measure's "wall=S user_us=N sys_us=N maxrss_kb=N status=N". One table per
WORKLOAD argument, in that order, clients in the order they ran. Every metric is the
median over the runs; ratios are this client's value divided by smtp-source's and by
the libcurl reference client's (empty reference: no libcurl columns).
"""
import statistics
import sys


def load(path):
    runs = {}
    order = []
    with open(path) as f:
        for line in f:
            wl, client, n, size, m = line.rstrip("\n").split("\t")
            kv = dict(x.split("=", 1) for x in m.split())
            key = (wl, client)
            if key not in runs:
                runs[key] = []
                order.append(key)
            runs[key].append((int(n), int(size), {k: float(v) for k, v in kv.items()}))
    return runs, order


def summarize(rs):
    n, size = rs[0][0], rs[0][1]
    ok = [m for _, _, m in rs if m["status"] == 0 and m["wall"] > 0]
    if not ok:
        return None, len(rs)
    wall = statistics.median(m["wall"] for m in ok)
    cpu = statistics.median(m["user_us"] + m["sys_us"] for m in ok)
    rss = statistics.median(m["maxrss_kb"] for m in ok)
    return {
        "mps": n / wall,
        "mbs": n * size / wall / 1e6,
        "cpu": cpu / n,
        "rss": rss / 1024,
        "runs": len(ok),
    }, len(rs) - len(ok)


def ratio(a, b):
    if not a or not b:
        return "   -  "
    return f"{a / b:6.2f}"


def main():
    runs, order = load(sys.argv[1])
    for spec in sys.argv[2:]:
        wl, _, curl_ref = spec.partition("=")
        clients = [c for w, c in order if w == wl]
        if not clients:
            continue
        stats = {}
        for c in clients:
            stats[c], failed = summarize(runs[(wl, c)])
            if failed:
                stats[c + "#failed"] = failed
        src = stats.get("smtp-source")
        ref = stats.get(curl_ref) if curl_ref else None
        nruns = len(runs[(wl, clients[0])])
        print(f"Workload {wl}   (median of {nruns} run{'s' if nruns > 1 else ''})")
        head = f"  {'client':<30} {'msg/s':>9} {'MB/s':>8} {'CPU us/msg':>10} {'RSS MiB':>8}"
        head += " | vs smtp-source: msg/s    CPU"
        if curl_ref:
            head += f" | vs {curl_ref}: msg/s    CPU"
        print(head)
        for c in clients:
            s = stats[c]
            if s is None:
                print(f"  {c:<30} FAILED (every run)")
                continue
            mps = f"{s['mps']:9.0f}" if s["mps"] >= 100 else f"{s['mps']:9.2f}"
            cpu = f"{s['cpu']:10.1f}" if s["cpu"] < 10000 else f"{s['cpu']:10.0f}"
            line = (f"  {c:<30} {mps} {s['mbs']:8.2f} {cpu} "
                    f"{s['rss']:8.1f}")
            pad = " " * len(" vs smtp-source:")
            line += f" |{pad}{ratio(s['mps'], src and src['mps'])} " \
                    f"{ratio(s['cpu'], src and src['cpu'])}"
            if curl_ref:
                pad = " " * len(f" vs {curl_ref}:")
                line += f" |{pad}{ratio(s['mps'], ref and ref['mps'])} " \
                        f"{ratio(s['cpu'], ref and ref['cpu'])}"
            if stats.get(c + "#failed"):
                line += f"   ({stats[c + '#failed']} run(s) FAILED)"
            print(line)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
