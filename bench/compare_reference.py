#!/usr/bin/python3
"""dcsde against the NumPy reference and against its random-number floor, in one invocation.

Issue 8, targets 1 and 2. For each workload of bench/workloads/ (docs/performance.md):
  * dcsde run on 1 thread and on 2 threads (the CLI, timed by the run itself: summary.json's
    wall_seconds of the optimizer, or of the SDE for (c));
  * bench/reference/workloads.py, the fully vectorized NumPy implementation, by /usr/bin/python3;
  * build/bench/workload_floor: drawing only the random numbers the workload needs;
then prints the ratios and whether the asymptotic losses agree within 3 standard errors
(|m1 - m2| <= 3 sqrt(se1^2 + se2^2)), so that both sides are seen to compute the same thing.

The one-thread ratios (against the reference, against the floor) compare CPU seconds of the
timed loops (process CPU time, all threads), which other programs sharing the cores do not
inflate the way they inflate wall time; the wall-time ratios are printed beside them. The
two-thread speedup is wall time (1 thread) / wall time (2 threads): it needs two idle cores.

Workload (b) draws each agent's signs from their law (method.sign_draw = "law"); (B) is the same
experiment with the Student-t noise drawn and its sign taken ("noise"), against the same reference.

Usage: bench/compare_reference.py [--build build-perf] [--workloads abBc] [--steps 2000]
                                  [--replicas 1000] [--json out.json]
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOML = {"a": "a_dcsgd_randk.toml", "b": "b_dsignsgd_student_t.toml",
        "B": "b_dsignsgd_student_t.toml", "c": "c_sde_dcsgd_randk.toml"}
# (B) is (b) with each agent's Student-t noise drawn and its sign taken (method.sign_draw =
# "noise", bit for bit what an MPI agent encodes) instead of the signs drawn from their law.
EXTRA = {"B": ["--set", "method.sign_draw=noise"]}
TARGET = {"a": 30.0, "b": 30.0, "B": 30.0, "c": 5.0}


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_dcsde(build, workload, threads, steps, replicas):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(build, "dcsde"), "run", os.path.join(ROOT, "bench", "workloads",
                                                                 TOML[workload]),
               "--out", tmp, "--threads", str(threads), "--quiet", "--no-plot",
               "--set", f"method.steps={steps}", "--set", f"run.replicas={replicas}"
               ] + EXTRA.get(workload, [])
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        with open(os.path.join(tmp, "summary.json")) as f:
            summary = json.load(f)
    process = summary["processes"]["sde" if workload == "c" else "optimizer"]
    return {"seconds": process["wall_seconds"], "cpu": process["cpu_seconds"],
            "mean": process["asymptotic_loss"]["mean"],
            "sem": process["asymptotic_loss"]["sem"]}


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--workloads", default="abBc")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; R = {args.replicas}, "
          f"{args.steps} steps; load average {os.getloadavg()[0]:.2f}")
    rows = []
    references = {}  # (b) and (B) are one experiment: the reference runs once
    for w in args.workloads:
        one = run_dcsde(args.build, w, 1, args.steps, args.replicas)
        two = run_dcsde(args.build, w, 2, args.steps, args.replicas)
        floor = run_json([os.path.join(args.build, "bench", "workload_floor"), w,
                          str(args.replicas), str(args.steps)])
        if w.lower() not in references:
            references[w.lower()] = run_json([
                "/usr/bin/python3", os.path.join(ROOT, "bench", "reference", "workloads.py"),
                w.lower(), "--replicas", str(args.replicas), "--steps", str(args.steps)])
        ref = references[w.lower()]
        se = math.hypot(one["sem"], ref["asymptotic_loss_sem"])
        z = abs(one["mean"] - ref["asymptotic_loss_mean"]) / se
        row = {"workload": w, "reference_s": ref["seconds"], "reference_cpu_s": ref["cpu_seconds"],
               "dcsde_1t_s": one["seconds"], "dcsde_1t_cpu_s": one["cpu"],
               "dcsde_2t_s": two["seconds"], "dcsde_2t_cpu_s": two["cpu"],
               "floor_s": floor["seconds"], "floor_cpu_s": floor["cpu_seconds"],
               "kernels": floor["kernels"],
               "speedup_vs_reference": ref["cpu_seconds"] / one["cpu"],
               "speedup_vs_reference_wall": ref["seconds"] / one["seconds"],
               "target": TARGET[w], "workload_over_floor": one["cpu"] / floor["cpu_seconds"],
               "two_thread_speedup": one["seconds"] / two["seconds"],
               "loss_dcsde": [one["mean"], one["sem"]],
               "loss_reference": [ref["asymptotic_loss_mean"], ref["asymptotic_loss_sem"]],
               "loss_z": z, "agree": z <= 3.0,
               "bit_identical_1t_2t": one["mean"] == two["mean"] and one["sem"] == two["sem"]}
        rows.append(row)
        print(f"({w}) reference {ref['cpu_seconds']:7.2f} cpu-s | dcsde 1 thread "
              f"{one['cpu']:6.3f} cpu-s -> {row['speedup_vs_reference']:5.1f}x (target "
              f"{TARGET[w]:.0f}x; wall {row['speedup_vs_reference_wall']:.1f}x) | floor "
              f"{floor['cpu_seconds']:6.3f} cpu-s -> workload/floor "
              f"{row['workload_over_floor']:.2f} (target <= 2) | 2 threads "
              f"{one['seconds']:.3f} -> {two['seconds']:.3f} wall-s: "
              f"{row['two_thread_speedup']:.2f}x (target >= 1.8)")
        print(f"    asymptotic loss: dcsde {one['mean']:.5f} +- {one['sem']:.5f}, reference "
              f"{ref['asymptotic_loss_mean']:.5f} +- {ref['asymptotic_loss_sem']:.5f}: "
              f"{z:.2f} SE apart -> {'agree' if row['agree'] else 'DISAGREE'}; 1 vs 2 threads "
              f"{'bit-identical' if row['bit_identical_1t_2t'] else 'DIFFER'}")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": cpu_model(), "cores": os.cpu_count(), "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
