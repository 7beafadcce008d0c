//===- Gguf.cpp - indexing llama.cpp GGUF files ---------------------------===//
//
// Layout (ggml's docs/gguf.md, versions 2 and 3; little endian): "GGUF",
// u32 version, u64 tensor_count, u64 metadata_kv_count; the metadata pairs
// (key: u64 length + UTF-8 bytes; u32 value type; value: u8 i8 u16 i16 u32
// i32 f32 bool string array u64 i64 f64 as types 0-12, an array being u32
// element type, u64 count, elements); the tensor infos (name string, u32
// n_dims, u64 dims innermost first, u32 ggml type, u64 offset relative to the
// data section); padding to `general.alignment` (u32, a power of two,
// default 32); the data section. Every offset must be a multiple of the
// alignment and every tensor lie inside the file without overlapping
// another. Tensor types: F32, F16, BF16 and the ggml block types Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0 (ggml's current numbering, which differs from rwkv.cpp's
// .bin for Q5_x and Q8_0); others (K-quants, IQ types) are refused by name.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace rwkvrt {

namespace {

struct GgufType {
  uint32_t code; ///< ggml_type in GGUF files
  DType type;
  const char *name;
  uint64_t blockBytes; ///< per 32 elements; 0 for plain types
  uint64_t elementBytes;
};
const GgufType kGgufTypes[] = {
    {0, DType::F32, "f32", 0, 4},    {1, DType::F16, "f16", 0, 2},
    {2, DType::Q4_0, "q4_0", 18, 0}, {3, DType::Q4_1, "q4_1", 20, 0},
    {6, DType::Q5_0, "q5_0", 22, 0}, {7, DType::Q5_1, "q5_1", 24, 0},
    {8, DType::Q8_0, "q8_0", 34, 0}, {30, DType::BF16, "bf16", 0, 2}};

/// Names of the ggml types GGUF files use that we do not decode, for errors.
const char *unsupportedTypeName(uint32_t code) {
  static const char *names[] = {
      "f32",   "f16",   "q4_0",    "q4_1",   "q4_2",    "q4_3",  "q5_0",
      "q5_1",  "q8_0",  "q8_1",    "q2_K",   "q3_K",    "q4_K",  "q5_K",
      "q6_K",  "q8_K",  "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl",
      "iq3_s", "iq2_s", "iq4_xs",  "i8",     "i16",     "i32",   "i64",
      "f64",   "iq1_m", "bf16"};
  return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

/// A bounds-checked cursor over the mapped file.
class Reader {
public:
  Reader(const std::string &path, const uint8_t *data, uint64_t size)
      : path_(path), data_(data), size_(size) {}
  uint64_t at() const { return off_; }
  void need(uint64_t n, const std::string &what) const {
    if (n > size_ - off_)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": truncated at byte " + std::to_string(off_) +
               " while reading " + what + " (" + std::to_string(n) +
               " bytes needed, the file has " + std::to_string(size_) + ")");
  }
  template <typename T> T get(const std::string &what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + off_, sizeof(T));
    off_ += sizeof(T);
    return v;
  }
  void skip(uint64_t n, const std::string &what) {
    need(n, what);
    off_ += n;
  }
  std::string string(const std::string &what) {
    uint64_t start = off_;
    uint64_t len = get<uint64_t>(what + " (its length)");
    if (len > size_ - off_)
      fail(RWKV_ERROR_FORMAT, path_ + ": " + what + " at byte " +
                                  std::to_string(start) + " has a length of " +
                                  std::to_string(len) +
                                  " bytes, past the end of the file (" +
                                  std::to_string(size_) + " bytes)");
    std::string s(reinterpret_cast<const char *>(data_ + off_), len);
    off_ += len;
    return s;
  }

private:
  const std::string &path_;
  const uint8_t *data_;
  uint64_t size_, off_ = 0;
};

/// Bytes of one metadata value of scalar type `type`, 0 for string/array.
uint64_t scalarBytes(uint32_t type) {
  switch (type) {
  case 0:
  case 1:
  case 7:
    return 1; // u8 i8 bool
  case 2:
  case 3:
    return 2; // u16 i16
  case 4:
  case 5:
  case 6:
    return 4; // u32 i32 f32
  case 10:
  case 11:
  case 12:
    return 8; // u64 i64 f64
  default:
    return 0;
  }
}

} // namespace

