#include "dqc_bundle_format.h"

uint64_t dqc_fnv1a64(const void *bytes, size_t size, uint64_t hash) {
  const uint8_t *p = (const uint8_t *)bytes;
  for (size_t i = 0; i < size; i++) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}
