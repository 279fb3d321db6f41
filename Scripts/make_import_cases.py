#!/usr/bin/env python3
"""Generates the small test inputs for dqc's ONNX importer and its safetensors/Hugging Face
front end. Deterministic: every byte comes from fixed seeds and fixed field orders, so running
it twice gives byte-identical files (no timestamps, no zip containers, no torch).

Writes (after deleting what a previous run wrote there; `*.dqir` and `*.expected*` files are kept):
  Golden/import/onnx/          good ONNX models (each passes onnx.checker full_check and runs
                               in onnxruntime, except unsupported-op.onnx, which is valid ONNX
                               that dqc must refuse)
  Golden/import/hf/<arch>/     tiny Hugging Face checkpoints: config.json + safetensors
  Golden/import/README.md
  Tests/Fixtures/import-bad/onnx/   malformed ONNX inputs (one defect each)
  Tests/Fixtures/import-bad/hf/     malformed safetensors / checkpoint folders (one defect each)
  Tests/Fixtures/import-bad/outside.bin   the file the escaping external-data cases point at
  Tests/Fixtures/import-bad/README.md

Usage:
  python3 Scripts/make_import_cases.py           # generate
  python3 Scripts/make_import_cases.py --check   # generate, then check every file
                                                 # (onnx.checker, onnxruntime, safetensors)

Needs numpy and onnx; --check also needs onnxruntime and safetensors.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "Golden" / "import"
BAD = ROOT / "Tests" / "Fixtures" / "import-bad"
SEED = 20250601
IR_VERSION = 8  # supports opsets up to 18; what torch.onnx writes for opset 17/18
PRODUCER = "dqc-make-import-cases"

# The operators dqc's importer supports; every good case stays inside this set.
SUPPORTED_OPS = set(
    """Add Sub Mul Div Pow Sqrt Reciprocal Neg Exp Erf Tanh Sigmoid Softmax MatMul Gemm Gather
    Reshape Transpose Concat Split Slice Squeeze Unsqueeze Expand Where Equal Cast Shape Range
    ReduceMean ReduceSum LayerNormalization Cos Sin Trilu ConstantOfShape Identity Constant Max
    Min Relu Less Greater Not And Or Clip Flatten ReduceMax ArgMax CastLike Dropout Mod Floor
    Ceil Abs Log Softplus IsNaN Size LessOrEqual GreaterOrEqual""".split()
)

# README lines, filled while writing: (relative path, text).
GOLDEN_NOTES: list[tuple[str, str]] = []
BAD_NOTES: list[tuple[str, str]] = []


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded by SEED and a stable hash of `name` (not Python's salted hash)."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_json(path: Path, obj) -> None:
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def model_bytes(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString(deterministic=True)


def save_model(path: Path, model: onnx.ModelProto) -> bytes:
    data = model_bytes(model)
    write_bytes(path, data)
    return data


def make_model(graph, opset: int = 17, extra_opsets=(), ir_version: int = IR_VERSION):
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name=PRODUCER, producer_version="1")
    model.ir_version = ir_version
    return model


def f32(name: str, shape, scale: float = 1.0) -> np.ndarray:
    return (rng_for(name).standard_normal(shape) * scale).astype(np.float32)


def bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def raw_tensor(name: str, dtype: int, dims, raw: bytes) -> TensorProto:
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def bits_tensor(name: str, dtype: int, bits: list[int]) -> TensorProto:
    """A 16-bit float tensor written the way the spec stores it in the typed field: one int32_data
    entry per element holding the bit pattern (helper.make_tensor would convert float values)."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.append(len(bits))
    t.int32_data.extend(bits)
    return t


def vi(name: str, elem: int, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def note_good(path: Path, text: str) -> None:
    GOLDEN_NOTES.append((path.relative_to(GOLDEN).as_posix() + ("/" if path.is_dir() else ""), text))


def note_bad(path: Path, text: str) -> None:
    BAD_NOTES.append((path.relative_to(BAD).as_posix() + ("/" if path.is_dir() else ""), text))


# ----------------------------------------------------------------------------------------------
# A) good ONNX models
# ----------------------------------------------------------------------------------------------


def onnx_add_inline(d: Path) -> None:
    bias = numpy_helper.from_array(np.array([0.5, -1.0, 2.0, 0.25], np.float32), "bias")
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "bias"], ["y"], name="add")],
        "add_inline",
        [vi("x", TensorProto.FLOAT, ["batch", 4])],
        [vi("y", TensorProto.FLOAT, ["batch", 4])],
        [bias],
    )
    p = d / "add-inline.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, "opset 17; input x: f32[batch, 4] (symbolic dim `batch`); initializer `bias` f32[4] in raw_data; "
              "one Add. Import: `batch` becomes a symbolic dim, `bias` a weight, output y: f32[batch, 4].")


def onnx_typed_fields(d: Path) -> None:
    inits = [
        helper.make_tensor("w_f32", TensorProto.FLOAT, [4], [1.0, -2.0, 0.5, 3.0]),
        helper.make_tensor("w_f64", TensorProto.DOUBLE, [4], [0.1, 2.5, -3.25, 1e-3]),
        helper.make_tensor("w_i32", TensorProto.INT32, [4], [-7, 0, 2147483647, -2147483648]),
        helper.make_tensor("w_i64", TensorProto.INT64, [4], [-(2**40), 1, 2**33, -1]),
        # 16-bit floats in int32_data: one entry per element, the low 16 bits are the bit pattern.
        # f16: 1.0, -2.0, 0.5, 2^-24 (smallest subnormal)
        bits_tensor("w_f16", TensorProto.FLOAT16, [0x3C00, 0xC000, 0x3800, 0x0001]),
        # bf16: 1.0, -3.0, 0.15625, 64.0
        bits_tensor("w_bf16", TensorProto.BFLOAT16, [0x3F80, 0xC040, 0x3E20, 0x4280]),
        # a rank-0 initializer in float_data
        helper.make_tensor("scale", TensorProto.FLOAT, [], [2.0]),
    ]
    for t in inits:
        assert not t.HasField("raw_data"), t.name
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Cast", ["w_f64"], ["c_f64"], to=F, name="cast_f64"),
        helper.make_node("Cast", ["w_i32"], ["c_i32"], to=F, name="cast_i32"),
        helper.make_node("Cast", ["w_i64"], ["c_i64"], to=F, name="cast_i64"),
        helper.make_node("Cast", ["w_f16"], ["c_f16"], to=F, name="cast_f16"),
        helper.make_node("Cast", ["w_bf16"], ["c_bf16"], to=F, name="cast_bf16"),
        helper.make_node("Add", ["x", "w_f32"], ["s1"], name="add_f32"),
        helper.make_node("Mul", ["s1", "c_f64"], ["s2"], name="mul_f64"),
        helper.make_node("Add", ["s2", "c_i32"], ["s3"], name="add_i32"),
        helper.make_node("Add", ["s3", "c_i64"], ["s4"], name="add_i64"),
        helper.make_node("Mul", ["s4", "c_f16"], ["s5"], name="mul_f16"),
        helper.make_node("Add", ["s5", "c_bf16"], ["s6"], name="add_bf16"),
        helper.make_node("Mul", ["s6", "scale"], ["y"], name="mul_scale"),
        # outputs of other types; no integer overflow and no f16 overflow anywhere
        helper.make_node("Cast", ["x"], ["x_f64"], to=TensorProto.DOUBLE, name="x_to_f64"),
        helper.make_node("Mul", ["x_f64", "w_f64"], ["y_f64"], name="mul_out_f64"),
        helper.make_node("Cast", ["x"], ["x_i32"], to=TensorProto.INT32, name="x_to_i32"),
        helper.make_node("Max", ["w_i32", "x_i32"], ["y_i32"], name="max_out_i32"),
        helper.make_node("Cast", ["x"], ["x_i64"], to=TensorProto.INT64, name="x_to_i64"),
        helper.make_node("Add", ["w_i64", "x_i64"], ["y_i64"], name="add_out_i64"),
        helper.make_node("Mul", ["s1", "c_f16"], ["t1"], name="mul_small_f16"),
        helper.make_node("Add", ["t1", "c_bf16"], ["t2"], name="add_small_bf16"),
        helper.make_node("Cast", ["t2"], ["y_f16"], to=TensorProto.FLOAT16, name="out_f16"),
        helper.make_node("Cast", ["y"], ["y_bf16"], to=TensorProto.BFLOAT16, name="out_bf16"),
    ]
    g = helper.make_graph(
        nodes, "typed_fields", [vi("x", F, [4])],
        [vi("y", F, [4]), vi("y_f64", TensorProto.DOUBLE, [4]), vi("y_i32", TensorProto.INT32, [4]),
         vi("y_i64", TensorProto.INT64, [4]), vi("y_f16", TensorProto.FLOAT16, [4]),
         vi("y_bf16", TensorProto.BFLOAT16, [4])],
        inits,
    )
    p = d / "typed-fields.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, "initializers in the typed fields, none in raw_data: float_data (FLOAT, and a rank-0 `scale`), "
              "double_data (DOUBLE), int32_data (INT32, incl. INT32_MIN/MAX), int64_data (INT64, incl. -2^40, 2^33), "
              "FLOAT16 and BFLOAT16 as bit patterns in int32_data (f16 1.0, -2.0, 0.5 and the subnormal 2^-24 = 0x0001; bf16 1.0, -3.0, 0.15625, 64.0); "
              "Cast→Add/Mul/Max; outputs f32, f64, i32, i64, f16, bf16 (no integer or f16 overflow anywhere). "
              "Import: every weight decodes to the listed values.")


