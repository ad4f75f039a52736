"""The per-claim analyses of `dcsde reproduce` (scripts/reproduce.py): figures and verdicts.

common: results loading and plotting helpers; quadratic_moments: exact second moments of DSGD,
DCSGD and their SDE on a diagonal quadratic; paper1, scaling, paper2, networks, limits, rules:
one function per analysis named in experiments/reproduce/claims.toml.
"""
import matplotlib

matplotlib.use("Agg")  # files only, no display; before any module imports pyplot
