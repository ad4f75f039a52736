"""Paper 2 (ICML 2026), stability limits measured by `dcsde threshold` ([[claim.thresholds]] of
claims.toml): the SDE models' limits against the optimizer's (Table 2, papers.md 8.2-8.6) and the
normalization intensity of DCSGD (Thm 4.2, insight 8.7). Each result folder holds threshold.json
(config/threshold.hpp) and entry.json (the entry's name, experiment file and overrides)."""
import json
import math
import os
import tomllib

import matplotlib.pyplot as plt
import numpy as np

from .common import loglog_slope, save_figure

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "reproduce")
MODELS = ("sde:stable", "sde:first_order", "sde:modified")
TRACK_FACTOR = 4.0  # claims.toml criterion: within a factor 4 (the quartic's exact 3, papers.md 8.3)


def load_entries(result_dirs):
    """[(entry, threshold report)] of the folders that hold a threshold.json, in order."""
    out = []
    for d in result_dirs:
        if os.path.exists(os.path.join(d, "threshold.json")):
            with open(os.path.join(d, "entry.json")) as f, \
                    open(os.path.join(d, "threshold.json")) as g:
                out.append((json.load(f), json.load(g)))
    return out


def processes_of(report):
    """The processes an entry ran ("optimizer", "sde:stable", ...): an entry may run some models
    only (the MLP's classic models run at more substeps, in an entry of their own)."""
    return {p["process"] for p in report["processes"]}


def criteria_of(report):
    """The criteria an entry was judged by (threshold.json "criteria")."""
    return set(report["criteria"])


def result(report, process, criterion):
    """(threshold or None when absent, Thm 4.2 / 4.3's value or None) of one process."""
    for p in report["processes"]:
        if p["process"] == process:
            for r in p["results"]:
                if r["criterion"] == criterion:
                    pred = r["prediction"]
                    theorem = pred["value"] if pred["kind"] == "sufficient" else None
                    return r["threshold"], theorem
    return None, None


def tracks(model, optimizer):
    """The criterion of claims.toml: both absent, or both found within TRACK_FACTOR."""
    if model is None or optimizer is None:
        return model is None and optimizer is None
    return abs(math.log(model / optimizer)) < math.log(TRACK_FACTOR)


def fmt(v):
    return "none" if v is None else f"{v:.3g}"


def stability_limits(claim_dir, result_dirs):
    entries = load_entries(result_dirs)
    criteria = ("mean_square", "almost_sure")
    misses = {m: [] for m in MODELS}
    judged = {m: 0 for m in MODELS}  # (case, criterion) pairs each model was judged on
    theorem_violations, lines = [], []
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    names = [e["name"] for e, _ in entries]
    for ax, criterion in zip(axes, criteria):
        for i, (entry, report) in enumerate(entries):
            if criterion not in criteria_of(report):
                continue  # e.g. the MLP entries: mean square only
            ran = processes_of(report)
            opt, theorem = result(report, "optimizer", criterion)
            row = [f"opt {fmt(opt)}"]
            for m in MODELS:
                if m not in ran:
                    continue
                thr, _ = result(report, m, criterion)
                judged[m] += 1
                if not tracks(thr, opt):
                    misses[m].append(f"{entry['name']} ({criterion})")
                row.append(f"{m[4:]} {fmt(thr)}")
            if opt is not None and theorem is not None and theorem > opt:
                theorem_violations.append(f"{entry['name']} ({criterion})")
            row.append(f"Thm {fmt(theorem)}")
            lines.append(f"{entry['name']} {criterion}: " + ", ".join(row))
            for process, marker, color in (("optimizer", "o", "black"),
                                           ("sde:stable", "s", "tab:green"),
                                           ("sde:first_order", "^", "tab:red"),
                                           ("sde:modified", "v", "tab:orange")):
                if process not in ran:
                    continue
                thr, _ = result(report, process, criterion)
                top = report_bracket_top(report)
                y, face = (thr, color) if thr is not None else (top * 1.6, "none")
                ax.plot(i, y, marker, color=color, mfc=face, ms=8,
                        label=(process if i == 0 else None))
            if theorem is not None:
                ax.plot([i - 0.3, i + 0.3], [theorem, theorem], "-", color="tab:blue",
                        label=("Thm 4.2 / 4.3 (sufficient)" if i == 0 else None))
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{criterion}: largest stable method.lr (open marker: none in the bracket)",
                     fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("threshold of method.lr")
    axes[0].legend(fontsize=7)
    save_figure(fig, claim_dir, "stability_limits.png")
    holds = (not misses["sde:stable"] and bool(misses["sde:first_order"])
             and bool(misses["sde:modified"]) and not theorem_violations)
    summary = (f"stable SDE misses: {len(misses['sde:stable'])} of {judged['sde:stable']}, "
               f"first-order SDE misses: {len(misses['sde:first_order'])} of "
               f"{judged['sde:first_order']}, modified SDE misses: "
               f"{len(misses['sde:modified'])} of {judged['sde:modified']} "
               f"(case, criterion) pairs; theorem above the measured limit: "
               f"{len(theorem_violations)}")
    explanation = []
    if misses["sde:stable"]:
        explanation.append("the stable SDE misses " + ", ".join(misses["sde:stable"]))
    for m in ("sde:first_order", "sde:modified"):
        if not misses[m]:
            explanation.append(f"negative control failed: the {m[4:]} SDE tracks every case")
    if theorem_violations:
        explanation.append("Thm 4.2 / 4.3 exceed the measured limit in "
                           + ", ".join(theorem_violations))
    return {"measured": summary + ". " + "; ".join(lines), "holds": holds,
            "explanation": ("Negative controls: the first-order SDE misses "
                            + (", ".join(misses["sde:first_order"]) or "nothing")
                            + "; the modified SDE misses "
                            + (", ".join(misses["sde:modified"]) or "nothing") + ". "
                            + "; ".join(explanation)).strip(),
            "figures": ["stability_limits.png"]}