def onnx_f16_bf16_raw(d: Path) -> None:
    h = numpy_helper.from_array(np.array([1.0, -0.5, 0.099975586, 1024.0], np.float16), "h_f16")
    assert h.HasField("raw_data")
    b_vals = np.array([1.0, -0.5, 3.140625, -100.0], np.float32)
    b = raw_tensor("b_bf16", TensorProto.BFLOAT16, [4], bf16_bits(b_vals).astype("<u2").tobytes())
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Cast", ["h_f16"], ["h"], to=F, name="cast_h"),
        helper.make_node("Cast", ["b_bf16"], ["b"], to=F, name="cast_b"),
        helper.make_node("Add", ["x", "h"], ["t"], name="add_h"),
        helper.make_node("Add", ["t", "b"], ["y"], name="add_b"),
    ]
    g = helper.make_graph(nodes, "f16_bf16_raw", [vi("x", F, [4])], [vi("y", F, [4])], [h, b])
    p = d / "f16-bf16-raw.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, "FLOAT16 `h_f16` and BFLOAT16 `b_bf16` initializers in raw_data (little-endian 2-byte elements) "
              "→ Cast to f32 → Add. Import: weights keep their f16/bf16 types (bf16 1.0, -0.5, 3.140625, -100.0).")


def onnx_external_data(d: Path) -> None:
    """Two tensors in one data file at nonzero offsets; the second has no `length` entry and runs
    to the end of the file (so 'rest of file' and 'shape x dtype' agree)."""
    w1 = f32("ext.w1", (8, 8), 0.3)
    w2 = f32("ext.w2", (8, 4), 0.3)
    header = b"DQC-EXTERNAL-DATA-TEST\0"  # junk before the first tensor: offsets are not 0
    off1 = 64
    off2 = off1 + w1.nbytes + 64  # a gap between tensors too
    blob = bytearray(off2 + w2.nbytes)
    blob[: len(header)] = header
    blob[off1: off1 + w1.nbytes] = w1.tobytes()
    blob[off2: off2 + w2.nbytes] = w2.tobytes()
    write_bytes(d / "external-data.weights", bytes(blob))

    t1 = numpy_helper.from_array(w1, "onnx::MatMul_w1")
    t2 = numpy_helper.from_array(w2, "onnx::MatMul_w2")
    set_external_data(t1, "external-data.weights", offset=off1, length=w1.nbytes)
    set_external_data(t2, "external-data.weights", offset=off2)  # length omitted
    t1.ClearField("raw_data")
    t2.ClearField("raw_data")
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("MatMul", ["x", "onnx::MatMul_w1"], ["h"], name="/matmul_1/MatMul"),
        helper.make_node("MatMul", ["h", "onnx::MatMul_w2"], ["y"], name="/matmul_2/MatMul"),
    ]
    g = helper.make_graph(nodes, "external_data", [vi("x", F, ["batch", 8])], [vi("y", F, ["batch", 4])], [t1, t2])
    p = d / "external-data.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, f"MatMul→MatMul with both weights in `external-data.weights`: `onnx::MatMul_w1` f32[8,8] at offset "
              f"{off1} length {w1.nbytes}; `onnx::MatMul_w2` f32[8,4] at offset {off2} with NO length entry "
              f"(runs to end of file, {len(blob)} bytes). Import: weights become file slices of the data file.")
    note_good(d / "external-data.weights", f"data file of external-data.onnx ({len(blob)} bytes: a text header, "
              "w1, a 64-byte zero gap, w2).")


def onnx_constant_nodes(d: Path) -> None:
    F = TensorProto.FLOAT
    nodes = [
        helper.make_node("Constant", [], ["c_tensor"], name="const_tensor",
                         value=helper.make_tensor("v", F, [2, 2], [1.0, 2.0, 3.0, 4.0])),
        helper.make_node("Constant", [], ["c_float"], name="const_float", value_float=1.5),
        helper.make_node("Constant", [], ["c_floats"], name="const_floats", value_floats=[0.5, -0.5, 0.25, -0.25]),
        helper.make_node("Constant", [], ["c_int"], name="const_int", value_int=3),
        helper.make_node("Constant", [], ["c_ints"], name="const_ints", value_ints=[2, 2]),
        helper.make_node("ConstantOfShape", ["c_ints"], ["filled"], name="fill",
                         value=helper.make_tensor("fill_value", F, [1], [0.125])),
        helper.make_node("Add", ["x", "c_tensor"], ["a"], name="add_tensor"),
        helper.make_node("Mul", ["a", "c_float"], ["b"], name="mul_float"),
        helper.make_node("Reshape", ["c_floats", "c_ints"], ["r"], name="reshape_floats"),
        helper.make_node("Add", ["b", "r"], ["e"], name="add_floats"),
        helper.make_node("Add", ["e", "filled"], ["f"], name="add_filled"),
        helper.make_node("Cast", ["c_int"], ["c_int_f"], to=F, name="cast_int"),
        helper.make_node("Mul", ["f", "c_int_f"], ["y"], name="mul_int"),
    ]
    g = helper.make_graph(nodes, "constant_nodes", [vi("x", F, [2, 2])], [vi("y", F, [2, 2])])
    p = d / "constant-nodes.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, "Constant nodes with each attribute form: value (f32[2,2] tensor), value_float (rank 0 f32), "
              "value_floats (f32[4]), value_int (rank 0 i64), value_ints (i64[2]); ConstantOfShape with a `value` "
              "tensor attribute (f32[1] 0.125). Import: constants become dense tensors of those types/shapes.")


