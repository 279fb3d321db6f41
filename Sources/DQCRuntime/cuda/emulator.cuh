// emulator.cuh: runs the CUDA kernel library on the CPU, for tests on machines without a GPU
// (docs/gpu.md). Compiled only with DQC_CUDA_EMULATION, as plain C++17 (`c++ -x c++`); nvcc
// builds never see it.
//
// Each block runs on its own: every thread of the block is a fiber on the calling thread, switched
// round-robin at barriers. `__syncthreads()` waits for the block's live threads,
// warp operations (shuffles, `mma.sync`) for the warp's; the exchange of values goes through
// per-warp slots. `__shared__` variables become thread-local function statics, which is right
// because a host thread runs its blocks one after another. The integer tensor-core instruction is computed from the fragments of all
// 32 lanes with the PTX ISA's m16n8k32 layout. Device memory is host memory. A stream capture
// records launches and copies, and a graph launch replays them.
//
// What this checks: the kernels' indexing, tiling, reductions, barriers and arithmetic, and the
// host entry points. What it cannot: timing, the memory model across blocks, and that the PTX
// fragment layout it assumes is the hardware's (a GPU run checks that: Scripts/gpu_check.sh).
#pragma once

#ifdef DQC_CUDA_EMULATION

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <functional>
#include <vector>

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
inline float2 make_float2(float x, float y) { return float2{x, y}; }

typedef int cudaError_t;
enum : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorLaunchFailure = 719
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2 };
typedef struct CUstream_st* cudaStream_t;
constexpr unsigned cudaStreamNonBlocking = 1;
struct cudaDeviceProp {
  char name[256];
  int major, minor;
};

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

namespace dqc_emulator {

constexpr int kWarp = 32;

struct Warp {
  int live = 0, arrived = 0;
  unsigned generation = 0;
  uint64_t slots[kWarp][8];
};

struct Block {
  int live = 0, arrived = 0;
  unsigned generation = 0;
  std::vector<Warp> warps;
};

// Switching between fibers. On x86-64 a few instructions that save and restore the callee-saved
// registers and the stack pointer (swapcontext would also make a signal-mask system call at every
// switch, and a forward pass switches millions of times); elsewhere ucontext.
#if defined(__x86_64__)
extern "C" void dqc_emulator_switch(void** save, void* load);
__asm__(
    ".text\n.p2align 4\n.globl dqc_emulator_switch\n.hidden dqc_emulator_switch\n"
    ".type dqc_emulator_switch,@function\n"
    "dqc_emulator_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size dqc_emulator_switch, .-dqc_emulator_switch\n");
struct Context {
  void* sp = nullptr;
};
#else
struct Context {
  ucontext_t context;
};
#endif

/// A captured CUDA graph: its launches and copies, replayed in order.
struct Graph {
  std::vector<std::function<void()>> nodes;
};

struct State {
  Graph* capture = nullptr;  // the graph a stream capture is recording into
  uint3 thread{0, 0, 0}, block{0, 0, 0};
  dim3 block_dim, grid_dim;
  Block current;
  std::vector<Context> fibers;
  std::vector<std::vector<char>> stacks;
  std::vector<bool> done;
  Context scheduler;
  int running = -1;
  const std::function<void()>* body = nullptr;
  cudaError_t last_error = cudaSuccess;
};

inline State& state() {
  thread_local State s;  // each host thread emulates its own launches
  return s;
}

inline void switch_context(Context& save, Context& load) {
#if defined(__x86_64__)
  dqc_emulator_switch(&save.sp, load.sp);
#else
  swapcontext(&save.context, &load.context);
#endif
}

/// Back to the scheduler; it resumes the other threads and comes back.
inline void yield() {
  State& s = state();
  switch_context(s.fibers[size_t(s.running)], s.scheduler);
}

/// Waits until `live` threads of a group have arrived (a barrier over fibers).
template <typename Group>
inline void barrier(Group& g) {
  const unsigned generation = g.generation;
  if (++g.arrived == g.live) {
    g.arrived = 0;
    g.generation++;
    return;
  }
  while (g.generation == generation) yield();
}

inline Warp& warp() {
  State& s = state();
  return s.current.warps[s.thread.x / kWarp];
}

/// A fiber's whole life: the kernel body, then its exit from the block's and warp's barriers.
inline void fiber_main() {
  State& s = state();
  const int index = s.running;
  (*s.body)();
  s.done[size_t(index)] = true;
  Block& b = s.current;
  Warp& w = b.warps[size_t(index) / kWarp];
  if (--b.live > 0 && b.arrived > 0 && b.arrived == b.live) b.arrived = 0, b.generation++;
  if (--w.live > 0 && w.arrived > 0 && w.arrived == w.live) w.arrived = 0, w.generation++;
#if defined(__x86_64__)
  Context finished;
  switch_context(finished, s.scheduler);  // never resumed
  __builtin_unreachable();
#endif
}

extern "C" inline void dqc_emulator_entry() { fiber_main(); }

/// Prepares fiber `t` to start at dqc_emulator_entry on its own stack.
inline void start_fiber(State& s, int t, size_t stack_size) {
  char* base = s.stacks[size_t(t)].data();
#if defined(__x86_64__)
  void** sp = reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(base + stack_size) & ~uintptr_t(15));
  *--sp = nullptr;  // alignment: the entry sees the stack as after a call
  *--sp = reinterpret_cast<void*>(&dqc_emulator_entry);
  for (int r = 0; r < 6; r++) *--sp = nullptr;  // rbp, rbx, r12-r15
  s.fibers[size_t(t)].sp = sp;
#else
  ucontext_t& f = s.fibers[size_t(t)].context;
  getcontext(&f);
  f.uc_stack.ss_sp = base;
  f.uc_stack.ss_size = stack_size;
  f.uc_link = &s.scheduler.context;
  makecontext(&f, dqc_emulator_entry, 0);
#endif
}

