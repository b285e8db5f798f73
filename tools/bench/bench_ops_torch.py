#!/usr/bin/env python3
"""PyTorch CPU timings of the cases in tools/bench/bench_ops_cpu.cpp: same names, shapes, dtype
(f32), thread count and method (warm-up, then repetitions of a calibrated number of iterations;
the median per-iteration wall-clock time is reported). tools/bench/compare.py joins the two.

    python3 tools/bench/bench_ops_torch.py --threads 2 --reps 10 --min-time 0.2 > torch.json

"/fwd" cases run the op on tensors without requires_grad (no graph is recorded, as in qbheat);
"/fwdbwd" cases run out = op(inputs); out.backward(fixed random dL/dout); then set every leaf's
.grad to None (qbheat's side drops its .grad the same way), so no case pays for accumulation.
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "torch_ref"))
try:  # the reference heat op (tools/torch_ref/heat.py); heat cases are skipped without it
    import heat as heat_ref
except ImportError:
    heat_ref = None


def normal(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float32) * scale


def cases():
    """Yields (name, make_inputs, op, backward, flop per forward); names as in the C++ file."""
    for n in (256, 512, 1024):
        yield (f"gemm/{n}", lambda n=n: [normal((n, n), 1), normal((n, n), 2)],
               torch.matmul, False, 2.0 * n ** 3)

    def conv(name, n, c_in, hw, c_out, k, stride, pad):
        out_hw = (hw + 2 * pad - k) // stride + 1
        flop = 2.0 * n * c_out * out_hw * out_hw * c_in * k * k
        make = lambda: [normal((n, c_in, hw, hw), 3),
                        normal((c_out, c_in, k, k), 4, (c_in * k * k) ** -0.5),
                        normal((c_out,), 5, 0.1)]
        op = lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad)
        return (name, make, op, True, flop)

    yield conv("conv2d/3x3_64to64_n32_32x32", 32, 64, 32, 64, 3, 1, 1)
    yield conv("conv2d/patch4_1to192_n64_32x32", 64, 1, 32, 192, 4, 4, 0)

    for rows, cols in ((4096, 384), (65536, 64)):
        yield (f"layer_norm/{rows}x{cols}",
               lambda r=rows, c=cols: [normal((r, c), 6), normal((c,), 7), normal((c,), 8)],
               lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b, 1e-5), True, 0)

    s = (32, 6, 64, 64)
    yield ("attention/b32_h6_l64_d64", lambda: [normal(s, 9), normal(s, 10), normal(s, 11)],
           F.scaled_dot_product_attention, True, 0)

    if heat_ref is not None:
        for n, hw, d in ((64, 4, 192), (16, 7, 384)):
            yield (f"heat_cell/n{n}_{hw}x{hw}_d{d}",
                   lambda n=n, hw=hw, d=d: [normal((n, hw, hw, d), 12),
                                            normal((d, d), 13, 0.02), normal((d, d), 14, 0.02)],
                   lambda v, a, b: heat_ref.heat_propagate(v, a, b, mode="cell", corner="tl",
                                                           norm=False),
                   True, 6.0 * n * hw * hw * d * d)


def forward_fn(inputs, op):
    return lambda: op(*inputs)


def forward_backward_fn(inputs, op):
    for t in inputs:
        t.requires_grad_(True)
    grad_out = normal(op(*inputs).shape, 99)

    def step():
        op(*inputs).backward(grad_out)
        for t in inputs:
            t.grad = None
    return step


def measure(fn, reps, min_time, warmup):
    """Per-iteration seconds of each repetition, Google Benchmark style: warm up for `warmup`
    seconds, grow the iteration count until one batch lasts `min_time`, then time `reps`
    batches of that many iterations."""
    start = time.perf_counter()
    while time.perf_counter() - start < warmup:
        fn()
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            break
        iters = max(iters + 1, int(iters * 1.4 * min_time / max(elapsed, 1e-9)))
    times = [elapsed / iters]
    for _ in range(reps - 1):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    return times, iters


def all_cases():
    """Full case name ("gemm/256/fwd") -> (inputs maker, op, forward/backward builder, flop)."""
    table = {}
    for name, make, op, backward, flop in cases():
        table[f"{name}/fwd"] = (make, op, forward_fn, flop)
        if backward:
            table[f"{name}/fwdbwd"] = (make, op, forward_backward_fn, 0)
    return table


def run_case(name, case, args):
    make, op, build, flop = case
    times, iters = measure(build(make(), op), args.reps, args.min_time, args.warmup)
    med = statistics.median(times)
    cv = statistics.stdev(times) / statistics.mean(times) if len(times) > 1 else 0.0
    print(f"{name:45s} {med * 1e3:10.3f} ms  cv {cv * 100:4.1f}%", file=sys.stderr)
    return {"name": name, "median_s": med, "cv": cv, "iterations": iters, "reps": len(times),
            "flop": flop}


def context():
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "python": platform.python_version(),
        "heat_ref": heat_ref is not None,
    }


def serve(table, args):
    """compare.py's mode: one JSON line with the context and case names, then one JSON line per
    case name read from stdin, so the two sides can alternate case by case in one process."""
    print(json.dumps({"context": context(), "cases": list(table)}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        result = run_case(name, table[name], args) if name in table else {"name": name}
        print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition")
    p.add_argument("--warmup", type=float, default=0.2, help="seconds of warm-up per case")
    p.add_argument("--filter", default=".", help="regex on case names (re.search)")
    p.add_argument("--serve", action="store_true", help="time the cases named on stdin")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    table = all_cases()
    if args.serve:
        serve(table, args)
        return
    results = [run_case(name, case, args) for name, case in table.items()
               if re.search(args.filter, name)]
    json.dump({"context": context(), "benchmarks": results}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