def onnx_all_attribute_kinds(d: Path) -> None:
    F = TensorProto.FLOAT
    inits = [
        numpy_helper.from_array(1.0 + f32("attr.ln_scale", (3,), 0.1), "ln.weight"),
        numpy_helper.from_array(f32("attr.ln_bias", (3,), 0.1), "ln.bias"),
        numpy_helper.from_array(np.array([8, 3], np.int64), "shape_8x3"),
        numpy_helper.from_array(f32("attr.gemm_b", (4, 3), 0.5), "onnx::Gemm_B"),
        numpy_helper.from_array(f32("attr.gemm_c", (4,), 0.5), "onnx::Gemm_C"),
        numpy_helper.from_array(np.array(1, np.int64), "trilu_k"),
        numpy_helper.from_array(np.array([1, 3], np.int64), "split_sizes"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["/model/Transpose_output_0"], name="/model/Transpose", perm=[0, 2, 1]),
        helper.make_node("LayerNormalization", ["/model/Transpose_output_0", "ln.weight", "ln.bias"], ["ln_out"],
                         name="/model/ln/LayerNormalization", axis=-1, epsilon=1e-5),
        helper.make_node("Softmax", ["ln_out"], ["sm"], name="softmax", axis=-1),
        helper.make_node("Reshape", ["sm", "shape_8x3"], ["flat"], name="reshape"),
        helper.make_node("Gemm", ["flat", "onnx::Gemm_B", "onnx::Gemm_C"], ["gemm"], name="gemm",
                         alpha=0.5, beta=2.0, transB=1),
        helper.make_node("Trilu", ["gemm", "trilu_k"], ["tri"], name="trilu", upper=0),
        helper.make_node("Split", ["tri", "split_sizes"], ["part_a", "part_b"], name="split_sizes", axis=1),
        helper.make_node("Split", ["tri"], ["half_0", "half_1"], name="split_halves", axis=0, num_outputs=2),
        helper.make_node("Concat", ["part_b", "part_a"], ["cat"], name="concat", axis=1),
        helper.make_node("Shape", ["x"], ["mid_dims"], name="shape_slice", start=1, end=-1),
        # no name on this node
        helper.make_node("Cast", ["mid_dims"], ["mid_dims_f"], to=F),
        helper.make_node("Mul", ["cat", "mid_dims_f"], ["y"], name="/model/layers.0/Mul:0"),
        helper.make_node("Add", ["half_0", "half_1"], ["y_halves"], name="add_halves"),
    ]
    g = helper.make_graph(
        nodes, "all_attribute_kinds", [vi("x", F, [2, 3, 4])],
        [vi("y", F, [8, 4]), vi("y_halves", F, [4, 4])], inits,
    )
    p = d / "all-attribute-kinds.onnx"
    save_model(p, make_model(g, 18))
    note_good(p, "opset 18; attribute kinds INT (Softmax axis, Cast to, Trilu upper, Gemm transB, Split axis/"
              "num_outputs, Shape start/end), FLOAT (LayerNormalization epsilon, Gemm alpha/beta), INTS (Transpose "
              "perm); TENSOR is in constant-nodes.onnx. No dqc operator has a STRING attribute except "
              "Constant.value_string, which dqc refuses (see import-bad/onnx/string-constant.onnx). Split once "
              "with a `split` input [1,3] and once with num_outputs=2; Shape start=1 end=-1; Trilu with k input. "
              "One Cast has no name; one node is named `/model/layers.0/Mul:0`; values are named like torch "
              "exports (`/model/Transpose_output_0`, `onnx::Gemm_B`). Import: all attributes map; names survive.")


def onnx_opset_pair(d: Path) -> None:
    F = TensorProto.FLOAT
    for opset in (13, 18):
        inits = [
            numpy_helper.from_array(np.array([0], np.int64), "axes_0"),
            numpy_helper.from_array(np.array([0, 2], np.int64), "axes_0_2"),
            numpy_helper.from_array(np.array([1, 2], np.int64), "split_sizes"),
        ]
        nodes = [
            helper.make_node("Unsqueeze", ["x", "axes_0"], ["u"], name="unsqueeze"),  # axes input since 13
            helper.make_node("Split", ["x", "split_sizes"], ["a", "b"], name="split", axis=1),
        ]
        if opset == 13:
            nodes.append(helper.make_node("ReduceMean", ["u"], ["m"], name="reduce_mean", axes=[2], keepdims=1))
            nodes.append(helper.make_node("ReduceMean", ["b"], ["bm"], name="reduce_mean_b", axes=[1], keepdims=0))
        else:
            inits.append(numpy_helper.from_array(np.array([2], np.int64), "axes_2"))
            inits.append(numpy_helper.from_array(np.array([1], np.int64), "axes_1"))
            nodes.append(helper.make_node("ReduceMean", ["u", "axes_2"], ["m"], name="reduce_mean", keepdims=1))
            nodes.append(helper.make_node("ReduceMean", ["b", "axes_1"], ["bm"], name="reduce_mean_b", keepdims=0))
        nodes += [
            helper.make_node("Squeeze", ["m", "axes_0_2"], ["s"], name="squeeze"),
            helper.make_node("Add", ["s", "bm"], ["y"], name="add"),
        ]
        g = helper.make_graph(nodes, f"opset_{opset}", [vi("x", F, [2, 3])], [vi("y", F, [2]), vi("a", F, [2, 1])],
                              inits)
        p = d / f"opset-{opset}.onnx"
        save_model(p, make_model(g, opset))
        how = "ReduceMean axes as ATTRIBUTE" if opset == 13 else "ReduceMean axes as INPUT"
        note_good(p, f"opset {opset}: Unsqueeze/Squeeze with axes inputs, {how}, Split with a `split` input. "
                     "Same graph and values as its twin; both must import to the same .dqir (apart from names).")


def onnx_microsoft_domain(d: Path) -> None:
    F = TensorProto.FLOAT
    w = numpy_helper.from_array(np.array([2.0, -1.0, 0.5], np.float32), "w")
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Mul", ["r", "w"], ["y"], name="mul"),
    ]
    g = helper.make_graph(nodes, "microsoft_domain", [vi("x", F, [2, 3])], [vi("y", F, [2, 3])], [w])
    p = d / "microsoft-domain.onnx"
    save_model(p, make_model(g, 17, extra_opsets=[("com.microsoft", 1)]))
    note_good(p, "opset_import lists the default domain (17) AND `com.microsoft` v1, but every node is in the "
              "default domain. Import: succeeds; an unused opset import is not an error.")


def onnx_unsupported_op(d: Path) -> None:
    F = TensorProto.FLOAT
    I64 = TensorProto.INT64
    inits = [
        numpy_helper.from_array(np.array(3, np.int64), "max_boxes"),
        numpy_helper.from_array(np.array(0.5, np.float32), "iou_a"),
        numpy_helper.from_array(np.array(0.3, np.float32), "iou_b"),
        numpy_helper.from_array(np.array(0.0, np.float32), "score_min"),
    ]
    nodes = [
        helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_boxes", "iou_a", "score_min"], ["sel_a"],
                         name="nms_a"),
        helper.make_node("Relu", ["scores"], ["scores_r"], name="relu"),
        helper.make_node("NonMaxSuppression", ["boxes", "scores_r", "max_boxes", "iou_b", "score_min"], ["sel_b"],
                         name="nms_b"),
        helper.make_node("FusedMatMul", ["a", "b"], ["fm"], name="fused_mm", domain="com.microsoft",
                         alpha=1.0, transA=0, transB=1),
    ]
    g = helper.make_graph(
        nodes, "unsupported_op",
        [vi("boxes", F, [1, 5, 4]), vi("scores", F, [1, 1, 5]), vi("a", F, [2, 3]), vi("b", F, [4, 3])],
        [vi("sel_a", I64, ["n_a", 3]), vi("sel_b", I64, ["n_b", 3]), vi("fm", F, [2, 4])],
        inits,
    )
    p = d / "unsupported-op.onnx"
    save_model(p, make_model(g, 17, extra_opsets=[("com.microsoft", 1)]))
    note_good(p, "valid ONNX (checker + onnxruntime pass) that dqc must REFUSE: two NonMaxSuppression nodes "
              "(nms_a, nms_b) and one com.microsoft FusedMatMul (fused_mm). Expected: one error naming the file "
              "that lists each unsupported kind once with its nodes, e.g. `NonMaxSuppression (nms_a, nms_b)`, "
              "`com.microsoft.FusedMatMul (fused_mm)`; Relu is supported and must not be listed.")