/// Runs `body` as every thread of every block of the grid.
inline void run(dim3 grid, dim3 block, const std::function<void()>& body) {
  State& s = state();
  const int threads = int(block.x * block.y * block.z);
  if (block.y != 1 || block.z != 1 || grid.z != 1 || threads < 1 || threads > 1024) {
    s.last_error = cudaErrorInvalidValue;
    return;
  }
  constexpr size_t kStack = 128 * 1024;
  s.fibers.resize(size_t(threads));
  if (s.stacks.size() < size_t(threads)) s.stacks.resize(size_t(threads));
  for (auto& stack : s.stacks) stack.resize(kStack);
  s.body = &body;
  s.block_dim = block;
  s.grid_dim = grid;
  for (unsigned by = 0; by < grid.y; by++) {
    for (unsigned bx = 0; bx < grid.x; bx++) {
      s.block = {bx, by, 0};
      s.current = Block();
      s.current.live = threads;
      s.current.warps.assign(size_t((threads + kWarp - 1) / kWarp), Warp());
      for (int t = 0; t < threads; t++) s.current.warps[size_t(t / kWarp)].live++;
      s.done.assign(size_t(threads), false);
      for (int t = 0; t < threads; t++) start_fiber(s, t, kStack);
      for (bool pending = true; pending;) {
        pending = false;
        for (int t = 0; t < threads; t++) {
          if (s.done[size_t(t)]) continue;
          s.running = t;
          s.thread = {unsigned(t), 0, 0};
          switch_context(s.scheduler, s.fibers[size_t(t)]);
          pending = pending || !s.done[size_t(t)];
        }
      }
    }
  }
  s.running = -1;
}

/// A kernel launch: run now, or recorded while a stream capture is on (kernel arguments are
/// copied at capture time, as CUDA does).
inline void launch(dim3 grid, dim3 block, std::function<void()> body) {
  State& s = state();
  if (s.capture != nullptr) {
    s.capture->nodes.push_back([grid, block, body] { run(grid, block, body); });
  } else {
    run(grid, block, body);
  }
}

/// A value exchange across the warp: each lane publishes `value`, reads lane `source`'s.
template <typename T>
inline T exchange(T value, int source) {
  static_assert(sizeof(T) <= 8, "exchange: 8 bytes at most");
  Warp& w = warp();
  const int lane = int(state().thread.x % kWarp);
  memcpy(w.slots[lane], &value, sizeof(T));
  barrier(w);
  T result;
  memcpy(&result, w.slots[source], sizeof(T));
  barrier(w);
  return result;
}

