#!/usr/bin/env python3
"""qbheat vs PyTorch CPU: times every case of build/qbh_bench_cpu and of
tools/bench/bench_ops_torch.py (same names, shapes and thread count) and prints a markdown table:
median times, ratio = PyTorch time / qbheat time (> 1: qbheat is faster), the spread of that
ratio over rounds, GFLOP/s where a case counts flops, and the issue's target where it sets one.

The two sides alternate case by case (qbheat then PyTorch, or the other way round, switching
every case), and the whole list runs for several rounds: this shared 2-core VM drifts between
fast and slow phases (up to 1.5x, lasting seconds to minutes) even with nothing else running in
it, and timing both sides of a case within seconds of each other pairs them in the same phase.

    python3 tools/bench/compare.py                        # 5 rounds, 2 threads, print the table
    python3 tools/bench/compare.py --save out/bench.json  # also keep every measurement
    python3 tools/bench/compare.py --load out/bench.json  # only re-tabulate a saved run
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Minimum ratio (PyTorch time / qbheat time) the issue asks for, by case-name prefix.
TARGETS = {"gemm/": 0.8, "layer_norm/": 1.0, "heat_cell/": 1.0}

# Google Benchmark appends a case's settings to its name, e.g. "/min_warmup_time:0.200/real_time".
SETTINGS = re.compile(r"(/min_warmup_time:[^/]*)?(/real_time)?$")


class Qbh:
    """Runs build/qbh_bench_cpu one case at a time."""

    def __init__(self, args, env):
        self.args, self.env = args, env
        out = subprocess.run([args.binary, "--benchmark_list_tests=true"], env=env, check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        self.cases = [SETTINGS.sub("", line) for line in out.split()]
        self.context = {}

    def run(self, name):
        a = self.args
        cmd = [a.binary, "--benchmark_format=json", f"--benchmark_repetitions={a.reps}",
               f"--benchmark_min_time={a.min_time}", "--benchmark_report_aggregates_only=true",
               f"--benchmark_filter=^{re.escape(name)}/"]
        data = json.loads(subprocess.run(cmd, env=self.env, check=True,
                                         stdout=subprocess.PIPE).stdout)
        self.context = data.get("context", {})
        to_s = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
        row = {"name": name}
        for b in data["benchmarks"]:
            kind = b.get("aggregate_name")
            if kind == "median" or (kind is None and "median_s" not in row):
                row["median_s"] = b["real_time"] * to_s[b["time_unit"]]
                row["flop"] = b.get("flop", 0)
            elif kind == "cv":
                row["cv"] = b["real_time"]  # stored as a fraction
        return row


class Torch:
    """Keeps one bench_ops_torch.py --serve process and asks it for one case at a time."""

    def __init__(self, args, env):
        cmd = [sys.executable, os.path.join(REPO, "tools", "bench", "bench_ops_torch.py"),
               "--serve", f"--threads={args.threads}", f"--reps={args.reps}",
               f"--min-time={args.min_time}"]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.context, self.cases = hello["context"], hello["cases"]

    def run(self, name):
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def cpu_seconds(self):
        """CPU time of the still-running server (os.times counts only finished children)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def busy_seconds():
    """CPU seconds spent by everything on the machine so far (/proc/stat, all but idle/iowait)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    """CPU seconds of this script and of the finished programs it ran."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wait_for_quiet(max_load):
    """Sleeps until the 1-minute load is below max_load: with a neighbour competing for the two
    cores, OpenMP threads wait on each other and a 0.2 ms GEMM can read as 30 ms."""
    while os.getloadavg()[0] >= max_load:
        print(f"compare.py: load {os.getloadavg()[0]:.2f} >= {max_load}, waiting", file=sys.stderr)
        time.sleep(30)