def onnx_value_info(d: Path) -> None:
    F = TensorProto.FLOAT
    I64 = TensorProto.INT64
    inits = [
        numpy_helper.from_array(f32("vi.w", (4, 4), 0.5), "w"),
        numpy_helper.from_array(np.array([2], np.int64), "axes_2"),
        numpy_helper.from_array(np.array([1], np.int64), "axes_1"),
        numpy_helper.from_array(np.array([0, -1], np.int64), "shape_keep0"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("ReduceSum", ["r", "axes_2"], ["y"], name="reduce_sum", keepdims=1),
        helper.make_node("Shape", ["x"], ["x_shape"], name="shape"),
        helper.make_node("Reshape", ["r", "x_shape"], ["r2"], name="reshape_like_x"),
        helper.make_node("Reshape", ["r2", "shape_keep0"], ["flat"], name="reshape_flat"),
        helper.make_node("ReduceSum", ["flat", "axes_1"], ["z"], name="reduce_flat", keepdims=0),
    ]
    value_info = [
        vi("h", F, ["batch", "seq", 4]),       # symbolic + static
        vi("r", F, ["batch", None, 4]),        # a dim with neither dim_value nor dim_param
        vi("x_shape", I64, [3]),               # fully static
        vi("flat", F, ["batch", "flat_dim"]),  # a symbol that appears nowhere else
    ]
    g = helper.make_graph(
        nodes, "value_info", [vi("x", F, ["batch", "seq", 4])],
        [vi("y", F, ["batch", "seq", 1]), vi("z", F, ["batch"])],
        inits, value_info=value_info,
    )
    p = d / "value-info.onnx"
    save_model(p, make_model(g, 17))
    note_good(p, "value_info on intermediates (none repeats a graph input/output): h f32[batch, seq, 4] "
              "(symbolic+static), r f32[batch, ?, 4] (one dim with neither dim_value nor dim_param), x_shape "
              "i64[3] (static; feeds a Reshape), flat f32[batch, flat_dim] (a symbol that appears nowhere else). "
              "Import: value_info is a hint that must agree with inferred types; `?` is an unknown dim.")


# ----------------------------------------------------------------------------------------------
# B) bad ONNX inputs
# ----------------------------------------------------------------------------------------------


def simple_matmul_model(w_tensor: TensorProto, k: int = 4, n: int = 4) -> onnx.ModelProto:
    F = TensorProto.FLOAT
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", w_tensor.name], ["y"], name="matmul")],
        "bad_case", [vi("x", F, [2, k])], [vi("y", F, [2, n])], [w_tensor],
    )
    return make_model(g, 17)


def external_tensor(name: str, location: str, offset: int, length: int | None, shape=(4, 4)) -> TensorProto:
    t = numpy_helper.from_array(np.zeros(shape, np.float32), name)
    set_external_data(t, location, offset=offset, length=length)
    t.ClearField("raw_data")
    return t


def bad_onnx(d: Path) -> None:
    # truncated: a good model cut in the middle of its initializer's raw_data
    w = f32("bad.truncated", (16, 16), 0.1)
    full = model_bytes(simple_matmul_model(numpy_helper.from_array(w, "weight"), 16, 16))
    start = full.find(w.tobytes())
    assert start > 0 and full.find(w.tobytes(), start + 1) < 0
    cut = start + w.nbytes // 2
    p = d / "truncated.onnx"
    write_bytes(p, full[:cut])
    note_bad(p, f"a valid {len(full)}-byte model cut at byte {cut}, in the middle of initializer `weight`'s "
                f"raw_data (its {w.nbytes} bytes start at byte {start}). Error: the file is not a complete "
                "ModelProto (truncated / protobuf parse failure), naming the file; no partial import.")

    p = d / "garbage.onnx"
    junk = rng_for("bad.garbage").integers(0, 256, 1024, dtype=np.uint8).tobytes()
    write_bytes(p, junk)
    note_bad(p, "1024 seeded random bytes. Error: not a valid ONNX ModelProto (protobuf parse failure), naming the file.")

    p = d / "empty.onnx"
    write_bytes(p, b"")
    note_bad(p, "0 bytes. NOTE: protobuf decodes an empty buffer as an empty ModelProto without error, so dqc "
                "must check itself. Error: the file is empty / has no graph, naming the file.")

    # external data defects; each has its own data file so only one thing is wrong
    data = f32("bad.ext", (16,), 1.0).tobytes()  # 64 bytes
    write_bytes(d / "external-offset-past-eof.bin", data)
    p = d / "external-offset-past-eof.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "external-offset-past-eof.bin", 4096, 64)))
    note_bad(p, "initializer `weight` f32[4,4] in `external-offset-past-eof.bin` at offset 4096, length 64; the "
                "file has 64 bytes. Error: file + initializer 'weight' + bytes 4096..<4160 outside the 64-byte file.")
    note_bad(d / "external-offset-past-eof.bin", "64-byte data file of external-offset-past-eof.onnx.")

    write_bytes(d / "external-length-past-eof.bin", data[:32])
    p = d / "external-length-past-eof.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "external-length-past-eof.bin", 0, 64)))
    note_bad(p, "initializer `weight` f32[4,4] in `external-length-past-eof.bin` at offset 0, length 64; the file "
                "has 32 bytes. Error: file + initializer 'weight' + bytes 0..<64 outside the 32-byte file.")
    note_bad(d / "external-length-past-eof.bin", "32-byte data file of external-length-past-eof.onnx.")

    p = d / "external-offset-huge.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "external-offset-past-eof.bin", 2**63 - 1, 64)))
    note_bad(p, "initializer `weight` f32[4,4] in `external-offset-past-eof.bin` at offset 2^63-1 (Int.max), length "
                "64: offset + length overflows 64 bits. Error: file + initializer 'weight' + bytes "
                "9223372036854775807..<(past 2^63) outside the 64-byte file; no overflow trap.")

    p = d / "external-escape.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "../outside.bin", 0, 64)))
    note_bad(p, "initializer `weight` with location `../outside.bin` (which exists, next to this folder). Error: "
                "file + initializer 'weight' + location leaves the model's folder; must not read it.")

    p = d / "external-absolute.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "/etc/passwd", 0, 64)))
    note_bad(p, "initializer `weight` with location `/etc/passwd`. Error: file + initializer 'weight' + absolute "
                "location refused (expected a path relative to the model's folder); must not read it.")

    link = d / "external-symlink.bin"
    os.symlink("../outside.bin", link)
    p = d / "external-symlink.onnx"
    save_model(p, simple_matmul_model(external_tensor("weight", "external-symlink.bin", 0, 64)))
    note_bad(p, "initializer `weight` with location `external-symlink.bin`, a name inside the folder, but that "
                "file is a symlink to `../outside.bin`. Error: file + initializer 'weight' + resolves outside the "
                "model's folder through a symlink; must not read it.")
    note_bad(link, "SYMLINK (git stores it as a link, mode 120000) → `../outside.bin`; created by the script. On a "
                   "checkout without symlink support it becomes a text file holding the target, and the case then "
                   "fails for the wrong reason (not a 64-byte data file) — check `git config core.symlinks`.")

    t = raw_tensor("weight", 999, [4, 4], bytes(64))
    p = d / "unknown-dtype.onnx"
    save_model(p, simple_matmul_model(t))
    note_bad(p, "initializer `weight` with data_type 999 (no such TensorProto.DataType). Error: file + initializer "
                "'weight' + data type 999 unsupported (expected one of the supported types).")

    t = raw_tensor("weight", TensorProto.FLOAT, [4, 4], bytes(48))
    p = d / "initializer-size-mismatch.onnx"
    save_model(p, simple_matmul_model(t))
    note_bad(p, "initializer `weight` dims [4,4] FLOAT but raw_data has 48 bytes (needs 64). Error: file + "
                "initializer 'weight' + raw_data has 48 bytes, shape [4, 4] of f32 needs 64.")

    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.producer_name = PRODUCER
    m.opset_import.append(helper.make_opsetid("", 17))
    p = d / "missing-graph.onnx"
    save_model(p, m)
    note_bad(p, "a ModelProto with ir_version and opset_import but no graph field. Error: file + model has no graph.")

    F = TensorProto.FLOAT
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "ghost"], ["y"], name="add_ghost")],
        "undefined_input", [vi("x", F, [4])], [vi("y", F, [4])],
    )
    p = d / "undefined-input.onnx"
    save_model(p, make_model(g, 17))
    note_bad(p, "node `add_ghost` (Add) consumes `ghost`, which no input, initializer or node produces. Error: "
                "file + node 'add_ghost' + input 'ghost' is not defined.")

    # valid ONNX (checker and onnxruntime accept it) with the one STRING attribute among dqc's
    # operators; the string tensor only feeds Size, so no output is string-typed
    nodes = [
        helper.make_node("Constant", [], ["label"], name="const_label", value_string="dqc"),
        helper.make_node("Size", ["label"], ["label_size"], name="size_label"),
        helper.make_node("Cast", ["label_size"], ["label_size_f"], to=F, name="cast_label_size"),
        helper.make_node("Add", ["x", "label_size_f"], ["y"], name="add_label"),
    ]
    g = helper.make_graph(nodes, "string_constant", [vi("x", F, [4])], [vi("y", F, [4])])
    p = d / "string-constant.onnx"
    save_model(p, make_model(g, 17))
    note_bad(p, "VALID ONNX (onnx.checker and onnxruntime accept it): Constant `const_label` with a STRING "
                "attribute value_string=\"dqc\" feeding Size. dqc has no string tensors. Error: file + node "
                "'const_label' (Constant) + attribute 'value_string' not supported (expected value, value_float, "
                "value_floats, value_int, value_ints).")


