//===- Checkpoint.h - reading weight files ----------------------*- C++ -*-===//
//
// A checkpoint is a set of named tensors in the layout the training code
// wrote (torch dimension order). Files are memory-mapped; tensors are decoded
// to f32 on request, or used in place (f32Data) when they already are
// contiguous, aligned f32. Formats are detected from the file contents:
//
//   rwkv.cpp "ggmf" (.bin, versions 100/101): FP32, FP16 and the ggml block
//   formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (dequantized at load).
//   safetensors: F32, F16, BF16; the JSON header is parsed with
//   nlohmann-json and validated as the format specifies (no duplicate keys,
//   string metadata, offsets that tile the data in order without holes or
//   overlaps and end with the file) (Safetensors.cpp).
//   llama.cpp GGUF (versions 2 and 3): F32, F16, BF16, Q4_0, Q4_1, Q5_0,
//   Q5_1, Q8_0; alignment, offsets and extents validated (Gguf.cpp); its
//   scalar metadata is kept (metadata()), as is safetensors' __metadata__,
//   for the checks an artifact's manifest asks for (checkpoint_metadata).
//   PyTorch zip archives (torch.save, BlinkDL .pth): a restricted unpickler
//   that accepts a flat state_dict of f32/f16/bf16 tensors and rejects every
//   other pickle opcode and global by name (TorchZip.cpp).
//
// Every structural problem (bad magic, unknown data type, a tensor running
// past the end of the file) is an Error naming the file, the tensor and the
// byte offset. Every size read from a file goes through checked arithmetic
// (Error.h: checkedElements, mulOverflows), and names from files appear in
// messages escaped (non-printable bytes as \xNN).
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

/// Element types, numbered as ggml numbers them.
enum class DType : int {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 7,
  Q5_1 = 8,
  Q8_0 = 9,
  BF16 = 30,
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape; ///< torch order (outermost first)
  /// Element strides; empty for a dense row-major tensor. Only torch
  /// archives record other layouts (views saved as they were).
  std::vector<int64_t> strides;
  DType type = DType::F32;
  std::string typeName; ///< "f32", "f16", "bf16", "q5_1", ...
  uint64_t offset = 0;  ///< byte offset of the first element in the file
  uint64_t bytes = 0;   ///< bytes the tensor spans from `offset`
  int64_t elements() const;
};

/// A metadata value a weight file records (GGUF key-value pairs,
/// safetensors __metadata__), or one an artifact expects of its weights
/// (the spec's [checkpoint.metadata], manifest "checkpoint_metadata").
struct MetaValue {
  enum class Kind { Int, Float, Bool, String, Array } kind = Kind::String;
  /// Canonical text: a decimal integer, a float as %.9g, true/false, the
  /// string itself, or "N elements" for an array.
  std::string text;
  double number = 0; ///< Int and Float
  /// "6 (an integer)", "'rwkv7' (a string)": for messages, escaped.
  std::string describe() const;
  /// Same kind and value; integers and floats compare as numbers (to f32
  /// precision when either is a float).
  bool matches(const MetaValue &expected) const;
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

  /// Whether the format records metadata (GGUF, safetensors), and what it
  /// says (scalars and strings; arrays by their length).
  bool recordsMetadata() const { return recordsMetadata_; }
  const std::map<std::string, MetaValue> &metadata() const { return metadata_; }

  const TensorInfo *find(const std::string &name) const;
  const std::map<std::string, TensorInfo> &tensors() const { return tensors_; }
  /// Decodes a tensor to dense row-major f32, in its stored (torch) order.
  std::vector<float> readF32(const TensorInfo &t) const;
  /// The tensor's data in the mapped file when it is dense f32 with 4-byte
  /// alignment (usable in place), else null.
  const float *f32Data(const TensorInfo &t) const;
  /// The same for dense bf16 tensors with 2-byte alignment.
  const uint16_t *bf16Data(const TensorInfo &t) const;
  /// The same for dense Q8_0 tensors (ggml blocks; any alignment).
  const uint8_t *q8Data(const TensorInfo &t) const;

private:
  Checkpoint() = default;
  void indexRwkvCpp();
  void indexSafetensors();
  void indexTorchZip();
  void indexGguf();
  /// Checks that [offset, offset + bytes) lies in the file.
  void checkExtent(const TensorInfo &t) const;

  std::string path_, format_;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  bool recordsMetadata_ = false;
  std::map<std::string, MetaValue> metadata_;
};

/// IEEE half -> float (exact; no F16C needed).
float halfToFloat(uint16_t h);
/// bfloat16 -> float (exact).
float bfloat16ToFloat(uint16_t b);
/// float -> bfloat16, rounding to nearest even (NaN stays NaN).
uint16_t floatToBfloat16(float f);
/// float -> IEEE half, rounding to nearest even (overflow to Inf, NaN stays
/// NaN).
uint16_t floatToHalf(float f);
/// Quantizes `n` floats (a multiple of 32) into ggml Q8_0 blocks at `out`
/// (n / 32 * 34 bytes) as ggml's reference quantizer does
/// (quantize_row_q8_0_ref): d = max|x| / 127 stored as f16, q = round(x / d)
/// with the f32 d. Returns the index of the first value Q8_0 cannot hold (a
/// NaN or Inf, or the largest of a block whose d overflows f16: |x| above
/// ~8.3e6), or -1; `out` is then incomplete.
int64_t quantizeQ8_0(const float *x, int64_t n, uint8_t *out);
/// "[2, 3]".
std::string shapeString(const std::vector<int64_t> &shape);
/// A little-endian 16-bit load from unaligned memory.
uint16_t load16(const uint8_t *p);

} // namespace rwkvrt

#endif // RWKV_RUNTIME_CHECKPOINT_H
