#!/usr/bin/env python3
"""Review aid for Golden/import: checks every weight of each expected .dqir against the values
the `onnx` package (numpy_helper) or the `safetensors` package reads from the source model.

Run after regenerating import goldens: python3 Scripts/check_import_goldens.py
"""
import json, os, re, struct, sys
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "Golden", "import")
DT = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i64": np.int64, "i32": np.int32,
      "i16": np.int16, "i8": np.int8, "u8": np.uint8, "bool": np.bool_}
WEIGHT = re.compile(r'^  weight @("(?:[^"\\]|\\.)*"|\S+) : tensor<([^>]*)> = (.*)$')

def parse_type(t):
    parts = t.split("x")
    return [int(p) for p in parts[:-1]], parts[-1]

def weights(dqir):
    for line in open(dqir):
        m = WEIGHT.match(line.rstrip("\n"))
        if m:
            name = m.group(1).strip('"')
            shape, elem = parse_type(m.group(2))
            yield name, shape, elem, m.group(3)

def values(shape, elem, data, base):
    if data.startswith("dense<["):
        items = data[len("dense<["):data.index("]>")].split(", ") if not data.startswith("dense<[]") else []
        if elem == "bf16":
            arr = np.array([float(x) for x in items], dtype=np.float32)
        elif elem == "bool":
            arr = np.array([x == "true" for x in items])
        else:
            arr = np.array([float(x) if elem.startswith("f") else int(x) for x in items], dtype=DT[elem])
        return arr.reshape(shape)
    m = re.match(r'file "([^"]+)" offset (\d+) size (\d+)', data)
    raw = open(os.path.join(base, m.group(1)), "rb").read()[int(m.group(2)):int(m.group(2)) + int(m.group(3))]
    if elem == "bf16":
        u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return u.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=DT[elem]).reshape(shape)

def main():
    import onnx
    from onnx import numpy_helper
    failures = 0
    checked = 0
    for sub in ("onnx", "hf"):
        folder = os.path.join(ROOT, sub)
        for f in sorted(os.listdir(folder)):
            if not f.endswith(".expected.dqir"):
                continue
            case = f[: -len(".expected.dqir")]
            if sub == "onnx":
                model = onnx.load(os.path.join(folder, case + ".onnx"), load_external_data=True)
                ref = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
            else:
                from safetensors.numpy import load_file
                ref = {}
                for g in sorted(os.listdir(os.path.join(folder, case))):
                    if g.endswith(".safetensors"):
                        p = os.path.join(folder, case, g)
                        hdr = json.loads(open(p, "rb").read()[8:8 + struct.unpack("<Q", open(p, "rb").read(8))[0]])
                        for k, v in load_file(p).items():
                            ref[k] = v.astype(np.float32) if hdr[k]["dtype"] == "BF16" else v
            for name, shape, elem, data in weights(os.path.join(folder, f)):
                if name.startswith("shape."):
                    continue
                got = values(shape, elem, data, folder)
                want = ref.get(name)
                checked += 1
                if want is None or list(want.shape) != shape or not np.array_equal(
                        np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), equal_nan=True):
                    failures += 1
                    print(f"MISMATCH {sub}/{case} @{name}: {got!r} vs {want!r}")
    print(f"{checked} weights checked, {failures} mismatches")
    sys.exit(1 if failures else 0)

main()
