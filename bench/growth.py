#!/usr/bin/python3
"""Issue 8, target 5: time per step of workload (a) as d, R and N grow, one at a time.

Workload (a) of bench/workloads/ (DCSGD, rand-k with k = d/10, Gaussian noise, diagonal
quadratic) run by the dcsde CLI on one thread, with d in 1e2..1e6, R in 1..1e4 and N in 1..64
around the base point (d, R, N) = (100, 1000, 8); the number of steps shrinks as the work per
step grows (about 3e8 agent-coordinates per run, 5 to 2000 steps). Prints the time per step and
the time per step divided by d R N: the constant of linear growth, flat along every row of a
sweep when the cost is linear in d x R x N.

Usage: bench/growth.py [--build build-perf] [--quick]
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(ROOT, "bench", "workloads", "a_dcsgd_randk.toml")


def time_per_step(build, d, r, n):
    steps = int(min(2000, max(5, 3e8 / (d * r * n))))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(build, "dcsde"), "run", WORKLOAD, "--out", tmp, "--threads", "1",
               "--quiet", "--no-plot", "--set", f"problem.dim={d}",
               "--set", f"compressor.k={max(1, d // 10)}", "--set", f"run.replicas={r}",
               "--set", f"agents.count={n}", "--set", f"method.steps={steps}",
               "--set", f"run.record_every={max(1, steps // 10)}"]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        with open(os.path.join(tmp, "summary.json")) as f:
            seconds = json.load(f)["processes"]["optimizer"]["wall_seconds"]
    return steps, seconds / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quick", action="store_true", help="fewer points per sweep")
    args = parser.parse_args()
    sweeps = [
        ("d", [100, 1000, 10000, 100000, 1000000], lambda v: (v, 16, 8)),
        ("R", [1, 10, 100, 1000, 10000], lambda v: (100, v, 8)),
        ("N", [1, 2, 4, 8, 16, 32, 64], lambda v: (100, 1000, v)),
    ]
    print("| sweep | d | R | N | steps | time per step | ns per (d R N) |")
    print("|---|---|---|---|---|---|---|")
    for name, values, point in sweeps:
        if args.quick:
            values = values[::2]
        for v in values:
            d, r, n = point(v)
            steps, t = time_per_step(args.build, d, r, n)
            print(f"| {name} | {d} | {r} | {n} | {steps} | {t * 1e3:.4g} ms | "
                  f"{t / (d * r * n) * 1e9:.3g} |", flush=True)


if __name__ == "__main__":
    main()
