#!/usr/bin/env python3
"""Quality study: FP vs quantized models on the fixture's held-out tasks, written to docs/quality.md.

For each configuration, `dqc compile` quantizes the fixture and `dqc eval` measures exact-match
accuracy (Wilson 95% CI) per task and masked-token NLL over all three tasks at mask ratios 0.1 … 0.9
(--nll-draws mask draws per problem and ratio, the same masks for every configuration), with paired
bootstrap 95% intervals for the NLL change against FP (problems resampled, 2000 times, seeded).
Methods compare on the same problems (the first --limit of each eval set) and the same calibration
prompts.

Usage:
  swift build -c release
  python3 Scripts/quality_study.py [--fixture Tests/Fixtures/llada-tiny] [--limit 300]
                                   [--precisions w4a8,w4a4] [--ablations] [--out docs/quality.md]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACC = re.compile(r"exact match: (\d+)/(\d+) = ([0-9.]+)% \(95% CI ([0-9.]+)–([0-9.]+)%\)")
QUARTER = re.compile(r"(\d)/4 [0-9.]+% \((\d+)/(\d+)\)")
RATIOS = [round(0.1 * r, 1) for r in range(1, 10)]
BOOTSTRAP = 2000


def read_nll(path, task, nats, tokens):
    """Adds one `dqc eval --nll-out` file's samples to nats[(task, problem)][ratio] (summed over
    draws) and tokens[(task, problem)][ratio]."""
    with open(path) as f:
        for line in f:
            s = json.loads(line)
            key = (task, s["problem"])
            nats.setdefault(key, {}).setdefault(s["ratio"], 0.0)
            tokens.setdefault(key, {}).setdefault(s["ratio"], 0)
            nats[key][s["ratio"]] += s["nats"]
            tokens[key][s["ratio"]] += s["tokens"]


class NLL:
    """A configuration's masked-token NLL samples as arrays over problems (rows) and ratios."""

    def __init__(self, nats, tokens):
        self.keys = sorted(nats)
        self.nats = np.array([[nats[k].get(r, 0.0) for r in RATIOS] for k in self.keys])
        self.tokens = np.array([[tokens[k].get(r, 0) for r in RATIOS] for k in self.keys])

    def at(self, ratio):
        i = RATIOS.index(ratio)
        return self.nats[:, i].sum() / max(self.tokens[:, i].sum(), 1)

    def delta(self, fp, columns, rows=None):
        """Relative change in % of the pooled NLL over `columns` against fp's, on the problems
        `rows` (all by default; the same masks, so the same tokens)."""
        rows = np.arange(len(self.keys)) if rows is None else rows
        q = self.nats[np.ix_(rows, columns)].sum()
        f = fp.nats[np.ix_(rows, columns)].sum()
        return (q / f - 1) * 100


def resamples(n):
    return np.random.default_rng(0).integers(0, n, size=(BOOTSTRAP, n))


def delta_with_interval(q, fp, columns):
    """ΔNLL % and its paired bootstrap 95% interval."""
    assert q.keys == fp.keys and (q.tokens == fp.tokens).all(), "NLL samples differ in masks"
    point = q.delta(fp, columns)
    boot = np.array([q.delta(fp, columns, rows) for rows in resamples(len(q.keys))])
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return point, lo, hi


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return out.stdout


def mean_accuracy(acc):
    return sum(a for a, _, _ in acc.values()) / len(acc)


