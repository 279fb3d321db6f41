#!/usr/bin/env bash
# Regenerates the protobuf-c bindings for ONNX:
#   Sources/CONNXProto/onnx.proto  ->  Sources/CONNXProto/onnx.pb-c.c
#                                      Sources/CONNXProto/include/onnx.pb-c.h
# Idempotent; can be run from any working directory.
# Requires protoc-c (Debian: apt-get install protobuf-c-compiler libprotobuf-c-dev).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
PROTO_DIR="${ROOT}/Sources/CONNXProto"
PROTO_FILE="onnx.proto"

if ! command -v protoc-c >/dev/null 2>&1; then
  echo "error: protoc-c not found; install it with: apt-get install -y protobuf-c-compiler libprotobuf-c-dev" >&2
  exit 1
fi
echo "using $(command -v protoc-c):"
protoc-c --version | sed 's/^/  /'

if [[ ! -f "${PROTO_DIR}/${PROTO_FILE}" ]]; then
  echo "error: ${PROTO_DIR}/${PROTO_FILE} not found" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

# Run from the proto directory so the generated files refer to the bare name
# "onnx.proto" (no absolute paths leak into the output).
(cd "${PROTO_DIR}" && protoc-c --proto_path=. --c_out="${TMP}" "${PROTO_FILE}")

# The generated .c says `#include "onnx.pb-c.h"`; that resolves because the
# header lives in include/, which SwiftPM (and our gcc check) put on the
# include path for this target's sources. No rewriting is needed.
mkdir -p "${PROTO_DIR}/include"
install -m 0644 "${TMP}/onnx.pb-c.c" "${PROTO_DIR}/onnx.pb-c.c"
install -m 0644 "${TMP}/onnx.pb-c.h" "${PROTO_DIR}/include/onnx.pb-c.h"

echo "generated:"
echo "  ${PROTO_DIR}/onnx.pb-c.c"
echo "  ${PROTO_DIR}/include/onnx.pb-c.h"
