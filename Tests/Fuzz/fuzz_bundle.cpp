// fuzz_bundle.cpp: libFuzzer target for the runtime's bundle reader, plan decoder and executor.
// Each input is a candidate .dqb file (handed over through a memfd, so the real open/mmap path
// runs); a bundle that opens is given a session and a two-token forward pass, because a plan that
// passes validation must run without touching memory outside its arena and tensors.
//
// The input is resealed first: every section checksum (of sections inside the input), the table
// checksum and the header checksum are recomputed, so mutations reach the section-table, tensor
// index and plan decoders instead of stopping at a checksum mismatch (which the unit tests cover).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "dqc_bundle_format.h"
#include "dqc_runtime.h"

namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void store64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}

/// Recomputes the checksums the reader checks, where the fields they cover lie in `b`.
void reseal(std::vector<uint8_t>& b) {
  if (b.size() < DQC_BUNDLE_HEADER_SIZE) return;
  uint8_t* h = b.data();
  uint64_t count = load64(h + DQC_HEADER_SECTION_COUNT) & 0xffffffffu;
  if (count <= DQC_BUNDLE_MAX_SECTIONS &&
      DQC_BUNDLE_HEADER_SIZE + count * DQC_SECTION_ENTRY_SIZE <= b.size()) {
    uint8_t* t = h + DQC_BUNDLE_HEADER_SIZE;
    for (uint64_t i = 0; i < count; i++) {
      uint8_t* e = t + i * DQC_SECTION_ENTRY_SIZE;
      uint64_t offset = load64(e + DQC_SECTION_OFFSET), size = load64(e + DQC_SECTION_SIZE);
      if (offset <= b.size() && size <= b.size() - offset)
        store64(e + DQC_SECTION_CHECKSUM, dqc_fnv1a64(h + offset, size, DQC_FNV1A64_INITIAL));
    }
    store64(h + DQC_HEADER_TABLE_CHECKSUM,
            dqc_fnv1a64(t, count * DQC_SECTION_ENTRY_SIZE, DQC_FNV1A64_INITIAL));
  }
  store64(h + DQC_HEADER_CHECKSUM, dqc_fnv1a64(h, DQC_HEADER_CHECKSUM, DQC_FNV1A64_INITIAL));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  std::vector<uint8_t> bytes(input, input + size);
  reseal(bytes);
  const uint8_t* data = bytes.data();
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