def ordering_section(rows, precisions):
    """The observed ordering of RTN, GPTQ and DLLMQuant per precision, and the issue's goals,
    computed from the measured rows."""
    by_name = {name: (acc, nll) for name, acc, nll, _, _ in rows}
    fp_acc, fp_nll = by_name["FP"]
    out = ["", "## Observed ordering and the goals", ""]
    half = [RATIOS.index(0.5)]

    def delta_nll(nll):
        return nll.delta(fp_nll, half)

    for p in precisions:
        methods = [m for m in ("RTN", "GPTQ", "DLLMQuant") if f"{p} {m}" in by_name]
        ranked = sorted(methods, key=lambda m: (-mean_accuracy(by_name[f"{p} {m}"][0]),
                                                delta_nll(by_name[f"{p} {m}"][1])))
        desc = " > ".join(f"{m} ({mean_accuracy(by_name[f'{p} {m}'][0]):.2f}%, ΔNLL@0.5 "
                          f"{delta_nll(by_name[f'{p} {m}'][1]):+.1f}%)" for m in ranked)
        out.append(f"- {p}: by mean exact match over the three tasks, ties broken by ΔNLL@0.5: {desc}.")
    if "w4a8 DLLMQuant" in by_name:
        acc, nll = by_name["w4a8 DLLMQuant"]
        gap = mean_accuracy(fp_acc) - mean_accuracy(acc)
        d, lo, hi = delta_with_interval(nll, fp_nll, half)
        ok = gap <= 1 and d <= 2
        verdict = "met" if ok else "not met"
        if ok and hi > 2:
            verdict += " on the point estimate, not established at 95% (the interval reaches above 2%)"
        out.append(f"- Goal W4A8 DLLMQuant within 1 point of FP accuracy ({gap:+.2f} points below) and within"
                   f" 2% of FP NLL@0.5 ({d:+.1f}%, 95% interval {lo:+.1f} to {hi:+.1f}): {verdict}.")
    if all(f"w4a4 {m}" in by_name for m in ("RTN", "GPTQ", "DLLMQuant")):
        r, g, d = (by_name[f"w4a4 {m}"] for m in ("RTN", "GPTQ", "DLLMQuant"))
        lead = mean_accuracy(d[0]) - mean_accuracy(g[0])
        out.append(f"- Goal W4A4 DLLMQuant at least 5 points above GPTQ ({lead:+.2f} points):"
                   f" {'met' if lead >= 5 else 'not met'}; GPTQ above RTN"
                   f" ({mean_accuracy(g[0]) - mean_accuracy(r[0]):+.2f} points):"
                   f" {'met' if mean_accuracy(g[0]) > mean_accuracy(r[0]) else 'not met'}.")
        for label, columns in (("NLL@0.5", half), ("NLL over all mask ratios", list(range(len(RATIOS))))):
            dd, dg = d[1].delta(fp_nll, columns), g[1].delta(fp_nll, columns)
            # Paired bootstrap of DLLMQuant's increase minus half of GPTQ's (<= 0: goal met).
            boot = np.array([d[1].delta(fp_nll, columns, r) - g[1].delta(fp_nll, columns, r) / 2
                             for r in resamples(len(fp_nll.keys))])
            lo, hi = np.percentile(boot, [2.5, 97.5])
            out.append(f"- Goal W4A4 DLLMQuant's {label} increase over FP at most half of GPTQ's ({dd:+.1f}% vs"
                       f" {dg:+.1f}%; DLLMQuant's minus half of GPTQ's {dd - dg / 2:+.1f} points, 95%"
                       f" interval {lo:+.1f} to {hi:+.1f}): {'met' if dd <= dg / 2 else 'not met'}"
                       + (" (the interval includes 0: not resolved by this data)" if lo <= 0 <= hi else "") + ".")
    smooth = [m for m in ("RTN", "GPTQ", "DLLMQuant") if f"w4a4 {m} +smooth" in by_name and f"w4a4 {m}" in by_name]
    if smooth:
        parts = []
        for m in smooth:
            plain, sm = by_name[f"w4a4 {m}"], by_name[f"w4a4 {m} +smooth"]
            parts.append(f"{m} ΔNLL@0.5 {delta_nll(plain[1]):+.1f}% → {delta_nll(sm[1]):+.1f}%, mean exact match"
                         f" {mean_accuracy(plain[0]):.2f}% → {mean_accuracy(sm[0]):.2f}%")
        out.append("- SmoothQuant migration (`--smooth`, α 0.85) at W4A4: " + "; ".join(parts) + ".")
    out.append("- The fixture solves every held-out problem in FP, so exact match can only fall; with 300"
               " problems per task one problem is 0.33 points and the intervals overlap, so the NLL"
               " columns carry most of the signal. Its NLL is tiny (about 1e-4 nats/token) and dominated by"
               " a few tokens, hence the paired intervals: a ΔNLL whose interval includes 0 is not a"
               " measured difference.")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", default=os.path.join(REPO, "Tests/Fixtures/llada-tiny"))
    ap.add_argument("--dqc", default=os.path.join(REPO, ".build/release/dqc"))
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--nll-limit", type=int, default=300)
    ap.add_argument("--nll-draws", type=int, default=2)
    ap.add_argument("--precisions", default="w4a8,w4a4")
    ap.add_argument("--ablations", action="store_true", help="also DLLMQuant without TMAS / CGQ / IA-AQ")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--smooth", action="store_true",
                    help="also W4A4 with SmoothQuant migration (dqc compile --smooth, α 0.85) per method")
    ap.add_argument("--out", default=os.path.join(REPO, "docs/quality.md"))
    args = ap.parse_args()

    fx = args.fixture
    calib = os.path.join(fx, "calib/train_slice.jsonl")
    tasks = ["rev", "sort", "add"]
    configs = [("FP", None, [])]
    for p in args.precisions.split(","):
        configs += [(f"{p} RTN", p, ["--method", "rtn"]), (f"{p} GPTQ", p, ["--method", "gptq"]),
                    (f"{p} DLLMQuant", p, ["--method", "dllmquant"])]
        if args.ablations:
            configs += [(f"{p} DLLMQuant −TMAS", p, ["--method", "dllmquant", "--no-tmas"]),
                        (f"{p} DLLMQuant −CGQ", p, ["--method", "dllmquant", "--no-cgq"]),
                        (f"{p} DLLMQuant −IA-AQ", p, ["--method", "dllmquant", "--no-ia-aq"])]
            if p != "w4a16":  # (whose head is float already)
                configs += [(f"{p} DLLMQuant head float", p, ["--method", "dllmquant", "--head", "float"])]
        if p == "w4a4" and args.smooth:
            configs += [(f"{p} {m} +smooth", p, ["--method", m.lower(), "--smooth"])
                        for m in ("RTN", "GPTQ", "DLLMQuant")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, precision, flags in configs:
            model = fx
            seconds = 0.0
            if precision:
                model = os.path.join(tmp, re.sub(r"[^A-Za-z0-9]+", "_", name) + ".dqb")
                t0 = time.time()
                run([args.dqc, "compile", fx, "-o", model, f"--{precision}", "--calib", calib,
                     "--samples", str(args.samples)] + flags)
                seconds = time.time() - t0
            acc = {}
            quarters = [[0, 0] for _ in range(4)]  # [correct, committed] over all tasks
            for t in tasks:
                out = run([args.dqc, "eval", model, "--task", os.path.join(fx, f"eval/{t}.jsonl"), "--limit",
                           str(args.limit), "--tokenizer", os.path.join(fx, "tokenizer.json")])
                m = ACC.search(out)
                acc[t] = (float(m.group(3)), float(m.group(4)), float(m.group(5)))
                for q, ok, total in QUARTER.findall(out):
                    quarters[int(q) - 1][0] += int(ok)
                    quarters[int(q) - 1][1] += int(total)
            nats, tokens = {}, {}
            for t in tasks:
                path = os.path.join(tmp, "nll.jsonl")
                run([args.dqc, "eval", model, "--task", os.path.join(fx, f"eval/{t}.jsonl"), "--limit",
                     str(args.nll_limit), "--nll-draws", str(args.nll_draws), "--nll-out", path,
                     "--tokenizer", os.path.join(fx, "tokenizer.json")])
                read_nll(path, t, nats, tokens)
            nll = NLL(nats, tokens)
            rows.append((name, acc, nll, seconds, quarters))
            print(name, acc, {r: f"{nll.at(r):.3e}" for r in (0.1, 0.5, 0.9)}, flush=True)

    fp_nll = rows[0][2]
    lines = [
        "# Quality study",
        "",
        f"Produced by `python3 Scripts/quality_study.py --limit {args.limit}"
        + (" --ablations" if args.ablations else "") + (" --smooth" if args.smooth else "") + f"` on {datetime.date.today().isoformat()}"
        " (do not edit by hand).",
        "",
        f"Fixture `{os.path.relpath(fx, REPO)}`; the first {args.limit} held-out problems per task (the same"
        " problems for every configuration), LLaDA sampler with steps = block length = answer length;"
        f" masked-token NLL on the first {args.nll_limit} problems of each task, {args.nll_draws} mask draws per"
        f" problem and ratio ({int(fp_nll.tokens.sum())} masked tokens over the nine ratios 0.1 … 0.9; the same"
        " masks for every configuration), pooled as total nats / total tokens. Calibration: the fixture's"
        f" `calib/train_slice.jsonl`, {args.samples} snapshots. Weights int4 in groups of 128; the output"
        " head W8A8 (`dqc compile`'s default where activations are quantized: int8 weights per channel, int8"
        " activations per token), except in the rows marked `head float` (and for W4A16, whose head stays"
        " float); W4A8: int8 per-token linear inputs and 8-bit attention matmuls;"
        " W4A4: int4 linear inputs.",
        "",
        "| configuration | rev | sort | add | NLL@0.1 | NLL@0.5 | NLL@0.9 | ΔNLL@0.5 vs FP | ΔNLL all ratios |"
        " compile s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    quarter_lines = [
        "",
        "## Error accumulation over the denoising steps",
        "",
        "Share of the answer tokens committed so far that equal the reference, after each quarter of"
        " the steps (all three tasks together; a wrong early commit stays and conditions every later step).",
        "",
        "| configuration | after 1/4 | after 2/4 | after 3/4 | after 4/4 |",
        "|---|---|---|---|---|",
    ]
    for name, acc, nll, seconds, quarters in rows:
        quarter_lines.append(f"| {name} | " + " | ".join(
            f"{100 * ok / max(total, 1):.2f}% ({ok}/{total})" for ok, total in quarters) + " |")
    for name, acc, nll, seconds, quarters in rows:
        cells = [f"{a:.1f}% ({lo:.1f}–{hi:.1f})" for a, lo, hi in (acc[t] for t in tasks)]
        n = [f"{nll.at(r):.2e}" for r in (0.1, 0.5, 0.9)]
        deltas = []
        for columns in ([RATIOS.index(0.5)], list(range(len(RATIOS)))):
            if nll is fp_nll:
                deltas.append("—")
            else:
                d, lo, hi = delta_with_interval(nll, fp_nll, columns)
                deltas.append(f"{d:+.1f}% ({lo:+.1f} to {hi:+.1f})")
        lines.append(f"| {name} | " + " | ".join(cells + n + deltas) + f" | {seconds:.0f} |")
    lines += ordering_section(rows, args.precisions.split(","))
    lines += quarter_lines
    lines += ["", "Accuracy cells: exact match (Wilson 95% interval). ΔNLL cells: change of the pooled NLL"
              " against FP with its paired bootstrap 95% interval (problems resampled with all their masks,"
              f" {BOOTSTRAP} times, seeded). Each quantized configuration is"
              " a `.dqb` bundle written by `dqc compile` and run by `dqc eval` on the runtime's CPU back end"
              " (which gives the interpreter's answers on every held-out problem: docs/runtime.md); FP"
              " runs on the reference interpreter."]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