/// Reads one scalar metadata value of GGUF type `type` (0-7, 10-12).
static MetaValue scalarValue(Reader &r, uint32_t type,
                             const std::string &what) {
  using Kind = MetaValue::Kind;
  auto integer = [](auto v) {
    return MetaValue{Kind::Int, std::to_string(v), static_cast<double>(v)};
  };
  switch (type) {
  case 0:
    return integer(r.get<uint8_t>(what));
  case 1:
    return integer(r.get<int8_t>(what));
  case 2:
    return integer(r.get<uint16_t>(what));
  case 3:
    return integer(r.get<int16_t>(what));
  case 4:
    return integer(r.get<uint32_t>(what));
  case 5:
    return integer(r.get<int32_t>(what));
  case 10:
    return integer(r.get<uint64_t>(what));
  case 11:
    return integer(r.get<int64_t>(what));
  case 7:
    return MetaValue{Kind::Bool, r.get<uint8_t>(what) ? "true" : "false", 0};
  default: { // 6 f32, 12 f64
    double v = type == 6 ? r.get<float>(what) : r.get<double>(what);
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", v);
    return MetaValue{Kind::Float, text, v};
  }
  }
}

void Checkpoint::indexGguf() {
  recordsMetadata_ = true;
  Reader r(path_, data_, size_);
  r.skip(4, "the magic");
  uint32_t version = r.get<uint32_t>("the GGUF version");
  if (version != 2 && version != 3)
    fail(RWKV_ERROR_FORMAT, path_ + ": GGUF version " +
                                std::to_string(version) +
                                " at byte 4; expected 2 or 3 (version 1, "
                                "with 32-bit counts, predates llama.cpp's "
                                "RWKV support)");
  format_ = "GGUF v" + std::to_string(version);
  uint64_t nTensors = r.get<uint64_t>("the tensor count");
  uint64_t nKv = r.get<uint64_t>("the metadata count");
  // Each entry takes at least 8 + 4 (+ 1) bytes: counts the file cannot
  // hold are refused before anything is allocated for them.
  if (nTensors > size_ / 24 || nKv > size_ / 13)
    fail(RWKV_ERROR_FORMAT,
         path_ + ": GGUF header counts " + std::to_string(nTensors) +
             " tensors and " + std::to_string(nKv) +
             " metadata pairs (bytes 8-23), more than a file of " +
             std::to_string(size_) + " bytes can hold");
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < nKv; ++i) {
    uint64_t start = r.at();
    std::string key = r.string("the key of metadata pair " + std::to_string(i));
    uint32_t type = r.get<uint32_t>("the type of metadata " + quotedName(key));
    std::string what = "the value of metadata " + quotedName(key);
    if (metadata_.count(key))
      fail(RWKV_ERROR_FORMAT, path_ + ": metadata " + quotedName(key) +
                                  " at byte " + std::to_string(start) +
                                  " is a duplicate (keys must be unique)");
    if (key == "general.alignment") {
      if (type != 4)
        fail(RWKV_ERROR_FORMAT, path_ +
                                    ": metadata 'general.alignment' at "
                                    "byte " +
                                    std::to_string(start) + " has value type " +
                                    std::to_string(type) +
                                    "; expected 4 (u32)");
      alignment = r.get<uint32_t>(what);
      if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        fail(RWKV_ERROR_FORMAT,
             path_ + ": metadata 'general.alignment' (byte " +
                 std::to_string(start) + ") is " + std::to_string(alignment) +
                 "; expected a power of two");
      metadata_[key] =
          MetaValue{MetaValue::Kind::Int, std::to_string(alignment),
                    static_cast<double>(alignment)};
      continue;
    }
    if (scalarBytes(type)) {
      metadata_[key] = scalarValue(r, type, what);
    } else if (type == 8) {
      metadata_[key] = MetaValue{MetaValue::Kind::String, r.string(what), 0};
    } else if (type == 9) {
      uint32_t elem = r.get<uint32_t>(what + " (array element type)");
      uint64_t count = r.get<uint64_t>(what + " (array length)");
      // Every element takes at least `minBytes`: a count the rest of the
      // file cannot hold is refused by name, not by a wrapped byte count.
      uint64_t minBytes = elem == 8 ? 8 : scalarBytes(elem), bytes = 0;
      if (minBytes &&
          (mulOverflows(count, minBytes, bytes) || bytes > size_ - r.at()))
        fail(RWKV_ERROR_FORMAT, path_ + ": metadata " + quotedName(key) +
                                    " at byte " + std::to_string(start) +
                                    " is an array of " + std::to_string(count) +
                                    " elements of type " +
                                    std::to_string(elem) + ", more than the " +
                                    std::to_string(size_ - r.at()) +
                                    " bytes left in the file can hold");
      metadata_[key] = MetaValue{MetaValue::Kind::Array,
                                 std::to_string(count) + " elements", 0};
      if (scalarBytes(elem)) {
        r.skip(bytes, what);
      } else if (elem == 8) {
        for (uint64_t k = 0; k < count; ++k)
          r.string(what + " (element " + std::to_string(k) + ")");
      } else {
        fail(RWKV_ERROR_FORMAT,
             path_ + ": metadata " + quotedName(key) + " at byte " +
                 std::to_string(start) + " is an array of type " +
                 std::to_string(elem) +
                 "; expected a scalar or string element type (0-8, 10-12)");
      }
    } else {
      fail(RWKV_ERROR_FORMAT, path_ + ": metadata " + quotedName(key) +
                                  " at byte " + std::to_string(start) +
                                  " has value type " + std::to_string(type) +
                                  "; expected 0-12");
    }
  }

  std::vector<TensorInfo> infos;
  infos.reserve(static_cast<size_t>(nTensors));
  for (uint64_t i = 0; i < nTensors; ++i) {
    uint64_t start = r.at();
    TensorInfo t;
    t.name = r.string("the name of tensor " + std::to_string(i));
    uint32_t nDims =
        r.get<uint32_t>("the rank of tensor " + quotedName(t.name));
    if (nDims < 1 || nDims > 4)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) +
                                  " (info at byte " + std::to_string(start) +
                                  ") has " + std::to_string(nDims) +
                                  " dimensions; expected 1 to 4");
    std::vector<int64_t> ggmlShape;
    for (uint32_t d = 0; d < nDims; ++d) {
      uint64_t n = r.get<uint64_t>("the shape of tensor " + quotedName(t.name));
      if (n < 1 || n > (uint64_t(1) << 62))
        fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) +
                                    " has a dimension of size " +
                                    std::to_string(n));
      ggmlShape.push_back(static_cast<int64_t>(n));
    }
    // ggml stores dimensions innermost first.
    t.shape.assign(ggmlShape.rbegin(), ggmlShape.rend());
    uint32_t code = r.get<uint32_t>("the type of tensor " + quotedName(t.name));
    const GgufType *gt = nullptr;
    for (const GgufType &g : kGgufTypes)
      if (g.code == code)
        gt = &g;
    if (!gt)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": tensor " + quotedName(t.name) + " has ggml type " +
               std::to_string(code) + " (" + unsupportedTypeName(code) +
               "); supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0");
    t.type = gt->type;
    t.typeName = gt->name;
    int64_t n = checkedElements(t.shape, gt->blockBytes ? 1 : gt->elementBytes);
    if (n < 0)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) + " " +
                                  shapeString(t.shape) + " " + gt->name +
                                  " has more bytes than fit in 64 bits");
    if (gt->blockBytes) {
      // Blocks run along the innermost dimension.
      if (ggmlShape[0] % 32 != 0)
        fail(RWKV_ERROR_FORMAT, path_ + ": quantized tensor " +
                                    quotedName(t.name) + " has rows of " +
                                    std::to_string(ggmlShape[0]) +
                                    " elements, not a multiple of 32");
      t.bytes = static_cast<uint64_t>(n / 32) * gt->blockBytes;
    } else {
      t.bytes = static_cast<uint64_t>(n) * gt->elementBytes;
    }
    t.offset = r.get<uint64_t>("the offset of tensor " + quotedName(t.name));
    if (t.offset % alignment != 0)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": tensor " + quotedName(t.name) + " has data offset " +
               std::to_string(t.offset) + ", not a multiple of the alignment " +
               std::to_string(alignment));
    infos.push_back(std::move(t));
  }
  uint64_t dataStart = r.at();
  dataStart += (alignment - dataStart % alignment) % alignment;
  if (dataStart > size_ && nTensors > 0)
    fail(RWKV_ERROR_FORMAT, path_ +
                                ": truncated: the tensor data would start "
                                "at byte " +
                                std::to_string(dataStart) +
                                ", the file ends at " + std::to_string(size_));
  for (TensorInfo &t : infos) {
    if (t.offset > UINT64_MAX - dataStart)
      t.offset = UINT64_MAX; // reported by checkExtent
    else
      t.offset += dataStart;
    checkExtent(t);
  }
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &t : infos)
    byOffset.push_back(&t);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->offset < b->offset;
            });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i]->offset < byOffset[i - 1]->offset + byOffset[i - 1]->bytes)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": tensors " + quotedName(byOffset[i - 1]->name) + " and " +
               quotedName(byOffset[i]->name) + " overlap (bytes " +
               std::to_string(byOffset[i - 1]->offset) + "-" +
               std::to_string(byOffset[i - 1]->offset + byOffset[i - 1]->bytes -
                              1) +
               " and from " + std::to_string(byOffset[i]->offset) + ")");
  for (TensorInfo &t : infos) {
    std::string name = t.name;
    if (!tensors_.emplace(name, std::move(t)).second)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": tensor " + quotedName(name) + " appears twice");
  }
}

} // namespace rwkvrt