def report_bracket_top(report):
    return max(p["value"] for proc in report["processes"] for p in proc["probes"])


# ---------------------------------------------------------------------------------------------
def parameters(entry):
    """d, N, omega, sigma1, x0 of an entry: its experiment file with the entry's overrides."""
    with open(os.path.join(EXPERIMENTS, entry["experiment"]), "rb") as f:
        config = tomllib.load(f)
    for s in entry["set"]:
        key, value = s.split("=", 1)
        section, name = key.split(".", 1)
        config.setdefault(section, {})[name] = tomllib.loads(f"v = {value}")["v"]
    d = config["problem"]["dim"]
    return {"omega": d / config["compressor"]["k"] - 1.0, "sigma1": config["noise"]["sigma1"],
            "x0": config["problem"]["x0"], "d": d, "N": config["agents"]["count"]}


def thm42_step(p, ignore_omega=False):
    """Thm 4.2 at t = 0, eps -> 1 (papers.md 8.4): 2 / (G P + Q) on the quartic (L0 = L1 = 3),
    ||grad f(x0)|| = sqrt(d) x0^3, sigma0 = 0 so Q = 0, identical agents (averages = values)."""
    w = 0.0 if ignore_omega else p["omega"]
    s1 = p["sigma1"] ** 2
    G = 3.0 + 3.0 * math.sqrt(p["d"]) * p["x0"] ** 3
    P = 1.0 + (w + p["d"] * (s1 * w + s1)) / p["N"]
    return 2.0 / (G * P)


BASE = {"omega": 1.0, "sigma1": 0.5, "x0": 1.0, "d": 10, "N": 4}


def slope_test(measured, rule):
    """claims.toml: same sign (|s| <= 0.05 is zero) and 1/2 <= s_meas / s_rule <= 2."""
    sign = lambda s: 0 if abs(s) <= 0.05 else (1 if s > 0 else -1)  # noqa: E731
    if sign(measured) != sign(rule):
        return False
    return sign(rule) == 0 or 0.5 <= measured / rule <= 2.0


def normalization_intensity(claim_dir, result_dirs):
    points = []
    for entry, report in load_entries(result_dirs):
        thr, theorem_cpp = result(report, "optimizer", "mean_square")
        points.append((parameters(entry), thr, theorem_cpp))
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.8))
    holds, control_passes, lines = True, True, []
    for ax, name in zip(axes, BASE):
        # The sweep of `name`: the points equal to the base in every other parameter.
        sweep = sorted((p[name], thr, p) for p, thr, _ in points
                       if all(p[k] == BASE[k] for k in BASE if k != name))
        x = [s[0] for s in sweep]
        y = [s[1] if s[1] is not None else math.nan for s in sweep]
        rule = [thm42_step(s[2]) for s in sweep]
        control = [thm42_step(s[2], ignore_omega=True) for s in sweep]
        s_meas, s_thm, s_ctl = loglog_slope(x, y), loglog_slope(x, rule), loglog_slope(x, control)
        ok, ok_ctl = slope_test(s_meas, s_thm), slope_test(s_meas, s_ctl)
        holds &= ok
        control_passes &= ok_ctl
        lines.append(f"{name} {x}: thresholds {[f'{v:.3g}' for v in y]}, slope {s_meas:.2f} vs "
                     f"Thm 4.2 {s_thm:.2f} ({'ok' if ok else 'fails'}), omega-blind rule "
                     f"{s_ctl:.2f}")
        ax.loglog(x, y, "o-", color="black", label="measured (mean square)")
        scale = y[len(y) // 2] / rule[len(rule) // 2] if np.isfinite(y[len(y) // 2]) else 1.0
        ax.loglog(x, [r * scale for r in rule], "--", color="tab:blue",
                  label=f"Thm 4.2 x {scale:.3g}")
        ax.loglog(x, [c * scale for c in control], ":", color="tab:red",
                  label="omega-blind rule (control)")
        ax.set_xlabel(name)
        ax.set_title(f"slope {s_meas:.2f} (Thm 4.2: {s_thm:.2f})", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("largest stable method.lr")
    axes[0].legend(fontsize=7)
    save_figure(fig, claim_dir, "normalization_intensity.png")
    cpp = [(t, thm42_step(p)) for p, _, t in points if t is not None]
    check = max((abs(a / b - 1.0) for a, b in cpp), default=math.nan)
    # dcsde's own prediction (threshold.json) exists where Thm 4.2's value lies in the probed range.
    cross = (f" (Thm 4.2 here vs dcsde's prediction: max relative difference {check:.1e} over "
             f"{len(cpp)} points)" if cpp else "")
    return {"measured": "; ".join(lines) + "." + cross,
            "holds": bool(holds and not control_passes),
            "explanation": ("negative control rejected: the omega-blind rule fails the slope test"
                            if not control_passes else "negative control NOT rejected: the "
                            "omega-blind rule passes the slope test")
            + ("" if holds else "; Thm 4.2's slopes fail the test for at least one parameter"),
            "figures": ["normalization_intensity.png"]}