/// `mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32` over the warp (PTX ISA fragment layout:
/// lane = 4 g + t; A rows g and g+8, columns 4t.. and 16+4t..; B columns g, rows 4t.. and 16+4t..;
/// C rows g and g+8, columns 2t and 2t+1).
inline void mma_s8_16832(int32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  Warp& w = warp();
  const int lane = int(state().thread.x % kWarp);
  for (int i = 0; i < 4; i++) w.slots[lane][i] = a[i];
  w.slots[lane][4] = b0;
  w.slots[lane][5] = b1;
  barrier(w);
  int8_t A[16][32], B[32][8];
  for (int l = 0; l < kWarp; l++) {
    const int g = l / 4, t = l % 4;
    for (int i = 0; i < 4; i++) {
      A[g][4 * t + i] = int8_t(w.slots[l][0] >> (8 * i));
      A[g + 8][4 * t + i] = int8_t(w.slots[l][1] >> (8 * i));
      A[g][16 + 4 * t + i] = int8_t(w.slots[l][2] >> (8 * i));
      A[g + 8][16 + 4 * t + i] = int8_t(w.slots[l][3] >> (8 * i));
      B[4 * t + i][g] = int8_t(w.slots[l][4] >> (8 * i));
      B[16 + 4 * t + i][g] = int8_t(w.slots[l][5] >> (8 * i));
    }
  }
  barrier(w);
  const int g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; e++) {
    const int row = g + 8 * (e / 2), col = 2 * t + e % 2;
    int32_t sum = 0;
    for (int k = 0; k < 32; k++) sum += int32_t(A[row][k]) * int32_t(B[k][col]);
    d[e] += sum;
  }
}

}  // namespace dqc_emulator

#define threadIdx (dqc_emulator::state().thread)
#define blockIdx (dqc_emulator::state().block)
#define blockDim (dqc_emulator::state().block_dim)
#define gridDim (dqc_emulator::state().grid_dim)

inline void __syncthreads() { dqc_emulator::barrier(dqc_emulator::state().current); }
template <typename T>
inline T __shfl_xor_sync(unsigned, T value, int lane_mask) {
  return dqc_emulator::exchange(value, int(dqc_emulator::state().thread.x % 32) ^ lane_mask);
}
inline int __dp4a(int a, int b, int c) {
  for (int i = 0; i < 4; i++) c += int(int8_t(a >> (8 * i))) * int(int8_t(b >> (8 * i)));
  return c;
}
inline float __fdiv_rn(float a, float b) { return a / b; }
[[noreturn]] inline void __trap() { abort(); }

/// IEEE half-precision bits to float.
struct __half {
  uint16_t bits;
};
inline __half __ushort_as_half(uint16_t bits) { return __half{bits}; }
inline float __half2float(__half h) {
  const uint32_t sign = h.bits >> 15, exponent = (h.bits >> 10) & 0x1f,
                 mantissa = h.bits & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = ldexpf(float(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa != 0 ? NAN : INFINITY;
  } else {
    magnitude = ldexpf(float(mantissa | 0x400), int(exponent) - 25);
  }
  return sign != 0 ? -magnitude : magnitude;
}

inline cudaError_t cudaGetLastError() {
  cudaError_t e = dqc_emulator::state().last_error;
  dqc_emulator::state().last_error = cudaSuccess;
  return e;
}
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulator error"; }
inline const char* cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulator"; }
inline cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  snprintf(p->name, sizeof p->name, "dqc CUDA emulator on the CPU");
  p->major = 8;
  p->minor = 0;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (*p == nullptr) return cudaErrorMemoryAllocation;
  memset(*p, 0xA5, bytes);  // garbage, as fresh device memory is: kernels must not read unwritten bytes
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = malloc(bytes > 0 ? bytes : 1);
  return *p == nullptr ? cudaErrorMemoryAllocation : cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* to, const void* from, size_t bytes, cudaMemcpyKind) {
  memcpy(to, from, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* to, const void* from, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  dqc_emulator::State& s = dqc_emulator::state();
  if (s.capture != nullptr) {
    s.capture->nodes.push_back([to, from, bytes] { memcpy(to, from, bytes); });
  } else {
    memcpy(to, from, bytes);
  }
  return cudaSuccess;
}

// Stream capture and graphs (one capture at a time per host thread).
typedef dqc_emulator::Graph* cudaGraph_t;
typedef dqc_emulator::Graph* cudaGraphExec_t;
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2
};
inline cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode) {
  dqc_emulator::State& s = dqc_emulator::state();
  if (s.capture != nullptr) return cudaErrorInvalidValue;
  s.capture = new dqc_emulator::Graph();
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t* graph) {
  dqc_emulator::State& s = dqc_emulator::state();
  *graph = s.capture;
  s.capture = nullptr;
  return *graph != nullptr ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = new dqc_emulator::Graph(*graph);
  return cudaSuccess;
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t) {
  for (const auto& node : exec->nodes) node();
  return cudaGetLastError();
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = nullptr;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

#endif  // DQC_CUDA_EMULATION
