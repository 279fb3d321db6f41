// bundle_image.cpp: mapping and verifying a .dqb bundle. The checks and their order follow
// docs/bundle-format.md ("A reader checks, before using any section: ..."), as the Swift reader
// (DQCBackend.BundleFile) does, and every size read from the file is checked against the file
// before it is used.
#include "bundle_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "dqc_bundle_format.h"

namespace dqc::rt {
namespace {

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }

const char* kind_name(uint32_t kind) {
  switch (kind) {
    case DQC_SECTION_META: return "meta";
    case DQC_SECTION_RECIPE: return "recipe";
    case DQC_SECTION_PROVENANCE: return "provenance";
    case DQC_SECTION_IR: return "ir";
    case DQC_SECTION_TOKENIZER: return "tokenizer";
    case DQC_SECTION_TENSOR_INDEX: return "tensor-index";
    case DQC_SECTION_TENSOR_DATA: return "tensor-data";
    case DQC_SECTION_PLAN: return "plan";
    case DQC_SECTION_CUDA_SOURCE: return "cuda-source";
    case DQC_SECTION_CUDA_BINARY: return "cuda-binary";
    default: return nullptr;
  }
}

bool required_kind(uint32_t kind) {
  return kind == DQC_SECTION_META || kind == DQC_SECTION_RECIPE || kind == DQC_SECTION_PROVENANCE ||
         kind == DQC_SECTION_IR || kind == DQC_SECTION_TENSOR_INDEX ||
         kind == DQC_SECTION_TENSOR_DATA;
}

}  // namespace

int element_bits(uint16_t code) {
  switch (code) {
    case DQC_ELEMENT_F32: case DQC_ELEMENT_I32: case DQC_ELEMENT_U32: return 32;
    case DQC_ELEMENT_F16: case DQC_ELEMENT_BF16: case DQC_ELEMENT_I16: case DQC_ELEMENT_U16: return 16;
    case DQC_ELEMENT_F64: case DQC_ELEMENT_I64: case DQC_ELEMENT_U64: return 64;
    case DQC_ELEMENT_I8: case DQC_ELEMENT_U8: case DQC_ELEMENT_BOOL: return 8;
    case DQC_ELEMENT_I4: case DQC_ELEMENT_U4: return 4;
    default: return 0;
  }
}

int64_t TensorEntry::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

BundleImage::~BundleImage() {
  if (base_ != nullptr) munmap(const_cast<uint8_t*>(base_), size_);
}

BundleImage::BundleImage(BundleImage&& other) noexcept { *this = std::move(other); }

BundleImage& BundleImage::operator=(BundleImage&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(const_cast<uint8_t*>(base_), size_);
    path_ = std::move(other.path_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    sections_ = std::move(other.sections_);
    tensors_ = std::move(other.tensors_);
  }
  return *this;
}

Status BundleImage::error(const std::string& place, const std::string& message) const {
  return fail(DQC_ERROR_FORMAT, path_ + ": " + place + ": " + message);
}

SectionView BundleImage::section(uint32_t kind) const {
  for (const auto& s : sections_) {
    if (s.first == kind) return s.second;
  }
  return {};
}

