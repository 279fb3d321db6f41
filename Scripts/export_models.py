#!/usr/bin/env python3
"""Export small random-weight LLaDA and Dream models with BOTH PyTorch ONNX
exporters, as test fixtures for dqc's ONNX importer.

Writes, for each model, into <out>/<name>/ (default out = Tests/Fixtures/exports):
  config.json                     HF config (LLaDA / Dream key layout)
  model.safetensors               f32 weights under the HF parameter names
  model.legacy.onnx               torch.onnx.export(dynamo=False), opset 17, weights inline
  model.dynamo.onnx               torch.onnx.export(dynamo=True), default opset, weights inline
  model.legacy.external.onnx(+.data)   (LLaDA only) the legacy export re-saved with every
                                  initializer in one external data file (size_threshold=0)
  reference.npz                   input ids and logits: PyTorch, and onnxruntime per ONNX file
and <out>/README.md (files, command, versions, max errors, op histograms).

Usage:  python3 Scripts/export_models.py [--out Tests/Fixtures/exports] [--seed 0]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
import traceback
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dqc_llada import LLaDAConfig, LLaDAModelLM  # noqa: E402
from dqc_dream import DreamConfig, DreamModel  # noqa: E402

LEGACY_OPSET = 17
DYNAMIC_AXES = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}


# --------------------------------------------------------------------------------------
# Exporters (shared with make_bench_model.py)
# --------------------------------------------------------------------------------------


def example_ids(vocab: int, shape=(2, 24), seed: int = 1234) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, shape, generator=g, dtype=torch.int64)


def export_legacy(model, ex: torch.Tensor, path: str, opset: int = LEGACY_OPSET):
    """TorchScript-based exporter. Writes inline weights (model < 2 GB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (ex,),
            path,
            dynamo=False,
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes=DYNAMIC_AXES,
            opset_version=opset,
            do_constant_folding=True,
        )


def export_dynamo(model, ex: torch.Tensor, path: str, external_data: bool = False) -> list[str]:
    """torch.export-based exporter. Tries dynamic_axes first, then an explicit
    dynamic_shapes, each with optimize=True then optimize=False. Returns the log of
    attempts ("<variant>: ok" or "<variant>: <exact error>"); raises if all fail."""
    from torch.export import Dim

    variants = []
    for optimize in (True, False):
        variants.append((f"dynamic_axes, optimize={optimize}", dict(dynamic_axes=DYNAMIC_AXES, optimize=optimize)))
        variants.append(
            (
                f"dynamic_shapes, optimize={optimize}",
                dict(dynamic_shapes=({0: Dim("batch"), 1: Dim("seq")},), optimize=optimize),
            )
        )
    log = []
    for label, kw in variants:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    (ex,),
                    path,
                    dynamo=True,
                    input_names=["input_ids"],
                    output_names=["logits"],
                    external_data=external_data,
                    **kw,
                )
            log.append(f"{label}: ok")
            return log
        except Exception as e:  # record the exact error, try the next variant
            log.append(f"{label}: {type(e).__name__}: {e}")
            traceback.print_exc()
    raise RuntimeError("all dynamo export variants failed:\n" + "\n".join(log))


def resave_external(src: str, dst: str):
    """Re-save an ONNX file with every initializer in one external data file next to it."""
    import onnx

    m = onnx.load(src)
    loc = os.path.basename(dst) + ".data"
    if os.path.exists(os.path.join(os.path.dirname(dst), loc)):
        os.remove(os.path.join(os.path.dirname(dst), loc))
    onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=loc, size_threshold=0)


