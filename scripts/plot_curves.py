"""Draws dcsde loss curves: python3 plot_curves.py OUT.png TITLE LABEL CURVES.csv [LABEL CURVES.csv ...]

Left: mean loss against step with a shaded band of +-1 standard error (std / sqrt(alive)),
log scale when every value is positive. Right: mean gradient norm. One line per (label, process).
Embedded into the dcsde binary at build time; needs only numpy and matplotlib (Debian's).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    rows = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if "bound" in reader.fieldnames:  # bound.csv of `dcsde bound`
            items = list(reader)
            return {"bound": {k: np.array([float(r[k]) for r in items]) for k in ("step", "bound")}}
        for row in reader:
            rows.setdefault(row["process"], []).append(row)
    out = {}
    for process, items in rows.items():
        out[process] = {k: np.array([float(r[k]) for r in items])
                        for k in ("step", "loss_mean", "loss_std", "grad_norm_mean", "alive")}
    return out


def main(argv):
    png, title, pairs = argv[1], argv[2], argv[3:]
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.5))
    positive = True
    for i in range(0, len(pairs), 2):
        label, path = pairs[i], pairs[i + 1]
        for process, c in read(path).items():
            if process == "bound":
                ax_loss.plot(c["step"], c["bound"], "k--", lw=1.4, label="bound (papers' theorem)")
                continue
            name = label if process == "optimizer" else f"{label} ({process})"
            sem = c["loss_std"] / np.sqrt(np.maximum(c["alive"], 1))
            line, = ax_loss.plot(c["step"], c["loss_mean"], label=name, lw=1.6)
            ax_loss.fill_between(c["step"], c["loss_mean"] - sem, c["loss_mean"] + sem,
                                 color=line.get_color(), alpha=0.25, lw=0)
            ax_grad.plot(c["step"], c["grad_norm_mean"], label=name, lw=1.6, color=line.get_color())
            positive = positive and bool(np.all(c["loss_mean"] - sem > 0))
    if positive:
        ax_loss.set_yscale("log")
    ax_grad.set_yscale("log")
    ax_loss.set_xlabel("step k")
    ax_loss.set_ylabel("mean loss f(x_k) (band: +-1 standard error)")
    ax_grad.set_xlabel("step k")
    ax_grad.set_ylabel("mean gradient norm ||grad f(x_k)||")
    ax_loss.set_title("loss")
    ax_grad.set_title("gradient norm")
    for ax in (ax_loss, ax_grad):
        ax.grid(True, which="both", alpha=0.3)
    ax_loss.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main(sys.argv)
