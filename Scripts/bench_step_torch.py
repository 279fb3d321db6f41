#!/usr/bin/env python3
"""One denoising step of a LLaDA-layout model in PyTorch FP16: the baseline of the CUDA back end's
step-time goal (docs/gpu.md). The model is Scripts/dqc_llada.py's LLaDAModelLM (the fixture's
reference modelling: matmul-softmax-matmul attention, as LLaDA's own code) built from a
config.json with its random initialisation (times do not depend on the values), cast to FP16 on
GPU 0; one forward pass over TOKENS seeded random ids with every row's logits, two untimed
passes, then RUNS timed ones (torch.cuda.synchronize around each); prints the median and the
fastest, and the weights' device memory.

Usage (on a machine with PyTorch built for CUDA):
  python3 Scripts/bench_step_torch.py --config out/gpu/bench-timing.config.json [--tokens 256]
                                      [--runs 20] [--device cuda] [--dtype float16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("bench_step_torch: no PyTorch here; the baseline cannot be measured")
        return 3
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"bench_step_torch: PyTorch {torch.__version__} sees no CUDA device; the baseline cannot be measured")
        return 3
    from dqc_llada import LLaDAConfig, LLaDAModelLM

    cfg = LLaDAConfig.from_json(args.config)
    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype)
    model = LLaDAModelLM(cfg).to(device=args.device, dtype=dtype).eval()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    ids = torch.randint(0, cfg.embedding_size, (1, args.tokens), generator=torch.Generator().manual_seed(0))
    ids = ids.to(args.device)

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    times = []
    with torch.inference_mode():
        for i in range(args.runs + 2):
            sync()
            start = time.perf_counter()
            logits = model(ids)
            sync()
            if i >= 2:
                times.append((time.perf_counter() - start) * 1e3)
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else args.device
    print(f"PyTorch {torch.__version__} {args.dtype} on {name}: {args.tokens} tokens, logits {tuple(logits.shape)}, "
          f"{args.runs} runs")
    print(f"step with all logits:      median {statistics.median(times):.3f} ms, best {min(times):.3f} ms")
    print(f"weights on the device: {weights / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
