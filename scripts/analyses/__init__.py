"""The per-claim analyses of `dcsde reproduce` (scripts/reproduce.py): figures and verdicts.

common: results loading and plotting helpers; paper1, scaling, paper2, networks, limits, rules:
one function
per analysis named in experiments/reproduce/claims.toml.
"""
import matplotlib

matplotlib.use("Agg")  # files only, no display; before any module imports pyplot
