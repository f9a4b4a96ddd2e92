"""report.py: the tables of tests/bench/run.sh.

    report.py table RESULTS WORKLOAD [--ref [LABEL=]CLIENT]... [--rtt-ms MS]
    report.py first RESULTS WORKLOAD [--rtt-ms MS]
    report.py targets RESULTS FACTS --rtt-ms MS

RESULTS has one line per run, tab-separated: workload, client, messages, message size,
then key=value pairs: measure's "wall=S user_us=N sys_us=N maxrss_kb=N status=N" and
whatever run.sh added (sink=N reported=N: the sink's own count of messages and the
count the client said it sent; for the first-message workload ms=T resumed=0|1 tls=V
steps=STAGE:MS,...). A workload is named by its label; the label's part before ": " is
its id ("1", "chunking", "wan-a"), and a reference "ID:CLIENT" names a row of another
workload. FACTS has "KEY<TAB>VALUE" lines (syscalls/TABLE/CLIENT, callgrind/CLIENT).

table: every metric is the median over the runs that succeeded; each --ref adds the
ratios this row / that row (msg/s: above 1 is faster; CPU: below 1 is cheaper), its
column headed "vs LABEL" (default: the client's name);
--rtt-ms adds round trips per message (wall time / RTT / messages).
first: the in-process time to the first accepted message, in ms and in round trips.
targets: the figures the issue's targets are about, next to each target.
"""
import argparse
import statistics
import sys


def parse_value(v):
    try:
        return float(v)
    except ValueError:
        return v


def load(path):
    runs, order = {}, []
    with open(path) as f:
        for line in f:
            wl, client, n, size, kv = line.rstrip("\n").split("\t")
            m = {k: parse_value(v) for k, v in (x.split("=", 1) for x in kv.split())}
            key = (wl, client)
            if key not in runs:
                runs[key] = []
                order.append(key)
            runs[key].append((int(n), int(size), m))
    return runs, order


def workload_id(label):
    return label.split(": ", 1)[0]


def find_label(order, wid):
    for wl, _ in order:
        if wl == wid or workload_id(wl) == wid:
            return wl
    return None


def summarize(rs):
    """Median figures over the successful runs of one row, or None."""
    n, size = rs[0][0], rs[0][1]
    ok = [m for _, _, m in rs if m.get("status") == 0 and m.get("wall", 0) > 0]
    if not ok:
        return None
    wall = statistics.median(m["wall"] for m in ok)
    s = {
        "n": n,
        "wall": wall,
        "mps": n / wall,
        "mbs": n * size / wall / 1e6,
        "cpu": statistics.median(m["user_us"] + m["sys_us"] for m in ok) / n,
        "rss": statistics.median(m["maxrss_kb"] for m in ok) / 1024,
        "runs": len(ok),
        "failed": len(rs) - len(ok),
        "ok": ok,
    }
    if all("ms" in m for m in ok):
        s["ms"] = statistics.median(m["ms"] for m in ok)
    return s


class Results:
    def __init__(self, path):
        self.runs, self.order = load(path)

    def row(self, wl, client):
        """The summary of CLIENT in workload WL (or in ID when CLIENT is "ID:NAME")."""
        if (wl, client) not in self.runs and ":" in client:
            wid, name = client.split(":", 1)
            other = find_label(self.order, wid)
            if other:
                wl, client = other, name
        rs = self.runs.get((wl, client))
        return summarize(rs) if rs else None

    def clients(self, wl):
        return [c for w, c in self.order if w == wl]


def ratio(a, b):
    if not a or not b:
        return "     -"
    return f"{a / b:6.2f}" if a / b >= 0.1 else f"{a / b:6.3f}"


def open_workload(args):
    """The results, the workload's label and its clients, after printing its title;
    (None, None, None) when the workload has no rows."""
    res = Results(args.results)
    wl = find_label(res.order, args.workload)
    if wl is None:
        return None, None, None
    clients = res.clients(wl)
    nruns = len(res.runs[(wl, clients[0])])
    extra = f"; RTT {args.rtt_ms:g} ms" if args.rtt_ms else ""
    print(f"Workload {wl}   (median of {nruns} run{'s' if nruns > 1 else ''}{extra})")
    return res, wl, clients


