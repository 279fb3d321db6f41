#!/usr/bin/env python3
"""Independent float64 NumPy reference for standard GPTQ, and the fixtures dqc's Swift GPTQ is tested against.

Reference: Frantar et al., "GPTQ", repo IST-DASLab/gptq, `gptq.py` GPTQ.fasterquant (static_groups=False)
and `quant.py` Quantizer.find_params / quantize (perchannel=True, weight=True, mse=False, trits=False).
Everything here is float64 (upstream runs float32). The full conventions are in
Tests/Fixtures/gptq/README.md; the essentials:

  Quantizer, per output row over a set of columns x:
      xmin = min(0, min x), xmax = max(0, max x)
      sym:  xmax = max(|xmin|, xmax); where xmin < 0: xmin = -xmax
      where xmin == xmax (== 0): xmin = -1, xmax = +1
      maxq = 2^bits - 1, scale = (xmax - xmin) / maxq
      zero = (maxq + 1) / 2 if sym else round(-xmin / scale)
      code = clamp(round(w / scale) + zero, 0, maxq), dequant = scale * (code - zero)
      round = round-half-to-even (np.round == torch.round)

  fasterquant:
      per-channel (group_size <= 0): params computed ONCE from the ORIGINAL W (before dead-column
        zeroing; row-wise, so the permutation is irrelevant) -- exactly as gptq.py does.
      dead = diag(H) == 0: H[dead, dead] = 1, W[:, dead] = 0
      act_order: perm = stable argsort of diag(H) descending (after the dead fix); W = W[:, perm],
        H = H[perm][:, perm]
      damp = damp_frac * mean(diag(H)) (after the dead fix); H += damp * I
      Hinv = upper Cholesky factor U of H^-1 (H^-1 = U^T U)
      for i1 in 0, B, 2B, ...: W1 = W[:, i1:i2] (copy), Hinv1 = Hinv[i1:i2, i1:i2]
        for i in 0..count-1:
          if group_size > 0 and (i1+i) % group_size == 0:
              params from the GLOBAL W[:, i1+i : i1+i+group_size] -- i.e. W as updated by the lazy
              batch updates of all previous blocks but NOT by the in-block updates of columns
              i1..i1+i-1 of the current block (gptq.py quirk; only matters when a group starts
              strictly inside a block). Groups follow the permuted column order under act_order.
          q = quantize(W1[:, i]); err = (W1[:, i] - q) / Hinv1[i, i]
          W1[:, i:] -= outer(err, Hinv1[i, i:])
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
      un-permute Q and codes at the end.

Usage:
  python3 Scripts/gptq_reference.py [--out Tests/Fixtures/gptq] [--check-only]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

# Single-threaded BLAS so reruns write byte-identical files (threaded sums change last-ulp digits of Q).
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

# ----------------------------------------------------------------------------------------------
# NumPy reference
# ----------------------------------------------------------------------------------------------


def find_params(x: np.ndarray, bits: int, sym: bool):
    """quant.py Quantizer.find_params(x, weight=True) with perchannel=True: one (scale, zero) per row."""
    x = np.asarray(x, dtype=np.float64)
    maxq = float(2 ** bits - 1)
    xmin = np.minimum(x.min(axis=1), 0.0)
    xmax = np.maximum(x.max(axis=1), 0.0)
    if sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        neg = xmin < 0
        xmin = np.where(neg, -xmax, xmin)
    deg = (xmin == 0) & (xmax == 0)
    xmin = np.where(deg, -1.0, xmin)
    xmax = np.where(deg, 1.0, xmax)
    scale = (xmax - xmin) / maxq
    if sym:
        zero = np.full_like(scale, (maxq + 1) / 2)
    else:
        zero = np.round(-xmin / scale)
    return scale, zero


def quantize(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, bits: int):
    """x: (N,) or (N, m); scale/zero: (N,). Returns (codes as float64, dequantized)."""
    maxq = float(2 ** bits - 1)
    s = scale if x.ndim == 1 else scale[:, None]
    z = zero if x.ndim == 1 else zero[:, None]
    q = np.clip(np.round(x / s) + z, 0.0, maxq)
    return q, s * (q - z)


def hinv_upper(H: np.ndarray) -> np.ndarray:
    """torch: L = cholesky(H); Hi = cholesky_inverse(L); U = cholesky(Hi, upper=True)."""
    L = np.linalg.cholesky(H)
    Linv = np.linalg.solve(L, np.eye(H.shape[0]))  # L^-1 (lower triangular)
    Hi = Linv.T @ Linv                              # (L L^T)^-1
    Hi = (Hi + Hi.T) / 2
    return np.linalg.cholesky(Hi).T                 # upper U with Hi = U^T U


def gptq(W, H, bits, group_size, sym, damp=0.01, block_size=128, act_order=False):
    """Standard GPTQ (gptq.py fasterquant, static_groups=False) in float64.

    Returns dict:
      Q      (N, K) float64 dequantized weight, original column order
      codes  (N, K) int64 integer codes, original column order
      scales (N, G) float64, zeros (N, G) float64: params in the order they were computed, i.e. group g
             covers PERMUTED columns [g*gs, (g+1)*gs) (== original order without act_order);
             per-channel: G = 1
      perm   (K,) int64 permutation (identity without act_order)
      g_idx  (K,) int64: for each ORIGINAL column, the index of the group whose params quantized it
    """
    W = np.array(W, dtype=np.float64, copy=True)
    H = np.array(H, dtype=np.float64, copy=True)
    N, K = W.shape
    per_channel = group_size is None or group_size <= 0
    if not per_channel:
        assert K % group_size == 0
    scales, zeros = [], []

    scale = zero = None
    if per_channel:
        # gptq.py: `if not self.quantizer.ready(): self.quantizer.find_params(W, weight=True)`
        # happens before the dead-column zeroing.
        scale, zero = find_params(W, bits, sym)
        scales.append(scale)
        zeros.append(zero)

    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0

    if act_order:
        perm = np.argsort(-np.diag(H), kind="stable")
        W = W[:, perm]
        H = H[perm][:, perm]
    else:
        perm = np.arange(K)
    invperm = np.argsort(perm)

    Q = np.zeros_like(W)
    C = np.zeros_like(W)
    d = damp * np.mean(np.diag(H))
    H[np.arange(K), np.arange(K)] += d
    Hinv = hinv_upper(H)

    for i1 in range(0, K, block_size):
        i2 = min(i1 + block_size, K)
        count = i2 - i1
        W1 = W[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        C1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i].copy()
            dd = Hinv1[i, i]
            if not per_channel and (i1 + i) % group_size == 0:
                scale, zero = find_params(W[:, i1 + i:i1 + i + group_size], bits, sym)
                scales.append(scale)
                zeros.append(zero)
            c, q = quantize(w, scale, zero, bits)
            Q1[:, i] = q
            C1[:, i] = c
            err1 = (w - q) / dd
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:])
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        C[:, i1:i2] = C1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]

    Q = Q[:, invperm]
    C = C[:, invperm]
    if per_channel:
        g_idx = np.zeros(K, dtype=np.int64)
    else:
        g_idx = (invperm // group_size).astype(np.int64)
    return dict(Q=Q, codes=C.astype(np.int64), scales=np.stack(scales, 1), zeros=np.stack(zeros, 1),
                perm=perm.astype(np.int64), g_idx=g_idx)


def rtn(W, bits, group_size, sym):
    """Plain round-to-nearest with the same quantizer: per group of ORIGINAL columns of the unmodified W."""
    W = np.asarray(W, dtype=np.float64)
    N, K = W.shape
    gs = K if (group_size is None or group_size <= 0) else group_size
    Q = np.zeros_like(W)
    for g0 in range(0, K, gs):
        s, z = find_params(W[:, g0:g0 + gs], bits, sym)
        Q[:, g0:g0 + gs] = quantize(W[:, g0:g0 + gs], s, z, bits)[1]
    return Q


def dequant_from_codes(codes, scales, zeros, g_idx):
    s = scales[:, g_idx]
    z = zeros[:, g_idx]
    return s * (codes.astype(np.float64) - z)


def rounding_margin(W, H, bits, group_size, sym, damp, block_size, act_order):
    """Smallest distance of any round() argument to a rounding boundary (x.5), in units of one
    quantization step: over w/scale for every quantized live entry, and over -xmin/scale for asym zero
    points. Re-runs the gptq() loop with instrumentation. A float64 reimplementation differs by ~1e-13,
    so margins >> that mean codes must match exactly."""
    # Re-run with instrumentation (same code path as gptq(), collecting the round() arguments).
    args = []
    W = np.array(W, dtype=np.float64, copy=True)
    H = np.array(H, dtype=np.float64, copy=True)
    N, K = W.shape
    per_channel = group_size <= 0
    zargs = []

    def fp(x):
        s, z = find_params(x, bits, sym)
        if not sym:
            xmin = np.minimum(x.min(axis=1), 0.0)
            zargs.append(-xmin / s)
        return s, z

    if per_channel:
        scale, zero = fp(W)
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    perm = np.argsort(-np.diag(H), kind="stable") if act_order else np.arange(K)
    W = W[:, perm]
    H = H[perm][:, perm]
    H[np.arange(K), np.arange(K)] += damp * np.mean(np.diag(H))
    Hinv = hinv_upper(H)
    for i1 in range(0, K, block_size):
        i2 = min(i1 + block_size, K)
        W1 = W[:, i1:i2].copy()
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            w = W1[:, i].copy()
            if not per_channel and (i1 + i) % group_size == 0:
                scale, zero = fp(W[:, i1 + i:i1 + i + group_size])
            live = ~dead[perm[i1 + i]]
            if live:
                args.append(w / scale)
            _, q = quantize(w, scale, zero, bits)
            err1 = (w - q) / Hinv1[i, i]
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:])
            Err1[:, i] = err1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    a = np.concatenate(args)
    m = float(np.min(np.abs(np.abs(a - np.floor(a)) - 0.5)))
    mz = float(np.min(np.abs(np.abs(np.concatenate(zargs) - np.floor(np.concatenate(zargs))) - 0.5))) if zargs else None
    return m, mz


# ----------------------------------------------------------------------------------------------
# Torch cross-check: a straight transcription of quant.py / gptq.py in float64
# ----------------------------------------------------------------------------------------------


def gptq_torch(W, H, bits, group_size, sym, damp=0.01, block_size=128, act_order=False):
    import torch

    torch.set_num_threads(1)

    def t_quantize(x, scale, zero, maxq):
        q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
        return scale * (q - zero), q

    class Quantizer:
        def __init__(self):
            self.maxq = torch.tensor(2 ** bits - 1)
            self.scale = torch.zeros(1, dtype=torch.float64)
            self.zero = torch.zeros(1, dtype=torch.float64)
            self.log = []

        def ready(self):
            return torch.all(self.scale != 0)

        def find_params(self, x, weight=True):
            x = x.flatten(1)
            tmp = torch.zeros(x.shape[0], dtype=x.dtype)
            xmin = torch.minimum(x.min(1)[0], tmp)
            xmax = torch.maximum(x.max(1)[0], tmp)
            if sym:
                xmax = torch.maximum(torch.abs(xmin), xmax)
                tmp = xmin < 0
                if torch.any(tmp):
                    xmin[tmp] = -xmax[tmp]
            tmp = (xmin == 0) & (xmax == 0)
            xmin[tmp] = -1
            xmax[tmp] = +1
            self.scale = (xmax - xmin) / self.maxq
            if sym:
                self.zero = torch.full_like(self.scale, (self.maxq + 1) / 2)
            else:
                self.zero = torch.round(-xmin / self.scale)
            self.log.append((self.scale.clone(), self.zero.clone()))
            self.scale = self.scale.reshape(-1, 1)
            self.zero = self.zero.reshape(-1, 1)

    groupsize = group_size if group_size > 0 else -1
    blocksize, percdamp, actorder = block_size, damp, act_order
    quantizer = Quantizer()
    W = torch.tensor(W, dtype=torch.float64).clone()
    H = torch.tensor(H, dtype=torch.float64).clone()
    columns = W.shape[1]

    if not quantizer.ready():
        quantizer.find_params(W, weight=True)
        if groupsize != -1:
            quantizer.log.clear()  # overwritten at column 0; not a recorded group

    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0

    if actorder:
        perm = torch.argsort(torch.diag(H), descending=True, stable=True)
        W = W[:, perm]
        H = H[perm][:, perm]
        invperm = torch.argsort(perm)

    Q = torch.zeros_like(W)
    Codes = torch.zeros_like(W)

    d = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += d
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    H = torch.linalg.cholesky(H, upper=True)
    Hinv = H

    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1

        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        C1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]

        for i in range(count):
            w = W1[:, i]
            dd = Hinv1[i, i]

            if groupsize != -1:
                if (i1 + i) % groupsize == 0:
                    quantizer.find_params(W[:, (i1 + i):(i1 + i + groupsize)], weight=True)

            q, c = t_quantize(w.unsqueeze(1), quantizer.scale, quantizer.zero, quantizer.maxq)
            q = q.flatten()
            Q1[:, i] = q
            C1[:, i] = c.flatten()

            err1 = (w - q) / dd
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1

        Q[:, i1:i2] = Q1
        Codes[:, i1:i2] = C1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])

    if actorder:
        Q = Q[:, invperm]
        Codes = Codes[:, invperm]
    scales = torch.stack([s for s, _ in quantizer.log], 1)
    zeros = torch.stack([z for _, z in quantizer.log], 1)
    return dict(Q=Q.numpy(), codes=Codes.numpy().astype(np.int64), scales=scales.numpy(), zeros=zeros.numpy())


# ----------------------------------------------------------------------------------------------
# Fixture data
# ----------------------------------------------------------------------------------------------

SEED = 20240611
N_OUT, K_IN, NTOK = 64, 256, 1024
SCALED_COLS = [5, 40, 131, 200, 255]  # x10
DEAD_COL = 80  # all zero; holds the row |max| of 2 rows of W, so per-channel params see the dead-fix order
LOWRANK, LOWRANK_GAIN = 8, 0.5

CASES = [
    # name, bits, group_size, sym, act_order, block_size
    ("b4_g128_asym", 4, 128, False, False, 128),
    ("b4_g32_asym", 4, 32, False, False, 128),
    ("b4_pc_sym_act", 4, 0, True, True, 128),
    ("b3_g64_asym_act", 3, 64, False, True, 128),
    ("b4_g32_asym_blk32", 4, 32, False, False, 32),
]
DAMP = 0.01


def make_data():
    rng = np.random.default_rng(SEED)
    W = rng.normal(0.0, 0.02, size=(N_OUT, K_IN)).astype(np.float32).astype(np.float64)
    Z = rng.standard_normal((NTOK, K_IN))
    S = rng.standard_normal((NTOK, LOWRANK))
    B = rng.standard_normal((LOWRANK, K_IN))
    X = (Z + LOWRANK_GAIN * S @ B).astype(np.float32).astype(np.float64)
    X[:, SCALED_COLS] *= 10.0
    X[:, DEAD_COL] = 0.0
    H = (2.0 / NTOK) * (X.T @ X)
    H = (H + H.T) / 2
    return W, X, H


def out_err(W, Q, X):
    R = (W - Q) @ X.T
    return float(np.sum(R * R))


def save_npy(path, arr, dtype):
    np.save(path, np.ascontiguousarray(arr.astype(dtype)))
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "gptq"))
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()

    W, X, H = make_data()
    assert np.all(np.diag(H)[DEAD_COL] == 0)
    rows = []
    results = {}
    for name, bits, gs, sym, act, bs in CASES:
        kw = dict(bits=bits, group_size=gs, sym=sym, damp=DAMP, block_size=bs, act_order=act)
        r = gptq(W, H, **kw)
        t = gptq_torch(W, H, **kw)
        assert np.array_equal(r["codes"], t["codes"]), name
        dq = float(np.max(np.abs(r["Q"] - t["Q"])))
        assert dq <= 1e-12, (name, dq)
        assert np.max(np.abs(r["scales"] - t["scales"])) <= 1e-12 and np.array_equal(r["zeros"], t["zeros"]), name
        # Q is exactly reconstructible from codes / scales / zeros / g_idx
        assert np.array_equal(dequant_from_codes(r["codes"], r["scales"], r["zeros"], r["g_idx"]), r["Q"]), name
        assert r["codes"].min() >= 0 and r["codes"].max() <= 2 ** bits - 1
        assert np.all(r["Q"][:, DEAD_COL] == 0)
        Qr = rtn(W, **{k: kw[k] for k in ("bits", "group_size", "sym")})
        eg, er = out_err(W, r["Q"], X), out_err(W, Qr, X)
        # identity used by the Swift side: ||(W-Q) X^T||^2 = NTOK/2 * sum((W-Q) H (W-Q)^T diag)
        D = W - r["Q"]
        eh = NTOK / 2 * float(np.sum((D @ H) * D))
        assert abs(eh - eg) <= 1e-9 * eg, (eh, eg)
        assert eg < er, (name, eg, er)
        m, mz = rounding_margin(W, H, **kw)
        results[name] = (kw, r, eg, er, m, mz, dq)
        rows.append((name, eg, er, eg / er, m, mz, dq))
        print(f"{name:20s} gptq {eg:.6e}  rtn {er:.6e}  ratio {eg / er:.4f}  "
              f"min round margin {m:.2e} (zero {mz})  |Q_np - Q_torch| {dq:.1e}")

    if args.check_only:
        return

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    shared = {"W.npy": save_npy(os.path.join(out, "W.npy"), W, "<f8"),
              "H.npy": save_npy(os.path.join(out, "H.npy"), H, "<f8")}
    for name, (kw, r, eg, er, m, mz, dq) in results.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        files = {}
        files["Q.npy"] = save_npy(os.path.join(d, "Q.npy"), r["Q"], "<f8")
        files["codes.npy"] = save_npy(os.path.join(d, "codes.npy"), r["codes"], "<i8")
        files["scales.npy"] = save_npy(os.path.join(d, "scales.npy"), r["scales"], "<f8")
        files["zeros.npy"] = save_npy(os.path.join(d, "zeros.npy"), r["zeros"], "<f8")
        files["g_idx.npy"] = save_npy(os.path.join(d, "g_idx.npy"), r["g_idx"], "<i8")
        files["perm.npy"] = save_npy(os.path.join(d, "perm.npy"), r["perm"], "<i8")
        params = {
            "bits": kw["bits"], "group_size": kw["group_size"], "per_channel": kw["group_size"] <= 0,
            "sym": kw["sym"], "act_order": kw["act_order"], "damp": kw["damp"], "block_size": kw["block_size"],
            "static_groups": False, "N": N_OUT, "K": K_IN, "ntok": NTOK, "dead_columns": [DEAD_COL],
            "scaled_columns_x10": SCALED_COLS,
            "W": "../W.npy", "H": "../H.npy",
            "scales_order": ("per-channel (one column)" if kw["group_size"] <= 0 else
                             "permuted group order (group g = permuted columns [g*gs,(g+1)*gs)); use g_idx"
                             if kw["act_order"] else "natural group order"),
            "err_gptq": eg, "err_rtn": er,
            "err_definition": "||(W - Q) X^T||_F^2 = ntok/2 * sum(((W-Q) @ H) * (W-Q)), W = W.npy as stored",
            "min_round_margin": m, "min_zero_round_margin": mz,
            "max_abs_diff_numpy_vs_torch_Q": dq,
            "sha256": {**{"../" + k: v for k, v in shared.items()}, **files},
        }
        with open(os.path.join(d, "params.json"), "w") as f:
            json.dump(params, f, indent=2)
            f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    sys.exit(main())
