#!/usr/bin/env python3
"""Import benchmark for dqc's ONNX front end (a command that prints figures, not a timed test).

Imports a >=400 MB model stored with ONNX external data and reports wall time and peak RSS
side by side with `onnx.load` and ONNX Runtime session creation, all measured in the same run:

  dqc import     dqc import <model.onnx> -o <tmp>/bench.dqir   complete import: every weight is
                 read once (4 MiB chunks) to record its digest; weights stay in the .data file
  dqc inspect    dqc inspect <model.onnx>                      import without reading weight data
  onnx.load      python3 -c 'onnx.load(path)'                  loads the external data
  ort session    python3 -c 'onnxruntime.InferenceSession(path, so, CPUExecutionProvider)',
                 intra_op_num_threads 2

Every measurement is one fresh child process: wall time is taken around the child, peak RSS is
the child's own ru_maxrss from wait4(2). One untimed warm-up run of each method comes first, so
every timed run is warm-cache (the model files sit in the OS page cache). Timed runs go round
robin over the methods. Python rows include interpreter start-up and `import onnx` /
`import onnxruntime`; the time of the call alone is printed in the "call s" column.

The model (Scripts/make_bench_model.py: LLaDA layout, 8 layers, d_model 1024, ~168M f32
parameters, ~670 MB external data) is built into --model-dir when model.onnx or
model.onnx.data is missing there.

Usage:
  swift build -c release
  python3 Scripts/bench_import.py [--model-dir out/bench-model] [--runs 5] [--dqc .build/release/dqc]

Exit status: non-zero when building the model or any measured command fails.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import cpu_model, git_commit  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ONNX_CHILD = """
import sys, time
import onnx
t = time.perf_counter()
m = onnx.load(sys.argv[1])
dt = time.perf_counter() - t
n = sum(len(i.raw_data) for i in m.graph.initializer)
print(f"CALL_S {dt:.6f} BYTES {n}")
"""

ORT_CHILD = """
import sys, time
import onnxruntime as ort

