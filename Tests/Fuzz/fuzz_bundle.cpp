// fuzz_bundle.cpp: libFuzzer target for the runtime's bundle reader, plan decoder and executor.
// Each input is a candidate .dqb file (handed over through a memfd, so the real open/mmap path
// runs); a bundle that opens is given a session and a two-token forward pass, because a plan that
// passes validation must run without touching memory outside its arena and tensors.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "dqc_runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("bundle", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) break;
    written += size_t(n);
  }
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  dqc_bundle* bundle = nullptr;
  if (dqc_bundle_open(path, &bundle) == DQC_OK) {
    dqc_session_options options = {DQC_DEVICE_CPU, 1};
    dqc_session* session = nullptr;
    if (dqc_session_create(bundle, &options, &session) == DQC_OK) {
      const int64_t ids[2] = {0, 1};
      int64_t count = dqc_bundle_max_seq_len(bundle) < 2 ? 1 : 2;
      std::vector<float> logits(size_t(count * dqc_bundle_vocab_size(bundle)));
      dqc_session_forward(session, ids, count, logits.data());
      dqc_session_destroy(session);
    }
    dqc_bundle_close(bundle);
  }
  close(fd);
  return 0;
}
