#!/usr/bin/env python3
"""A stand-in of the bench model for timing on a lent GPU machine, small enough to carry there.

The device tool carries at most 64 MiB of ignored files, and the bench bundle is 208 MiB of
random, incompressible weights. Kernel times do not depend on the weights' values, so this
script writes the bench checkpoint again with every matrix's rows repeating its first four
(a real row's values and distribution, periodic), compiles it with the default recipe
(`dqc compile --w4a8 --method rtn --max-seq-len 256`, as Scripts/bench_runtime.py does), and
gzips the bundle: every 16-channel panel of packed codes is then the same bytes, which gzip's
32 KiB window finds. Timing only: its logits mean nothing (correctness is checked on the
trained fixture by e2e_check).

Writes out/gpu/bench-timing/ (config.json, model.safetensors), out/gpu/bench-timing.dqb,
out/gpu/bench-timing.dqb.gz (what Scripts/gpu_check.sh unpacks and times with step_bench) and
out/gpu/bench-timing.config.json (for the PyTorch FP16 baseline, Scripts/bench_step_torch.py).

Usage:
  swift build -c release && python3 Scripts/make_timing_bench.py [--model-dir out/bench-model]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERIOD = 4  # rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(REPO, "out/bench-model"))
    ap.add_argument("--out-dir", default=os.path.join(REPO, "out/gpu"))
    ap.add_argument("--dqc", default=os.path.join(REPO, ".build/release/dqc"))
    args = ap.parse_args()
    source = os.path.join(args.model_dir, "model.safetensors")
    if not os.path.exists(source):
        subprocess.run([sys.executable, os.path.join(REPO, "Scripts/make_bench_model.py"), "--out", args.model_dir],
                       check=True)
    folder = os.path.join(args.out_dir, "bench-timing")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(args.model_dir, "config.json"), os.path.join(folder, "config.json"))
    # The PyTorch baseline (Scripts/bench_step_torch.py) builds the same model from it.
    shutil.copy(os.path.join(args.model_dir, "config.json"), os.path.join(args.out_dir, "bench-timing.config.json"))
    tensors = load_file(source)
    tiled = {}
    for name, value in sorted(tensors.items()):
        if value.ndim == 2 and value.shape[0] % PERIOD == 0:
            value = np.ascontiguousarray(np.tile(value[:PERIOD], (value.shape[0] // PERIOD, 1)))
        tiled[name] = value
    save_file(tiled, os.path.join(folder, "model.safetensors"))
    bundle = os.path.join(args.out_dir, "bench-timing.dqb")
    subprocess.run([args.dqc, "compile", folder, "-o", bundle, "--w4a8", "--method", "rtn", "--max-seq-len", "256"],
                   check=True, stdin=subprocess.DEVNULL)
    packed = bundle + ".gz"
    with open(bundle, "rb") as src, gzip.open(packed + ".partial", "wb", compresslevel=9) as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    os.replace(packed + ".partial", packed)
    size, small = os.path.getsize(bundle), os.path.getsize(packed)
    print(f"{bundle}: {size / 2**20:.1f} MiB; {packed}: {small / 2**20:.1f} MiB (carry limit 64 MiB)")
    return 0 if small < 64 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main())