def cmd_table(args):
    res, wl, clients = open_workload(args)
    if wl is None:
        return 0
    refs = []
    for r in args.ref:
        label, _, ref = r.rpartition("=")
        refs.append((label or ref.split(":", 1)[-1], res.row(wl, ref)))
    head1 = f"  {'':<30} {'':>9} {'':>8} {'':>10} {'':>8}"
    head2 = f"  {'client':<30} {'msg/s':>9} {'MB/s':>8} {'CPU us/msg':>10} {'RSS MiB':>8}"
    if args.rtt_ms:
        head1 += f" {'':>8}"
        head2 += f" {'RTT/msg':>8}"
    widths = [max(14, len("vs " + name)) for name, _ in refs]
    for (name, _), w in zip(refs, widths):
        head1 += f" | {'vs ' + name:<{w}}"
        head2 += " | " + " msg/s    CPU".ljust(w)
    print(head1.rstrip())
    print(head2.rstrip())
    counts = []
    for c in clients:
        s = res.row(wl, c)
        if s is None:
            print(f"  {c:<30} FAILED (every run)")
            continue
        mps = f"{s['mps']:9.0f}" if s["mps"] >= 100 else f"{s['mps']:9.2f}"
        cpu = f"{s['cpu']:10.1f}" if s["cpu"] < 10000 else f"{s['cpu']:10.0f}"
        line = f"  {c:<30} {mps} {s['mbs']:8.2f} {cpu} {s['rss']:8.1f}"
        if args.rtt_ms:
            line += f" {s['wall'] / (args.rtt_ms / 1e3) / s['n']:8.2f}"
        for (_, r), w in zip(refs, widths):
            pair = f"{ratio(s['mps'], r and r['mps']):>6} {ratio(s['cpu'], r and r['cpu']):>6}"
            line += f" | {pair:<{w}}"
        line = line.rstrip()
        if s["failed"]:
            line += f"   ({s['failed']} run(s) FAILED)"
        print(line)
        if any("sink" in m for m in s["ok"]):
            counts.append((c, s["ok"]))
    for c, ok in counts:
        last = ok[-1]
        if "reported" in last:
            equal = sum(1 for m in ok if m.get("sink") == m.get("reported"))
            print(f"    {c}: the sink counted {last['sink']:.0f} messages, the client reported "
                  f"{last['reported']:.0f} sent (equal in {equal} of {len(ok)} runs)")
        else:
            print(f"    {c}: the sink counted {last.get('sink', 0):.0f} messages")
    print()
    return 0


def cmd_first(args):
    res, wl, clients = open_workload(args)
    if wl is None:
        return 0
    base = res.row(wl, clients[0])
    rtt = args.rtt_ms
    trips = f" {'round trips':>12}" if rtt else ""
    print(f"  {'client':<30} {'ms':>8}{trips}  {'TLS':<8} {'resumed':<8} | vs {clients[0]}")
    steps = []
    for c in clients:
        s = res.row(wl, c)
        if s is None or "ms" not in s:
            print(f"  {c:<30} FAILED (every run)")
            continue
        last = s["ok"][-1]
        resumed = sum(1 for m in s["ok"] if m.get("resumed") == 1)
        tls = str(last.get("tls", "-"))
        resumed_of = f"{resumed}/{s['runs']}"
        trips = f" {s['ms'] / rtt:12.1f}" if rtt else ""
        line = (f"  {c:<30} {s['ms']:8.1f}{trips}  {tls:<8} "
                f"{resumed_of:<8} | {ratio(s['ms'], base and base.get('ms'))}")
        if s["failed"]:
            line += f"   ({s['failed']} run(s) FAILED)"
        print(line)
        if isinstance(last.get("steps"), str) and last["steps"]:
            steps.append((c, last["steps"]))
    for c, st in steps:
        parts = [p.rsplit(":", 1) for p in st.split(",")]
        if rtt:
            text = ", ".join(f"{name} {float(ms) / rtt:.1f}" for name, ms in parts)
            unit = "in round trips"
        else:
            text = ", ".join(f"{name} {float(ms):.1f}" for name, ms in parts)
            unit = "in ms"
        print(f"    {c}, per step {unit} (a command's write to its reply): {text}")
    print()
    return 0


def load_facts(path):
    facts = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                facts[k] = float(v)
    except FileNotFoundError:
        pass
    return facts


