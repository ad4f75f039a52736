"""Paper 2 (ICML 2026), E1-E5 and E7: affine noise and compression, Cauchy noise and schedules,
stability thresholds."""
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from .common import load_summary, load_curves, save_figure, band, point_curves, point_configs


def _window_mean(c, lo, hi):
    """Mean of loss_mean over the records whose step lies in [lo, hi] of the horizon."""
    step = c["step"]
    k = step[-1]
    sel = (step >= lo * k) & (step <= hi * k)
    return float(np.mean(c["loss_mean"][sel]))


def _cauchy_runs(result_dir, ax, title):
    """{(schedule label, sigma): (r, stable, final / f0)} of one DSignSGD schedule sweep, its
    curves drawn on ax; r = tail (last 10 %) / middle ([45 %, 55 %]) mean loss."""
    summary = load_summary(result_dir)
    configs = point_configs(result_dir)
    runs = {}
    for p, cfg, (label, swept, c) in zip(summary["points"], configs, point_curves(result_dir)):
        sigma = cfg["noise"]["sigma"]  # a list in the resolved config (one scale per coordinate)
        sigma = float(swept.get("noise.sigma", sigma[0] if isinstance(sigma, list) else sigma))
        schedule = str(p["label"]).split(", ", 1)[-1] if "noise.sigma" in swept else str(p["label"])
        style = "-" if schedule == "constant eta" else ":" if "control" in schedule else "--"
        band(ax, c["step"], c["loss_mean"], c["loss_std"], c["alive"], label, style)
        r = _window_mean(c, 0.9, 1.0) / _window_mean(c, 0.45, 0.55)
        diverged = p["processes"]["optimizer"]["diverged"]
        f0 = c["loss_mean"][0]
        stable = diverged == 0 and bool(np.all(np.isfinite(c["loss_mean"])))
        runs[(schedule, sigma)] = (r, stable, c["loss_mean"][-1] / f0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel("mean loss (band: +-1 SE)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3, which="both")
    return runs, summary["points"][0]["processes"]["optimizer"]["replicas"]


def _e4(v, level):
    """E4: stable, final mean loss < level f(x0), 0.85 <= r <= 1.15."""
    r, stable, rel = v
    return stable and rel < level and 0.85 <= r <= 1.15


def _e5(v):
    r, stable, _ = v
    return stable and r <= 0.85


def _cauchy_rows(runs):
    sigmas = sorted({s for _, s in runs})
    labels = list(dict.fromkeys(lab for lab, _ in runs))
    return "; ".join(f"{lab}: r = " + ", ".join(
        f"{runs[(lab, s)][0]:.2f} (sigma={s:g}, f_K/f0 = {runs[(lab, s)][2]:.1e}"
        f"{'' if runs[(lab, s)][1] else ', DIVERGED'})" for s in sigmas) for lab in labels)


def cauchy_schedule(claim_dir, result_dirs):
    """E4-E5 with the criterion of claims.toml, on each experiment (cosh, MLP): per sigma, r =
    tail (last 10 %) / middle ([45 %, 55 %]) mean loss; constant eta plateaus (0.85 <= r <= 1.15,
    stable, final < f0 / 100), eta/sqrt(k+1) converges (r <= 0.85); the controls must be rejected
    by the same tests."""
    names = ["cosh", "MLP"]
    fig, axes = plt.subplots(1, len(result_dirs), figsize=(7.5 * len(result_dirs), 4.8))
    axes = np.atleast_1d(axes)
    parts, holds, failing = [], True, []
    for i, result_dir in enumerate(result_dirs):
        name = names[i] if i < len(names) else f"experiment {i}"
        runs, replicas = _cauchy_runs(
            result_dir, axes[i], f"DSignSGD on {name}, Cauchy noise (nu = 1): constant (solid), "
            "eta/sqrt(k+1) (dashed), control (dotted)")
        sigmas = sorted({s for _, s in runs})
        control = next(lab for lab, _ in runs if "control" in lab)
        checks = {
            "E4 (constant eta plateaus, stable)": all(_e4(runs[("constant eta", s)], 1e-2)
                                                      for s in sigmas),
            "E5 (eta/sqrt(k+1) converges)": all(_e5(runs[("eta/sqrt(k+1)", s)]) for s in sigmas),
        }
        controls = {
            "E5 on constant eta": any(_e5(runs[("constant eta", s)]) for s in sigmas),
            "E5 on the decay-then-constant schedule": any(_e5(runs[(control, s)])
                                                          for s in sigmas),
            "E4 on eta/sqrt(k+1)": any(_e4(runs[("eta/sqrt(k+1)", s)], 1e-2) for s in sigmas),
        }
        holds = holds and all(checks.values()) and not any(controls.values())
        failing += [f"{name} {k}" for k, v in checks.items() if not v]
        failing += [f"{name} control {k} accepted" for k, v in controls.items() if v]
        parts.append(
            f"**{name}** ({replicas} replicas): " + _cauchy_rows(runs) + ". " + "; ".join(
                f"{k}: {'passes' if v else 'FAILS'}" for k, v in checks.items()) +
            "; negative controls: " + "; ".join(
                f"{k}: {'accepted (BAD)' if v else 'rejected'}" for k, v in controls.items()) +
            ".")
    save_figure(fig, claim_dir, "cauchy_schedule.png")
    return {"measured": " ".join(parts), "holds": holds,
            "explanation": "" if holds else "Failing: " + ", ".join(failing) + ".",
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
def _plot_affine(ax, methods, f0, title):
    """Final mean loss against 1 + omega per method (x at f(x0): diverged; controls dotted)."""
    for m, pts in methods.items():
        omegas = [p[0] + 1 for p in pts]
        finals = [p[1] if not p[2] else np.nan for p in pts]
        (line,) = ax.plot(omegas, finals, "o-" if "control" not in m else "s:", label=m)
        for omega, _, div, _, _ in pts:
            if div:
                ax.plot(omega + 1, f0, "x", color=line.get_color(), ms=10, mew=2)
    ax.axhline(f0, color="gray", ls=":", label="f(x0) (x: diverged)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("1 + omega = d/k (rand-k)")
    ax.set_ylabel("final mean loss (live replicas)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)


def _affine_points(result_dir):
    """{method label: [(omega, final mean loss, diverged?, f(K)/f(K/2))]} sorted by omega, and
    f(x0); omega = d/k - 1 of rand-k, d = problem.dim, or for a network (no dim key) the largest
    k swept (the files sweep k = d, omega = 0)."""
    summary = load_summary(result_dir)
    configs = point_configs(result_dir)
    d = configs[0]["problem"].get("dim") or max(float(p["swept"]["compressor.k"])
                                                for p in summary["points"])
    methods, f0 = {}, None
    for p, (_, swept, c) in zip(summary["points"], point_curves(result_dir)):
        k = float(swept["compressor.k"])
        f0 = c["loss_mean"][0]
        s = p["processes"]["optimizer"]
        final = s["final"]["loss_mean"]
        final = math.nan if final is None else float(final)
        diverged = s["diverged"] > 0 or not np.isfinite(final) or final > f0
        half = c["loss_mean"][len(c["step"]) // 2]
        label = str(p["label"]).split(", ", 1)[-1]
        trend = final / half if half > 0 else (1.0 if final == 0 else math.inf)
        methods.setdefault(label, []).append((d / k - 1, final, diverged, trend,
                                              s["diverged"] / s["replicas"]))
    return {m: sorted(v) for m, v in methods.items()}, f0


def _e1(pts):
    flags = [div for _, _, div, _, _ in pts]
    return not flags[0] and flags[-1] and flags == sorted(flags)


def _e2(pts, f0, toy):
    if toy:
        return all(frac == 0 and not div and final < 1e-2 * f0
                   for _, final, div, _, frac in pts)
    return all(frac == 0 and not div and final < f0 and trend <= 1
               for _, final, div, trend, frac in pts)


def _e3(other, norm, f0):
    return all((o[2] and not n[2]) or (not o[2] and o[1] > 10 * max(n[1], 1e-12 * f0))
               for o, n in zip(other, norm))


def affine_compression(claim_dir, result_dirs):
    """E1-E3 on each experiment (cosh toy, MLP) with the criterion of claims.toml, and the
    negative controls through the same tests."""
    names = ["toy (cosh)", "MLP"]
    fig, axes = plt.subplots(1, len(result_dirs), figsize=(6.5 * len(result_dirs), 4.6))
    axes = np.atleast_1d(axes)
    parts, passes, rejected, info, failing = [], [], [], [], []
    for i, result_dir in enumerate(result_dirs):
        name = names[i] if i < len(names) else f"experiment {i}"
        toy = i == 0
        methods, f0 = _affine_points(result_dir)
        _plot_affine(axes[i], methods, f0, f"{name}: affine noise Z ~ N(0, sigma1^2 ||g||^2 I)")

        dcsgd = methods["DCSGD (constant eta)"]
        norm = methods["normalized DCSGD (Eq. 15)"]
        nsgd = methods["normalized SGD"]
        checks = {"E1": _e1(dcsgd), "E2": _e2(norm, f0, toy), "E3": _e3(nsgd, norm, f0)}
        controls = {"E1 on Eq. 15": _e1(norm), "E2 on DCSGD": _e2(dcsgd, f0, toy)}
        l1 = methods.get("control: Eq. 15 with L1 = 0")
        if toy:
            controls["E2 on Eq. 15 with L1 = 0"] = _e2(l1, f0, toy)
            controls["E3 on Eq. 15 eps = 0.25"] = _e3(methods["control: Eq. 15 with eps = 0.25"],
                                                      norm, f0)
        elif l1 is not None:
            info.append(f"{name}, Eq. 15 with L1 = 0 (reported only): E2 "
                        f"{'accepts' if _e2(l1, f0, toy) else 'rejects'} it")
        passes += list(checks.values())
        rejected += [not v for v in controls.values()]
        failing += [f"{name} {k}" for k, v in checks.items() if not v]
        failing += [f"{name} control {k} accepted" for k, v in controls.items() if v]

        def row(pts):
            return ", ".join(
                f"{o:.3g}: " + (f"div {frac:.0%}" if frac > 0 else "") +
                ("" if frac > 0 and not np.isfinite(final) else
                 f"{' ' if frac > 0 else ''}{final / f0:.1e}") for o, final, _, _, frac in pts)
        parts.append(
            f"**{name}** (f(x0) = {f0:.3g}; per omega: final mean loss / f(x0), 'div' = share "
            "of diverged replicas): " + "; ".join(f"{m}: {row(pts)}" for m, pts in
                                                   methods.items()) +
            (f"; Eq. 15 f(K)/f(K/2): " + ", ".join(f"{o:.3g}: {t:.2f}" for o, _, _, t, _ in norm)
             if not toy else "") + ". " +
            ", ".join(f"{k} {'passes' if v else 'FAILS'}" for k, v in checks.items()) +
            "; controls: " + ", ".join(f"{k} {'accepted (BAD)' if v else 'rejected'}"
                                       for k, v in controls.items()) + ".")
    save_figure(fig, claim_dir, "affine_compression.png")
    holds = all(passes) and all(rejected)
    return {"measured": " ".join(parts) + (" " + "; ".join(info) + "." if info else ""),
            "holds": holds,
            "explanation": "" if holds else "Failing: " + ", ".join(failing) + ".",
            "figures": ["affine_compression.png"]}


# ---------------------------------------------------------------------------------------------
def networks_paper2(claim_dir, result_dirs):
    """E6: E1-E2 (affine noise, DCSGD vs Eq. 15 across omega) and E4-E5 (Cauchy noise, DSignSGD
    constant eta vs eta/sqrt(k+1)) on each network, with the finite-budget criteria of claims.toml
    (affine_compression's MLP form; cauchy_schedule's with final < f(x0)) and the negative
    controls through the same tests. The experiments are told apart by name: networks_affine_* and
    networks_cauchy_*, network = what follows."""
    affine, cauchy = {}, {}
    for d in result_dirs:
        experiment = load_summary(d)["experiment"]
        kind, net = experiment.split("_")[1:3]
        (affine if kind == "affine" else cauchy)[net] = d
    nets = list(affine) + [n for n in cauchy if n not in affine]
    names = {"resnet": "ResNet", "vit": "ViT"}
    fig, axes = plt.subplots(2, len(nets), figsize=(6.5 * len(nets), 9.0), squeeze=False)
    parts, holds, failing = [], True, []
    for j, net in enumerate(nets):
        name = names.get(net, net)
        checks, controls, text = {}, {}, []
        if net in affine:
            methods, f0 = _affine_points(affine[net])
            replicas = load_summary(affine[net])["points"][0]["processes"]["optimizer"]["replicas"]
            _plot_affine(axes[0, j], methods, f0, f"{name}: affine noise, DCSGD vs Eq. 15")
            dcsgd = methods["DCSGD (constant eta)"]
            norm = methods["normalized DCSGD (Eq. 15)"]
            checks.update({"E1": _e1(dcsgd), "E2": _e2(norm, f0, False)})
            controls.update({"E1 on Eq. 15": _e1(norm), "E2 on DCSGD": _e2(dcsgd, f0, False)})

            def row(pts):
                return ", ".join(
                    f"{o:.3g}: " + (f"div {frac:.0%}" if frac > 0 else "") +
                    ("" if frac > 0 and not np.isfinite(final) else
                     f"{' ' if frac > 0 else ''}{final / f0:.1e}")
                    for o, final, _, _, frac in pts)
            text.append(
                f"affine noise ({replicas} replicas, f(x0) = {f0:.3g}; per omega: final mean "
                "loss / f(x0), 'div' = share of diverged replicas): " +
                "; ".join(f"{m}: {row(pts)}" for m, pts in methods.items()) +
                "; f(K)/f(K/2): " + "; ".join(
                    f"{m}: " + ", ".join(f"{o:.3g}: {t:.2f}" for o, _, _, t, _ in pts)
                    for m, pts in methods.items()))
        else:
            axes[0, j].set_visible(False)
        if net in cauchy:
            runs, replicas = _cauchy_runs(
                cauchy[net], axes[1, j], f"DSignSGD on the {name}, Cauchy noise (nu = 1): "
                "constant (solid), eta/sqrt(k+1) (dashed)")
            sigmas = sorted({s for _, s in runs})
            checks.update({
                "E4": all(_e4(runs[("constant eta", s)], 1.0) for s in sigmas),
                "E5": all(_e5(runs[("eta/sqrt(k+1)", s)]) for s in sigmas)})
            controls.update({
                "E5 on constant eta": any(_e5(runs[("constant eta", s)]) for s in sigmas),
                "E4 on eta/sqrt(k+1)": any(_e4(runs[("eta/sqrt(k+1)", s)], 1.0)
                                           for s in sigmas)})
            text.append(f"Cauchy noise ({replicas} replicas): " + _cauchy_rows(runs))
        else:
            axes[1, j].set_visible(False)
        holds = holds and all(checks.values()) and not any(controls.values())
        failing += [f"{name} {k}" for k, v in checks.items() if not v]
        failing += [f"{name} control {k} accepted" for k, v in controls.items() if v]
        parts.append(
            f"**{name}**: " + ". ".join(text) + ". " +
            ", ".join(f"{k} {'passes' if v else 'FAILS'}" for k, v in checks.items()) +
            "; controls: " + ", ".join(f"{k} {'accepted (BAD)' if v else 'rejected'}"
                                       for k, v in controls.items()) + ".")
    save_figure(fig, claim_dir, "networks_paper2.png")
    return {"measured": " ".join(parts), "holds": holds,
            "explanation": "" if holds else "Failing: " + ", ".join(failing) + ".",
            "figures": ["networks_paper2.png"]}
