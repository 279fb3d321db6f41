#!/usr/bin/env python3
"""GPTQ speed benchmark: Hessian accumulation plus GPTQ on one random layer, dqc vs a PyTorch
implementation of standard GPTQ (written here from the paper's algorithm: H = 2/n Σ x xᵀ,
damping, Cholesky of H⁻¹, column-by-column quantization with lazy block updates), measured in
the same run on the same number of threads. A command that prints figures, not a test.

  dqc        `dqc bench-gptq --threads N` (certainty-weighted rows as CGQ builds them, Hessian as
             float32 sums of 256 rows added into float64, upper triangle only, tiles over the
             threads; then dqc's GPTQ in float64, row chunks over the threads)
  pytorch    torch CPU, float32, torch.set_num_threads(N): per-sequence Hessian update as GPTQ's
             add_batch, then fasterquant (block 128, group 128, asymmetric 4-bit)

The two sides run alternately --repeats times; the table shows medians (peak RSS: the largest).

Usage:
  swift build -c release
  python3 Scripts/bench_gptq.py [--rows 4096] [--columns 4096] [--sequences 128] [--tokens 256]
                                [--threads 2] [--repeats 3] [--dqc .build/release/dqc]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"hessian ([0-9.]+) s, gptq ([0-9.]+) s, total ([0-9.]+) s, peak RSS ([0-9.]+) MiB")


def torch_gptq(rows, columns, sequences, tokens, group, threads, seed):
    import torch
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(rows, columns, generator=g) * 2 - 1
    t0 = time.perf_counter()
    h = torch.zeros(columns, columns)
    n = 0
    for _ in range(sequences):
        x = torch.rand(tokens, columns, generator=g) * 2 - 1
        h *= n / (n + tokens)
        n += tokens
        x = (2 / n) ** 0.5 * x
        h += x.t() @ x
    t_h = time.perf_counter() - t0
    t0 = time.perf_counter()
    w = w.clone()
    maxq = 15
    damp = 0.01 * torch.mean(torch.diag(h))
    h[range(columns), range(columns)] += damp
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    q_all = torch.zeros_like(w)
    scale = zero = None
    for i1 in range(0, columns, 128):
        i2 = min(i1 + 128, columns)
        w1 = w[:, i1:i2].clone()
        q1 = torch.zeros_like(w1)
        err1 = torch.zeros_like(w1)
        hinv1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = w1[:, i]
            d = hinv1[i, i]
            if (i1 + i) % group == 0:
                grp = w[:, i1 + i:i1 + i + group]
                lo = torch.clamp(grp.min(1).values, max=0)
                hi = torch.clamp(grp.max(1).values, min=0)
                scale = (hi - lo) / maxq
                scale[scale == 0] = 1
                zero = torch.round(-lo / scale)
            q = torch.clamp(torch.round(col / scale) + zero, 0, maxq)
            q = scale * (q - zero)
            q1[:, i] = q
            e = (col - q) / d
            w1[:, i:] -= e.unsqueeze(1) @ hinv1[i, i:].unsqueeze(0)
            err1[:, i] = e
        q_all[:, i1:i2] = q1
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    t_q = time.perf_counter() - t0
    return t_h, t_q


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--columns", type=int, default=4096)
    ap.add_argument("--sequences", type=int, default=128)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--group", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dqc", default=os.path.join(REPO, ".build/release/dqc"))
    args = ap.parse_args()
    argv = [args.dqc, "bench-gptq", "--rows", str(args.rows), "--columns", str(args.columns),
            "--sequences", str(args.sequences), "--tokens", str(args.tokens), "--group-size", str(args.group),
            "--threads", str(args.threads)]
    dqc_runs, torch_runs = [], []
    for _ in range(args.repeats):
        p = subprocess.run(argv, capture_output=True, text=True)
        m = LINE.search(p.stdout)
        if p.returncode != 0 or not m:
            sys.exit(f"dqc bench-gptq failed:\n{p.stdout}{p.stderr}")
        dqc_runs.append(tuple(map(float, m.groups())))
        t_h, t_q = torch_gptq(args.rows, args.columns, args.sequences, args.tokens, args.group, args.threads, args.seed)
        torch_runs.append((t_h, t_q, t_h + t_q))
    t_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    med = statistics.median
    d_h, d_q, d_total = (med(r[i] for r in dqc_runs) for i in range(3))
    d_rss = max(r[3] for r in dqc_runs)
    t_h, t_q, t_total = (med(r[i] for r in torch_runs) for i in range(3))
    print(f"layer {args.rows}x{args.columns}, {args.sequences}x{args.tokens} calibration tokens, "
          f"group {args.group}, {args.threads} threads each, median of {args.repeats}; "
          f"load avg {os.getloadavg()[0]:.2f}")
    print(f"{'method':<10} {'hessian s':>10} {'gptq s':>8} {'total s':>8} {'peak RSS MiB':>13}")
    print(f"{'dqc':<10} {d_h:10.2f} {d_q:8.2f} {d_total:8.2f} {d_rss:13.1f}")
    print(f"{'pytorch':<10} {t_h:10.2f} {t_q:8.2f} {t_total:8.2f} {t_rss:13.1f}")
    print("runs (total s): dqc " + " ".join(f"{r[2]:.2f}" for r in dqc_runs)
          + ", pytorch " + " ".join(f"{r[2]:.2f}" for r in torch_runs))
    ratio = t_total / d_total
    print(f"dqc speed-up over PyTorch: {ratio:.2f}x (goal: at least 2x): {'met' if ratio >= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
