/*
 * dqc_bundle_format.h: the .dqb bundle format's constants, shared by the compiler (Swift,
 * DQCBackend) and the runtime (C++). The format is specified in docs/bundle-format.md.
 * All multi-byte fields are little-endian.
 */
#ifndef DQC_BUNDLE_FORMAT_H
#define DQC_BUNDLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Header. */
#define DQC_BUNDLE_MAGIC_SIZE 8
/* The magic bytes: 0x89 'D' 'Q' 'B' '\r' '\n' 0x1a '\n'. */
static const uint8_t DQC_BUNDLE_MAGIC[DQC_BUNDLE_MAGIC_SIZE] = {0x89, 0x44, 0x51, 0x42,
                                                                0x0d, 0x0a, 0x1a, 0x0a};
#define DQC_BUNDLE_VERSION_MAJOR 1
#define DQC_BUNDLE_VERSION_MINOR 2
#define DQC_BUNDLE_LITTLE_ENDIAN 1
#define DQC_BUNDLE_HEADER_SIZE 64
#define DQC_BUNDLE_MAX_SECTIONS 64

/* Header field offsets. */
#define DQC_HEADER_MAGIC 0
#define DQC_HEADER_MAJOR 8
#define DQC_HEADER_MINOR 10
#define DQC_HEADER_BYTE_ORDER 12
#define DQC_HEADER_HEADER_SIZE 16
#define DQC_HEADER_SECTION_COUNT 20
#define DQC_HEADER_TABLE_OFFSET 24
#define DQC_HEADER_FILE_SIZE 32
#define DQC_HEADER_TABLE_CHECKSUM 40
#define DQC_HEADER_CHECKSUM 56

/* Section table entries. */
#define DQC_SECTION_ENTRY_SIZE 64
#define DQC_SECTION_NAME_SIZE 16
#define DQC_SECTION_KIND 16
#define DQC_SECTION_FLAGS 20
#define DQC_SECTION_OFFSET 24
#define DQC_SECTION_SIZE 32
#define DQC_SECTION_CHECKSUM 40
#define DQC_SECTION_FLAG_REQUIRED 1u
#define DQC_SECTION_ALIGNMENT 64
#define DQC_TENSOR_DATA_ALIGNMENT 4096

/* Section kinds. */
enum dqc_section_kind {
  DQC_SECTION_META = 1,
  DQC_SECTION_RECIPE = 2,
  DQC_SECTION_PROVENANCE = 3,
  DQC_SECTION_IR = 4,
  DQC_SECTION_TOKENIZER = 5,
  DQC_SECTION_TENSOR_INDEX = 6,
  DQC_SECTION_TENSOR_DATA = 7,
  DQC_SECTION_PLAN = 8,
  DQC_SECTION_CUDA_SOURCE = 9,
  DQC_SECTION_CUDA_BINARY = 10
};

/* cuda-binary (1.2): a header, then the launch code compiled by nvcc into an x86-64 Linux shared
 * library for the listed architectures (docs/bundle-format.md). */
#define DQC_CUDA_BINARY_MAGIC "DQCCUBIN"
#define DQC_CUDA_BINARY_HEADER_SIZE 128
#define DQC_CUDA_BINARY_MAX_ARCHS 16
#define DQC_CUDA_BINARY_ABI 8          /* u32: ABI version of the entry points */
#define DQC_CUDA_BINARY_ARCH_COUNT 12  /* u32: architectures, 1 to 16 */
#define DQC_CUDA_BINARY_ARCHS 16       /* 16 x u32: compute capabilities as 10 x major + minor */
#define DQC_CUDA_BINARY_SOURCE 80      /* u64: fnv1a64 of the cuda-source section it was built from */
#define DQC_CUDA_BINARY_SIZE 88        /* u64: bytes of the library after the header */

/* Tensor index. */
#define DQC_TENSOR_INDEX_HEADER_SIZE 16
#define DQC_TENSOR_ENTRY_SIZE 96
#define DQC_TENSOR_MAX_RANK 8
#define DQC_TENSOR_ALIGNMENT 64
#define DQC_TENSOR_DATA_OFFSET 0
#define DQC_TENSOR_BYTE_SIZE 8
#define DQC_TENSOR_NAME_OFFSET 16
#define DQC_TENSOR_NAME_LENGTH 20
#define DQC_TENSOR_ELEMENT 24
#define DQC_TENSOR_LAYOUT 26
#define DQC_TENSOR_RANK 28
#define DQC_TENSOR_DIMS 32
#define DQC_LAYOUT_ROW_MAJOR 0
/* Kernel packings of dq.qlinear weight codes (docs/bundle-format.md, "Packed layouts"). */
#define DQC_LAYOUT_Q4_N16K8 1
#define DQC_LAYOUT_Q8_N16K4 2
/* Float linear-layer weights in panels of 16 output channels. */
#define DQC_LAYOUT_F32_N16 3

