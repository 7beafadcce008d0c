//===- Checkpoint.h - reading weight files ----------------------*- C++ -*-===//
//
// A checkpoint is a set of named tensors in the layout the training code
// wrote (torch dimension order). Files are memory-mapped; tensors are decoded
// to f32 on request. Supported formats are detected from the file contents:
//
//   rwkv.cpp "ggmf" (.bin, versions 100/101): FP32, FP16 and the ggml block
//   formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (dequantized at load).
//
// Every structural problem (bad magic, unknown data type, a tensor running
// past the end of the file) is a FormatError naming the file, the tensor and
// the byte offset.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_CHECKPOINT_H
#define RWKV_RUNTIME_CHECKPOINT_H

#include "Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rwkvrt {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape; ///< torch order (outermost first)
  int type = 0;               ///< format-specific data type code
  std::string typeName;       ///< "f32", "f16", "q5_1", ...
  uint64_t offset = 0;        ///< byte offset of the data in the file
  uint64_t bytes = 0;
  int64_t elements() const;
};

class Checkpoint {
public:
  /// Opens and indexes `path`; throws Error on any problem.
  static std::unique_ptr<Checkpoint> open(const std::string &path);
  ~Checkpoint();
  Checkpoint(const Checkpoint &) = delete;
  Checkpoint &operator=(const Checkpoint &) = delete;

  const std::string &path() const { return path_; }
  /// Human-readable format ("rwkv.cpp ggmf v101").
  const std::string &format() const { return format_; }

  /// Header sizes when the format records them (rwkv.cpp does), else 0.
  int64_t headerVocab = 0, headerEmbed = 0, headerLayers = 0;

  const TensorInfo *find(const std::string &name) const;
  const std::map<std::string, TensorInfo> &tensors() const { return tensors_; }
  /// Decodes a tensor to f32, in its stored (torch) order.
  std::vector<float> readF32(const TensorInfo &t) const;

private:
  Checkpoint() = default;
  void indexRwkvCpp();

  std::string path_, format_;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
};

/// IEEE half -> float (exact; no F16C needed).
float halfToFloat(uint16_t h);

} // namespace rwkvrt

#endif // RWKV_RUNTIME_CHECKPOINT_H