def measure(args):
    """Runs the rounds; returns everything the table and the saved file need."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    qbh, torch = Qbh(args, env), Torch(args, env)
    names = [n for n in qbh.cases + [c for c in torch.cases if c not in qbh.cases]
             if re.search(args.filter, n)]
    rounds, foreign = [], []
    try:
        for r in range(args.rounds):
            # Other processes' CPU time in this round: the load average cannot tell them from
            # the benchmark's own threads (a 2-thread run alone shows a load near 2).
            busy, own, start = busy_seconds(), own_seconds() + torch.cpu_seconds(), time.time()
            results = {"qbh": {}, "torch": {}}
            for i, name in enumerate(names):
                sides = [("qbh", qbh), ("torch", torch)]
                for side, runner in sides if (r + i) % 2 == 0 else sides[::-1]:
                    if name in runner.cases:
                        results[side][name] = runner.run(name)
            other = (busy_seconds() - busy) - (own_seconds() + torch.cpu_seconds() - own)
            foreign.append({"other_cpu_s": max(other, 0.0), "wall_s": time.time() - start})
            rounds.append(results)
            print(f"compare.py: round {r + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        torch.close()
    return {"date": datetime.datetime.now().isoformat(timespec="minutes"),
            "threads": args.threads, "reps": args.reps, "min_time": args.min_time,
            "qbh_context": qbh.context, "torch_context": torch.context, "names": names,
            "rounds": rounds, "foreign": foreign}


def target_of(name):
    return next((t for prefix, t in TARGETS.items() if name.startswith(prefix)), None)


def table_row(name, rounds):
    qs = [r["qbh"][name]["median_s"] for r in rounds if name in r["qbh"]]
    ts = [r["torch"][name]["median_s"] for r in rounds if name in r["torch"]]
    pairs = [r["torch"][name]["median_s"] / r["qbh"][name]["median_s"] for r in rounds
             if name in r["qbh"] and name in r["torch"]]
    q = statistics.median(qs) if qs else None
    t = statistics.median(ts) if ts else None
    ratio = statistics.median(pairs) if pairs else None
    flop = next(r[s][name].get("flop", 0) for r in rounds for s in ("qbh", "torch")
                if name in r[s])
    target, verdict = target_of(name), ""
    if target is not None and ratio is not None:
        verdict = f">= {target}: " + ("met" if ratio >= target else "**missed**")
        if ratio >= target and min(pairs) < target:
            verdict += " (not in every round)"
    cells = [name, f"{q * 1e3:.3f}" if q else "—", f"{t * 1e3:.3f}" if t else "—",
             f"{ratio:.2f}" if ratio else "—",
             f"{min(pairs):.2f}–{max(pairs):.2f}" if len(pairs) > 1 else "",
             f"{flop / q / 1e9:.0f}" if flop and q else "", f"{flop / t / 1e9:.0f}" if flop and t else "",
             verdict]
    return "| " + " | ".join(cells) + " |"


def report(data):
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    tc, qc = data["torch_context"], data["qbh_context"]
    foreign = ", ".join(f"{x['other_cpu_s']:.1f} s of {x['wall_s']:.0f} s" for x in data["foreign"])
    lines = [
        f"date: {data['date']}; CPU: {model}, {os.cpu_count()} cores; threads: {data['threads']} "
        f"(qbheat omp_max_threads {qc.get('omp_max_threads', '?')}, torch {tc.get('threads')}); "
        f"torch {tc.get('torch')} ({tc.get('cpu_capability')}, MKL {tc.get('mkl')}); "
        f"{len(data['rounds'])} rounds x {data['reps']} repetitions of >= {data['min_time']} s; "
        f"CPU time of other processes per round: {foreign}",
        "",
        "| case | qbheat ms | PyTorch ms | ratio | ratio per round | qbheat GFLOP/s "
        "| PyTorch GFLOP/s | target |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    lines += [table_row(name, data["rounds"]) for name in data["names"]]
    lines += ["", "Times: per round, the median over repetitions; in the table, the median over "
              "rounds. ratio = PyTorch time / qbheat time (> 1: qbheat faster), the median of the "
              "per-round ratios; ratio per round: lowest–highest."]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(REPO, "build", "qbh_bench_cpu"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.1, help="seconds per repetition")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--filter", default=".", help="regex on case names")
    p.add_argument("--quiet-load", type=float, default=None,
                   help="first wait until the 1-minute load average is below this value")
    p.add_argument("--save", help="write every measurement to this JSON file")
    p.add_argument("--load", help="re-tabulate a file written by --save instead of running")
    args = p.parse_args()

    if args.load:
        with open(args.load) as f:
            data = json.load(f)
    else:
        if args.quiet_load is not None:
            wait_for_quiet(args.quiet_load)
        data = measure(args)
    if args.save:
        os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
        with open(args.save, "w") as f:
            json.dump(data, f, indent=1)
    print(report(data))


if __name__ == "__main__":
    main()