/* Element codes. */
enum dqc_element_code {
  DQC_ELEMENT_F32 = 1,
  DQC_ELEMENT_F16 = 2,
  DQC_ELEMENT_BF16 = 3,
  DQC_ELEMENT_F64 = 4,
  DQC_ELEMENT_I8 = 5,
  DQC_ELEMENT_I16 = 6,
  DQC_ELEMENT_I32 = 7,
  DQC_ELEMENT_I64 = 8,
  DQC_ELEMENT_U8 = 9,
  DQC_ELEMENT_U16 = 10,
  DQC_ELEMENT_U32 = 11,
  DQC_ELEMENT_U64 = 12,
  DQC_ELEMENT_BOOL = 13,
  DQC_ELEMENT_I4 = 14,
  DQC_ELEMENT_U4 = 15
};

/* The plan section: a header, a value table and a kernel table (docs/bundle-format.md). */
#define DQC_PLAN_MAGIC_SIZE 8
static const uint8_t DQC_PLAN_MAGIC[DQC_PLAN_MAGIC_SIZE] = {'D', 'Q', 'P', 'L', 'A', 'N', 0, 0};
#define DQC_PLAN_VERSION 1
#define DQC_PLAN_HEADER_SIZE 64
#define DQC_PLAN_VALUE_SIZE 32
#define DQC_PLAN_KERNEL_SIZE 160
#define DQC_PLAN_MAX_OPERANDS 8
#define DQC_PLAN_MAX_RESULTS 4
#define DQC_PLAN_MAX_INTS 8
#define DQC_PLAN_MAX_FLOATS 4

/* Plan header field offsets. */
#define DQC_PLAN_VALUE_COUNT 8
#define DQC_PLAN_KERNEL_COUNT 12
#define DQC_PLAN_ARENA_BYTES 16
#define DQC_PLAN_BATCH 24
#define DQC_PLAN_SEQ_LEN 28
#define DQC_PLAN_MASK_TOKEN 32
#define DQC_PLAN_INPUT_VALUE 40
#define DQC_PLAN_OUTPUT_VALUE 44
#define DQC_PLAN_VOCAB 48
#define DQC_PLAN_VERSION_FIELD 56

/* Value entry: u64 arena offset, u32 kind, u32 element code, u64 elements per row, u64 0. */
#define DQC_PLAN_VALUE_INPUT 1
#define DQC_PLAN_VALUE_ARENA 2

/* Kernel entry: u32 op, u32 operand count, u32 result count, u32 0, u32 operands[8],
 * u32 results[4], i64 ints[8], f64 floats[4]. An operand is (kind << 24) | index. */
#define DQC_PLAN_KERNEL_OPERANDS 16
#define DQC_PLAN_KERNEL_RESULTS 48
#define DQC_PLAN_KERNEL_INTS 64
#define DQC_PLAN_KERNEL_FLOATS 128
#define DQC_PLAN_REF_NONE 0u
#define DQC_PLAN_REF_VALUE 1u
#define DQC_PLAN_REF_TENSOR 2u
#define DQC_PLAN_REF_INDEX_MASK 0xffffffu

enum dqc_plan_op {
  DQC_OP_EMBEDDING = 1,
  DQC_OP_RMS_NORM = 2,
  DQC_OP_QUANTIZE = 3,
  DQC_OP_QLINEAR = 4,
  DQC_OP_LINEAR = 5,
  DQC_OP_ROPE = 6,
  DQC_OP_ATTENTION = 7,
  DQC_OP_SWIGLU = 8,
  DQC_OP_ADD = 9
};

/* The section and header checksum: 64-bit FNV-1a over `size` bytes, continuing from `hash`
 * (start with DQC_FNV1A64_INITIAL). */
#define DQC_FNV1A64_INITIAL 0xcbf29ce484222325ull
uint64_t dqc_fnv1a64(const void *bytes, size_t size, uint64_t hash);

#ifdef __cplusplus
}
#endif

#endif /* DQC_BUNDLE_FORMAT_H */
