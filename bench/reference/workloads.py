#!/usr/bin/python3
"""The three workloads of docs/performance.md in plain, fully vectorized NumPy (issue 8).

Written the way a researcher would write them: the state of all replicas is one R x d matrix, the
messages of all agents one R x N x d array, and there is no Python loop over replicas, agents or
coordinates, only over steps. Run by Debian's /usr/bin/python3 with python3-numpy.

  (a) DCSGD, rand-k (k = d/10), N = 8 agents, Gaussian noise sigma = 1, diagonal quadratic
      f(x) = 1/2 sum_j h_j x_j^2 with h geometric from 1 to 10, d = 100, x0 = 1, eta = 0.01.
  (b) DSignSGD (the server averages the agents' signs), the same problem, Student-t noise nu = 1.5.
  (c) The first-order SDE of (a) by Euler-Maruyama with dt = eta, with the closed-form update law
      of src/sde/law.cpp: 2d standard normals per replica and step (papers.md 3, 7.2).

Both sides record the loss every 10 steps and report the asymptotic loss as dcsde does
(src/run/runner.cpp): each replica's mean over the last 10% of the records, then the mean and
standard error over replicas. The random streams differ, so the two agree statistically only.

Usage: workloads.py {a,b,c} [--replicas R] [--steps S] [--seed S]; prints one JSON line.
"""
import argparse
import json
import math
import time

import numpy as np

D, AGENTS, K, SIGMA, NU, LR, RECORD_EVERY = 100, 8, 10, 1.0, 1.5, 0.01, 10


def spectrum(d):
    # src/objective/quadratic.cpp: geometric from eigen_min = 1 to eigen_max = 10.
    return np.exp(np.linspace(0.0, math.log(10.0), d))


def rand_k(z, rng):
    """Keeps k uniformly random coordinates of every (replica, agent) row, scaled by d/k."""
    keys = rng.random(z.shape)
    keep = np.argpartition(keys, K, axis=-1)[..., :K]
    out = np.zeros_like(z)
    np.put_along_axis(out, keep, np.take_along_axis(z, keep, axis=-1) * (z.shape[-1] / K), -1)
    return out


def step_a(x, h, rng):
    g = x * h                                                      # R x d
    z = g[:, None, :] + SIGMA * rng.standard_normal((x.shape[0], AGENTS, x.shape[1]))
    x -= LR * rand_k(z, rng).mean(axis=1)


def step_b(x, h, rng):
    g = x * h
    z = g[:, None, :] + SIGMA * rng.standard_t(NU, size=(x.shape[0], AGENTS, x.shape[1]))
    x -= LR * np.sign(z).mean(axis=1)


def step_c(x, h, rng):
    # D = (1/N) sum_i C(g + Z_i) has mean g and covariance (1/N) [(1 + omega) sigma^2 I +
    # c (d diag(g^2) - g g^T)], c = omega / (d - 1); its root applied to (xi1, xi2) is
    # sqrt((1 + omega) sigma^2 / N) xi1 + sqrt(c / N) |g| (sqrt(d) (xi2 - s p) + s sqrt(d - n) p),
    # s = sign(g), n = #nonzero g, p = (s . xi2) / n.
    r, d = x.shape
    omega = d / K - 1.0
    c = omega / (d - 1)
    g = x * h
    xi = rng.standard_normal((2, r, d))
    s = np.sign(g)
    n = np.count_nonzero(g, axis=1)[:, None]
    p = (s * xi[1]).sum(axis=1, keepdims=True) / n
    root = np.sqrt(c) * np.abs(g) * (math.sqrt(d) * (xi[1] - s * p) + s * np.sqrt(d - n) * p)
    noise = math.sqrt((1.0 + omega) * SIGMA**2 / AGENTS) * xi[0] + root / math.sqrt(AGENTS)
    x -= LR * (g + noise)


def run(workload, replicas, steps, seed):
    rng = np.random.default_rng(seed)
    h = spectrum(D)
    x = np.ones((replicas, D))
    step = {"a": step_a, "b": step_b, "c": step_c}[workload]
    records = list(range(0, steps, RECORD_EVERY)) + [steps]
    tail = max(1, math.ceil(0.1 * len(records)))
    tail_start = records[-tail]
    tail_sum = np.zeros(replicas)
    start, cpu_start = time.perf_counter(), time.process_time()
    for k in range(steps + 1):
        if k % RECORD_EVERY == 0 or k == steps:  # a record: the loss of every replica
            loss = 0.5 * (h * x * x).sum(axis=1)
            if k >= tail_start:
                tail_sum += loss
        if k < steps:
            step(x, h, rng)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    per_replica = tail_sum / tail
    return {
        "workload": workload,
        "replicas": replicas,
        "steps": steps,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "asymptotic_loss_mean": float(per_replica.mean()),
        "asymptotic_loss_sem": float(per_replica.std(ddof=1) / math.sqrt(replicas)),
        "numpy": np.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["a", "b", "c"])
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.workload, args.replicas, args.steps, args.seed)))


if __name__ == "__main__":
    main()
