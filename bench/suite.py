"""The benchmark suite: the bare stack and ours, back to back, several rounds; medians and ratios.

Prints figures and never passes or fails on them. Both stacks start here, each in a throwaway
vhost, with the same gunicorn and nameko settings (bench/bare/stack.py); every figure is measured
for bare and for ours with the same client, the order alternating between rounds, the broker's
queues empty before each, so a ratio compares like with like on a noisy machine.

    make bench                                   # 3 rounds, about 8 minutes
    .venv/bin/python bench/suite.py --rounds 5 --seconds 15
    .venv/bin/python bench/suite.py --tiny       # a few seconds: that it runs, not what it measures
    .venv/bin/python bench/suite.py --markdown   # the table for BENCHMARKS.md as well
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import load, queues, scenarios  # noqa: E402
from bench.bare.stack import BareStack  # noqa: E402
from civicgrid.harness import Processes, drop_databases, temporary_vhost  # noqa: E402

# name, unit, target (ours / bare at least, or ours at most, in the unit), how it is read
ROWS = [
    ("event", "HTTP → RPC → event: submit", "req/s", ("ratio", 0.60)),
    ("rpc", "HTTP → RPC: read a petition", "req/s", ("ratio", 0.70)),
    ("drain", "drain: petition_closed by points", "events/s", ("ratio", 0.50)),
    ("ceiling", "drain ceiling: bare + 2 published events", "events/s", None),
    ("loop1_p50", "loop at 1 client, p50", "ms", None),
    ("loop1_p99", "loop at 1 client, p99", "ms", ("max", 60.0)),
    ("visible1_p99", "visible after rating, 1 client, p99", "ms", ("max", 100.0)),
    ("loophalf_p50", "loop at half saturation, p50", "ms", None),
    ("loophalf_p99", "loop at half saturation, p99", "ms", None),
    ("visiblehalf_p99", "visible after rating, half sat., p99", "ms", None),
    ("event_p99", "submit latency at saturation, p99", "ms", None),
    ("rpc_p99", "read latency at saturation, p99", "ms", None),
]


STEPS = "event,rpc,drain,loop1,loophalf"
# rows measured on the bare stack alone, each a ratio to another row's bare figure of the same round: the
# drain ceiling is the most a consumer that owes two published events per event could reach
CEILINGS = {"ceiling": "drain"}


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "date": datetime.date.today().isoformat(), "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def percentile(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(p * len(samples)))]


class Suite:
    def __init__(self, args, bare, ours, district, figures=None):
        self.args, self.bare, self.ours, self.district = args, bare, ours, district
        self.figures = figures if figures is not None else {}
        for row in ROWS:
            for side in ("bare", "ours"):
                self.figures.setdefault((row[0], side), [])
        self.saturation = {}

    def record(self, name, side, value):
        self.figures[(name, side)].append(value)

    def target(self, side, kind):
        if side == "bare":
            return getattr(scenarios, f"bare_{kind}_target")(self.bare.url)
        return getattr(scenarios, f"ours_{kind}_target")(self.district)

    def stack(self, side):
        return self.bare if side == "bare" else self.ours

    def settle(self, side):
        queues.settle(self.stack(side).amqp_uri)

    # -- the measurements ------------------------------------------------------------------------

    def throughput(self, side, kind):
        result = load.saturate(self.target(side, kind), self.args.clients, self.args.seconds)
        if result["errors"]:
            print(f"  ! {side} {kind}: {result['errors']} of {result['requests']} requests failed", flush=True)
        self.record(kind, side, result["rps"])
        self.record(f"{kind}_p99", side, result["p99"] * 1000)
        if kind == "event":
            self.saturation[side] = result["rps"]
        return f"{result['rps']:.0f} req/s (p50 {result['p50'] * 1000:.1f} ms, {result['client']})"

    def drain(self, side):
        if side == "ours":
            rate = scenarios.points_drain(self.ours, self.district, self.args.drain)
            self.record("drain", side, rate)
            return f"{rate:.0f} events/s ({self.args.drain} events)"
        rate = scenarios.bare_drain(self.bare, self.args.drain)
        self.record("drain", side, rate)
        self.settle(side)
        ceiling = scenarios.ceiling_drain(self.bare, self.args.drain)
        self.record("ceiling", side, ceiling)
        return (f"{rate:.0f} events/s ({self.args.drain} events); publishing two events each "
                f"{ceiling:.0f} events/s ({ceiling / rate:.2f} of it)")

    def _loops(self, side, count, until=None):
        session = requests.Session()
        totals, visible = [], []
        for _ in range(count):
            if until and time.perf_counter() >= until:
                break
            total, after = (scenarios.bare_loop(self.bare.url, session) if side == "bare"
                            else scenarios.ours_loop(self.district))
            totals.append(total * 1000)
            visible.append(after * 1000)
        return totals, visible

    def loops(self, side, where):
        if where == "1":
            totals, visible = self._loops(side, self.args.loops)
        else:
            rate = self.saturation[side] / 2
            seconds = self.args.half_seconds
            with load.Background(self.target(side, "event"), rate, seconds) as background:
                time.sleep(min(1.0, seconds / 5))  # the background reaches its pace first
                totals, visible = self._loops(side, self.args.loops, until=time.perf_counter() + seconds * 0.8)
                sent = background.result()
            where = f"half ({rate:.0f} req/s asked, {sent['rps']:.0f} sent)"
        key = "1" if where == "1" else "half"
        self.record(f"loop{key}_p50", side, statistics.median(totals))
        self.record(f"loop{key}_p99", side, percentile(totals, 0.99))
        self.record(f"visible{key}_p99", side, percentile(visible, 0.99))
        return (f"loop p50 {statistics.median(totals):.1f} ms, p99 {percentile(totals, 0.99):.1f} ms, "
                f"visible p99 {percentile(visible, 0.99):.1f} ms (n={len(totals)}, at {where})")

    # -- rounds --------------------------------------------------------------------------------

    def warm_up(self):
        for side in ("bare", "ours"):
            for kind in ("event", "rpc"):
                load.saturate(self.target(side, kind), self.args.clients, self.args.warmup)
            self._loops(side, 3)
            self.settle(side)

    def round(self, number):
        sides = ("bare", "ours") if number % 2 == 0 else ("ours", "bare")
        steps = [("event", lambda s: self.throughput(s, "event")), ("rpc", lambda s: self.throughput(s, "rpc")),
                 ("drain", self.drain), ("loop1", lambda s: self.loops(s, "1")),
                 ("loophalf", lambda s: self.loops(s, "half"))]
        for label, step in steps:
            if label not in self.args.only:
                continue
            for side in sides:
                if label == "loophalf" and side not in self.saturation:
                    self.throughput(side, "event")  # half of a saturation measured in this run
                    self.settle(side)
            for side in sides:
                line = step(side)
                print(f"  round {number + 1} {label:<9} {side:<4} {line}", flush=True)
                self.settle(side)

    def medians(self):
        table = []
        for name, label, unit, target in ROWS:
            bare = self.figures[(name, "bare")]
            ours = self.figures[(name, "ours")]
            if not bare and not ours:
                continue
            b = statistics.median(bare) if bare else None
            o = statistics.median(ours) if ours else None
            if name in CEILINGS:
                bare, ours = self.figures[(CEILINGS[name], "bare")], bare
            # the median of each round's own ratio: bare and ours of one round ran back to back, so the machine's
            # load of the moment cancels out there; across rounds it does not
            ratios = [y / x for x, y in zip(bare, ours) if x]
            ratio = statistics.median(ratios) if len(bare) == len(ours) and ratios else (o / b if b and o else None)
            met = None
            if target and o is not None:
                kind, bound = target
                met = (ratio is not None and ratio >= bound) if kind == "ratio" else o <= bound
            table.append({"name": name, "label": label, "unit": unit, "bare": b, "ours": o, "ratio": ratio,
                          "target": target, "met": met})
        return table


def _target_text(target):
    if target is None:
        return "—"
    kind, bound = target
    return f"≥ {bound:.0%} of bare" if kind == "ratio" else f"< {bound:.0f} ms"


def _cell(value, unit):
    if value is None:
        return "—"
    return f"{value:.0f}" if unit != "ms" else f"{value:.1f}"


def print_table(table, info, rounds, markdown=False):
    met = {True: "yes", False: "**no**" if markdown else "NO", None: ""}
    if markdown:
        print(f"\n{info['date']}: {info['nproc']} cores ({info['cpu']}), Python {info['python']}, "
              f"{rounds} rounds, medians; load average at the start {info['load']}\n")
        print("| figure | unit | bare | ours | ours / bare (median of the rounds' ratios) | target | met? |")
        print("|---|---|---:|---:|---:|---|---|")
        for row in table:
            ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "—"
            print(f"| {row['label']} | {row['unit']} | {_cell(row['bare'], row['unit'])} | "
                  f"{_cell(row['ours'], row['unit'])} | {ratio} | {_target_text(row['target'])} | {met[row['met']]} |")
        return
    print(f"\nmedians of {rounds} rounds; {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
          f"{info['date']}, load average at the start {info['load']}")
    print(f"{'figure':<40} {'unit':<9} {'bare':>8} {'ours':>8} {'ratio':>6}  {'target':<15} met?")
    for row in table:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "—"
        print(f"{row['label']:<40} {row['unit']:<9} {_cell(row['bare'], row['unit']):>8} "
              f"{_cell(row['ours'], row['unit']):>8} {ratio:>6}  {_target_text(row['target']):<15} {met[row['met']]}")


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="each throughput measurement")
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--loops", type=int, default=50, help="loops per round at each load")
    parser.add_argument("--half-seconds", type=float, default=10, help="the background load at half saturation")
    parser.add_argument("--drain", type=int, default=500, help="events preloaded for each drain")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each load before the first round")
    parser.add_argument("--only", default=STEPS, help=f"a comma-separated subset of {STEPS}")
    parser.add_argument("--tiny", action="store_true", help="one short round: that it runs, not what it measures")
    parser.add_argument("--keep", action="store_true",
                        help="one platform for every round (its store grows from round to round)")
    parser.add_argument("--logs", help="keep each process's log in this folder (default: a temporary one)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    args.only = [step.strip() for step in args.only.split(",") if step.strip()]
    unknown = set(args.only) - set(STEPS.split(","))
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))} (known: {STEPS})")
    if args.tiny:
        args.rounds, args.seconds, args.loops, args.half_seconds, args.drain, args.warmup = 1, 1, 2, 2, 10, 0.5
    return args


def run(args, batch, figures, logs):
    """Start both stacks afresh (each in a vhost of its own), warm them up, measure the rounds of ``batch``."""
    with ExitStack() as stack:
        bare_uri = stack.enter_context(temporary_vhost("civicgrid_bench_bare"))
        ours_uri = stack.enter_context(temporary_vhost("civicgrid_bench"))
        where = os.path.join(logs, f"round-{batch[0] + 1}")
        os.makedirs(os.path.join(where, "bare"), exist_ok=True)
        os.makedirs(os.path.join(where, "ours"), exist_ok=True)
        # with MONGO_URI set, databases of the run's own, dropped afterwards (nothing to do on mongomock)
        prefix = f"civicgrid_bench_{uuid.uuid4().hex[:8]}"
        stack.callback(drop_databases, prefix)
        bare = BareStack(bare_uri, log_dir=os.path.join(where, "bare"))
        ours = Processes(ours_uri, log_dir=os.path.join(where, "ours"), env={"MONGO_DB_PREFIX": prefix})
        stack.callback(bare.stop)
        stack.callback(ours.stop)
        bare.start()
        ours.start()
        suite = Suite(args, bare, ours, scenarios.District(ours.url), figures)
        suite.warm_up()
        for number in batch:
            suite.round(number)
        return suite


def main(argv=None):
    args = parse(argv)
    info = machine()
    client = "wrk" if load.wrk_available() else "a multi-process Python client (no wrk on the PATH)"
    print(f"bench: bare and ours, {args.rounds} rounds; load from {client}, {args.clients} connections; "
          f"{'one platform for every round' if args.keep else 'both stacks started afresh for each round'}",
          flush=True)
    # mongomock reads every document of a collection for every query, so a store that kept the
    # rounds before would make each round slower than the last: by default each round starts empty
    batches = [list(range(args.rounds))] if args.keep else [[n] for n in range(args.rounds)]
    figures = {}
    with tempfile.TemporaryDirectory(prefix="civicgrid-bench-") as scratch:
        for batch in batches:
            suite = run(args, batch, figures, args.logs or scratch)
    table = suite.medians()
    print_table(table, info, args.rounds)
    if args.markdown:
        print_table(table, info, args.rounds, markdown=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
