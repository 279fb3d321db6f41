/*
 * dqc_runtime.h: the dqc runtime's C API. It opens a `.dqb` bundle (memory-mapped, every
 * checksum verified), creates sessions that run its kernel plan on a device, and runs forward
 * passes and LLaDA's diffusion sampler. Functions never throw or abort: each returns a status,
 * and on failure dqc_last_error() describes it (naming the file and place for bundle errors).
 * docs/runtime.md explains the API and its semantics.
 */
#ifndef DQC_RUNTIME_H
#define DQC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dqc_status {
  DQC_OK = 0,
  DQC_ERROR_IO = 1,          /* the file cannot be opened, mapped or read */
  DQC_ERROR_FORMAT = 2,      /* the bundle is corrupt, truncated or of another version */
  DQC_ERROR_UNSUPPORTED = 3, /* valid, but needs something this runtime lacks */
  DQC_ERROR_ARGUMENT = 4,    /* a bad argument (null pointer, length out of range, bad id) */
  DQC_ERROR_MEMORY = 5,      /* an allocation failed */
  DQC_ERROR_DEVICE = 6       /* the device is absent or failed */
} dqc_status;

/* DQC_DEVICE_CUDA_EMULATOR runs the CUDA back end's launch code on the CPU emulator, compiled
 * with the host C++ compiler (for tests on machines without a GPU; DQC_CUDA_EMULATOR=1 turns
 * DQC_DEVICE_CUDA into it). */
typedef enum dqc_device {
  DQC_DEVICE_CPU = 0,
  DQC_DEVICE_CUDA = 1,
  DQC_DEVICE_CUDA_EMULATOR = 2
} dqc_device;

typedef struct dqc_bundle dqc_bundle;
typedef struct dqc_session dqc_session;

/* The message of the calling thread's last failed call ("" if none). */
const char *dqc_last_error(void);
/* The runtime's version, such as "0.1.0". */
const char *dqc_runtime_version(void);

/* Opens and verifies `path`; the bundle must have a plan section. */
dqc_status dqc_bundle_open(const char *path, dqc_bundle **out);
void dqc_bundle_close(dqc_bundle *bundle);
/* The longest sequence the plan serves (prompt plus answer), its vocabulary size, and the
 * mask token id (-1 if the bundle names none). */
int64_t dqc_bundle_max_seq_len(const dqc_bundle *bundle);
int64_t dqc_bundle_vocab_size(const dqc_bundle *bundle);
int64_t dqc_bundle_mask_token_id(const dqc_bundle *bundle);

typedef struct dqc_session_options {
  dqc_device device;
  int32_t threads; /* 0: all cores */
} dqc_session_options;

/* A session owns its activation arena and prepared weights; one thread uses it at a time.
 * The bundle must outlive it. DQC_DEVICE_CUDA compiles the bundle's CUDA launch code for GPU 0
 * with nvcc (cached; docs/gpu.md) and fails with DQC_ERROR_DEVICE and a one-line reason when the
 * machine has no CUDA driver or GPU; `threads` is ignored there. */
dqc_status dqc_session_create(const dqc_bundle *bundle, const dqc_session_options *options,
                              dqc_session **out);
void dqc_session_destroy(dqc_session *session);
/* The kernel path the session runs ("avx512-vnni", "avx2-vnni", "avx2", "scalar", or
 * "cuda: <GPU name> (sm_XY)"). */
const char *dqc_session_isa(const dqc_session *session);
/* Bytes of the session's activation arena. */
size_t dqc_session_arena_bytes(const dqc_session *session);

/* One forward pass over `count` token ids (1 <= count <= max seq len): writes
 * count x vocab logits, row-major, to `logits`. */
dqc_status dqc_session_forward(dqc_session *session, const int64_t *ids, int64_t count,
                               float *logits);

/* The same pass, but logits only for the `row_count` distinct positions in `rows` (each <
 * count), written row_count x vocab in that order: the output layer runs on those rows alone,
 * with the same values as a full pass gives them. What a sampler needs for masked positions. */
dqc_status dqc_session_forward_rows(dqc_session *session, const int64_t *ids, int64_t count,
                                    const int64_t *rows, int64_t row_count, float *logits);

typedef enum dqc_remasking { DQC_REMASK_LOW_CONFIDENCE = 0, DQC_REMASK_RANDOM = 1 } dqc_remasking;

typedef struct dqc_sampler_options {
  int32_t steps;
  int32_t gen_length;
  int32_t block_length;
  dqc_remasking remasking;
  uint64_t seed; /* for DQC_REMASK_RANDOM */
} dqc_sampler_options;

/* LLaDA's sampler (as `dqc run`): starts from prompt + gen_length mask tokens and writes the
 * prompt_length + gen_length tokens of the result to `out`. */
dqc_status dqc_session_generate(dqc_session *session, const int64_t *prompt, int64_t prompt_length,
                                const dqc_sampler_options *options, int64_t *out);

/* Weight packing for compilers (layouts DQC_LAYOUT_Q4_N16K8, DQC_LAYOUT_Q8_N16K4 and
 * DQC_LAYOUT_F32_N16 of dqc_bundle_format.h). `codes` is the row-major [n, k] layout-0 encoding
 * (4-bit codes two per byte, low nibble first; f32 values for layout 3); `signed_codes` says
 * i4/i8 rather than u4/u8 (ignored for layout 3). Sizes are in bytes. */
size_t dqc_packed_size(int layout, int64_t n, int64_t k);
dqc_status dqc_pack_codes(int layout, int signed_codes, const uint8_t *codes, int64_t n, int64_t k,
                          uint8_t *out);
dqc_status dqc_unpack_codes(int layout, int signed_codes, const uint8_t *packed, int64_t n,
                            int64_t k, uint8_t *codes);

#ifdef __cplusplus
}
#endif

#endif /* DQC_RUNTIME_H */
