"""Paper 1 (AISTATS 2025): the SDEs track the optimizers, noise resilience, linear speedup."""
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from .common import load_summary, load_curves, sweep_rows, number, loglog_slope, save_figure, band


# ---------------------------------------------------------------------------------------------
def sde_tracking(claim_dir, result_dirs):
    """Optimizer vs SDE curves with standard-error bands; weak error in standard errors."""
    points = []
    for result_dir in result_dirs:
        summary = load_summary(result_dir)
        if "points" not in summary:  # a single experiment: its folder is its one point
            summary = {"experiment": summary["experiment"], "points": [dict(summary, dir=".")]}
        for p in summary["points"]:
            points.append((summary["experiment"], p, os.path.join(result_dir, p["dir"])))
    cols = 3
    rows = math.ceil(len(points) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    lines, tracks = [], []
    for ax, (experiment, p, point_dir) in zip(axes.flat, points):
        curves = load_curves(point_dir)
        for process, style in (("optimizer", "-"), ("sde", "--")):
            c = curves[process]
            band(ax, c["step"], c["loss_mean"], c["loss_std"], c["alive"], process, style)
        w = p["weak_error"]["loss"]
        f0 = curves["optimizer"]["loss_mean"][0]
        # The SDE tracks the optimizer when the largest gap between the mean curves is within
        # Monte Carlo error (4 SE for the maximum over the records) or below 2% of f(x0).
        tracks.append(w["value"] <= 4 * w["sem"] or w["value"] <= 0.02 * f0)
        sigmas = w["value"] / w["sem"] if w["sem"] > 0 else math.inf
        lines.append(f"{experiment} {p['label']}: {w['value']:.3g} ({sigmas:.1f} SE, "
                     f"{100 * w['value'] / f0:.2f}% of f(x0))")
        ax.set_yscale("log")
        ax.set_title(f"{experiment}: {p['label']}", fontsize=9)
        ax.set_xlabel("step k")
        ax.set_ylabel("mean loss f (band: +-1 SE)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(points):]:
        ax.axis("off")
    save_figure(fig, claim_dir, "sde_tracking.png",
                "Optimizer (solid) vs SDE (dashed): mean loss with standard-error bands")
    holds = all(tracks)
    return {
        "measured": "weak error max_k |E f(x_k) - E f(X_k)| per point: " + "; ".join(lines),
        "holds": holds,
        "explanation": ("The first-order SDEs are weak approximations of order 1: the gap "
                        "shrinks like eta, so with many replicas it can be many standard errors "
                        "while staying below 1-2% of f(x0); tests/sde measures the order (slopes "
                        "near 1 as eta is halved)." if holds else
                        "a gap larger than Monte Carlo error and 2% of f(x0)."),
        "figures": ["sde_tracking.png"],
    }


# ---------------------------------------------------------------------------------------------
def by_method(rows, x_key):
    """{method label: (x values, asymptotic means, sems, diverged)} from a 2-axis sweep."""
    out = {}
    for r in rows:
        m = r["method"]
        xs, ys, ss, ds = out.setdefault(m, ([], [], [], []))
        xs.append(float(r[x_key]))
        ys.append(number(r, "asymptotic_loss_mean"))
        ss.append(number(r, "asymptotic_loss_sem"))
        ds.append(int(r["diverged"]))
    return {m: tuple(np.array(v) for v in t) for m, t in out.items()}


def errorbar_loglog(ax, data, xlabel, title):
    for m, (x, y, s, _) in data.items():
        ax.errorbar(x, y, yerr=s, marker="o", capsize=3, label=m)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("asymptotic loss (mean of last 10% of records)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


def noise_resilience(claim_dir, result_dirs):
    gaussian = by_method(sweep_rows(result_dirs[0]), "noise.sigma")
    heavy = by_method(sweep_rows(result_dirs[1]), "noise.nu")
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    errorbar_loglog(a, gaussian, "noise scale sigma", "Gaussian noise")
    for m, (x, y, s, d) in heavy.items():
        b.errorbar(x, np.where(np.isfinite(y), y, np.nan), yerr=s, marker="o", capsize=3, label=m)
    b.set_yscale("log")
    b.set_xlabel("Student-t degrees of freedom nu (nu <= 2: infinite variance)")
    b.set_ylabel("asymptotic loss")
    b.set_title("Student-t noise, sigma = 1", fontsize=10)
    b.grid(alpha=0.3, which="both")
    b.legend(fontsize=8)
    save_figure(fig, claim_dir, "noise_resilience.png",
                "Noise resilience: DCSGD ~ (1 + omega) sigma^2, DSignSGD ~ sigma")

    slopes = {m: loglog_slope(x, y) for m, (x, y, _, _) in gaussian.items()}
    dsgd = gaussian["DSGD"][1]
    ratios = {m: float(np.nanmean(gaussian[m][1] / dsgd))
              for m in gaussian if m.startswith("DCSGD")}
    expected = {m: 1 + float(m.split("omega=")[1]) for m in ratios}
    sign_slope = slopes["DSignSGD"]
    dcsgd_slopes = [v for m, v in slopes.items() if m != "DSignSGD"]
    heavy_dcsgd = heavy["DCSGD rand-k omega=9"]
    heavy_sign = heavy["DSignSGD"]
    nu3 = list(heavy_dcsgd[0]).index(3.0)
    # Breakdown: with infinite variance DCSGD's level explodes (nu = 1: Cauchy, more than 100 times
    # its nu = 3 level) and rises much faster than DSignSGD's as nu falls to 2.
    level = {nu: i for i, nu in enumerate(heavy_dcsgd[0])}
    d_lvl, s_lvl = heavy_dcsgd[1], heavy_sign[1]
    breakdown = (heavy_dcsgd[3][level[1.0]] > 0 or not np.isfinite(d_lvl[level[1.0]])
                 or d_lvl[level[1.0]] > 100 * d_lvl[nu3]) and \
        d_lvl[level[2.0]] / d_lvl[nu3] > 2 * s_lvl[level[2.0]] / s_lvl[nu3]
    sign_stable = all(np.isfinite(heavy_sign[1]) & (heavy_sign[3] == 0)) and \
        float(np.nanmax(heavy_sign[1]) / heavy_sign[1][list(heavy_sign[0]).index(3.0)]) < 3
    holds = (all(1.7 <= s <= 2.3 for s in dcsgd_slopes) and 0.7 <= sign_slope <= 1.3
             and all(0.6 <= ratios[m] / expected[m] <= 1.4 for m in ratios)
             and breakdown and sign_stable)
    heavy_text = "; ".join(
        f"nu={nu:g}: DCSGD {heavy_dcsgd[1][i]:.3g} ({int(heavy_dcsgd[3][i])} diverged), "
        f"DSignSGD {heavy_sign[1][i]:.3g}" for i, nu in enumerate(heavy_dcsgd[0]))
    measured = ("log-log slopes vs sigma: " + ", ".join(f"{m} {v:.2f}" for m, v in slopes.items())
                + "; level / DSGD: " + ", ".join(
                    f"{m} {ratios[m]:.2f} (1 + omega = {expected[m]:g})" for m in ratios)
                + "; Student-t: " + heavy_text)
    return {"measured": measured, "holds": holds,
            "explanation": "" if holds else "see the measured slopes and ratios against the "
            "expected 2 (DCSGD), 1 (DSignSGD) and 1 + omega.",
            "figures": ["noise_resilience.png"]}


# ---------------------------------------------------------------------------------------------
def linear_speedup(claim_dir, result_dirs):
    data = by_method(sweep_rows(result_dirs[0]), "agents.count")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    errorbar_loglog(ax, data, "agents N", "Linear speedup (dotted: 1/N through N = 1)")
    for m, (x, y, _, _) in data.items():
        ax.plot(x, y[0] * x[0] / x, ":", color="gray")
    save_figure(fig, claim_dir, "linear_speedup.png")
    slopes = {m: loglog_slope(x, y) for m, (x, y, _, _) in data.items()}
    holds = all(-1.25 <= s <= -0.75 for s in slopes.values())
    return {"measured": "log-log slope of the asymptotic loss vs N: " +
            ", ".join(f"{m} {s:.2f}" for m, s in slopes.items()) + " (linear speedup: -1)",
            "holds": holds, "explanation": "" if holds else "a slope outside [-1.25, -0.75].",
            "figures": ["linear_speedup.png"]}