# ----------------------------------------------------------------------------------------------
# C) Hugging Face checkpoints
# ----------------------------------------------------------------------------------------------

ST_DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}
# safetensors' Rust writer orders tensors by dtype (descending enum order), then name.
ST_DTYPE_RANK = {"F64": 10, "I64": 9, "F32": 8, "I32": 7, "BF16": 6, "F16": 5}


def safetensors_bytes(tensors: dict[str, tuple[str, list[int], bytes]], metadata=None) -> bytes:
    """The layout the reference writer (safetensors 0.4/0.5 `serialize`) produces: u64 LE header
    length, compact JSON header (`__metadata__` first, then tensors in data order), padded with
    spaces to a multiple of 8, then the tensor bytes back to back."""
    order = sorted(tensors, key=lambda n: (-ST_DTYPE_RANK[tensors[n][0]], n))
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    body = bytearray()
    for name in order:
        dtype, shape, data = tensors[name]
        assert len(data) == ST_DTYPES[dtype] * int(np.prod(shape, dtype=np.int64)), name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        body += data
        offset += len(data)
    return header_and_body(header, bytes(body))


def header_and_body(header: dict, body: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + body


def parse_safetensors(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8: 8 + n]), data[8 + n:]


def llada_config(d_model=16, n_heads=4, n_kv_heads=4, n_layers=2, mlp=32, vocab=32) -> dict:
    """Keys exactly as in GSAI-ML/LLaDA-8B-{Base,Instruct} config.json (values shrunk)."""
    return {
        "activation_type": "silu",
        "alibi": False,
        "alibi_bias_max": 8.0,
        "architectures": ["LLaDAModelLM"],
        "attention_dropout": 0.0,
        "attention_layer_norm": False,
        "attention_layer_norm_with_affine": True,
        "auto_map": {
            "AutoConfig": "configuration_llada.LLaDAConfig",
            "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
            "AutoModel": "modeling_llada.LLaDAModelLM",
        },
        "bias_for_layer_norm": False,
        "block_group_size": 1,
        "block_type": "llama",
        "d_model": d_model,
        "embedding_dropout": 0.0,
        "embedding_size": vocab,
        "eos_token_id": vocab - 2,
        "flash_attention": False,
        "include_bias": False,
        "include_qkv_bias": False,
        "init_cutoff_factor": None,
        "init_device": "meta",
        "init_fn": "mitchell",
        "init_std": 0.02,
        "input_emb_norm": False,
        "layer_norm_type": "rms",
        "layer_norm_with_affine": True,
        "mask_token_id": vocab - 1,
        "max_sequence_length": 64,
        "mlp_hidden_size": mlp,
        "mlp_ratio": 4,
        "model_type": "llada",
        "multi_query_attention": None,
        "n_heads": n_heads,
        "n_kv_heads": n_kv_heads,
        "n_layers": n_layers,
        "pad_token_id": vocab - 2,
        "precision": "amp_bf16",
        "residual_dropout": 0.0,
        "rms_norm_eps": 1e-05,
        "rope": True,
        "rope_full_precision": True,
        "rope_theta": 500000.0,
        "scale_logits": False,
        "transformers_version": "4.46.3",
        "use_cache": False,
        "vocab_size": vocab,
        "weight_tying": False,
    }


def llada_weights(cfg: dict, tag: str) -> dict[str, np.ndarray]:
    d, hd = cfg["d_model"], cfg["d_model"] // cfg["n_heads"]
    kv, m, v = cfg["n_kv_heads"] * hd, cfg["mlp_hidden_size"], cfg["embedding_size"]
    w: dict[str, np.ndarray] = {}
    p = "model.transformer."

    def norm(name):
        w[name] = 1.0 + f32(tag + name, (d,), 0.1)

    def lin(name, shape):
        w[name] = f32(tag + name, shape, 1.0 / np.sqrt(shape[1]))

    w[p + "wte.weight"] = f32(tag + "wte", (v, d), 1.0)
    for i in range(cfg["n_layers"]):
        b = f"{p}blocks.{i}."
        norm(b + "attn_norm.weight")
        lin(b + "q_proj.weight", (d, d))
        lin(b + "k_proj.weight", (kv, d))
        lin(b + "v_proj.weight", (kv, d))
        lin(b + "attn_out.weight", (d, d))
        norm(b + "ff_norm.weight")
        lin(b + "ff_proj.weight", (m, d))
        lin(b + "up_proj.weight", (m, d))
        lin(b + "ff_out.weight", (d, m))
    norm(p + "ln_f.weight")
    lin(p + "ff_out.weight", (v, d))
    return w


def dream_config() -> dict:
    """Keys of DreamConfig.__init__ (configuration_dream.py shipped with Dream-org/Dream-v0-Base-7B)
    plus the PretrainedConfig keys every saved config.json carries."""
    return {
        "architectures": ["DreamModel"],
        "attention_dropout": 0.0,
        "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
        "bos_token_id": 30,
        "eos_token_id": 30,
        "hidden_act": "silu",
        "hidden_size": 16,
        "initializer_range": 0.02,
        "intermediate_size": 32,
        "mask_token_id": 31,
        "max_position_embeddings": 64,
        "max_window_layers": 2,
        "model_type": "Dream",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "pad_token_id": 30,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.46.2",
        "use_cache": False,
        "use_sliding_window": False,
        "vocab_size": 32,
    }


