#!/usr/bin/env python3
"""Split the differential references of the committed exports into .npy files.

For each Tests/Fixtures/exports/<model>/reference.npz, every array `name` is
written to Tests/Fixtures/exports/<model>/reference/<name>.npy with np.save
(format 1.0, little-endian, C order, no pickles), so Swift only has to parse
plain .npy headers.  Output is deterministic (np.save writes no timestamps).
The .npz files are left in place.

Usage: python3 Scripts/export_references_npy.py [--check]
  --check: do not write; exit 1 if any .npy is missing or differs.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORTS = os.path.join(REPO_ROOT, "Tests", "Fixtures", "exports")


def to_plain(a: np.ndarray) -> np.ndarray:
    if a.dtype.hasobject:
        raise ValueError(f"object arrays are not supported ({a.dtype})")
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
        a = a.astype(a.dtype.newbyteorder("<"))
    return np.ascontiguousarray(a)


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, to_plain(a), allow_pickle=False)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    bad = 0
    for model in sorted(os.listdir(EXPORTS)):
        npz = os.path.join(EXPORTS, model, "reference.npz")
        if not os.path.isfile(npz):
            continue
        out_dir = os.path.join(EXPORTS, model, "reference")
        with np.load(npz, allow_pickle=False) as z:
            names = list(z.files)
            if not args.check:
                os.makedirs(out_dir, exist_ok=True)
                # drop stale .npy files that are no longer in the npz
                for f in os.listdir(out_dir):
                    if f.endswith(".npy") and f[:-4] not in names:
                        os.remove(os.path.join(out_dir, f))
            for name in names:
                data = npy_bytes(z[name])
                path = os.path.join(out_dir, name + ".npy")
                if args.check:
                    ok = os.path.isfile(path) and open(path, "rb").read() == data
                    if not ok:
                        print(f"stale or missing: {os.path.relpath(path, REPO_ROOT)}")
                        bad += 1
                    continue
                with open(path, "wb") as f:
                    f.write(data)
                a = z[name]
                print(f"{os.path.relpath(path, REPO_ROOT)}: {a.dtype} {a.shape}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
