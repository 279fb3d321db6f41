// thread_pool.cpp: the persistent worker threads behind every kernel's parallel loop.
//
// One job at a time: the caller publishes the job and bumps a generation counter; each worker
// notices the new generation (spinning briefly, then sleeping on a condition variable), runs its
// chunk if it has one, and counts itself done; the caller runs chunk 0 and then waits for the
// count to reach zero. One caller at a time, and `fn` must not call back into the same pool.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dqc::rt {
namespace {

/// How many times a waiting thread polls before it sleeps (worker) or yields (caller): long
/// enough to bridge the gap between back-to-back kernels, short enough not to burn a core.
constexpr int kSpinPolls = 20000;

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Chunk `i` of `chunks` near-equal contiguous chunks of [0, n).
int64_t chunk_begin(int64_t n, int64_t chunks, int64_t i) { return n * i / chunks; }

}  // namespace

struct ThreadPool::State {
  int threads = 1;
  std::vector<std::thread> workers;

  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;  // guarded by mutex

  /// The current job, written by the caller before it bumps `generation`.
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunks = 0;
  std::atomic<uint64_t> generation{0};
  /// Workers that have not yet finished the current generation.
  std::atomic<int> pending{0};

  void run_chunk(int64_t i) const {
    const int64_t begin = chunk_begin(n, chunks, i), end = chunk_begin(n, chunks, i + 1);
    if (begin < end) (*fn)(begin, end);
  }

  void worker_loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t now = generation.load(std::memory_order_acquire);
      for (int poll = 0; now == seen && poll < kSpinPolls; ++poll) {
        cpu_relax();
        now = generation.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stop || generation.load(std::memory_order_acquire) != seen; });
        if (stop) return;
        now = generation.load(std::memory_order_acquire);
      }
      seen = now;
      if (index < chunks) run_chunk(index);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

ThreadPool::ThreadPool(int threads) : state_(new State) {
  const int wanted = threads < 1 ? 1 : threads;
  state_->workers.reserve(static_cast<size_t>(wanted - 1));
  for (int i = 1; i < wanted; ++i) {
    // A thread that cannot be started leaves a smaller pool rather than an exception.
    try {
      state_->workers.emplace_back([s = state_, i] { s->worker_loop(i); });
    } catch (...) {
      break;
    }
  }
  state_->threads = 1 + static_cast<int>(state_->workers.size());
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  for (std::thread& t : state_->workers) t.join();
  delete state_;
}

int ThreadPool::size() const { return state_->threads; }

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  State& s = *state_;
  if (n == 1 || s.threads == 1) {
    fn(0, n);
    return;
  }
  s.fn = &fn;
  s.n = n;
  s.chunks = n < s.threads ? n : s.threads;
  s.pending.store(s.threads - 1, std::memory_order_relaxed);
  {
    // Bumped under the mutex so that a worker about to sleep cannot miss it.
    std::lock_guard<std::mutex> lock(s.mutex);
    s.generation.fetch_add(1, std::memory_order_release);
  }
  s.wake.notify_all();
  s.run_chunk(0);
  for (int poll = 0; s.pending.load(std::memory_order_acquire) != 0; ++poll) {
    if (poll < kSpinPolls) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace dqc::rt