def cmd_targets(args):
    res = Results(args.results)
    facts = load_facts(args.facts)
    rtt = args.rtt_ms / 1e3

    def get(wid, client, key):
        wl = find_label(res.order, wid)
        s = res.row(wl, client) if wl else None
        return s.get(key) if s else None

    def div(a, b):
        return a / b if a is not None and b else None

    def rel(wid, a, b, key):
        return div(get(wid, a, key), get(wid, b, key))

    def per_rtt(wid, client, key, n=1):
        return div(get(wid, client, key), rtt * n)

    lp, nb, src, mw = "libsmtp pipelined", "libsmtp nonblocking", "smtp-source", "minimal writer"
    n_wan_a = get("wan-a", lp, "n") or 0
    rows = [
        ("1 KiB CPU/msg: libsmtp pipelined / minimal writer", rel("1", lp, mw, "cpu"), "<=", 1.3),
        ("1 KiB CPU/msg: libsmtp pipelined / smtp-source", rel("1", lp, src, "cpu"), "<=", 0.25),
        ("instructions/msg: libsmtp pipelined (callgrind)", facts.get("callgrind/" + lp), "<=", 12000),
        ("instructions/msg: smtp-source (callgrind)", facts.get("callgrind/" + src), "", None),
        ("10 MiB CPU/msg: libsmtp pipelined / smtp-source", rel("3", lp, src, "cpu"), "<", 1.0),
        ("20 connections msg/s: libsmtp nonblocking / minimal", rel("2", nb, mw, "mps"), ">=", 0.9),
        ("20 connections RSS: libsmtp nonblocking / smtp-source", rel("2", nb, src, "rss"), "<=", 1.0),
        ("syscalls/msg: pipelined BDAT through Postfix", facts.get("syscalls/postfix/" + lp), "<", 1.0),
        ("syscalls/msg: pipelined DATA through Postfix",
         facts.get("syscalls/postfix/" + lp + ", DATA"), "", None),
        ("workload 4 msg/s: libsmtp nonblocking / smtp-source", rel("4", nb, src, "mps"), ">=", 2.0),
        ("workload 4 RSS: libsmtp nonblocking / smtp-source", rel("4", nb, src, "rss"), "<=", 1.0),
        ("WAN 20 ms DATA: round trips/msg, libsmtp pipelined",
         per_rtt("wan-a", lp, "wall", n_wan_a), "", None),
        ("WAN 20 ms DATA: msg/s libsmtp / smtp-source", rel("wan-a", lp, src, "mps"), "", None),
        ("WAN 20 ms BDAT: msg/s libsmtp / smtp-source", rel("wan-b", lp, src, "mps"), "", None),
        ("WAN 20 ms BDAT: libsmtp / Postfix's own rate (limit)",
         div(get("wan-b", lp, "mps"), get("chunking", mw + ", BDAT", "mps")), "", None),
        ("TLS+AUTH first message: round trips, libsmtp", per_rtt("wan-c", "libsmtp", "ms", 1e3), "", None),
        ("TLS+AUTH first message: round trips, resumed",
         per_rtt("wan-c", "libsmtp, TLS resumed", "ms", 1e3), "", None),
    ]
    print("Issue 10's targets, from the tables above (goal from the issue; no goal: for reference)")
    print(f"  {'figure':<54} {'measured':>10}  {'goal':<10} verdict")
    for name, value, op, goal in rows:
        if value is None:
            print(f"  {name:<54} {'-':>10}  {'':<10} not measured")
            continue
        shown = f"{value:10.0f}" if value >= 1000 else f"{value:10.3f}" if value < 10 else \
            f"{value:10.2f}"
        if goal is None:
            print(f"  {name:<54} {shown}")
            continue
        met = {"<=": value <= goal, "<": value < goal, ">=": value >= goal}[op]
        print(f"  {name:<54} {shown}  {op + ' ' + format(goal, 'g'):<10} "
              f"{'met' if met else 'missed'}")
    wl4 = find_label(res.order, "4")
    s = res.row(wl4, "libsmtp nonblocking") if wl4 else None
    if s and all("sink" in m and "reported" in m for m in s["ok"]):
        equal = sum(1 for m in s["ok"] if m["sink"] == m["reported"])
        verdict = "met" if equal == len(s["ok"]) else "missed"
        shown = f"{equal}/{len(s['ok'])} runs"
        print(f"  {'workload 4: sink count = libsmtp reported sent':<54} "
              f"{shown:>10}  {'all runs':<10} {verdict}")
    print()
    return 0


def main():
    p = argparse.ArgumentParser(description="tables for tests/bench/run.sh")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("workload")
    t.add_argument("--ref", action="append", default=[])
    t.add_argument("--rtt-ms", type=float, default=0)
    f = sub.add_parser("first")
    f.add_argument("results")
    f.add_argument("workload")
    f.add_argument("--rtt-ms", type=float, default=0)
    g = sub.add_parser("targets")
    g.add_argument("results")
    g.add_argument("facts")
    g.add_argument("--rtt-ms", type=float, required=True)
    args = p.parse_args()
    return {"table": cmd_table, "first": cmd_first, "targets": cmd_targets}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
