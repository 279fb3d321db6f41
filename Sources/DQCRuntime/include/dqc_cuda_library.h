/*
 * dqc_cuda_library.h: the text of dqc's CUDA kernel library (Sources/DQCRuntime/cuda), built into
 * the runtime so that the compiler can write self-contained launch code into a bundle
 * (docs/gpu.md). Parts come in the order a translation unit needs them; the last part, `host`,
 * holds the C entry points the runtime calls in a model's compiled library.
 */
#ifndef DQC_CUDA_LIBRARY_H
#define DQC_CUDA_LIBRARY_H

#ifdef __cplusplus
extern "C" {
#endif

/* The number of parts. */
int dqc_cuda_library_part_count(void);
/* Part `index` (0-based) as NUL-terminated text, its file name in `*name`; NULL past the end. */
const char *dqc_cuda_library_part(int index, const char **name);
/* The ABI version of the entry points the library's host part defines. */
#define DQC_CUDA_ABI_VERSION 1

#ifdef __cplusplus
}
#endif

#endif /* DQC_CUDA_LIBRARY_H */
