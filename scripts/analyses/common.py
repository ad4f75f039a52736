"""Loading a `dcsde run` results folder and the plotting helpers shared by the analyses."""
import csv
import json
import math
import os
import tomllib

import numpy as np

MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "experiments",
                        "reproduce", "claims.toml")


def load_summary(result_dir):
    with open(os.path.join(result_dir, "summary.json")) as f:
        return json.load(f)


def load_curves(point_dir):
    """{process: {column: np.array}} of one point's curves.csv."""
    out = {}
    with open(os.path.join(point_dir, "curves.csv")) as f:
        for row in csv.DictReader(f):
            p = out.setdefault(row["process"], {})
            for key, value in row.items():
                if key != "process":
                    p.setdefault(key, []).append(float(value) if value != "" else math.nan)
    return {p: {k: np.array(v) for k, v in cols.items()} for p, cols in out.items()}


def sweep_rows(result_dir):
    with open(os.path.join(result_dir, "sweep.csv")) as f:
        return list(csv.DictReader(f))


def number(row, key):
    value = row.get(key, "")
    return float(value) if value not in ("", None) else math.nan


def loglog_slope(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def save_figure(fig, claim_dir, name, title=None, dpi=110):
    """Title, layout and PNG of one claim figure; returns the file name for the verdict."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.path.join(claim_dir, name), dpi=dpi)
    return name


def band(ax, step, mean, std, n, label, style="-"):
    sem = std / np.sqrt(np.maximum(n, 1))
    (line,) = ax.plot(step, mean, style, label=label)
    ax.fill_between(step, mean - sem, mean + sem, color=line.get_color(), alpha=0.25)


# ---------------------------------------------------------------------------------------------
def point_curves(result_dir):
    """[(label, swept values, optimizer curves)] of a sweep, in point order."""
    summary = load_summary(result_dir)
    return [(p["label"], p["swept"], load_curves(os.path.join(result_dir, p["dir"]))["optimizer"])
            for p in summary["points"]]


def point_configs(result_dir):
    """The resolved config.toml of each point of a sweep, in point order."""
    configs = []
    for p in load_summary(result_dir)["points"]:
        with open(os.path.join(result_dir, p["dir"], "config.toml"), "rb") as f:
            configs.append(tomllib.load(f))
    return configs


