#!/usr/bin/env python3
"""Build dqc's benchmark model: a LLaDA-layout masked diffusion LM with random
(seeded) weights, ~168M parameters, exported by both PyTorch ONNX exporters with
the weights as external data. Never committed: writes to --out (default
out/bench-model/, which .gitignore ignores).

  d_model 1024, 16 heads (kv 16, head dim 64), 8 layers, MLP 2816, vocab 32000
  (embedding_size 32000), rope_theta 10000, rms_norm_eps 1e-5, untied head.
  Weights: torch.manual_seed(seed), LLaDA init (normal 0.02), norm weights 1 + N(0, 0.1).

Output folder:
  config.json                          LLaDA config.json keys
  model.safetensors                    f32 weights under the HF LLaDA names
  model.onnx + model.onnx.data         torch.onnx.export(dynamo=False), opset 17, dynamic
                                       [batch, seq]; every initializer in model.onnx.data
  model.dynamo.onnx + model.dynamo.onnx.data
                                       torch.onnx.export(dynamo=True, external_data=True),
                                       same input/output names and dynamic axes
  bench.json                           what was built: sizes, times, versions, check errors

Usage:
  python3 Scripts/make_bench_model.py [--out out/bench-model] [--seed 0]
                                      [--exporters legacy,dynamo] [--no-verify]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dqc_llada import LLaDAConfig, LLaDAModelLM  # noqa: E402
from export_models import (  # noqa: E402
    errors,
    example_ids,
    export_dynamo,
    export_legacy,
    op_histogram,
    perturb_norms,
    ort_logits,
    resave_external,
)


def bench_config() -> LLaDAConfig:
    return LLaDAConfig(
        d_model=1024,
        n_heads=16,
        n_kv_heads=16,
        n_layers=8,
        mlp_hidden_size=2816,
        mlp_ratio=4,
        vocab_size=32000,
        embedding_size=32000,
        max_sequence_length=4096,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        mask_token_id=31999,
        eos_token_id=1,
        pad_token_id=0,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench-model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exporters", default="legacy,dynamo")
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    exporters = [e for e in args.exporters.split(",") if e]
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    rep = {"times_s": {}, "sizes": {}, "errors": {}, "ops": {}}

    torch.manual_seed(args.seed)
    cfg = bench_config()
    model = LLaDAModelLM(cfg).eval()
    perturb_norms(model, args.seed)  # distinct norm weights, as in a trained checkpoint (no initializer de-dup)
    rep["params"] = model.num_parameters()
    rep["times_s"]["build"] = time.time() - t0
    print(f"built {rep['params']:,} parameters in {rep['times_s']['build']:.1f}s", flush=True)

    t = time.time()
    model.save_pretrained(args.out)
    rep["times_s"]["safetensors"] = time.time() - t

    ex = example_ids(cfg.embedding_size, (2, 32), seed=1234)
    with torch.no_grad():
        if "legacy" in exporters:
            t = time.time()
            tmp = os.path.join(args.out, "model.legacy.inline.onnx.tmp")
            export_legacy(model, ex, tmp)
            resave_external(tmp, os.path.join(args.out, "model.onnx"))
            os.remove(tmp)
            rep["times_s"]["legacy"] = time.time() - t
            print(f"legacy export {rep['times_s']['legacy']:.1f}s", flush=True)
        if "dynamo" in exporters:
            t = time.time()
            path = os.path.join(args.out, "model.dynamo.onnx")
            rep["dynamo_log"] = export_dynamo(model, ex, path, external_data=True)
            rep["times_s"]["dynamo"] = time.time() - t
            print(f"dynamo export {rep['times_s']['dynamo']:.1f}s", flush=True)

    onnx_files = [f for f, e in (("model.onnx", "legacy"), ("model.dynamo.onnx", "dynamo")) if e in exporters]
    for f in onnx_files:
        rep["ops"][f] = op_histogram(os.path.join(args.out, f))

    if not args.no_verify:
        t = time.time()
        ids = example_ids(cfg.embedding_size, (1, 40), seed=4321)
        with torch.no_grad():
            ref = model(ids).numpy()
        del model
        for f in onnx_files:
            got = ort_logits(os.path.join(args.out, f), ids.numpy())
            a, r = errors(ref, got)
            rep["errors"][f] = {"max_abs": a, "max_rel": r}
            print(f"{f}: max_abs {a:.3g} max_rel {r:.3g}", flush=True)
        rep["times_s"]["verify"] = time.time() - t

    import onnx
    import onnxruntime

    rep["versions"] = {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
    rep["times_s"]["total"] = time.time() - t0
    rep["sizes"] = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))}
    with open(os.path.join(args.out, "bench.json"), "w") as fh:
        json.dump(rep, fh, indent=2)
        fh.write("\n")
    print(json.dumps({k: rep[k] for k in ("params", "times_s", "sizes", "errors")}, indent=1))


if __name__ == "__main__":
    main()
