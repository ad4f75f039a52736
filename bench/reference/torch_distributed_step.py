#!/usr/bin/python3
"""Reference: one distributed training step in plain PyTorch, as a researcher would write it.

The workload of bench/torch_step.cpp (docs/performance-networks.md): N agents share an MLP
(784 -> width -> ... -> 10, ReLU, dcsde's `model = "mlp"`) on Fashion-MNIST; at every step each
agent draws its own minibatch of B training images (uniformly, with replacement), computes its
gradient by forward-backward, flattens it and compresses it:
  rand_k  keep k coordinates drawn without replacement, scaled by d/k (unbiased), the rest 0;
  sign    sign(g) (DSignSGD: the server averages the signs, no majority vote);
the server averages the N messages and moves the parameters, x -= lr * mean_i C(g_i).

Timed per step, in process CPU time (time.process_time, robust to other programs on a shared
machine; with one thread it equals the wall time of a quiet machine) or wall time (--clock wall):
  forward_backward  minibatch draw and normalisation, zero_grad, forward, loss, backward;
  compress_aggregate  flattening the gradient, compressing it, summing the messages, averaging
                      and updating the parameters.
Run with Debian's python3-torch: /usr/bin/python3 bench/reference/torch_distributed_step.py.
The last line printed is one JSON object with the figures (read by bench/torch_vs_pytorch.sh).
"""

import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530  # those of src/torch/network_objective.cpp


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_train(folder):
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 8)
    images = torch.from_numpy(images.reshape(-1, 1, 28, 28).copy())
    return images, torch.from_numpy(labels.astype(np.int64))


def mlp(width, depth):
    layers, inputs = [nn.Flatten()], 28 * 28
    for _ in range(depth):
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    layers.append(nn.Linear(inputs, 10))
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compressor", choices=["rand_k", "sign"], default="rand_k")
    ap.add_argument("--k", type=int, default=0, help="rand_k: coordinates kept (0: d/100)")
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--steps", type=int, default=100, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()

    now = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images, labels = load_train(args.data)
    n_train = images.shape[0]
    model = mlp(args.width, args.depth)
    params = [p for p in model.parameters()]
    d = sum(p.numel() for p in params)
    k = args.k if args.k > 0 else max(1, d // 100)

    def compress(g):
        if args.compressor == "sign":
            return torch.sign(g)
        idx = torch.randperm(d)[:k]
        m = torch.zeros_like(g)
        m[idx] = g[idx] * (d / k)
        return m

    def step():
        t_fb = t_ca = 0.0
        agg = torch.zeros(d)
        for _ in range(args.agents):
            t0 = now()
            idx = torch.randint(0, n_train, (args.batch,))
            x = (images[idx].float() / 255.0 - PIXEL_MEAN) / PIXEL_STD
            model.zero_grad()
            loss = F.cross_entropy(model(x), labels[idx])
            loss.backward()
            t1 = now()
            g = torch.cat([p.grad.reshape(-1) for p in params])
            agg += compress(g)
            t_ca += now() - t1
            t_fb += t1 - t0
        t0 = now()
        with torch.no_grad():
            agg /= args.agents
            at = 0
            for p in params:
                p -= args.lr * agg[at : at + p.numel()].view_as(p)
                at += p.numel()
        t_ca += now() - t0
        return t_fb, t_ca

    for _ in range(args.warmup):
        step()
    totals, fbs, cas = [], [], []
    for _ in range(args.steps):
        t0 = now()
        fb, ca = step()
        totals.append(now() - t0)
        fbs.append(fb)
        cas.append(ca)
    ms = 1e3
    result = {
        "side": "pytorch",
        "torch": torch.__version__,
        "compressor": args.compressor,
        "d": d,
        "k": k if args.compressor == "rand_k" else d,
        "agents": args.agents,
        "batch": args.batch,
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "clock": args.clock,
        "step_ms": statistics.median(totals) * ms,
        "step_mean_ms": statistics.fmean(totals) * ms,
        "forward_backward_ms": statistics.median(fbs) * ms,
        "compress_aggregate_ms": statistics.median(cas) * ms,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