so = ort.SessionOptions()
so.intra_op_num_threads = 2
t = time.perf_counter()
s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
dt = time.perf_counter() - t
print(f"CALL_S {dt:.6f} INPUTS {len(s.get_inputs())}")
"""


def run_child(argv: list[str]) -> tuple[float, int, str, str, int]:
    """Runs argv as a fresh child; returns (wall s, peak RSS KiB, stdout, stderr, exit code)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)  # already reaped; keep Popen quiet
        out.seek(0)
        err.seek(0)
        return wall, ru.ru_maxrss, out.read().decode(errors="replace"), err.read().decode(errors="replace"), p.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="out/bench-model")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dqc", default=".build/release/dqc")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    model_dir = os.path.abspath(args.model_dir)
    dqc = os.path.abspath(args.dqc)
    onnx_path = os.path.join(model_dir, "model.onnx")
    data_path = onnx_path + ".data"
    if not os.access(dqc, os.X_OK):
        print(f"error: {dqc} is not an executable; build it with `swift build -c release`", file=sys.stderr)
        return 2

    if not (os.path.isfile(onnx_path) and os.path.isfile(data_path)):
        print(f"building the benchmark model into {model_dir} (Scripts/make_bench_model.py) ...", flush=True)
        r = subprocess.run([sys.executable, os.path.join(REPO, "Scripts", "make_bench_model.py"), "--out", model_dir])
        if r.returncode != 0 or not (os.path.isfile(onnx_path) and os.path.isfile(data_path)):
            print("error: make_bench_model.py failed", file=sys.stderr)
            return 2

    weight_bytes = os.path.getsize(data_path)
    tmp = tempfile.mkdtemp(prefix="dqc-bench-")
    dqir = os.path.join(tmp, "bench.dqir")
    methods = [
        ("dqc import", [dqc, "import", onnx_path, "-o", dqir]),
        ("dqc inspect", [dqc, "inspect", onnx_path]),
        ("onnx.load", [sys.executable, "-c", ONNX_CHILD, onnx_path]),
        ("ort session", [sys.executable, "-c", ORT_CHILD, onnx_path]),
    ]
    results: dict[str, list[tuple[float, int, float | None]]] = {name: [] for name, _ in methods}

    def measure(name: str, argv: list[str]) -> tuple[float, int, float | None]:
        if name == "dqc import" and os.path.exists(dqir):
            os.remove(dqir)
        wall, rss, out, err, rc = run_child(argv)
        if rc != 0:
            print(f"error: {name} failed with exit status {rc}:\n{err.strip()[-4000:]}", file=sys.stderr)
            sys.exit(1)
        if name == "dqc import" and not (os.path.isfile(dqir) and os.path.getsize(dqir) > 0):
            print(f"error: dqc import wrote no {dqir}", file=sys.stderr)
            sys.exit(1)
        call = None
        for line in out.splitlines():
            if line.startswith("CALL_S "):
                call = float(line.split()[1])
        return wall, rss, call

    try:
        for name, argv in methods:  # warm-up: fills the page cache, not recorded
            measure(name, argv)
        for _ in range(args.runs):
            for name, argv in methods:
                results[name].append(measure(name, argv))
        dqir_size = os.path.getsize(dqir)
    finally:
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)

    import onnx
    import onnxruntime

    med_wall = {n: statistics.median(w for w, _, _ in r) for n, r in results.items()}
    base = med_wall["onnx.load"]
    print("dqc import benchmark")
    print(f"  date        {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"  dqc commit  {git_commit()}   binary {os.path.relpath(dqc, os.getcwd())}")
    print(f"  machine     {cpu_model()}, {os.cpu_count()} logical CPUs, load average at end {os.getloadavg()[0]:.2f}")
    print(f"  python {platform.python_version()}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"  model       {os.path.relpath(onnx_path, os.getcwd())}: graph {os.path.getsize(onnx_path) / 2**20:.2f} MiB, "
          f"weights (model.onnx.data) {weight_bytes:,} bytes = {weight_bytes / 2**20:.1f} MiB")
    print(f"  .dqir written by dqc import: {dqir_size:,} bytes")
    print(f"  {args.runs} timed runs per method after 1 warm-up run each (warm page cache); one fresh process per run,")
    print("  wall = whole process (python rows include interpreter start-up and module import), RSS = ru_maxrss")
    print()
    hdr = f"{'method':<12} {'median s':>9} {'min s':>7} {'max s':>7} {'call s':>7} {'peak RSS MiB':>13} {'RSS % wts':>10} {'vs onnx.load':>13}"
    print(hdr)
    print("-" * len(hdr))
    for name, _ in methods:
        r = results[name]
        walls = [w for w, _, _ in r]
        rss_mib = statistics.median(m for _, m, _ in r) / 1024
        calls = [c for _, _, c in r if c is not None]
        call = f"{statistics.median(calls):7.3f}" if calls else f"{'-':>7}"
        print(f"{name:<12} {med_wall[name]:9.3f} {min(walls):7.3f} {max(walls):7.3f} {call} {rss_mib:13.1f} "
              f"{100 * rss_mib * 2**20 / weight_bytes:9.1f}% {med_wall[name] / base:12.2f}x")
    print()
    print("call s: median time of the onnx.load / InferenceSession call alone, inside the child.")
    print("vs onnx.load: median wall / onnx.load's median wall (below 1.00x is faster).")
    imp = results["dqc import"]
    rss_pct = 100 * statistics.median(m for _, m, _ in imp) * 1024 / weight_bytes
    print(f"goals: dqc import faster than onnx.load: {'yes' if med_wall['dqc import'] < base else 'NO'} "
          f"({med_wall['dqc import'] / base:.2f}x); peak RSS under 25% of weights: {'yes' if rss_pct < 25 else 'NO'} ({rss_pct:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
