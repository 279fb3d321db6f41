#!/usr/bin/env python3
"""Interpreter speed benchmark: one forward pass of the bench model, dqc's interpreter vs
ONNX Runtime on the same ONNX file, both on 2 threads, measured in the same run (a command
that prints figures, not a timed test).

Methods (all on the same seeded input_ids [1, seq] int64):

  dqc exec onnx      dqc exec <dir>/model.onnx --input input_ids=<ids.npy> --threads 2
                     --repeat <runs+1>      (legacy TorchScript export, opset 17)
  dqc exec dynamo    the same on <dir>/model.dynamo.onnx (torch.onnx.export(dynamo=True))
  dqc exec ckpt      the same on <dir> itself: config.json + model.safetensors, which dqc
                     builds straight into dq.* IR
  --no-optimize      dqc exec <dir>/model.onnx --no-optimize: the imported ONNX ops as they
                     are (by default dqc exec first runs canonicalize, cse, raise, dce, as
                     ONNX Runtime applies its graph optimizations by default)
  ort                onnxruntime.InferenceSession(<dir>/model.onnx), intra_op_num_threads 2,
                     inter_op_num_threads 1, CPUExecutionProvider, default graph
                     optimizations; one untimed warm-up session.run, then <runs> timed ones;
                     done twice, before and after the dqc runs, with a fresh session each

dqc times only the forward pass (weights already loaded) and prints
`forward: median X s, min Y s, max Z s over N runs (T threads)`; those figures are used as
printed. dqc's median is element N/2 of the N = runs+1 sorted times, the first (cold) pass
included. The ORT median is the median of the 2 x <runs> timed calls. "proc s" is
the wall time of the whole dqc process (import + weight load + runs+1 passes).

Every method's logits are compared with ORT's: "max|d|" is the largest absolute difference.

The model (Scripts/make_bench_model.py: LLaDA layout, 8 layers, d_model 1024, ~168M f32
parameters, external data) is built into --model-dir when any of its files is missing.

Usage:
  swift build -c release
  python3 Scripts/bench_interp.py [--model-dir out/bench-model] [--seq 256] [--runs 5]
                                  [--dqc .build/release/dqc] [--threads 2] [--seed 0]

Exit status: non-zero when building the model, dqc or ONNX Runtime fails.
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import cpu_model, git_commit  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORWARD = re.compile(
    r"forward: median ([0-9.]+) s, min ([0-9.]+) s, max ([0-9.]+) s over (\d+) runs \((\d+) threads\)")
MODEL_FILES = ("config.json", "model.safetensors", "model.onnx", "model.onnx.data", "model.dynamo.onnx")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_dqc(dqc: str, model: str, ids_path: str, threads: int, repeats: int, out_dir: str, extra: list):
    """Runs dqc exec once; returns (median, min, max, n, process wall s, logits)."""
    for f in glob.glob(os.path.join(out_dir, "*.npy")):
        os.remove(f)
    argv = [dqc, "exec", model, "--input", f"input_ids={ids_path}", "--threads", str(threads),
            "--repeat", str(repeats), "--output-dir", out_dir] + extra
    t = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        print(f"error: {' '.join(argv)} failed with exit status {p.returncode}:\n{p.stderr.strip()[-4000:]}", file=sys.stderr)
        sys.exit(1)
    m = FORWARD.search(p.stdout)
    if not m:
        print(f"error: no 'forward: median ...' line in the output of {' '.join(argv)}:\n{p.stdout[-2000:]}", file=sys.stderr)
        sys.exit(1)
    outs = sorted(glob.glob(os.path.join(out_dir, "*.npy")))
    if len(outs) != 1:
        print(f"error: expected one output .npy from dqc exec, got {outs}", file=sys.stderr)
        sys.exit(1)
    logits = np.load(outs[0])
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4)), wall, logits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="out/bench-model")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dqc", default=".build/release/dqc")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.runs < 1 or args.seq < 1 or args.threads < 1:
        ap.error("--runs, --seq and --threads must be at least 1")

    model_dir = os.path.abspath(args.model_dir)
    dqc = os.path.abspath(args.dqc)
    if not os.access(dqc, os.X_OK):
        print(f"error: {dqc} is not an executable; build it with `swift build -c release`", file=sys.stderr)
        return 2
    if not all(os.path.isfile(os.path.join(model_dir, f)) for f in MODEL_FILES):
        print(f"building the benchmark model into {model_dir} (Scripts/make_bench_model.py) ...", flush=True)
        r = subprocess.run([sys.executable, os.path.join(REPO, "Scripts", "make_bench_model.py"), "--out", model_dir])
        if r.returncode != 0 or not all(os.path.isfile(os.path.join(model_dir, f)) for f in MODEL_FILES):
            print("error: make_bench_model.py failed", file=sys.stderr)
            return 2

    with open(os.path.join(model_dir, "config.json")) as fh:
        vocab = int(json.load(fh).get("vocab_size", 32000))
    ids = np.random.default_rng(args.seed).integers(0, vocab, size=(1, args.seq), dtype=np.int64)
    tmp = tempfile.mkdtemp(prefix="dqc-bench-interp-")
    ids_path = os.path.join(tmp, "input_ids.npy")
    np.save(ids_path, ids)
    out_dir = os.path.join(tmp, "out")
    os.makedirs(out_dir)
    load_start = loadavg()
    date_start = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    onnx_path = os.path.join(model_dir, "model.onnx")

    import onnxruntime as ort

    # ONNX Runtime before and after dqc (the machine's speed drifts); each session is released
    # before dqc runs so its spinning thread pool is gone.
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    feed = {"input_ids": ids}

    def time_ort():
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        out = sess.run(None, feed)[0]  # warm-up
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            sess.run(None, feed)
            times.append(time.perf_counter() - t)
        del sess
        return out, times

    try:
        ref, ort_times = time_ort()
    except Exception as e:  # noqa: BLE001
        print(f"error: ONNX Runtime failed: {e}", file=sys.stderr)
        return 1

    rows = []  # (name, median, min, max, n, proc wall, max abs diff)
    try:
        for name, model, extra in (("dqc exec onnx", onnx_path, []),
                                   ("dqc exec dynamo", os.path.join(model_dir, "model.dynamo.onnx"), []),
                                   ("dqc exec ckpt", model_dir, []),
                                   ("  --no-optimize", onnx_path, ["--no-optimize"])):
            med, lo, hi, n, wall, logits = run_dqc(dqc, model, ids_path, args.threads, args.runs + 1, out_dir,
                                                   extra)
            if logits.shape != ref.shape:
                print(f"error: {name}: logits shape {logits.shape}, ONNX Runtime gives {ref.shape}", file=sys.stderr)
                return 1
            diff = float(np.max(np.abs(logits.astype(np.float64) - ref.astype(np.float64))))
            rows.append((name, med, lo, hi, n, wall, diff))
        ort_times += time_ort()[1]
    except Exception as e:  # noqa: BLE001
        print(f"error: ONNX Runtime failed: {e}", file=sys.stderr)
        return 1
    finally:
        for f in glob.glob(os.path.join(out_dir, "*")):
            os.remove(f)
        os.rmdir(out_dir)
        os.remove(ids_path)
        os.rmdir(tmp)

    print("dqc interpreter benchmark")
    print(f"  date        {date_start} (start)  {datetime.datetime.now().astimezone().isoformat(timespec='seconds')} (end)")
    print(f"  dqc commit  {git_commit()}   binary {os.path.relpath(dqc, os.getcwd())}")
    print(f"  machine     {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"  load avg    {load_start} (start)   {loadavg()} (end)   (1, 5, 15 min)")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, onnxruntime {ort.__version__}")
    print(f"  model       {os.path.relpath(model_dir, os.getcwd())}: {os.path.getsize(os.path.join(model_dir, 'model.onnx.data')) / 2**20:.1f} MiB "
          f"of f32 weights; input_ids [1, {args.seq}] int64 (seed {args.seed}); {args.threads} threads")
    print(f"  dqc: --repeat {args.runs + 1}, figures as dqc prints them (median = sorted[n/2], first pass included);")
    print(f"  ort: two sessions, before and after the dqc runs, each 1 warm-up + {args.runs} timed session.run calls")
    print()
    hdr = f"{'method':<16} {'median s':>9} {'min s':>8} {'max s':>8} {'n':>3} {'vs ort':>7} {'proc s':>7} {'max|d|':>9}"
    print(hdr)
    print("-" * len(hdr))
    ort_med = statistics.median(ort_times)
    rows.insert(0, ("ort", ort_med, min(ort_times), max(ort_times), len(ort_times), None, 0.0))
    for name, med, lo, hi, n, wall, diff in rows:
        proc = f"{wall:7.2f}" if wall is not None else f"{'-':>7}"
        print(f"{name:<16} {med:9.4f} {lo:8.4f} {hi:8.4f} {n:3d} {med / ort_med:6.2f}x {proc} {diff:9.2e}")
    print()
    print("vs ort: median / ORT median. proc s: whole dqc process wall time. max|d|: max abs logits difference vs ORT.")
    print("dqc exec optimizes imported graphs first (canonicalize, cse, raise, dce; not timed), as ONNX Runtime")
    print("does by default; '--no-optimize' runs model.onnx's ops as imported.")
    best = rows[1][1] / ort_med
    print(f"goal: dqc exec onnx within 1.5x of ONNX Runtime: {'yes' if best <= 1.5 else 'NO'} ({best:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