def llama_config() -> dict:
    """Keys exactly as in meta-llama/Meta-Llama-3-8B-Instruct config.json (values shrunk)."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": 16,
        "initializer_range": 0.02,
        "intermediate_size": 32,
        "max_position_embeddings": 64,
        "model_type": "llama",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.40.0.dev0",
        "use_cache": True,
        "vocab_size": 32,
    }


def qwen_llama_weights(cfg: dict, tag: str, qkv_bias: bool) -> dict[str, np.ndarray]:
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, m, v = d // nh, cfg["intermediate_size"], cfg["vocab_size"]
    w: dict[str, np.ndarray] = {}

    def lin(name, shape):
        w[name] = f32(tag + name, shape, 1.0 / np.sqrt(shape[1]))

    w["model.embed_tokens.weight"] = f32(tag + "embed", (v, d), 1.0)
    for i in range(cfg["num_hidden_layers"]):
        b = f"model.layers.{i}."
        w[b + "input_layernorm.weight"] = 1.0 + f32(tag + b + "in_norm", (d,), 0.1)
        for proj, rows in (("q_proj", nh * hd), ("k_proj", nkv * hd), ("v_proj", nkv * hd)):
            lin(b + f"self_attn.{proj}.weight", (rows, d))
            if qkv_bias:
                w[b + f"self_attn.{proj}.bias"] = f32(tag + b + proj + ".bias", (rows,), 0.1)
        lin(b + "self_attn.o_proj.weight", (d, nh * hd))
        w[b + "post_attention_layernorm.weight"] = 1.0 + f32(tag + b + "post_norm", (d,), 0.1)
        lin(b + "mlp.gate_proj.weight", (m, d))
        lin(b + "mlp.up_proj.weight", (m, d))
        lin(b + "mlp.down_proj.weight", (d, m))
    w["model.norm.weight"] = 1.0 + f32(tag + "norm", (d,), 0.1)
    lin("lm_head.weight", (v, d))
    return w


def f32_entries(w: dict[str, np.ndarray]) -> dict[str, tuple[str, list[int], bytes]]:
    return {n: ("F32", list(a.shape), a.astype("<f4").tobytes()) for n, a in w.items()}


PT_META = {"format": "pt"}


def hf_checkpoints(d: Path) -> None:
    cfg = llada_config()
    w = llada_weights(cfg, "llada.")
    write_json(d / "llada" / "config.json", cfg)
    write_bytes(d / "llada" / "model.safetensors", safetensors_bytes(f32_entries(w), PT_META))
    note_good(d / "llada", "LLaDA (GSAI-ML/LLaDA-8B layout): config.json + one f32 model.safetensors; d_model 16, "
              "4 heads (n_kv_heads 4), 2 layers, mlp_hidden_size 32, vocab/embedding_size 32, weight_tying false "
              "(separate model.transformer.ff_out.weight). Import: LLaDA graph (bidirectional attention).")

    # same weights over two shards: shard 1 in bf16, shard 2 in f16
    names = list(w)
    first = [n for n in names if n == "model.transformer.wte.weight" or ".blocks.0." in n]
    second = [n for n in names if n not in first]
    shard1 = "model-00001-of-00002.safetensors"
    shard2 = "model-00002-of-00002.safetensors"
    s1 = {n: ("BF16", list(w[n].shape), bf16_bits(w[n]).astype("<u2").tobytes()) for n in first}
    s2 = {n: ("F16", list(w[n].shape), w[n].astype("<f2").tobytes()) for n in second}
    out = d / "llada-sharded"
    write_json(out / "config.json", cfg)
    write_bytes(out / shard1, safetensors_bytes(s1, PT_META))
    write_bytes(out / shard2, safetensors_bytes(s2, PT_META))
    total = sum(len(e[2]) for e in s1.values()) + sum(len(e[2]) for e in s2.values())
    index = {"metadata": {"total_size": total},
             "weight_map": {n: (shard1 if n in first else shard2) for n in sorted(names)}}
    write_json(out / "model.safetensors.index.json", index)
    note_good(out, f"the llada/ weights over two shards named by model.safetensors.index.json (weight_map, "
              f"metadata.total_size {total}): {shard1} holds wte + blocks.0.* in BF16 (f32 rounded to nearest even), "
              f"{shard2} holds blocks.1.*, ln_f, ff_out in F16. Import: one module with mixed bf16/f16 weights.")

    cfg = dream_config()
    w = qwen_llama_weights(cfg, "dream.", qkv_bias=True)
    write_json(d / "dream" / "config.json", cfg)
    write_bytes(d / "dream" / "model.safetensors", safetensors_bytes(f32_entries(w), PT_META))
    note_good(d / "dream", "Dream (Qwen2 layout, Dream-org/Dream-v0-Base-7B): hidden 16, 4 attention heads, 2 KV heads "
              "(grouped-query), 2 layers, intermediate 32, vocab 32; biases on q/k/v only; separate lm_head. "
              "Import: Dream graph (bidirectional attention, GQA).")

    cfg = llama_config()
    w = qwen_llama_weights(cfg, "llama.", qkv_bias=False)
    write_json(d / "llama" / "config.json", cfg)
    write_bytes(d / "llama" / "model.safetensors", safetensors_bytes(f32_entries(w), PT_META))
    note_good(d / "llama", "plain LLaMA (LlamaForCausalLM): hidden 16, 4 heads, 2 KV heads, 2 layers, intermediate 32, "
              "vocab 32, no biases, separate lm_head. Import: LLaMA graph (causal attention).")


# ----------------------------------------------------------------------------------------------
# D) bad safetensors / checkpoint folders
# ----------------------------------------------------------------------------------------------


def bad_hf(d: Path) -> None:
    cfg = llada_config(d_model=8, n_heads=2, n_kv_heads=2, n_layers=2, mlp=16, vocab=16)
    w = llada_weights(cfg, "bad.")
    good = safetensors_bytes(f32_entries(w), PT_META)
    header, body = parse_safetensors(good)
    names = [n for n in header if n != "__metadata__"]  # data order
    data_size = len(body)

    def case(name: str, blob: bytes, text: str, config: dict | None = None) -> None:
        folder = d / name
        write_json(folder / "config.json", config if config is not None else cfg)
        write_bytes(folder / "model.safetensors", blob)
        note_bad(folder / "model.safetensors" if config is None else folder, text)

    def edited(fn) -> bytes:
        h = json.loads(json.dumps(header))
        fn(h)
        return header_and_body(h, body)

    # header length past EOF: the u64 names 2^32 header bytes in a small file
    blob = struct.pack("<Q", 2**32) + good[8:]
    case("header-length-past-eof", blob,
         f"first 8 bytes say the JSON header is 4294967296 bytes; the file has {len(blob)}. Error: file + header "
         "length exceeds the file size; must not allocate 4 GiB.")

    bad_text = b'{"model.transformer.wte.weight": {dtype: F32}}'
    bad_text += b" " * ((8 - len(bad_text) % 8) % 8)
    case("header-not-json", struct.pack("<Q", len(bad_text)) + bad_text + body,
         f"header bytes 8..<{8 + len(bad_text)} are not JSON (unquoted key `dtype` at header byte 34). Error: file + "
         "header is not valid JSON (+ position if the parser gives one).")

    last = names[-1]
    huge_name = "model.transformer.wte.weight"

    def huge(h):
        # wte claims 2^55 x 8 f32 = 2^60 bytes placed after the last real tensor
        h[huge_name]["shape"] = [2**55, cfg["d_model"]]
        h[huge_name]["data_offsets"] = [data_size, data_size + 2**60]
    case("huge-tensor", edited(huge),
         f"`{huge_name}` claims shape [2^55, 8] F32 = 2^60 bytes at data_offsets [{data_size}, {data_size}+2^60]; "
         f"the data area has {data_size} bytes. Error: file + tensor '{huge_name}' + data_offsets outside the data "
         "area; must not allocate. Offsets above 2^53 must be read as integers, not doubles.")

    a, b = names[0], names[1]

    def overlap(h):
        s, e = h[a]["data_offsets"]
        n = h[b]["data_offsets"][1] - h[b]["data_offsets"][0]
        h[b]["data_offsets"] = [s + 16, s + 16 + n]
    ov = edited(overlap)
    oh, _ = parse_safetensors(ov)
    case("overlapping-offsets", ov,
         f"`{b}` data_offsets {oh[b]['data_offsets']} overlap `{a}` {oh[a]['data_offsets']}. Error: file + both "
         "tensor names + overlapping byte ranges.")

    def outside(h):
        s, e = h[last]["data_offsets"]
        h[last]["data_offsets"] = [s + 64, e + 64]
    oo = edited(outside)
    oh, _ = parse_safetensors(oo)
    case("offsets-outside-data", oo,
         f"last tensor `{last}` data_offsets {oh[last]['data_offsets']} end past the {data_size}-byte data area. "
         "Error: file + tensor name + offsets outside the data area.")

    q = "model.transformer.blocks.0.q_proj.weight"

    def mismatch(h):
        h[q]["shape"] = [8, 4]  # 128 bytes, while the offsets span 256
    case("offsets-shape-mismatch", edited(mismatch),
         f"`{q}` shape [8, 4] F32 (128 bytes) but data_offsets {header[q]['data_offsets']} span 256 bytes. Error: "
         "file + tensor name + byte count does not match shape × dtype.")

    k = "model.transformer.blocks.1.k_proj.weight"

    def dtype(h):
        h[k]["dtype"] = "F8_E9M9"
    case("unknown-dtype", edited(dtype),
         f"`{k}` has dtype \"F8_E9M9\" (no such safetensors dtype). Error: file + tensor name + unknown dtype.")

    no_layers = {kk: vv for kk, vv in cfg.items() if kk != "n_layers"}
    case("missing-required-key", good,
         "config.json of an LLaDAModelLM checkpoint without `n_layers` (weights are fine). Error: "
         "<folder>/config.json + missing required key 'n_layers' for LLaDA.", config=no_layers)

    gpt2_cfg = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": 15,
        "embd_pdrop": 0.1,
        "eos_token_id": 15,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": 16,
        "n_embd": 8,
        "n_head": 2,
        "n_layer": 1,
        "n_positions": 16,
        "resid_pdrop": 0.1,
        "vocab_size": 16,
    }
    gw = {"wte.weight": f32("gpt2.wte", (16, 8)), "wpe.weight": f32("gpt2.wpe", (16, 8)),
          "ln_f.weight": np.ones(8, np.float32), "ln_f.bias": np.zeros(8, np.float32)}
    case("unknown-architecture", safetensors_bytes(f32_entries(gw), PT_META),
         "config.json says architectures [\"GPT2LMHeadModel\"], model_type \"gpt2\". Error: <folder>/config.json + "
         "unsupported architecture 'GPT2LMHeadModel' (supported: LLaDAModelLM, DreamModel, LlamaForCausalLM).",
         config=gpt2_cfg)

    folder = d / "missing-shard"
    first = [n for n in names if n == "model.transformer.wte.weight" or ".blocks.0." in n]
    shard1 = "model-00001-of-00002.safetensors"
    shard2 = "model-00002-of-00002.safetensors"
    write_json(folder / "config.json", cfg)
    write_bytes(folder / shard1, safetensors_bytes(f32_entries({n: w[n] for n in first}), PT_META))
    write_json(folder / "model.safetensors.index.json", {
        "metadata": {"total_size": sum(a.nbytes for a in w.values())},
        "weight_map": {n: (shard1 if n in first else shard2) for n in sorted(w)},
    })
    note_bad(folder, f"model.safetensors.index.json maps blocks.1.*, ln_f and ff_out to `{shard2}`, which does not "
                     f"exist ({shard1} does). Error: <folder>/model.safetensors.index.json + shard '{shard2}' "
                     "not found (+ one tensor it was to hold).")


# ----------------------------------------------------------------------------------------------
# READMEs
# ----------------------------------------------------------------------------------------------


def write_readmes() -> None:
    lines = [
        "# Import goldens (generated)",
        "",
        "Inputs for dqc's ONNX importer and its safetensors / Hugging Face front end, written by",
        "`python3 Scripts/make_import_cases.py` (seeded and deterministic: a rerun gives identical bytes;",
        "do not edit these files by hand, change the script). `--check` reruns onnx.checker (full_check),",
        "onnxruntime and safetensors over everything.",
        "",
        "The expected `.dqir` for each case will be created by dqc's importer (file naming to be set by",
        "the importer's golden test) and reviewed by hand like every golden: check it against what the",
        "model computes, not against what the importer happened to print.",
        "",
        "Every ONNX model here passes `onnx.checker.check_model(full_check=True)` and runs in onnxruntime;",
        "all use only operators dqc supports except `unsupported-op.onnx`, which exists to be refused.",
        "Checkpoints hold seeded random f32 weights under the exact Hugging Face tensor names. Config keys:",
        "LLaDA's are those of GSAI-ML/LLaDA-8B's config.json; Dream's are DreamConfig's `__init__` arguments",
        "(configuration_dream.py in Dream-org/Dream-v0-Base-7B) plus the PretrainedConfig keys a saved",
        "config carries (architectures, auto_map, bos/eos_token_id, torch_dtype, transformers_version);",
        "LLaMA's are those of meta-llama/Meta-Llama-3-8B-Instruct's config.json. Values are shrunk.",
        "",
        "| file | what it is / what dqc must do |",
        "|---|---|",
    ]
    for path, text in sorted(GOLDEN_NOTES):
        lines.append(f"| `{path}` | {text} |")
    write_bytes(GOLDEN / "README.md", ("\n".join(lines) + "\n").encode())

    lines = [
        "# Malformed import inputs (generated)",
        "",
        "Written by `python3 Scripts/make_import_cases.py`; one defect per case. For each, dqc must fail",
        "with one error that names the file, the place (initializer / node / tensor / config key) and",
        "what was expected, and must not read outside the model's folder, allocate what a header claims",
        "before checking it against the file size, or crash.",
        "",
        "`outside.bin` (64 bytes) is the file the escaping external-data cases point at; it exists so",
        "that a reader that follows the path would succeed, and only the confinement check can fail.",
        "`onnx/external-symlink.bin` is a symbolic link (git mode 120000) to `../outside.bin`.",
        "",
        "The `hf/` cases are checkpoint folders (`config.json` + weights; LLaDA d_model 8, 2 layers,",
        "vocab 16) with exactly one defect; the safetensors defects are in `model.safetensors`, so the",
        "error must come from reading its header, before any name or shape check against the config.",
        "",
        "| file | defect / the error dqc must give |",
        "|---|---|",
        "| `outside.bin` | 64 bytes outside `onnx/`; must never be read. |",
    ]
    for path, text in sorted(BAD_NOTES):
        lines.append(f"| `{path}` | {text} |")
    write_bytes(BAD / "README.md", ("\n".join(lines) + "\n").encode())


# ----------------------------------------------------------------------------------------------
# --check
# ----------------------------------------------------------------------------------------------


def check() -> int:
    import onnxruntime as ort
    from safetensors import safe_open
    from safetensors._safetensors_rust import deserialize

    failures: list[str] = []

    def fail(msg):
        failures.append(msg)
        print("FAIL", msg)

    ort.set_default_logger_severity(4)
    for path in sorted((GOLDEN / "onnx").glob("*.onnx")):
        name = path.name
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as e:  # noqa: BLE001
            fail(f"{rel(path)}: checker: {e}")
            continue
        model = onnx.load(str(path))
        ops = {(n.domain or "", n.op_type) for n in model.graph.node}
        outside = sorted(f"{dm}.{op}" if dm else op for dm, op in ops if dm or op not in SUPPORTED_OPS)
        if name == "unsupported-op.onnx":
            if outside != ["NonMaxSuppression", "com.microsoft.FusedMatMul"]:
                fail(f"{name}: unexpected unsupported set {outside}")
        elif outside:
            fail(f"{name}: uses unsupported ops {outside}")
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {}
        for i in sess.get_inputs():
            shape = [d if isinstance(d, int) else 2 for d in i.shape]
            feeds[i.name] = rng_for("feed." + i.name).standard_normal(shape).astype(np.float32)
        # run_with_ort_values: numpy has no bfloat16, so sess.run cannot return a bf16 output
        outs = sess.run_with_ort_values(None, {k: ort.OrtValue.ortvalue_from_numpy(v) for k, v in feeds.items()})
        desc = ", ".join(f"{o.name}:{o.type}{v.shape()}" for o, v in zip(sess.get_outputs(), outs))
        print(f"ok   {rel(path)} ({path.stat().st_size} B) ops={sorted(op for _, op in ops)} -> {desc}")
        if path.stat().st_size >= 50_000:
            fail(f"{name}: {path.stat().st_size} bytes (limit 50 KB)")

    # typed-fields values decode as intended
    m = onnx.load(str(GOLDEN / "onnx" / "typed-fields.onnx"))
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    assert vals["w_f16"].dtype == np.float16 and vals["w_f16"][3] == np.float16(2**-24)
    assert float(vals["w_bf16"].astype(np.float32)[1]) == -3.0

    for path in sorted((BAD / "onnx").glob("*.onnx")):
        if path.name == "string-constant.onnx":  # valid ONNX that dqc refuses
            onnx.checker.check_model(str(path), full_check=True)
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            out = sess.run(None, {"x": np.zeros(4, np.float32)})[0]
            assert out.tolist() == [1.0] * 4, out
            print(f"ok   {rel(path)}: valid ONNX (checker, onnxruntime), y = {out.tolist()}")
            continue
        errors = []
        try:
            onnx.load(str(path))  # also reads external data (bounds, confinement)
        except Exception as e:  # noqa: BLE001
            errors.append("load: " + str(e).splitlines()[0][:110])
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as e:  # noqa: BLE001
            errors.append("checker: " + str(e).splitlines()[0][:110])
        try:
            ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            errors.append("ort: " + str(e).splitlines()[0][:110])
        if not any(e.startswith("ort:") for e in errors) or len(errors) < 2:
            fail(f"{rel(path)}: expected onnxruntime and onnx.load or onnx.checker to refuse it; got {errors}")
        else:
            print(f"bad  {rel(path)}: {' | '.join(errors)}")

    # good checkpoints: the reference reader agrees with the layout and with the config shapes
    for folder in sorted(p for p in (GOLDEN / "hf").iterdir() if p.is_dir()):
        cfg = json.loads((folder / "config.json").read_text())
        files = sorted(folder.glob("*.safetensors"))
        seen = {}
        for f in files:
            for name, info in deserialize(f.read_bytes()):
                seen[name] = (info["dtype"], info["shape"], f.name)
            if "BF16" not in {s[0] for s in seen.values()}:
                with safe_open(str(f), framework="numpy") as h:
                    for k in h.keys():
                        assert list(h.get_tensor(k).shape) == seen[k][1]
        index = folder / "model.safetensors.index.json"
        if index.exists():
            wm = json.loads(index.read_text())["weight_map"]
            assert wm == {n: s[2] for n, s in seen.items()}, folder
        dtypes = sorted({s[0] for s in seen.values()})
        print(f"ok   {rel(folder)}: {cfg['architectures'][0]} {len(seen)} tensors {dtypes}")
    ref = {n: a for n, a in load_f32(GOLDEN / "hf" / "llada" / "model.safetensors").items()}
    for f in sorted((GOLDEN / "hf" / "llada-sharded").glob("*.safetensors")):
        for name, info in deserialize(f.read_bytes()):
            raw = np.frombuffer(bytes(info["data"]), "<u2")
            got = (raw.astype(np.uint32) << 16).view(np.float32) if info["dtype"] == "BF16" else \
                raw.view(np.float16).astype(np.float32)
            assert np.allclose(got.reshape(info["shape"]), ref[name], rtol=1e-2, atol=1e-3), name

    for folder in sorted(p for p in (BAD / "hf").iterdir() if p.is_dir()):
        errors = []
        for f in sorted(folder.glob("*.safetensors")):
            try:
                deserialize(f.read_bytes())
            except Exception as e:  # noqa: BLE001
                errors.append(f"{f.name}: {str(e)[:100]}")
        print(f"bad  {rel(folder)}: {errors or 'safetensors reads it (defect is in config/index)'}")

    total = sum(p.lstat().st_size for base in (GOLDEN, BAD) for p in base.rglob("*") if p.is_file() or p.is_symlink())
    print(f"total size {total} bytes")
    if total >= 1_000_000:
        fail(f"total size {total} >= 1 MB")
    print("FAILURES:" if failures else "all checks passed", *failures, sep="\n  ")
    return 1 if failures else 0


def load_f32(path: Path) -> dict[str, np.ndarray]:
    header, body = parse_safetensors(path.read_bytes())
    out = {}
    for n, info in header.items():
        if n == "__metadata__":
            continue
        s, e = info["data_offsets"]
        out[n] = np.frombuffer(body[s:e], "<f4").reshape(info["shape"])
    return out


def clean(base: Path) -> None:
    """Deletes what a previous run wrote under `base`, keeping the reviewed expectations
    (`*.dqir`, `*.expected*`) that dqc's tests put beside the inputs; then drops empty folders."""
    if not base.exists():
        return
    for p in sorted(base.rglob("*"), reverse=True):
        if p.is_symlink() or p.is_file():
            if p.suffix == ".dqir" or ".expected" in p.name:
                continue
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="after generating, check every file")
    args = ap.parse_args()

    for base in (GOLDEN, BAD):
        clean(base)
    onnx_dir = GOLDEN / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    onnx_add_inline(onnx_dir)
    onnx_typed_fields(onnx_dir)
    onnx_f16_bf16_raw(onnx_dir)
    onnx_external_data(onnx_dir)
    onnx_constant_nodes(onnx_dir)
    onnx_all_attribute_kinds(onnx_dir)
    onnx_opset_pair(onnx_dir)
    onnx_microsoft_domain(onnx_dir)
    onnx_unsupported_op(onnx_dir)
    onnx_value_info(onnx_dir)
    hf_checkpoints(GOLDEN / "hf")

    (BAD / "onnx").mkdir(parents=True, exist_ok=True)
    write_bytes(BAD / "outside.bin", f32("bad.outside", (16,), 1.0).tobytes())
    bad_onnx(BAD / "onnx")
    bad_hf(BAD / "hf")
    write_readmes()

    count = sum(1 for base in (GOLDEN, BAD) for p in base.rglob("*") if p.is_file() or p.is_symlink())
    print(f"wrote {count} files under {rel(GOLDEN)} and {rel(BAD)}")
    return check() if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
