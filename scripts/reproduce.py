#!/usr/bin/python3
"""The analyses of `dcsde reproduce` (experiments/reproduce/claims.toml): figures and verdicts.

Usage (by dcsde reproduce): reproduce.py ANALYSIS CLAIM_DIR RESULT_DIR...
Each RESULT_DIR is a `dcsde run` results folder (a sweep: sweep.csv, summary.json, points/), or
a threshold folder of a [[claim.thresholds]] entry (threshold.json, entry.json).
Writes CLAIM_DIR/*.png and CLAIM_DIR/verdict.json: {"measured": str, "holds": bool | null,
"explanation": str, "figures": [png names]}.
The analyses themselves are in scripts/analyses/ (one module per group of claims). Run by
Debian's /usr/bin/python3 (python3-matplotlib, python3-numpy).
"""
import json
import os
import sys

from analyses import limits, networks, paper1, paper2, rules, scaling

ANALYSES = {f.__name__: f for f in (
    paper1.sde_tracking, paper1.noise_resilience, paper1.linear_speedup, scaling.scaling_rules,
    paper2.affine_compression, paper2.cauchy_schedule, paper2.stability, paper2.networks_paper2,
    networks.network_pattern, networks.bytes_accuracy, limits.stability_limits,
    limits.normalization_intensity, rules.schedules_fail, rules.classic_rules_leave_stability)}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ANALYSES:
        sys.exit(f"usage: reproduce.py {{{'|'.join(ANALYSES)}}} CLAIM_DIR RESULT_DIR...")
    verdict = ANALYSES[sys.argv[1]](sys.argv[2], sys.argv[3:])
    if verdict["holds"] is not None:
        verdict["holds"] = bool(verdict["holds"])  # numpy booleans are not JSON
    with open(os.path.join(sys.argv[2], "verdict.json"), "w") as f:
        json.dump(verdict, f, indent=2)


if __name__ == "__main__":
    main()