def ort_logits(path: str, ids: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(["logits"], {"input_ids": ids})[0]


def op_histogram(path: str) -> dict:
    import onnx

    m = onnx.load(path, load_external_data=False)
    c = collections.Counter()

    def walk(g):
        for n in g.node:
            c[(n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type] += 1
            for a in n.attribute:
                if a.g is not None and a.g.node:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(m.graph)
    for f in m.functions:
        walk(f)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def onnx_summary(path: str) -> dict:
    import onnx

    m = onnx.load(path, load_external_data=False)
    inits = list(m.graph.initializer)
    ext = sum(1 for t in inits if t.data_location == onnx.TensorProto.EXTERNAL)
    names = [t.name for t in inits]
    return {
        "opset": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        "ir_version": m.ir_version,
        "producer": f"{m.producer_name} {m.producer_version}".strip(),
        "n_nodes": len(m.graph.node),
        "n_initializers": len(inits),
        "n_external": ext,
        "n_functions": len(m.functions),
        "initializer_name_samples": names[:6],
        "n_hf_named_initializers": sum(1 for n in names if n.startswith("model.") or n.startswith("lm_head")),
        "n_constant_nodes": sum(1 for n in m.graph.node if n.op_type == "Constant"),
    }


def errors(ref: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    d = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    abs_err = float(d.max())
    rel_err = float(abs_err / max(np.abs(ref).max(), 1e-30))  # max |diff| / max |ref|
    return abs_err, rel_err


# --------------------------------------------------------------------------------------
# Fixture models
# --------------------------------------------------------------------------------------


def build_llada(seed: int):
    torch.manual_seed(seed)
    cfg = LLaDAConfig(
        d_model=64, n_heads=4, n_kv_heads=4, n_layers=2, mlp_hidden_size=128, mlp_ratio=2,
        vocab_size=64, embedding_size=64, max_sequence_length=128,
    )
    m = LLaDAModelLM(cfg).eval()
    return m, cfg.embedding_size


def build_dream(seed: int):
    torch.manual_seed(seed)
    cfg = DreamConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=64, max_position_embeddings=128, rope_theta=1000000.0,
        rms_norm_eps=1e-6,
    )
    m = DreamModel(cfg).eval()
    return m, cfg.vocab_size


MODELS = {"llada": build_llada, "dream": build_dream}


def perturb_norms(model, seed: int):
    """Norm weights are ones after init; make each one distinct (1 + N(0, 0.1)) so that
    (a) an importer that mixes up norm weights fails the reference check and (b) the
    exporters' initializer de-duplication (identical tensors merged) does not kick in."""
    g = torch.Generator().manual_seed(seed + 17)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("ln_f.weight"):
                p.add_(0.1 * torch.randn(p.shape, generator=g))


def export_one(name: str, out_root: str, seed: int) -> dict:
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    model, vocab = MODELS[name](seed)
    perturb_norms(model, seed)
    model.save_pretrained(out)

    ex = example_ids(vocab, (2, 24), seed=1234)          # export example
    ids = example_ids(vocab, (2, 24), seed=4321)         # reference input (same shape as export)
    ids_b = example_ids(vocab, (3, 17), seed=999)        # other shape: checks the dynamic axes
    with torch.no_grad():
        ref = model(ids).numpy()
        ref_b = model(ids_b).numpy()

    info = {"name": name, "params": model.num_parameters(), "files": {}, "dynamo_log": None}
    t = time.time()
    export_legacy(model, ex, os.path.join(out, "model.legacy.onnx"))
    info["legacy_s"] = time.time() - t
    t = time.time()
    info["dynamo_log"] = export_dynamo(model, ex, os.path.join(out, "model.dynamo.onnx"), external_data=False)
    info["dynamo_s"] = time.time() - t
    onnx_files = ["model.legacy.onnx", "model.dynamo.onnx"]
    if name == "llada":
        resave_external(os.path.join(out, "model.legacy.onnx"), os.path.join(out, "model.legacy.external.onnx"))
        onnx_files.append("model.legacy.external.onnx")

    npz = {"input_ids": ids.numpy(), "logits_torch": ref, "input_ids_b": ids_b.numpy(), "logits_torch_b": ref_b}
    for f in onnx_files:
        key = f[len("model."):-len(".onnx")].replace(".", "_")
        p = os.path.join(out, f)
        got = ort_logits(p, ids.numpy())
        got_b = ort_logits(p, ids_b.numpy())
        npz[f"logits_ort_{key}"] = got
        npz[f"logits_ort_{key}_b"] = got_b
        ea, er = errors(ref, got)
        eb, erb = errors(ref_b, got_b)
        info["files"][f] = {
            "max_abs": max(ea, eb),
            "max_rel": max(er, erb),
            "ops": op_histogram(p),
            "summary": onnx_summary(p),
        }
        assert max(er, erb) < 1e-4, f"{name}/{f}: rel err {max(er, erb)}"
    np.savez(os.path.join(out, "reference.npz"), **npz)
    info["sizes"] = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    return info


# --------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------

KNOWN_OPS = set(
    "Add Sub Mul Div Pow Sqrt Reciprocal Neg Exp Erf Tanh Sigmoid Softmax MatMul Gemm Gather Reshape "
    "Transpose Concat Split Slice Squeeze Unsqueeze Expand Where Equal Cast Shape Range ReduceMean ReduceSum "
    "LayerNormalization RMSNormalization Cos Sin Trilu ConstantOfShape Identity Constant Max Min Relu Less "
    "Greater Not And Or Clip Flatten ReduceMax ArgMax CastLike Dropout Mod Floor Ceil Abs Log Softplus IsNaN "
    "Size LessOrEqual GreaterOrEqual".split()
)


def write_readme(out_root: str, infos: list[dict], cmd: str, elapsed: float):
    import onnx
    import onnxruntime
    import safetensors

    L = []
    L.append("# ONNX export fixtures (LLaDA and Dream, random weights)\n")
    L.append(
        "Small random-weight diffusion LMs exported with **both** PyTorch ONNX exporters, for dqc's ONNX "
        "importer tests. Everything here is written by one run of `Scripts/export_models.py`; nothing is "
        "edited by hand. The models are defined in `Scripts/dqc_llada.py` (LLaDA) and "
        "`Scripts/dqc_dream.py` (Dream, Qwen2 layout).\n"
    )
    L.append("## How it was made\n")
    L.append("```\n" + cmd + "\n```\n")
    L.append(
        f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"numpy {np.__version__}, safetensors {safetensors.__version__}, "
        f"python {sys.version.split()[0]}; CPU, 1 thread; {elapsed:.0f} s.\n"
    )
    L.append("## Models\n")
    L.append("| dir | architecture | shape | parameters |")
    L.append("|---|---|---|---|")
    desc = {
        "llada": "| `llada/` | LLaDA (`LLaDAModelLM`, `model_type: llada`) | d_model 64, 4 heads (kv 4, head dim 16), 2 layers, "
                 "MLP 128, vocab 64, rope_theta 1e4, eps 1e-5, no biases, untied head `ff_out`, bidirectional matmul/softmax attention |",
        "dream": "| `dream/` | Dream (`DreamModel`, `model_type: Dream`, Qwen2 layout) | hidden 64, 4 query heads / 2 kv heads (GQA, "
                 "head dim 16), 2 layers, intermediate 128, vocab 64, rope_theta 1e6, eps 1e-6, q/k/v biases, untied `lm_head`, "
                 "bidirectional `F.scaled_dot_product_attention` |",
    }
    for i in infos:
        L.append(desc[i["name"]] + f" {i['params']:,} |")
    L.append("")
    L.append("Weights: `torch.manual_seed(0)` then normal(0, 0.02) init (LLaDA output projections "
             "std 0.02/sqrt(2*n_layers)); Dream's q/k/v biases are also normal(0, 0.02) so the export exercises them; "
             "every RMSNorm weight is 1 + N(0, 0.1) (distinct per norm, so a mixed-up norm fails the reference check and "
             "the exporters' de-duplication of identical initializers does not fire).\n")
    L.append("## Files (per model directory)\n")
    L.append("| file | what |")
    L.append("|---|---|")
    L.append("| `config.json` | HF config in the original key layout (LLaDA: `d_model`, `n_heads`, ...; Dream: `hidden_size`, `num_key_value_heads`, ...) |")
    L.append("| `model.safetensors` | f32 weights under the Hugging Face parameter names |")
    L.append(f"| `model.legacy.onnx` | `torch.onnx.export(model, (ids,), f, dynamo=False, opset_version={LEGACY_OPSET}, do_constant_folding=True, input_names=['input_ids'], output_names=['logits'], dynamic_axes={{input_ids/logits: {{0: 'batch', 1: 'seq'}}}})`; weights inline |")
    L.append("| `model.dynamo.onnx` | `torch.onnx.export(model, (ids,), f, dynamo=True, external_data=False, input_names=..., output_names=..., dynamic_axes=...)` (default opset and `optimize=True`); weights inline |")
    L.append("| `model.legacy.external.onnx` + `.onnx.data` | (LLaDA only) `model.legacy.onnx` re-saved with `onnx.save_model(m, f, save_as_external_data=True, all_tensors_to_one_file=True, location='model.legacy.external.onnx.data', size_threshold=0)`: every initializer is external |")
    L.append("| `reference.npz` | `input_ids` int64 [2,24] and `input_ids_b` int64 [3,17] (a different shape, to check the dynamic axes); `logits_torch[_b]` (PyTorch f32); `logits_ort_<file>[_b]` (onnxruntime CPU f32, `<file>` = `legacy`, `dynamo`, `legacy_external`) |")
    L.append("")
    L.append("Input `input_ids` int64 `[batch, seq]`, output `logits` f32 `[batch, seq, vocab]`, both leading axes "
             "symbolic (`batch`, `seq`) in every file. The export example input was [2,24] (seed 1234), "
             "different from the reference input (seed 4321).\n")
    L.append("## Accuracy (onnxruntime vs PyTorch, max over both reference inputs)\n")
    L.append("rel = max|ort - torch| / max|torch|.\n")
    L.append("| model | file | max abs err | max rel err |")
    L.append("|---|---|---|---|")
    for i in infos:
        for f, d in i["files"].items():
            L.append(f"| {i['name']} | `{f}` | {d['max_abs']:.3g} | {d['max_rel']:.3g} |")
    L.append("")
    L.append("## Sizes (bytes)\n")
    L.append("| model | file | bytes |")
    L.append("|---|---|---|")
    for i in infos:
        for f, s in i["sizes"].items():
            L.append(f"| {i['name']} | `{f}` | {s:,} |")
    L.append("")
    L.append("## Graph summaries\n")
    for i in infos:
        for f, d in i["files"].items():
            s = d["summary"]
            L.append(
                f"- **{i['name']} / `{f}`**: opset {s['opset']}, IR {s['ir_version']}, producer `{s['producer']}`, "
                f"{s['n_nodes']} nodes, {s['n_initializers']} initializers ({s['n_external']} external, "
                f"{s['n_hf_named_initializers']} with HF names), {s['n_constant_nodes']} Constant nodes, "
                f"{s['n_functions']} local functions; first initializers: "
                + ", ".join(f"`{n}`" for n in s["initializer_name_samples"])
            )
    L.append("")
    L.append("## Dynamo exporter attempts\n")
    for i in infos:
        L.append(f"- {i['name']}: " + "; ".join(f"`{x}`" for x in i["dynamo_log"]))
    L.append("")
    L.append("## Op histograms (op_type: count)\n")
    for i in infos:
        for f, d in i["files"].items():
            ops = ", ".join(f"{k} {v}" for k, v in d["ops"].items())
            L.append(f"- **{i['name']} / `{f}`** ({sum(d['ops'].values())} nodes): {ops}")
    L.append("")
    extra = sorted({op for i in infos for d in i["files"].values() for op in d["ops"] if op not in KNOWN_OPS})
    L.append("Ops outside dqc's initial importer list: " + (", ".join(f"`{o}`" for o in extra) if extra else "none") + ".\n")
    L.append("## Notes for the ONNX importer (observed in these files)\n")
    L.extend([
        "- **Linear weights lose their HF names in both exporters**: constant folding stores `W.T` (shape `[in, out]`, "
        "ready for `MatMul(x, W.T)`) under a generated name: legacy `onnx::MatMul_<n>`, dynamo `val_<n>`. Only the "
        "embedding, norm weights and biases keep HF names. The module path survives elsewhere: legacy node names "
        "(`/model/blocks.0/q_proj/MatMul`; note the `transformer` ModuleDict level is dropped) and dynamo node "
        "`metadata_props['namespace']` (`... /model.transformer.blocks.0.q_proj: torch.nn.modules.linear.Linear ...`). "
        "No Gemm is emitted; every Linear is `MatMul` (+ `Add` for Dream's q/k/v biases).",
        "- Exporters **de-duplicate identical initializers** (legacy: one initializer + `Identity` nodes; dynamo: "
        "one shared initializer). With ones-initialised norms this merged all norm weights; hence the perturbation above.",
        "- Legacy (opset 17, IR 8): `ReduceMean` takes `axes` as an **attribute**; scalars/shape constants are "
        "`Constant` nodes; lots of shape arithmetic (`Shape`->`Gather`->`Unsqueeze`->`Concat`->`Reshape`, "
        "`Div` on int64 for `shape[-1] // 2`, `Cast` int64<->f32) that needs constant folding / symbolic shapes; "
        "rotate-half `Slice` bounds are computed from `Shape`; no `value_info`.",
        "- Dynamo (opset 20, IR 10): `ReduceMean` takes `axes` as an **input**; no `Constant` nodes (scalars are 0-d "
        "initializers, e.g. RoPE `inv_freq` folded to a `[1, hd/2]` initializer); `Squeeze` with no `axes` input "
        "(squeeze all size-1 dims of a `[1]` shape tensor); full `value_info`; large per-node `metadata_props`.",
        "- `Slice` uses `INT64_MAX` ends (and `INT64_MIN` starts in dynamo's SDPA shape code): clamp per the ONNX spec.",
        "- RoPE positions: `Range(0.0, Cast<f32>(seq), 1.0)` in **float32**, then `Cos`/`Sin`; rsqrt is "
        "`Sqrt`+`Div` (legacy) or `Sqrt`+`Reciprocal` (dynamo); `x^2` is `Pow(x, 2.0)`; SiLU is `Sigmoid`+`Mul`.",
        "- Dream's `F.scaled_dot_product_attention` is decomposed by both exporters: the scale is applied as "
        "`sqrt(scale)` multiplied into **both** q and k^T before `MatMul` (legacy computes it at run time from "
        "`Shape` via `Sqrt`/`Div`); dynamo reshapes q/k to 3-D and uses `Transpose(perm=[0,2,1])`. GQA `repeat_kv` "
        "is `Unsqueeze`+`Expand`+`Reshape` (legacy adds `ConstantOfShape`/`Equal`/`Where` for the expand shape).",
        "- The LLaDA attention (explicit matmul/softmax) appears as `MatMul`, `Mul` by 1/sqrt(hd), `Softmax(axis=-1)`, `MatMul`.",
        "",
    ])
    with open(os.path.join(out_root, "README.md"), "w") as fh:
        fh.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="Tests/Fixtures/exports")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default="llada,dream")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    infos = []
    for name in args.models.split(","):
        info = export_one(name, args.out, args.seed)
        infos.append(info)
        print(json.dumps({k: v for k, v in info.items() if k != "files"}, indent=1))
        for f, d in info["files"].items():
            print(f"{name}/{f}: max_abs {d['max_abs']:.3g} max_rel {d['max_rel']:.3g} ops {d['ops']}")
    cmd = "python3 Scripts/export_models.py" + ("" if args.out == "Tests/Fixtures/exports" else f" --out {args.out}") \
        + ("" if args.seed == 0 else f" --seed {args.seed}")
    write_readme(args.out, infos, cmd, time.time() - t0)


if __name__ == "__main__":
    main()
