#!/usr/bin/env python3
"""Runtime speed benchmark: one forward pass of the bench model at sequence length --seq on
--threads threads, the dqc W4A8 bundle on the runtime's CPU back end against three ONNX Runtime
variants of the same model, all measured in the same run (a command that prints figures).

Methods (one seeded input_ids [1, seq] int64 for all):

  ort fp32        onnxruntime.InferenceSession(<dir>/model.onnx)
  ort q4          the same model with every MatMul over a constant weight rewritten to
                  MatMulNBits (4 bits, block 128, asymmetric, accuracy_level 4: int8 compute)
                  by onnxruntime's MatMulNBitsQuantizer
  ort int8        onnxruntime.quantization.quantize_dynamic(weight_type=QInt8): dynamic
                  per-token int8 activations, int8 weights
  dqc w4a8        dqc compile <dir>/model.onnx --w4a8 --method rtn --max-seq-len <seq>, then
                  dqc exec <bundle> --threads <threads> --repeat <runs+1> (the runtime;
                  RTN instead of DLLMQuant only because the weights are random: the kernels
                  and the bundle layout are the same); the LM head is W8A8 (int8 weights per
                  channel, int8 activations per token: the recipe's default head)
  dqc w4a8 head float   the same with --head float: the LM head stays f32
  dqc w4a8 head body    the same with --head body: the head is W4A8 like the other layers

Bundles are compiled afresh into a temporary folder on every run (about 20 s each), so a
figure never comes from a bundle an older dqc wrote.

ONNX Runtime: intra_op_num_threads = threads, inter_op_num_threads 1, CPUExecutionProvider,
default graph optimizations, one untimed warm-up, then <runs> timed calls; every ORT variant is
timed twice, before and after dqc, with a fresh session each time, and the median of all 2 x
<runs> calls is reported. dqc prints its own median over runs+1 passes (the first, cold one
included). The ratio column is ORT FP32's median over each method's median.

Memory: the peak RSS (GNU time) of `dqc run` sampling a 32-token answer for a 200-token prompt
on the runtime (the fixture's tokenizer serves: its ids are valid ids of the bench model), and
of the `dqc exec` process above (which also holds the full [1, seq, 32000] logits twice), against
the bundle's size plus the activation arena the runtime reports.

Usage:
  swift build -c release
  python3 Scripts/bench_runtime.py [--model-dir out/bench-model] [--seq 256] [--runs 7]
                                   [--threads 2] [--dqc .build/release/dqc]
"""
from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import cpu_model, git_commit  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORWARD = re.compile(r"forward: median ([0-9.]+) s, min ([0-9.]+) s, max ([0-9.]+) s over (\d+) runs")
ARENA = re.compile(r"activation arena (\d+) bytes")
ISA = re.compile(r"runtime: (\S+) kernels")


def ensure_model(model_dir: str) -> None:
    if not os.path.exists(os.path.join(model_dir, "model.onnx.data")):
        subprocess.run([sys.executable, os.path.join(REPO, "Scripts/make_bench_model.py"), "--out", model_dir,
                        "--exporters", "legacy"], check=True)


def ensure_ort_variants(model_dir: str) -> dict:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    fp32 = os.path.join(model_dir, "model.onnx")
    q4 = os.path.join(model_dir, "model.q4.onnx")
    int8 = os.path.join(model_dir, "model.int8.onnx")
    if not os.path.exists(q4):
        t = time.perf_counter()
        quantizer = MatMulNBitsQuantizer(onnx.load(fp32), block_size=128, is_symmetric=False, accuracy_level=4)
        quantizer.process()
        onnx.save_model(quantizer.model.model, q4, save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.q4.onnx.data")
        print(f"built {q4} in {time.perf_counter() - t:.0f} s", flush=True)
    if not os.path.exists(int8):
        t = time.perf_counter()
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, use_external_data_format=True)
        print(f"built {int8} in {time.perf_counter() - t:.0f} s", flush=True)
    return {"ort fp32": fp32, "ort q4 (MatMulNBits, level 4)": q4, "ort int8 (quantize_dynamic)": int8}


def time_ort(path: str, ids: np.ndarray, threads: int, runs: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: ids}
    logits = session.run(None, feed)[0]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return times, logits


def peak_rss(argv: list) -> tuple:
    """Runs argv under GNU time; returns (stdout, peak RSS bytes). (getrusage of a child
    started from this process would count this process's own pages from before the exec.)"""
    p = subprocess.run(["/usr/bin/time", "-f", "dqc-peak-rss-kib %M"] + argv, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} failed:\n{p.stderr.strip()[-4000:]}")
    m = re.search(r"dqc-peak-rss-kib (\d+)", p.stderr)
    return p.stdout, int(m.group(1)) * 1024


