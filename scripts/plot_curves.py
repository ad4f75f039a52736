"""Draws dcsde loss curves:
python3 plot_curves.py OUT.png TITLE [--statistic=mean|median] LABEL CURVES.csv [LABEL CURVES.csv ...]

Left, with --statistic=mean (the default): mean loss against step with a shaded band of +-1
standard error (std / sqrt(alive)); with --statistic=median: the median loss with its
inter-quartile band (loss_q25 .. loss_q75), for heavy tails where the mean does not exist
([output] statistic). Log scale when every band value is positive. Right: mean gradient norm.
One line per (label, process). Embedded into the dcsde binary at build time; needs only numpy
and matplotlib (Debian's).
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
    columns = ["step", "loss_mean", "loss_std", "grad_norm_mean", "alive"]
    if "loss_median" in reader.fieldnames:
        columns += ["loss_median", "loss_q25", "loss_q75"]
    for process, items in rows.items():
        out[process] = {k: np.array([float(r[k]) for r in items]) for k in columns}
    return out


def line_and_band(c, statistic):
    """The loss line and its band (low, high) for the statistic."""
    if statistic == "median":
        if "loss_median" not in c:
            raise SystemExit("curves.csv has no loss_median column (written by an older dcsde)")
        return c["loss_median"], c["loss_q25"], c["loss_q75"]
    sem = c["loss_std"] / np.sqrt(np.maximum(c["alive"], 1))
    return c["loss_mean"], c["loss_mean"] - sem, c["loss_mean"] + sem


def main(argv):
    png, title, pairs = argv[1], argv[2], argv[3:]
    statistic = "mean"
    if pairs and pairs[0].startswith("--statistic="):
        statistic, pairs = pairs[0].split("=", 1)[1], pairs[1:]
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.5))
    positive = True
    for i in range(0, len(pairs), 2):
        label, path = pairs[i], pairs[i + 1]
        for process, c in read(path).items():
            if process == "bound":
                ax_loss.plot(c["step"], c["bound"], "k--", lw=1.4, label="bound (papers' theorem)")
                continue
            name = label if process == "optimizer" else f"{label} ({process})"
            value, low, high = line_and_band(c, statistic)
            line, = ax_loss.plot(c["step"], value, label=name, lw=1.6)
            ax_loss.fill_between(c["step"], low, high, color=line.get_color(), alpha=0.25, lw=0)
            ax_grad.plot(c["step"], c["grad_norm_mean"], label=name, lw=1.6, color=line.get_color())
            positive = positive and bool(np.all(low > 0))
    if positive:
        ax_loss.set_yscale("log")
    ax_grad.set_yscale("log")
    ax_loss.set_xlabel("step k")
    if statistic == "median":
        ax_loss.set_ylabel("median loss f(x_k) over replicas (band: quartiles q25..q75)")
    else:
        ax_loss.set_ylabel("mean loss f(x_k) (band: +-1 standard error)")
    ax_grad.set_xlabel("step k")
    ax_grad.set_ylabel("mean gradient norm ||grad f(x_k)||")
    ax_loss.set_title(f"loss ({statistic})")
    ax_grad.set_title("gradient norm")
    for ax in (ax_loss, ax_grad):
        ax.grid(True, which="both", alpha=0.3)
    ax_loss.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main(sys.argv)