Status BundleImage::open(const std::string& path, BundleImage* out) {
  BundleImage image;
  image.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(DQC_ERROR_IO, path + ": file: cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(DQC_ERROR_IO, path + ": file: not a regular file");
  }
  image.size_ = size_t(st.st_size);
  if (image.size_ < DQC_BUNDLE_HEADER_SIZE) {
    ::close(fd);
    return image.error("header", "the file has " + std::to_string(image.size_) +
                                     " bytes; a bundle has at least a 64-byte header");
  }
  void* map = mmap(nullptr, image.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return fail(DQC_ERROR_IO, path + ": file: cannot map (" + std::strerror(errno) + ")");
  image.base_ = static_cast<const uint8_t*>(map);
  Status status = image.verify();
  if (!status.is_ok()) return status;
  // Verifying read every page; drop them from this process's resident set (they stay in the
  // page cache), so only what the kernels touch counts: an embedding table, for one, is read a
  // few rows at a time.
  madvise(map, image.size_, MADV_DONTNEED);
  *out = std::move(image);
  return Status::ok();
}

Status BundleImage::verify() {
  const uint8_t* h = base_;
  if (std::memcmp(h, DQC_BUNDLE_MAGIC, DQC_BUNDLE_MAGIC_SIZE) != 0)
    return error("header", "bad magic; not a .dqb bundle");
  if (dqc_fnv1a64(h, DQC_HEADER_CHECKSUM, DQC_FNV1A64_INITIAL) != u64(h + DQC_HEADER_CHECKSUM))
    return error("header", "checksum mismatch");
  uint16_t major = u16(h + DQC_HEADER_MAJOR);
  if (major != DQC_BUNDLE_VERSION_MAJOR)
    return error("header", "format version " + std::to_string(major) + "." +
                               std::to_string(u16(h + DQC_HEADER_MINOR)) + "; this runtime reads " +
                               std::to_string(DQC_BUNDLE_VERSION_MAJOR) + ".x");
  if (h[DQC_HEADER_BYTE_ORDER] != DQC_BUNDLE_LITTLE_ENDIAN)
    return error("header", "byte order " + std::to_string(h[DQC_HEADER_BYTE_ORDER]) + "; expected 1 (little-endian)");
  if (u32(h + DQC_HEADER_HEADER_SIZE) != DQC_BUNDLE_HEADER_SIZE)
    return error("header", "header size " + std::to_string(u32(h + DQC_HEADER_HEADER_SIZE)) + "; expected 64");
  uint64_t file_size = u64(h + DQC_HEADER_FILE_SIZE);
  if (file_size > size_) return error("file", "truncated: the header says " + std::to_string(file_size) + " bytes, the file has " + std::to_string(size_));
  if (file_size < size_) return error("file", std::to_string(size_ - file_size) + " trailing bytes after the bundle's " + std::to_string(file_size));
  uint32_t count = u32(h + DQC_HEADER_SECTION_COUNT);
  uint64_t table = u64(h + DQC_HEADER_TABLE_OFFSET);
  if (count == 0 || count > DQC_BUNDLE_MAX_SECTIONS) return error("section table", std::to_string(count) + " sections; expected 1 to 64");
  if (table != DQC_BUNDLE_HEADER_SIZE || table + uint64_t(count) * DQC_SECTION_ENTRY_SIZE > size_)
    return error("section table", "lies outside the file");
  const uint8_t* t = base_ + table;
  if (dqc_fnv1a64(t, size_t(count) * DQC_SECTION_ENTRY_SIZE, DQC_FNV1A64_INITIAL) != u64(h + DQC_HEADER_TABLE_CHECKSUM))
    return error("section table", "checksum mismatch");
  uint64_t previous_end = table + uint64_t(count) * DQC_SECTION_ENTRY_SIZE;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* e = t + size_t(i) * DQC_SECTION_ENTRY_SIZE;
    char raw_name[DQC_SECTION_NAME_SIZE + 1] = {};
    std::memcpy(raw_name, e, DQC_SECTION_NAME_SIZE);
    std::string name(raw_name);
    uint32_t kind = u32(e + DQC_SECTION_KIND);
    uint32_t flags = u32(e + DQC_SECTION_FLAGS);
    uint64_t offset = u64(e + DQC_SECTION_OFFSET);
    uint64_t size = u64(e + DQC_SECTION_SIZE);
    std::string place = "section '" + name + "'";
    const char* known = kind_name(kind);
    if (known == nullptr) {
      if (flags & DQC_SECTION_FLAG_REQUIRED) return error(place, "unknown required kind " + std::to_string(kind));
    } else if (name != known) {
      return error(place, "kind " + std::to_string(kind) + " is '" + known + "'");
    }
    uint64_t alignment = kind == DQC_SECTION_TENSOR_DATA ? DQC_TENSOR_DATA_ALIGNMENT : DQC_SECTION_ALIGNMENT;
    if (offset > size_ || size > size_ - offset) return error(place, "bytes " + std::to_string(offset) + "+" + std::to_string(size) + " lie past the end of the file");
    if (offset % alignment != 0) return error(place, "offset " + std::to_string(offset) + " is not a multiple of " + std::to_string(alignment));
    if (offset < previous_end) return error(place, "overlaps the previous section or the table");
    previous_end = offset + size;
    for (const auto& s : sections_) {
      if (s.first == kind) return error(place, "appears twice");
    }
    if (dqc_fnv1a64(base_ + offset, size, DQC_FNV1A64_INITIAL) != u64(e + DQC_SECTION_CHECKSUM))
      return error(place, "checksum mismatch");
    if (known != nullptr) sections_.push_back({kind, SectionView{base_ + offset, size}});
  }
  for (uint32_t kind = DQC_SECTION_META; kind <= DQC_SECTION_CUDA_BINARY; kind++) {
    if (required_kind(kind) && section(kind).data == nullptr)
      return error(std::string("section '") + kind_name(kind) + "'", "missing");
  }
  if (SectionView binary = section(DQC_SECTION_CUDA_BINARY); binary.data != nullptr) {
    Status s = check_cuda_binary(binary);
    if (!s.is_ok()) return s;
  }
  return read_tensor_index(section(DQC_SECTION_TENSOR_INDEX), section(DQC_SECTION_TENSOR_DATA));
}

Status BundleImage::check_cuda_binary(SectionView binary) const {
  const std::string place = "section 'cuda-binary'";
  const SectionView source = section(DQC_SECTION_CUDA_SOURCE);
  if (binary.size < DQC_CUDA_BINARY_HEADER_SIZE) return error(place, "shorter than its 128-byte header");
  const uint8_t* h = binary.data;
  if (std::memcmp(h, DQC_CUDA_BINARY_MAGIC, 8) != 0) return error(place, "bad magic; expected DQCCUBIN");
  const uint32_t count = u32(h + DQC_CUDA_BINARY_ARCH_COUNT);
  if (count == 0 || count > DQC_CUDA_BINARY_MAX_ARCHS)
    return error(place, std::to_string(count) + " architectures; expected 1 to 16");
  if (u64(h + DQC_CUDA_BINARY_SIZE) != binary.size - DQC_CUDA_BINARY_HEADER_SIZE)
    return error(place, "the header's library size disagrees with the section's");
  if (source.data == nullptr) return error(place, "present without a cuda-source section");
  if (u64(h + DQC_CUDA_BINARY_SOURCE) != dqc_fnv1a64(source.data, source.size, DQC_FNV1A64_INITIAL))
    return error(place, "built from another cuda-source than the bundle's");
  return Status::ok();
}

