#!/usr/bin/python3
"""Issue 8, target 3: compressor throughput against a plain copy of the same bytes, same run.

Runs build/bench/compress_bench for sign, rand_k (k = d/100) and qsgd (s = 15) at d = 1e6 and
1e7 (float64: dcsde's vectors are binary64 throughout, so there is no float32 input), with the
memcpy of the same 8 d bytes beside them, and prints each operation's input bytes per second
and its ratio to the copy (target: >= 0.5, or a reason in docs/performance.md).

Usage: bench/compress_bandwidth.py [--build build-perf] [--min-time 0.2]
"""
import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--min-time", default="0.2")
    args = parser.parse_args()
    out = subprocess.run(
        [os.path.join(args.build, "bench", "compress_bench"),
         "--benchmark_filter=^(reference/memcpy|(sign|rand_k|qsgd)/[a-z]+)/(1000000|10000000)$",
         f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    rate = {b["name"]: b["bytes_per_second"] for b in json.loads(out)["benchmarks"]}
    print("| kind | op | d | GiB/s | / memcpy |")
    print("|---|---|---|---|---|")
    for d in ("1000000", "10000000"):
        copy = rate[f"reference/memcpy/{d}"]
        print(f"| memcpy | copy | {d} | {copy / 2**30:.2f} | 1 |")
        for kind in ("sign", "rand_k", "qsgd"):
            for op in ("apply", "encode", "decode"):
                r = rate[f"{kind}/{op}/{d}"]
                print(f"| {kind} | {op} | {d} | {r / 2**30:.2f} | {r / copy:.2f} |")


if __name__ == "__main__":
    main()
