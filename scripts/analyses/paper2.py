"""Paper 2 (ICML 2026), E1-E5 and E7: affine noise and compression, Cauchy noise and schedules,
stability thresholds."""
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from .common import load_summary, load_curves, sweep_rows, number, save_figure, band, point_curves


def cauchy_schedule(claim_dir, result_dirs):
    """Constant eta plateaus (last/middle level ~ 1); eta/sqrt(k+1) keeps falling (~ 1/sqrt 2)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    lines, holds = [], True
    for label, _, c in point_curves(result_dirs[0]):
        band(ax, c["step"], c["loss_mean"], c["loss_std"], c["alive"], label,
             "-" if "constant" in label else "--")
        half = len(c["step"]) // 2
        ratio = c["loss_mean"][-1] / c["loss_mean"][half]
        finite = bool(np.all(np.isfinite(c["loss_mean"])) and c["alive"][-1] == c["alive"][0])
        lines.append(f"{label}: f(k_end)/f(k_end/2) = {ratio:.2f}")
        if "constant" in label:
            holds &= finite and 0.85 <= ratio <= 1.15
        else:
            holds &= finite and ratio <= 0.85
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel("mean loss (band: +-1 SE)")
    ax.set_title("DSignSGD under Cauchy noise (nu = 1): constant (solid) vs eta/sqrt(k+1) (dashed)",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, claim_dir, "cauchy_schedule.png")
    return {"measured": "; ".join(lines) + " (plateau: about 1; converging like eta_k: about "
            "0.71)", "holds": holds,
            "explanation": "" if holds else "a constant-eta run still moving or a scheduled run "
            "not converging within the horizon.",
            "figures": ["cauchy_schedule.png"]}


# ---------------------------------------------------------------------------------------------
def outcomes(result_dir, axis):
    """{(process label, axis value): converged?} with process label optimizer or the SDE model."""
    out = {}
    for p in load_summary(result_dir)["points"]:
        value = float(p["swept"][axis])
        model = str(p["swept"]["sde.model"]).strip('"')
        for process, label in (("optimizer", "optimizer"), ("sde", f"SDE {model}")):
            s = p["processes"][process]
            f_end = s["final"]["loss_mean"]
            curves = load_curves(os.path.join(result_dir, p["dir"]))[process]
            f0 = curves["loss_mean"][0]
            out[(label, value)] = s["diverged"] == 0 and f_end is not None and f_end < 1e-3 * f0
    return out


def stability(claim_dir, result_dirs):
    """Converges / diverges of the optimizer and each SDE flavour across eta (parabola) and x0
    (quartic), against the thresholds of papers.md 8.2-8.3."""
    parabola = outcomes(result_dirs[0], "method.lr")
    quartic = outcomes(result_dirs[1], "problem.x0")
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
    labels = ["optimizer", "SDE first_order", "SDE modified", "SDE stable"]
    for ax, data, xlabel, threshold, title in (
            (axes[0], parabola, "learning rate eta (lambda = 1)", [(2.0, "eta = 2/lambda")],
             "parabola f = x^2/2"),
            (axes[1], quartic, "initial point x0 (eta = 0.1)",
             [(math.sqrt(2 / 0.3), "x^2 = 2/(3 eta)"), (math.sqrt(20), "x^2 = 2/eta")],
             "quartic f = x^4/4")):
        for (label, x), ok in data.items():
            y = labels.index(label)
            ax.plot(x, y, "o" if ok else "x", color="tab:green" if ok else "tab:red", ms=10,
                    mew=2)
        for t, text in threshold:
            ax.axvline(t, color="gray", ls=":")
            ax.text(t, len(labels) - 0.6, text, fontsize=8, ha="center")
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels)
        ax.set_ylim(-0.5, len(labels) - 0.3)
        ax.set_xlabel(xlabel)
        ax.set_title(title + " (o converges, x diverges)", fontsize=10)
        ax.grid(alpha=0.3)
    save_figure(fig, claim_dir, "stability.png")

    def matches(data, label, rule):
        return all(ok == rule(x) for (lab, x), ok in data.items() if lab == label)
    checks = {
        "parabola: optimizer converges iff eta < 2": matches(parabola, "optimizer",
                                                             lambda e: e < 2),
        "parabola: stable SDE converges iff eta < 2": matches(parabola, "SDE stable",
                                                             lambda e: e < 2),
        "parabola: first-order SDE converges for every eta": matches(
            parabola, "SDE first_order", lambda e: True),
        "quartic: optimizer diverges iff x0^2 > 2/eta": matches(quartic, "optimizer",
                                                               lambda x: x * x < 20),
        "quartic: stable SDE repulsive iff x0^2 > 2/(3 eta)": matches(
            quartic, "SDE stable", lambda x: x * x < 2 / 0.3),
        "quartic: first-order SDE converges from every x0": matches(
            quartic, "SDE first_order", lambda x: True),
    }
    holds = all(checks.values())
    return {"measured": "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()),
            "holds": holds,
            "explanation": "On the quartic the stable SDE's repulsive threshold x^2 = 2/(3 eta) is "
            "three times below the optimizer's own x^2 = 2/eta: the second-order correction "
            "predicts instability where gradient descent still converges (papers.md 8.3); the "
            "first-order SDE predicts no instability at all." +
            ("" if holds else " Some check failed: see measured."),
            "figures": ["stability.png"]}


# ---------------------------------------------------------------------------------------------
def affine_compression(claim_dir, result_dirs):
    """E1-E3: final loss (or divergence) against omega for each method."""
    result_dir = result_dirs[0]
    d = 100.0  # problem.dim of affine_compression.toml: omega = d/k - 1 for rand-k
    methods = {}
    f0 = None
    for (label, swept, c), row in zip(point_curves(result_dir), sweep_rows(result_dir)):
        k = float(swept["compressor.k"])
        omega = d / k - 1
        f0 = c["loss_mean"][0]
        final = number(row, "final_loss_mean")
        diverged = int(row["diverged"]) > 0 or not np.isfinite(final) or final > f0
        methods.setdefault(row["method"], []).append((omega, final, diverged))
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for m, pts in methods.items():
        omegas = [p[0] for p in pts]
        finals = [p[1] if not p[2] else np.nan for p in pts]
        (line,) = ax.plot(omegas, finals, "o-", label=m)
        for omega, _, div in pts:
            if div:
                ax.plot(omega, f0, "x", color=line.get_color(), ms=10, mew=2)
    ax.axhline(f0, color="gray", ls=":", label="f(x0) (x: diverged)")
    ax.set_yscale("log")
    ax.set_xlabel("compression omega = d/k - 1 (rand-k)")
    ax.set_ylabel("final mean loss")
    ax.set_title("Affine noise Z ~ N(0, sigma1^2 ||g||^2 I): final loss vs omega", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, claim_dir, "affine_compression.png")

    dcsgd = sorted(methods["DCSGD (constant eta)"])
    norm = sorted(methods["normalized DCSGD (Eq. 15)"])
    nsgd = sorted(methods["normalized SGD"])
    flags = [div for _, _, div in dcsgd]
    # E1: DCSGD converges at omega = 0 and, once it diverges, diverges for every larger omega.
    e1 = not flags[0] and any(flags) and flags == sorted(flags)
    e2 = all(not div and final < 1e-2 * f0 for _, final, div in norm)
    e3 = all(nsgd[i][1] > norm[i][1] for i in range(len(norm)))
    first = next(o for o, _, div in dcsgd if div) if any(flags) else None
    measured = (f"DCSGD diverges for omega >= {first:g}" if first is not None else
                "DCSGD never diverges") + "; final loss / f(x0) of Eq. 15: " + ", ".join(
        f"omega={o:g}: {f / f0:.1e}" for o, f, _ in norm) + "; of normalized SGD: " + ", ".join(
        f"omega={o:g}: {f / f0:.1e}" for o, f, _ in nsgd)
    holds = e1 and e2 and e3
    return {"measured": measured, "holds": holds,
            "explanation": "" if holds else f"E1 {e1}, E2 {e2}, E3 {e3}.",
            "figures": ["affine_compression.png"]}
