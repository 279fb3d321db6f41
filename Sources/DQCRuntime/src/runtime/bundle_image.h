// bundle_image.h: a memory-mapped .dqb bundle whose header, section table, section checksums and
// tensor index have been verified (docs/bundle-format.md).
#ifndef DQC_RUNTIME_BUNDLE_IMAGE_H
#define DQC_RUNTIME_BUNDLE_IMAGE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace dqc::rt {

/// One tensor of the tensor index, with its bytes inside the mapping.
struct TensorEntry {
  std::string name;
  uint16_t element = 0;
  uint16_t layout = 0;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  uint64_t size = 0;

  int64_t elements() const;
};

/// One section's place in the mapping.
struct SectionView {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
};

class BundleImage {
 public:
  /// Maps `path` and verifies it; on failure `*out` is left empty.
  static Status open(const std::string& path, BundleImage* out);

  BundleImage() = default;
  ~BundleImage();
  BundleImage(BundleImage&& other) noexcept;
  BundleImage& operator=(BundleImage&& other) noexcept;
  BundleImage(const BundleImage&) = delete;
  BundleImage& operator=(const BundleImage&) = delete;

  const std::string& path() const { return path_; }
  /// The section of `kind`, or a view with no data.
  SectionView section(uint32_t kind) const;
  const std::vector<TensorEntry>& tensors() const { return tensors_; }

 private:
  Status verify();
  Status read_tensor_index(SectionView index, SectionView data);
  /// The cuda-binary header against the section and the bundle's cuda-source.
  Status check_cuda_binary(SectionView binary) const;
  Status error(const std::string& place, const std::string& message) const;

  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::vector<std::pair<uint32_t, SectionView>> sections_;
  std::vector<TensorEntry> tensors_;
};

/// Element size in bits of an element code, 0 if unknown.
int element_bits(uint16_t code);

}  // namespace dqc::rt

#endif
