#!/usr/bin/env python3
"""Write step-by-step LLaDA sampler references for dqc's Swift sampler: Tests/Fixtures/sampler/.

Model: the random-weight LLaDA in Tests/Fixtures/exports/llada/ (config.json + model.safetensors),
loaded with dqc_llada.LLaDAModelLM. Sampler: dqc_llada.generate (ML-GSAI/LLaDA generate.py
semantics) with temperature 0, remasking 'low_confidence', no CFG. This script re-runs the same
loop with instrumentation and asserts that its final sequence equals dqc_llada.generate's.

Cases: 3 prompts (lengths 5, 9, 12; ids drawn with random.Random(seed) from the non-special ids
5..46 of the fixture's character vocabulary) x 3 settings (gen_length, steps, block_length) =
(8, 8, 8), (16, 8, 8), (16, 16, 4): 9 JSON files  p{P}_g{G}_s{S}_b{B}.json.

Robustness to float noise. A float32 reimplementation's logits differ from PyTorch's by ~2e-7
absolute here (max |logit| ~0.65). Every decision of the sampler is checked for a safety margin,
expressed as the smallest L-infinity logit perturbation that could flip it:
  * argmax at every eligible (masked, in-block) position: (top1 - top2) / 2
  * top-k cut among the eligible positions (sorted confidences c[0] >= c[1] >= ...):
    (log c[k-1] - log c[k]) / 4, since a logit perturbation of size d moves log softmax-max by <= 2d
    (no cut when k == number of eligible positions).
A prompt seed is accepted only if, for all 3 settings, every such margin >= --min-logit-margin
(default 1e-5, i.e. >= 30x the observed float32 noise), no committed token equals the mask id, and
there are no exact ties; seeds are tried 0, 1, 2, ... per prompt length. The raw gaps (logit
top1 - top2, confidence c[k-1] - c[k]) are recorded too. As a cross-check the trajectory is
recomputed with float64 PyTorch logits and with ONNX Runtime float32 logits
(model.legacy.onnx) and must be identical.

Usage:
  python3 Scripts/make_sampler_reference.py [--out Tests/Fixtures/sampler]
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dqc_llada as dl  # noqa: E402

ROOT = os.path.dirname(HERE)
MODEL_DIR = os.path.join(ROOT, "Tests", "Fixtures", "exports", "llada")
PROMPT_LENGTHS = (5, 9, 12)
SETTINGS = ((8, 8, 8), (16, 8, 8), (16, 16, 4))  # (gen_length, steps, block_length)
TOKEN_LO, TOKEN_HI = 5, 46  # non-special ids of the character vocabulary (inclusive)


def draw_prompt(length: int, seed: int) -> list[int]:
    rng = random.Random(1000 * length + seed)
    return [rng.randint(TOKEN_LO, TOKEN_HI) for _ in range(length)]


@torch.no_grad()
def trace_generate(logits_fn, prompt, steps, gen_length, block_length, mask_id):
    """dqc_llada.generate (temperature 0, low_confidence) for batch 1, recording every step."""
    P = len(prompt)
    x = torch.full((1, P + gen_length), mask_id, dtype=torch.long)
    x[0, :P] = torch.tensor(prompt, dtype=torch.long)
    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    spb = steps // num_blocks
    traj, schedule = [], []
    stats = dict(min_argmax_gap=math.inf, min_conf_gap=math.inf, min_logit_margin=math.inf,
                 exact_ties=0, committed_mask_id=0)
    g = 0
    for b in range(num_blocks):
        b0, b1 = P + b * block_length, P + (b + 1) * block_length
        ntt = dl.get_num_transfer_tokens(x[:, b0:b1] == mask_id, spb)
        schedule.append([int(v) for v in ntt[0]])
        for i in range(spb):
            mask_index = x == mask_id
            logits = logits_fn(x)  # [1, T, V]
            x0 = torch.argmax(logits, dim=-1)
            p = F.softmax(logits.to(torch.float64), dim=-1)
            x0_p = torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0, -1)), -1)
            x0_p[:, b1:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.tensor(-np.inf, dtype=x0_p.dtype))
            k = int(ntt[0, i])
            _, sel = torch.topk(confidence[0], k=k)
            transfer = torch.zeros_like(x0, dtype=torch.bool)
            transfer[0, sel] = True
            x[transfer] = x0[transfer]

            # ---- decision margins -------------------------------------------------------
            elig = [j for j in range(b0, b1) if bool(mask_index[0, j])]
            assert len(elig) >= k and all(j in elig for j in sel.tolist())
            lg = logits[0].to(torch.float64)
            top2 = torch.topk(lg[elig], 2, dim=-1).values
            agaps = (top2[:, 0] - top2[:, 1]).tolist()
            stats["exact_ties"] += sum(1 for a in agaps if a == 0.0)
            amin = min(agaps)
            margins = [amin / 2]
            confs = sorted((float(confidence[0, j]) for j in elig), reverse=True)
            stats["exact_ties"] += sum(1 for u, v in zip(confs, confs[1:]) if u == v)
            cgap = None
            if k < len(elig):
                cgap = confs[k - 1] - confs[k]
                margins.append((math.log(confs[k - 1]) - math.log(confs[k])) / 4)
                stats["min_conf_gap"] = min(stats["min_conf_gap"], cgap)
            stats["min_argmax_gap"] = min(stats["min_argmax_gap"], amin)
            stats["min_logit_margin"] = min(stats["min_logit_margin"], min(margins))
            committed = sorted(int(j) for j in sel.tolist())
            stats["committed_mask_id"] += sum(1 for j in committed if int(x[0, j]) == mask_id)
            traj.append({
                "step": g,
                "block": b,
                "step_in_block": i,
                "num_transfer": k,
                "tokens": [int(t) for t in x[0]],
                "committed": committed,
                "confidence": [float(x0_p[0, j]) for j in committed],
                "eligible": elig,
                "eligible_argmax": [int(x0[0, j]) for j in elig],
                "eligible_confidence": [float(confidence[0, j]) for j in elig],
                "min_argmax_logit_gap": amin,
                "topk_confidence_gap": cgap,
                "min_logit_margin": min(margins),
            })
            g += 1
    return [int(t) for t in x[0]], traj, schedule, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=MODEL_DIR)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "sampler"))
    ap.add_argument("--min-logit-margin", type=float, default=1e-5)
    ap.add_argument("--max-seed", type=int, default=2000)
    ap.add_argument("--no-cross-check", action="store_true", help="skip the float64 / ONNX Runtime re-runs")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model = dl.LLaDAModelLM.from_pretrained(args.model_dir)
    cfg = json.load(open(os.path.join(args.model_dir, "config.json")))
    mask_id = int(cfg["mask_token_id"])

    def f32(x):
        return model(x)

    model64 = copy.deepcopy(model).double()

    def f64(x):
        return model64(x)

    ort_fn = None
    onnx_path = os.path.join(args.model_dir, "model.legacy.onnx")
    if not args.no_cross_check and os.path.exists(onnx_path):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

        def ort_fn(x):
            return torch.from_numpy(sess.run(None, {"input_ids": x.numpy()})[0])

    os.makedirs(args.out, exist_ok=True)
    summary = []
    noise = 0.0
    for P in PROMPT_LENGTHS:
        tried = []
        for seed in range(args.max_seed):
            prompt = draw_prompt(P, seed)
            runs = [trace_generate(f32, prompt, s, gl, bl, mask_id) for (gl, s, bl) in SETTINGS]
            worst = min(r[3]["min_logit_margin"] for r in runs)
            ok = all(r[3]["exact_ties"] == 0 and r[3]["committed_mask_id"] == 0 for r in runs)
            tried.append((seed, worst))
            if ok and worst >= args.min_logit_margin:
                break
        else:
            raise SystemExit(f"no seed < {args.max_seed} gives margins >= {args.min_logit_margin} for P={P}")
        for (gl, s, bl), (final, traj, schedule, stats) in zip(SETTINGS, runs):
            ref = dl.generate(model, torch.tensor([prompt]), steps=s, gen_length=gl, block_length=bl,
                              temperature=0.0, remasking="low_confidence", mask_id=mask_id)
            assert ref[0].tolist() == final, "instrumented loop diverged from dqc_llada.generate"
            cross = {}
            for name, fn in (("torch_float64", f64 if not args.no_cross_check else None), ("onnxruntime_float32", ort_fn)):
                if fn is None:
                    continue
                _, t2, _, _ = trace_generate(fn, prompt, s, gl, bl, mask_id)
                same = [a["tokens"] for a in traj] == [b["tokens"] for b in t2] and \
                       [a["committed"] for a in traj] == [b["committed"] for b in t2]
                assert same, f"{name} trajectory differs (P={P}, setting={(gl, s, bl)})"
                # logits difference on every model input of the trajectory
                init = list(prompt) + [mask_id] * gl
                inputs = [init] + [t["tokens"] for t in traj[:-1]]
                diff = 0.0
                with torch.no_grad():
                    for seq in inputs:
                        xx = torch.tensor([seq], dtype=torch.long)
                        diff = max(diff, float((fn(xx).double() - f32(xx).double()).abs().max()))
                cross[name] = {"trajectory": "identical", "max_abs_logit_diff_vs_torch_float32": diff}
                noise = max(noise, diff)
            rec = {
                "model": os.path.relpath(args.model_dir, ROOT),
                "prompt": prompt,
                "prompt_seed": seed,
                "mask_id": mask_id,
                "gen_length": gl,
                "steps": s,
                "block_length": bl,
                "temperature": 0.0,
                "remasking": "low_confidence",
                "num_transfer_tokens": schedule,
                "min_margin": {
                    "argmax_logit_gap": stats["min_argmax_gap"],
                    "topk_confidence_gap": None if stats["min_conf_gap"] == math.inf else stats["min_conf_gap"],
                    "logit_perturbation": stats["min_logit_margin"],
                },
                "cross_check": cross,
                "trajectory": traj,
                "final": final,
            }
            name = f"p{P}_g{gl}_s{s}_b{bl}.json"
            with open(os.path.join(args.out, name), "w") as f:
                json.dump(rec, f, indent=1)
                f.write("\n")
            summary.append((name, seed, prompt, final[P:], stats))
            print(f"{name}: seed {seed} (tried {len(tried)}), argmax gap {stats['min_argmax_gap']!r}, "
                  f"conf gap {stats['min_conf_gap']!r}, logit margin {stats['min_logit_margin']!r}", flush=True)
    # get_num_transfer_tokens on its own, including remainders (the cases above have none)
    table = []
    for steps in range(1, 9):
        for n in range(0, 21):
            sched = dl.get_num_transfer_tokens(torch.ones(1, n, dtype=torch.bool), steps)[0].tolist()
            table.append({"mask_count": n, "steps": steps, "num_transfer_tokens": sched})
    with open(os.path.join(args.out, "num_transfer_tokens.jsonl"), "w") as f:
        for r in table:
            f.write(json.dumps(r) + "\n")
    write_readme(os.path.join(args.out, "README.md"), summary, args, mask_id, noise)


README_HEAD = """\
# LLaDA sampler reference trajectories

