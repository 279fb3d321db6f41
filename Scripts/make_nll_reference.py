#!/usr/bin/env python3
"""Write an independent reference for `dqc eval --nll`: Tests/Fixtures/nll/<task>.jsonl.

For the trained fixture (Tests/Fixtures/llada-tiny), dqc's masked-token NLL of each (problem, mask
ratio, draw) is recomputed here from ONNX Runtime's float32 logits of model.onnx, with a float64
log-softmax: nats = sum over the masked answer positions j of -log softmax(logits[prompt + j])[answer[j]].

The masks are dqc's (seeded SplitMix64 in EvalJob): this script reads them from a `dqc eval
--nll-out` file and keeps only them; every `nats` value it writes is its own. EvalNLLTests runs
`EvalJob` on the interpreter and requires the same masks and nats within 1e-3 relative (+1e-9
absolute), the interpreter's logits being within ~3e-5 of ONNX Runtime's.

Usage (after `swift build -c release`):
  python3 Scripts/make_nll_reference.py [--dqc .build/release/dqc] [--limit 12] [--draws 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "Tests/Fixtures/llada-tiny")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dqc", default=os.path.join(REPO, ".build/release/dqc"))
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests/Fixtures/nll"))
    args = ap.parse_args()

    with open(os.path.join(FIXTURE, "config.json")) as f:
        mask_id = json.load(f)["mask_token_id"]
    session = ort.InferenceSession(os.path.join(FIXTURE, "model.onnx"), providers=["CPUExecutionProvider"])
    os.makedirs(args.out, exist_ok=True)
    for task in ("sort", "add"):
        task_file = os.path.join(FIXTURE, f"eval/{task}.jsonl")
        with open(task_file) as f:
            records = [json.loads(line) for line in f if line.strip()][: args.limit]
        with tempfile.TemporaryDirectory() as tmp:
            samples_path = os.path.join(tmp, "nll.jsonl")
            subprocess.run([args.dqc, "eval", FIXTURE, "--task", task_file, "--limit", str(args.limit),
                            "--nll-draws", str(args.draws), "--nll-out", samples_path],
                           check=True, capture_output=True)
            with open(samples_path) as f:
                samples = [json.loads(line) for line in f]
        lines = []
        for s in samples:
            r = records[s["problem"]]
            prompt, answer = r["prompt_ids"], r["answer_ids"]
            ids = prompt + [mask_id if j in s["masked"] else t for j, t in enumerate(answer)]
            logits = session.run(None, {"input_ids": np.array([ids], dtype=np.int64)})[0][0].astype(np.float64)
            nats = 0.0
            for j in s["masked"]:
                row = logits[len(prompt) + j]
                top = row.max()
                nats += -(row[answer[j]] - top - np.log(np.exp(row - top).sum()))
            lines.append(json.dumps({"problem": s["problem"], "ratio": s["ratio"], "draw": s["draw"],
                                     "masked": s["masked"], "nats": float(nats)}))
        with open(os.path.join(args.out, f"{task}.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{task}: {len(lines)} samples")


if __name__ == "__main__":
    main()