def run_dqc(dqc: str, bundle: str, ids_path: str, threads: int, runs: int, out_dir: str):
    argv = [dqc, "exec", bundle, "--input", f"input_ids={ids_path}", "--threads", str(threads),
            "--repeat", str(runs + 1), "--output-dir", out_dir]
    out, rss = peak_rss(argv)
    m = FORWARD.search(out)
    if not m:
        raise SystemExit(f"error: no timing line in dqc's output:\n{out}")
    arena = int(ARENA.search(out).group(1))
    isa = ISA.search(out).group(1)
    logits = np.load(os.path.join(out_dir, "logits.npy"))
    return float(m.group(1)), float(m.group(2)), rss, arena, isa, logits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=os.path.join(REPO, "out/bench-model"))
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dqc", default=os.path.join(REPO, ".build/release/dqc"))
    args = ap.parse_args()

    ensure_model(args.model_dir)
    variants = ensure_ort_variants(args.model_dir)
    work = tempfile.mkdtemp(prefix="dqc-bench-runtime-")
    atexit.register(shutil.rmtree, work, True)
    bundles = {}
    for label, head in (("dqc w4a8", None), ("dqc w4a8 head float", "float"), ("dqc w4a8 head body", "body")):
        bundle = os.path.join(work, f"model.w4a8.head-{head or 'default'}.seq{args.seq}.dqb")
        t = time.perf_counter()
        subprocess.run([args.dqc, "compile", os.path.join(args.model_dir, "model.onnx"), "-o", bundle, "--w4a8",
                        "--method", "rtn", "--max-seq-len", str(args.seq)] + (["--head", head] if head else []),
                       check=True, stdin=subprocess.DEVNULL)
        print(f"compiled {os.path.basename(bundle)} in {time.perf_counter() - t:.0f} s", flush=True)
        bundles[label] = bundle
    bundle = bundles["dqc w4a8"]

    vocab = 32000
    ids = np.random.default_rng(args.seed).integers(0, vocab, size=(1, args.seq), dtype=np.int64)
    ids_path = os.path.join(work, "ids.npy")
    np.save(ids_path, ids)

    ort_times = {name: [] for name in variants}
    ort_logits = {}
    for name, path in variants.items():
        times, logits = time_ort(path, ids, args.threads, args.runs)
        ort_times[name] += times
        ort_logits[name] = logits
    dqc_rows = {label: run_dqc(args.dqc, path, ids_path, args.threads, args.runs, work)
                for label, path in bundles.items()}
    _, _, rss, arena, isa, _ = dqc_rows["dqc w4a8"]
    for name, path in variants.items():
        ort_times[name] += time_ort(path, ids, args.threads, args.runs)[0]

    prompt = "rev:" + "abcdefghij" * 19 + "<|sep|>"
    run_out, run_rss = peak_rss([args.dqc, "run", bundle, "--prompt", prompt, "--gen-length", "32", "--steps", "8",
                                 "--threads", str(args.threads),
                                 "--tokenizer", os.path.join(REPO, "Tests/Fixtures/llada-tiny/tokenizer.json")])
    reference = ort_logits["ort fp32"]
    base = statistics.median(ort_times["ort fp32"])
    size = os.path.getsize(bundle)
    print(f"\nbench model, seq {args.seq}, {args.threads} threads, {cpu_model()}, commit {git_commit()}, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'method':32} {'median s':>9} {'min s':>8} {'vs ort fp32':>11} {'max|Δ| vs fp32':>15}")
    for name in variants:
        times = ort_times[name]
        m = statistics.median(times)
        delta = float(np.max(np.abs(ort_logits[name] - reference)))
        print(f"{name:32} {m:9.4f} {min(times):8.4f} {base / m:10.2f}x {delta:15.4f}")
    for label, (median, fastest, _, _, isa, logits) in dqc_rows.items():
        delta = float(np.max(np.abs(logits.reshape(reference.shape) - reference)))
        print(f"{label + ' (' + isa + ')':32} {median:9.4f} {fastest:8.4f} {base / median:10.2f}x {delta:15.4f}")
    print(f"\nlogits scale: max|fp32| = {float(np.max(np.abs(reference))):.4f}")
    limit = 1.3 * size + arena
    print(f"bundle {size / 2**20:.1f} MiB, activation arena {arena / 2**20:.1f} MiB: limit 1.3 x bundle + arena = "
          f"{limit / 2**20:.1f} MiB")
    print(f"dqc run peak RSS {run_rss / 2**20:.1f} MiB = {run_rss / limit:.2f} of the limit")
    print(f"dqc exec peak RSS {rss / 2**20:.1f} MiB = {rss / limit:.2f} of the limit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
