#!/usr/bin/env python3
"""Generate ONNX backend node conformance cases for dqc's reference interpreter.

The cases come from the `onnx` package's own node test case generators
(`onnx.backend.test.case.node.collect_testcases()`), i.e. every `expect(...)`
call in `onnx/backend/test/case/node/*.py`, including the `*_expanded`
function-body variants.  A case is kept when every node of its graph is in
the default ONNX domain and its op type is in DQC_SUPPORTED_OPS, its graph
inputs/outputs are plain tensors (no sequence/optional/map types), and no
node carries a subgraph (GRAPH/GRAPHS) or sparse-tensor attribute.

Each case is written exactly the way ONNX's `backend-test-tools generate-data`
(onnx/backend/test/cmd_tools.py) writes node test data:

    <out>/<test_name>/model.onnx
    <out>/<test_name>/test_data_set_0/input_<i>.pb    (TensorProto)
    <out>/<test_name>/test_data_set_0/output_<i>.pb   (TensorProto)

plus `cases.tsv` (one line per case) and `README.md`.

Determinism: ONNX's exporter metaclass (onnx.backend.test.case.base._Exporter)
calls `np.random.seed(0)` before every `export*` function, so every case's
random data is seeded.  We additionally seed before collection.  Running the
script twice yields byte-identical files (see --check-determinism).

Usage:
    python3 Scripts/make_onnx_conformance.py [--out DIR] [--no-ort]
    python3 Scripts/make_onnx_conformance.py --check-determinism
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np

import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "onnx-conformance")

DQC_SUPPORTED_OPS = """
Add Sub Mul Div Pow Max Min Mod Sqrt Reciprocal Neg Exp Log Abs Erf Tanh
Sigmoid Relu Cos Sin Floor Ceil Softplus Clip Equal Less LessOrEqual Greater
GreaterOrEqual Not And Or Where IsNaN Cast CastLike Identity Dropout MatMul
Gemm Softmax LayerNormalization RMSNormalization Gather Reshape Transpose
Concat Split Slice Squeeze Unsqueeze Expand Flatten Shape Size Range Trilu
ConstantOfShape Constant ReduceMean ReduceSum ReduceMax ArgMax
""".split()

# Cases whose serialized data would be larger than this are skipped and listed
# in the README (keeps the fixture directory small).
MAX_CASE_BYTES = 256 * 1024

# ONNX runner defaults (onnx.backend.test.case.node.expect -> TestCase).
RTOL = 1e-3
ATOL = 1e-7
# onnx.backend.test.runner.Runner.assert_similar_outputs: bfloat16 outputs are
# compared in float32 with rtol = max(rtol, 2**-6) ("two bfloat16 ULPs").
BF16_RTOL = 2.0**-6

DEFAULT_DOMAINS = ("", "ai.onnx")
SUBGRAPH_ATTRS = (AttributeProto.GRAPH, AttributeProto.GRAPHS)
SPARSE_ATTRS = (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS)


def collect_all_cases():
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnx.backend.test.case.node import collect_testcases  # noqa: PLC0415

        return list(collect_testcases())


def reject_reason(case) -> str | None:
    """None if the case is kept, else a short reason."""
    g = case.model.graph
    for n in g.node:
        if n.op_type not in DQC_SUPPORTED_OPS:
            return f"op {n.op_type}"
    for n in g.node:
        if n.domain not in DEFAULT_DOMAINS:
            return f"domain {n.domain}"
        for a in n.attribute:
            if a.type in SUBGRAPH_ATTRS:
                return "subgraph attribute"
            if a.type in SPARSE_ATTRS:
                return "sparse attribute"
    for o in case.model.opset_import:
        if o.domain not in DEFAULT_DOMAINS:
            return (f"model also imports opset domain {o.domain} "
                    "(its nodes are all default-domain)")
    for v in list(g.input) + list(g.output):
        if not v.type.HasField("tensor_type"):
            return "non-tensor graph input/output"
    if len(case.data_sets) != 1:
        return "data_sets != 1"
    return None


def tensor_bytes(value, name: str) -> bytes:
    # Same as cmd_tools.generate_data for tensor-typed inputs/outputs.
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def serialize_case(case) -> dict[str, bytes]:
    files = {"model.onnx": case.model.SerializeToString()}
    g = case.model.graph
    for i, (inputs, outputs) in enumerate(case.data_sets):
        d = f"test_data_set_{i}"
        for j, x in enumerate(inputs):
            files[f"{d}/input_{j}.pb"] = tensor_bytes(x, g.input[j].name)
        for j, y in enumerate(outputs):
            files[f"{d}/output_{j}.pb"] = tensor_bytes(y, g.output[j].name)
    return files


def dtype_name(v) -> str:
    return TensorProto.DataType.Name(v.type.tensor_type.elem_type)


def default_opset(model) -> int:
    for o in model.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            return o.version
    return 0


def op_types(model) -> list[str]:
    seen = []
    for n in model.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return seen


# --------------------------------------------------------------------------
# onnxruntime verification (same comparison as ONNX's Runner)


def load_pb(path: str) -> np.ndarray:
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def compare(ref: np.ndarray, out: np.ndarray) -> str | None:
    if tuple(out.shape) != tuple(ref.shape):
        return f"shape {out.shape} != {ref.shape}"
    if ref.dtype == object:
        if out.dtype != object or out.tolist() != ref.tolist():
            return "string mismatch"
        return None
    if out.dtype != ref.dtype:
        return f"dtype {out.dtype} != {ref.dtype}"
    rtol = RTOL
    if out.dtype.name == "bfloat16":
        rtol = max(rtol, BF16_RTOL)
    if out.dtype.kind not in "biufc" or out.dtype.name == "bfloat16":
        out = out.astype(np.float32)
        ref = ref.astype(np.float32)
    try:
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=ATOL)
    except AssertionError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        msg = "; ".join(ln for ln in lines if ln.startswith(("Mismatched", "Max")))
        return f"values: {msg or 'mismatch'}"
    return None


def _is_plain_numpy(arr: np.ndarray) -> bool:
    # ml_dtypes types (bfloat16, float8*, int4, ...) cannot be fed to / read
    # from onnxruntime's Python API as numpy arrays.
    return arr.dtype == object or (
        arr.dtype.kind in "biufc" and arr.dtype.name != "bfloat16"
        and arr.dtype.type.__module__ == "numpy")


def _to_ort_value(ort, t: TensorProto):
    import ctypes  # noqa: PLC0415

    arr = numpy_helper.to_array(t)
    if _is_plain_numpy(arr):
        return arr
    raw = numpy_helper.from_array(arr).raw_data  # packed for 4-/2-bit types
    v = ort.OrtValue.ortvalue_from_shape_and_type(list(arr.shape), t.data_type)
    n = v.tensor_size_in_bytes()
    assert n == len(raw), (n, len(raw))
    if n:
        ctypes.memmove(v.data_ptr(), raw, n)
    return v


def _from_ort_value(v, elem_type: int) -> np.ndarray:
    import ctypes  # noqa: PLC0415

    want = onnx.helper.tensor_dtype_to_np_dtype(elem_type)
    try:
        arr = np.asarray(v.numpy())
        if arr.dtype == want or (arr.dtype == object and want == object):
            return arr
    except Exception:  # noqa: BLE001  (no numpy type: bfloat16, float8, int4...)
        pass
    # ORT has no numpy type for it (or reports float8 as uint8): reinterpret
    # the raw buffer through a TensorProto.
    t = TensorProto()
    t.data_type = elem_type
    t.dims.extend(v.shape())
    n = v.tensor_size_in_bytes()
    t.raw_data = ctypes.string_at(v.data_ptr(), n) if n else b""
    return numpy_helper.to_array(t)


def run_ort(case_dir: str) -> str | None:
    import onnxruntime as ort  # noqa: PLC0415

    ort.set_default_logger_severity(3)
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    ds = os.path.join(case_dir, "test_data_set_0")
    try:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(
            os.path.join(case_dir, "model.onnx"), opts,
            providers=["CPUExecutionProvider"],
        )
    except Exception as e:  # noqa: BLE001
        return "load: " + str(e).splitlines()[0][:200]
    feeds = {}
    for j, vi in enumerate(model.graph.input):
        t = onnx.load_tensor(os.path.join(ds, f"input_{j}.pb"))
        feeds[vi.name] = _to_ort_value(ort, t)
    names = [o.name for o in model.graph.output]
    try:
        if any(isinstance(x, np.ndarray) and x.dtype == object
               for x in feeds.values()):
            # string inputs cannot become OrtValues; plain run() is fine here
            outs = [np.asarray(o) for o in sess.run(names, feeds)]
        else:
            ov = {k: (ort.OrtValue.ortvalue_from_numpy(x)
                      if isinstance(x, np.ndarray) else x)
                  for k, x in feeds.items()}
            outs = [_from_ort_value(o, vi.type.tensor_type.elem_type)
                    for o, vi in zip(sess.run_with_ort_values(names, ov),
                                     model.graph.output)]
    except Exception as e:  # noqa: BLE001
        return "run: " + str(e).splitlines()[0][:200]
    for j, _ in enumerate(model.graph.output):
        ref = load_pb(os.path.join(ds, f"output_{j}.pb"))
        err = compare(ref, np.asarray(outs[j]))
        if err:
            return f"output {j}: {err}"
    return None


# --------------------------------------------------------------------------


def write_tree(out_dir: str, payload: dict[str, dict[str, bytes]]) -> None:
    if os.path.exists(out_dir):
        for entry in os.listdir(out_dir):
            p = os.path.join(out_dir, entry)
            if os.path.isdir(p) and entry.startswith("test_"):
                shutil.rmtree(p)
    os.makedirs(out_dir, exist_ok=True)
    for name, files in payload.items():
        for rel, data in files.items():
            p = os.path.join(out_dir, name, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)


def build(out_dir: str, with_ort: bool) -> None:
    cases = collect_all_cases()
    kept, skipped_big = [], []
    payload: dict[str, dict[str, bytes]] = {}
    names = set()
    near_miss = []  # all ops supported, rejected for another reason
    for case in cases:
        why = reject_reason(case)
        if why is not None:
            if not why.startswith("op "):
                near_miss.append((case.name, why))
            continue
        assert case.name not in names, case.name
        names.add(case.name)
        files = serialize_case(case)
        size = sum(len(b) for b in files.values())
        if size > MAX_CASE_BYTES:
            skipped_big.append((case.name, size))
            continue
        kept.append(case)
        payload[case.name] = files
    kept.sort(key=lambda c: c.name)
    write_tree(out_dir, payload)

    # cases.tsv
    rows = ["# test_name\top_types\tinput_dtypes\toutput_dtypes\topset"]
    dtype_use = collections.defaultdict(list)
    per_op = collections.Counter()
    direct = collections.Counter()  # single-node graphs of that op
    for c in kept:
        g = c.model.graph
        ins = [dtype_name(v) for v in g.input]
        outs = [dtype_name(v) for v in g.output]
        ops = op_types(c.model)
        for o in set(ops):
            per_op[o] += 1
        if len(g.node) == 1:
            direct[g.node[0].op_type] += 1
        for dt in sorted(set(ins + outs)):
            dtype_use[dt].append(c.name)
        rows.append("\t".join([
            c.name, ",".join(ops), ",".join(ins) or "-", ",".join(outs) or "-",
            str(default_opset(c.model)),
        ]))
    with open(os.path.join(out_dir, "cases.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")

    ort_fail: list[tuple[str, str]] = []
    ort_version = None
    if with_ort:
        import onnxruntime as ort  # noqa: PLC0415

        ort_version = ort.__version__
        for c in kept:
            err = run_ort(os.path.join(out_dir, c.name))
            if err:
                ort_fail.append((c.name, err))

    total = 0
    for root, _, fs in os.walk(out_dir):
        for fn in fs:
            if fn not in ("README.md",):
                total += os.path.getsize(os.path.join(root, fn))

    write_readme(out_dir, kept, per_op, direct, dtype_use, skipped_big,
                 near_miss, ort_fail, ort_version, total)
    print(f"wrote {len(kept)} cases to {out_dir} ({total} bytes excl. README)")
    if skipped_big:
        print("skipped (too large):", skipped_big)
    if with_ort:
        print(f"onnxruntime {ort_version}: {len(ort_fail)} failing cases")
        for n, e in ort_fail:
            print(f"  {n}: {e}")


def write_readme(out_dir, kept, per_op, direct, dtype_use, skipped_big,
                 near_miss, ort_fail, ort_version, total):
    L = []
    L.append("# ONNX backend node conformance cases\n")
    L.append(
        "Generated by `python3 Scripts/make_onnx_conformance.py` from the "
        f"node test case generators of the `onnx` Python package, version "
        f"**{onnx.__version__}** (`onnx.backend.test.case.node.collect_testcases()`, "
        "i.e. every `expect(...)` in `onnx/backend/test/case/node/*.py`, "
        "including the `*_expanded` function-body variants). "
        "Do not edit by hand; rerun the script (with the same onnx version) instead. "
        "Regeneration is byte-for-byte deterministic: ONNX seeds "
        "`np.random.seed(0)` before each `export*` generator.\n")
    L.append("## Selection\n")
    L.append(
        "A case is included when every node is in the default domain and its "
        "op type is one of dqc's supported ops:\n\n"
        "    " + " ".join(DQC_SUPPORTED_OPS) + "\n\n"
        "and the model imports only the default opset domain, has no "
        "sequence/optional/map inputs or outputs and no subgraph attributes. "
        f"Cases whose data exceed {MAX_CASE_BYTES} bytes are skipped"
        + (": " + ", ".join(f"`{n}` ({s} B)" for n, s in skipped_big)
           if skipped_big else " (none were).") + "\n")
    if near_miss:
        L.append("Excluded although every op is supported:\n")
        for n, why in near_miss:
            L.append(f"- `{n}`: {why}")
        L.append("")
    L.append("## Layout\n")
    L.append(
        "Same as ONNX's `onnx/backend/test/data/node/` (written like "
        "`backend-test-tools generate-data`):\n\n"
        "    <test_name>/model.onnx\n"
        "    <test_name>/test_data_set_0/input_<i>.pb   # TensorProto, i-th graph input\n"
        "    <test_name>/test_data_set_0/output_<i>.pb  # TensorProto, i-th graph output\n\n"
        "`cases.tsv`: tab-separated, first line is a `#` header; columns: test name, "
        "op types in the graph (comma-separated, first-use order), graph input "
        "dtypes, graph output dtypes (ONNX `TensorProto.DataType` names, "
        "comma-separated, `-` when none), default-domain opset version.\n")
    L.append(f"{len(kept)} cases, {total} bytes (excluding this README).\n")
    L.append("## Tolerance\n")
    L.append(
        f"ONNX's runner (`onnx.backend.test.runner.Runner`) compares each output "
        f"with `np.testing.assert_allclose(out, ref, rtol={RTOL}, atol={ATOL})` "
        "after checking shape and dtype exactly (strings: exact equality). "
        "These defaults are set in `expect()` for every node case. Overrides:\n\n"
        "- bfloat16 outputs are cast to float32 and use `rtol = max(rtol, 2**-6)` "
        "(two bfloat16 ULPs) — built into `assert_similar_outputs`.\n"
        "- Per-test overrides are passed by a backend via `test_kwargs`; ONNX's "
        "own reference backend test (`tests/python/backend_reference_test.py`) "
        "overrides only `test_dft*` (atol 1e-6 on Linux, 1e-3 elsewhere) and "
        "`test_celu_bfloat16_expanded` (rtol=atol=1e-2) — none of those cases "
        "are in this set (their ops are unsupported).\n"
        "- onnxruntime's own runner (`onnx_backend_test_series_overrides.jsonc`) "
        "uses rtol 1e-3, atol 1e-5 by default with atol 1e-4 for `test_dft`, "
        "`test_dft_axis` (not in this set).\n\n"
        "So every case here uses rtol=1e-3, atol=1e-7, except bfloat16 outputs "
        "(rtol=2**-6). NaNs compare equal to NaNs (assert_allclose default).\n")
    L.append("## Cases per op\n")
    L.append("`single` = graph is one node of that op; `any` = graph contains "
             "the op (expanded function bodies included):\n")
    L.append("| op | single | any |\n|---|---|---|")
    for op in DQC_SUPPORTED_OPS:
        L.append(f"| {op} | {direct.get(op, 0)} | {per_op.get(op, 0)} |")
    L.append("")
    L.append("## Dtypes used (graph inputs/outputs)\n")
    L.append("| dtype | cases | which (when <= 12) |\n|---|---|---|")
    for dt in sorted(dtype_use, key=lambda d: (-len(dtype_use[d]), d)):
        names = dtype_use[dt]
        shown = ", ".join(names) if len(names) <= 12 else ""
        L.append(f"| {dt} | {len(names)} | {shown} |")
    L.append("")
    L.append("## onnxruntime check\n")
    if ort_version is None:
        L.append("Not run (`--no-ort`).\n")
    else:
        L.append(
            f"Every case was run with onnxruntime {ort_version} (CPU) and "
            f"compared with the tolerances above. {len(kept) - len(ort_fail)} "
            f"pass; {len(ort_fail)} fail in ORT itself (kept here; dqc reports "
            "them separately):\n")
        L.append(
            "Notes: `test_training_dropout*` use a random mask drawn by numpy "
            "(seed 0) in the generator, so no runtime can reproduce the "
            "values (only shapes/dtypes and the mask/output consistency are "
            "meaningful). The `NOT_IMPLEMENTED` ones are missing ORT CPU "
            "kernels (FLOAT4E2M1 Cast, int16/uint16 Max/Min, Pow with "
            "unsigned exponent, bfloat16 Add/Mul at opset 14); "
            "`test_reduce_max_empty_set_bool` is rejected by ORT at run time. "
            "ORT is fed/read through OrtValues so bfloat16/float8/int4/int2 "
            "tensors are passed and decoded exactly (sub-byte types packed as in TensorProto raw_data) before the float32 comparison.\n")
        if ort_fail:
            L.append("| case | ORT result |\n|---|---|")
            for n, e in ort_fail:
                e = e.replace("|", "\\|")
                L.append(f"| {n} | {e} |")
        L.append("")
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(L))


def tree_digest(d: str) -> dict[str, str]:
    out = {}
    for root, _, fs in os.walk(d):
        for fn in fs:
            p = os.path.join(root, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, d)] = hashlib.sha256(f.read()).hexdigest()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-ort", action="store_true",
                    help="skip the onnxruntime verification")
    ap.add_argument("--check-determinism", action="store_true",
                    help="generate twice in fresh processes into temp dirs and "
                         "compare sha256 of every file")
    args = ap.parse_args()
    if args.check_determinism:
        import subprocess  # noqa: PLC0415

        digests = []
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(2):
                d = os.path.join(tmp, f"run{k}")
                subprocess.check_call([sys.executable, __file__, "--out", d,
                                       "--no-ort"], stdout=subprocess.DEVNULL)
                digests.append(tree_digest(d))
        same = digests[0] == digests[1]
        print(f"{len(digests[0])} files; identical across runs: {same}")
        return 0 if same else 1
    build(args.out, with_ort=not args.no_ort)
    return 0


if __name__ == "__main__":
    sys.exit(main())
