"""Draws the probes of `dcsde threshold`: python3 plot_threshold.py OUT.png threshold.json

One panel per criterion: mean square, the fitted growth rate of log E y per step (with its
standard error); almost sure, the fraction of replicas that grow or diverged. One colour per
process; filled markers are unstable probes. Solid vertical lines: the measured thresholds;
dashed: the theory's predictions. Embedded into the dcsde binary at build time; needs only
numpy and matplotlib (Debian's).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(argv):
    png, path = argv[1], argv[2]
    with open(path) as f:
        report = json.load(f)
    criteria = list(report["criteria"])
    fig, axes = plt.subplots(1, len(criteria), figsize=(6.5 * len(criteria), 4.5), squeeze=False)
    values = [p["value"] for proc in report["processes"] for p in proc["probes"]]
    for ax, criterion in zip(axes[0], criteria):
        for i, proc in enumerate(report["processes"]):
            color = f"C{i}"
            probes = proc["probes"]
            x = np.array([p["value"] for p in probes])
            verdicts = [p["verdicts"][criterion] for p in probes]
            unstable = np.array([v["unstable"] for v in verdicts])
            if criterion == "mean_square":
                y = np.array([np.nan if v["rate_per_step"] is None else v["rate_per_step"]
                              for v in verdicts])
                err = np.array([v["rate_sem"] for v in verdicts])
                ax.errorbar(x, y, yerr=err, fmt="none", ecolor=color, alpha=0.5)
            else:
                y = np.array([v["diverging_fraction"] for v in verdicts])
            ax.plot(x[~unstable], y[~unstable], "o", mfc="none", color=color)
            ax.plot(x[unstable], y[unstable], "o", color=color, label=proc["process"])
            for r in proc["results"]:
                if r["criterion"] != criterion:
                    continue
                ax.axvline(r["threshold"], color=color, lw=1.2)
                if r["prediction"]["value"] is not None:
                    ax.axvline(r["prediction"]["value"], color=color, lw=1.2, ls="--")
        if criterion == "mean_square":
            ax.axhline(0.0, color="k", lw=0.6)
            ax.set_yscale("symlog", linthresh=1e-4)
            ax.set_ylabel("growth rate of log E y per step (+- s.e.)")
        else:
            ax.axhline(0.5, color="k", lw=0.6)
            ax.set_ylabel("fraction of replicas growing or diverged")
        if min(values) > 0 and max(values) > 10 * min(values):
            ax.set_xscale("log")
        ax.set_xlabel(report["key"])
        ax.set_title(f"{criterion} (filled: unstable; solid: measured, dashed: theory)",
                     fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{report['experiment']}: stability limit of {report['key']}")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main(sys.argv)
