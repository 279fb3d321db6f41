#!/usr/bin/env python3
"""Says whether a bundle's CUDA launch code carries the kernel library of this working tree.

A bundle stores its whole CUDA translation unit, the library's headers included (docs/gpu.md), so
a bundle compiled before a kernel changed runs the old kernel. Scripts/gpu_check.sh runs this on
the bundles it is given and stops on a stale one: rebuild it with the current dqc.

    python3 Scripts/check_bundle_library.py BUNDLE...
"""
import pathlib
import sys

LIBRARY = pathlib.Path(__file__).resolve().parent.parent / "Sources" / "DQCRuntime" / "cuda"


def stale_parts(bundle: pathlib.Path) -> list[str]:
    data = bundle.read_bytes()
    stale = []
    for part in sorted(LIBRARY.glob("*.cuh")):
        if part.name == "dqc_cuda.cuh":  # includes the others; not part of the unit
            continue
        # The emitter drops each part's `#pragma once` line (CUDAEmitter.library).
        lines = part.read_text().split("\n")
        text = "\n".join(line for line in lines if line != "#pragma once")
        if f"// ==== {part.name} ====\n{text}".encode() not in data:
            stale.append(part.name)
    return stale


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    status = 0
    for name in sys.argv[1:]:
        stale = stale_parts(pathlib.Path(name))
        if stale:
            print(f"{name}: its CUDA launch code predates this tree's {', '.join(stale)}; "
                  "compile the bundle again with the current dqc", file=sys.stderr)
            status = 1
        else:
            print(f"{name}: CUDA launch code carries this tree's kernel library")
    return status


if __name__ == "__main__":
    sys.exit(main())