Generated by

    python3 Scripts/make_sampler_reference.py

(defaults: `--model-dir Tests/Fixtures/exports/llada --out Tests/Fixtures/sampler
--min-logit-margin 1e-5`; torch with `torch.set_num_threads(1)`, CPU). Deterministic: rerunning
rewrites byte-identical files (on another CPU or torch build the float digits of confidences and
gaps may change in the last places; tokens, positions and seeds will not). Do not edit by hand.

Model: the random-weight LLaDA fixture `Tests/Fixtures/exports/llada/` (config.json +
model.safetensors, vocab 64, `mask_token_id` = @MASK@), loaded with
`dqc_llada.LLaDAModelLM.from_pretrained`. Sampler: `dqc_llada.generate` (same semantics as
ML-GSAI/LLaDA `generate.py`), temperature 0, remasking `low_confidence`, no classifier-free
guidance, batch 1. The script re-implements the loop with instrumentation and asserts its final
sequence equals `dqc_llada.generate`'s.

## Files

One JSON per (prompt, setting): `p{P}_g{gen_length}_s{steps}_b{block_length}.json`, prompt lengths
P = 5, 9, 12 and settings (gen_length, steps, block_length) = (8, 8, 8), (16, 8, 8), (16, 16, 4).

    prompt            prompt token ids (drawn with random.Random(1000*P + prompt_seed) from ids 5..46,
                      the non-special ids of the character vocabulary)
    mask_id, gen_length, steps, block_length, temperature (0), remasking ("low_confidence")
    num_transfer_tokens  per block, the tokens committed at each of its steps
    trajectory        one entry per step, in order:
      step              global step index (0-based)
      block, step_in_block
      num_transfer      k = num_transfer_tokens[block][step_in_block]
      tokens            the full sequence (prompt + generation) AFTER this step
      committed         positions (absolute, ascending) unmasked at this step
      confidence        softmax probability (float64) of the committed token at each committed position
      eligible          the positions that could be chosen (masked and inside the current block)
      eligible_argmax   argmax token at each eligible position
      eligible_confidence  its softmax probability (float64)
      min_argmax_logit_gap  min over eligible positions of top1 - top2 logit
      topk_confidence_gap   c[k-1] - c[k] of the sorted eligible confidences (null if k = #eligible)
      min_logit_margin      min(min_argmax_logit_gap / 2, (log c[k-1] - log c[k]) / 4)
    min_margin        the per-case minima of the three step quantities above
    cross_check       trajectory recomputed with float64 PyTorch logits and with ONNX Runtime
                      float32 logits (model.legacy.onnx): identical
    final             the returned sequence (prompt + gen_length tokens)

Floats are JSON numbers printed by Python's `repr` (shortest round-trip float64).

`num_transfer_tokens.jsonl`: `dqc_llada.get_num_transfer_tokens` alone, for mask counts 0..20 and
steps 1..8 (`{"mask_count", "steps", "num_transfer_tokens"}`), covering remainders, which the
trajectory settings above do not exercise (their blocks always divide evenly).

## The procedure, as implemented

    x = prompt ++ [mask_id] * gen_length                     # length T = P + gen_length
    num_blocks = gen_length / block_length                   # must divide exactly
    spb = steps / num_blocks                                 # steps per block, must divide exactly
    for b in 0 ..< num_blocks:
        b0 = P + b*block_length ; b1 = b0 + block_length
        n = #{ j in [b0, b1) : x[j] == mask_id }              # counted once, at the block's start
        schedule[i] = n / spb + (i < n % spb ? 1 : 0)         # integer division; the remainder goes
                                                              # to the FIRST steps: n=5, spb=3 -> 2,2,1
        for i in 0 ..< spb:
            logits = model(x)                                 # whole sequence [T, V], float32, every step
            x0[j]  = argmax_v logits[j, v]                    # on the float32 logits
            p[j]   = softmax(float64(logits[j]))[x0[j]]       # confidence: prob of the argmax, in float64
            conf[j] = p[j]  if x[j] == mask_id and j < b1     # eligible: still masked, not in a later block
                      -inf  otherwise                         # (prompt, committed, later blocks)
            S = indices of the k = schedule[i] largest conf   # torch.topk
            x[j] = x0[j] for j in S                           # all other positions unchanged
    return x

Notes:
* Eligibility is `x[j] == mask_id and j < b1`: nothing bounds it below by b0, but positions before
  the block are never masked (the prompt holds no mask id, and earlier blocks end fully committed)
  so in practice it is "masked positions of the current block". A committed token that *equals*
  mask_id would stay eligible (the code tests `x == mask_id`, not a separate flag); the chosen
  prompts never commit the mask id.
* Later blocks stay masked but are part of the model input at every step (bidirectional attention).
* Ties: `torch.argmax` returns the first maximal index; `torch.topk`'s order among equal values is
  unspecified. Every case here has no exact ties and every decision has a safety margin (below), so
  any tie rule reproduces the trajectory.
* `num_transfer_tokens` never exceeds the eligible count here, so no -inf position is ever selected.
  When a block has fewer masks than steps the schedule ends in zeros (`[1, 1, 0, 0, 0]`): such
  steps still run the model but commit nothing (`topk(k=0)`).

## Robustness to float noise

This model's logits are small (|logit| <= ~0.65) and the confidences at masked positions are
nearly uniform (~0.021, spread ~1e-5), so raw confidence gaps are ~1e-6, far below 1e-4. What
matters is how large a logit error could flip a decision. With L-infinity logit error d:
an argmax flips only if top1 - top2 <= 2d; a top-k cut flips only if
log c[k-1] - log c[k] <= 4d (log softmax-max moves by at most 2d). `min_logit_margin` is the
smallest d that could flip anything. Measured float32 noise: max |logit difference| of PyTorch
float64 and of ONNX Runtime float32 against PyTorch float32, over every model input of every
trajectory, is @NOISE@. Prompts were chosen (seed 0, 1, 2, ... per prompt length, first seed
passing for all three settings) so that every margin >= 1e-5 (@RATIO@x that noise), with no exact
ties and no committed mask id (failing seeds are common; with these defaults no P=5 seed below
1500 reaches 3e-5). Compare `tokens`/`committed`/`final` exactly; compare `confidence` with a relative
tolerance (~1e-5): a float32 reimplementation changes confidences by about 2d relative.

| case | prompt seed | prompt | generated | min argmax logit gap | min top-k conf gap | min logit margin |
|---|---|---|---|---|---|---|
"""


def write_readme(path, summary, args, mask_id, noise):
    rows = []
    for name, seed, prompt, gen, st in summary:
        cg = "n/a" if st["min_conf_gap"] == math.inf else f"{st['min_conf_gap']:.3e}"
        rows.append(f"| `{name}` | {seed} | {prompt} | {gen} | {st['min_argmax_gap']:.3e} | {cg} "
                    f"| {st['min_logit_margin']:.3e} |")
    with open(path, "w", newline="\n") as f:
        f.write(README_HEAD.replace("@MASK@", str(mask_id)).replace("@NOISE@", f"{noise:.2e}")
                .replace("@RATIO@", f"{args.min_logit_margin / noise:.0f}" if noise > 0 else "n/a") + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