Status BundleImage::read_tensor_index(SectionView index, SectionView data) {
  const std::string place = "section 'tensor-index'";
  if (index.size < DQC_TENSOR_INDEX_HEADER_SIZE) return error(place, "shorter than its 16-byte header");
  uint32_t count = u32(index.data);
  if (u32(index.data + 4) != DQC_TENSOR_ENTRY_SIZE) return error(place, "entry size " + std::to_string(u32(index.data + 4)) + "; expected 96");
  uint64_t strings = u64(index.data + 8);
  uint64_t entries_end = DQC_TENSOR_INDEX_HEADER_SIZE + uint64_t(count) * DQC_TENSOR_ENTRY_SIZE;
  if (count > index.size / DQC_TENSOR_ENTRY_SIZE || strings > index.size || entries_end + strings != index.size)
    return error(place, std::to_string(count) + " entries and " + std::to_string(strings) + " name bytes do not match its " + std::to_string(index.size) + " bytes");
  uint64_t previous_end = 0;
  tensors_.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* e = index.data + DQC_TENSOR_INDEX_HEADER_SIZE + size_t(i) * DQC_TENSOR_ENTRY_SIZE;
    TensorEntry t;
    uint64_t offset = u64(e + DQC_TENSOR_DATA_OFFSET);
    t.size = u64(e + DQC_TENSOR_BYTE_SIZE);
    uint32_t name_offset = u32(e + DQC_TENSOR_NAME_OFFSET);
    uint32_t name_length = u32(e + DQC_TENSOR_NAME_LENGTH);
    if (uint64_t(name_offset) + name_length > strings) return error(place, "entry " + std::to_string(i) + "'s name lies outside the name area");
    t.name.assign(reinterpret_cast<const char*>(index.data + entries_end + name_offset), name_length);
    std::string tplace = "tensor '" + t.name + "'";
    t.element = u16(e + DQC_TENSOR_ELEMENT);
    t.layout = u16(e + DQC_TENSOR_LAYOUT);
    int bits = element_bits(t.element);
    if (bits == 0) return error(tplace, "unknown element code " + std::to_string(t.element));
    uint32_t rank = u32(e + DQC_TENSOR_RANK);
    if (rank > DQC_TENSOR_MAX_RANK) return error(tplace, "rank " + std::to_string(rank) + " exceeds 8");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < rank; d++) {
      uint64_t dim = u64(e + DQC_TENSOR_DIMS + 8 * d);
      // At most 2^56 elements, so the bit count below (up to 64 bits each) cannot wrap.
      if (dim > 0x7fffffffu || (dim != 0 && elements > (uint64_t(1) << 56) / dim)) return error(tplace, "dimension " + std::to_string(dim) + " is too large");
      elements *= dim;
      t.shape.push_back(int64_t(dim));
    }
    uint64_t expected = (elements * uint64_t(bits) + 7) / 8;
    if (t.layout == DQC_LAYOUT_Q4_N16K8 || t.layout == DQC_LAYOUT_Q8_N16K4) {
      int want_bits = t.layout == DQC_LAYOUT_Q4_N16K8 ? 4 : 8;
      if (rank != 2 || bits != want_bits || t.element == DQC_ELEMENT_F32) return error(tplace, "layout " + std::to_string(t.layout) + " packs [N, K] " + std::to_string(want_bits) + "-bit codes");
      expected = dqc_packed_size(t.layout, t.shape[0], t.shape[1]);
    } else if (t.layout == DQC_LAYOUT_F32_N16) {
      if (rank != 2 || t.element != DQC_ELEMENT_F32) return error(tplace, "layout 3 packs [N, K] f32 weights");
      expected = dqc_packed_size(t.layout, t.shape[0], t.shape[1]);
    } else if (t.layout != DQC_LAYOUT_ROW_MAJOR) {
      return error(tplace, "unknown layout " + std::to_string(t.layout));
    }
    if (t.size != expected) return error(tplace, std::to_string(t.size) + " bytes; its shape and layout need " + std::to_string(expected));
    if (offset % DQC_TENSOR_ALIGNMENT != 0 || offset < previous_end || offset > data.size || t.size > data.size - offset)
      return error(tplace, "bytes " + std::to_string(offset) + "+" + std::to_string(t.size) + " are misaligned, overlap the previous tensor or lie outside tensor-data");
    previous_end = offset + t.size;
    t.data = data.data + offset;
    tensors_.push_back(std::move(t));
  }
  return Status::ok();
}

}  // namespace dqc::rt
