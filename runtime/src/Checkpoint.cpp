//===- Checkpoint.cpp - reading weight files ------------------------------===//

#include "Checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rwkvrt {

namespace {

constexpr uint32_t kGgmfMagic = 0x67676d66; // "fmgg" on disk, little endian
constexpr int64_t kQK = 32;                 // ggml block size

/// ggml data types used by rwkv.cpp files: name, block bytes (per kQK
/// elements; 0 = plain element type), element bytes for plain types.
struct GgmlType {
  int code;
  const char *name;
  uint64_t blockBytes;
  uint64_t elementBytes;
};
const GgmlType kGgmlTypes[] = {{0, "f32", 0, 4},   {1, "f16", 0, 2},
                               {2, "q4_0", 18, 0}, {3, "q4_1", 20, 0},
                               {7, "q5_0", 22, 0}, {8, "q5_1", 24, 0},
                               {9, "q8_0", 34, 0}, {30, "bf16", 0, 2}};

const GgmlType *ggmlType(int code) {
  for (const GgmlType &t : kGgmlTypes)
    if (t.code == code)
      return &t;
  return nullptr;
}

/// Dequantizes one ggml block of kQK elements into `out`.
void dequantizeBlock(int type, const uint8_t *b, float *out) {
  switch (type) {
  case 2: { // q4_0: d, 16 bytes of nibbles; x = (q - 8) * d
    float d = halfToFloat(load16(b));
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; ++j) {
      out[j] = (static_cast<int>(qs[j] & 0xF) - 8) * d;
      out[j + 16] = (static_cast<int>(qs[j] >> 4) - 8) * d;
    }
    return;
  }
  case 3: { // q4_1: d, m, nibbles; x = q * d + m
    float d = halfToFloat(load16(b)), m = halfToFloat(load16(b + 2));
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; ++j) {
      out[j] = (qs[j] & 0xF) * d + m;
      out[j + 16] = (qs[j] >> 4) * d + m;
    }
    return;
  }
  case 7:   // q5_0: d, 32 high bits, nibbles; x = (q - 16) * d
  case 8: { // q5_1: d, m, 32 high bits, nibbles; x = q * d + m
    bool hasMin = type == 8;
    float d = halfToFloat(load16(b));
    float m = hasMin ? halfToFloat(load16(b + 2)) : 0.0f;
    const uint8_t *p = b + (hasMin ? 4 : 2);
    uint32_t qh;
    std::memcpy(&qh, p, 4);
    const uint8_t *qs = p + 4;
    for (int j = 0; j < 16; ++j) {
      int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      if (hasMin) {
        out[j] = lo * d + m;
        out[j + 16] = hi * d + m;
      } else {
        out[j] = (lo - 16) * d;
        out[j + 16] = (hi - 16) * d;
      }
    }
    return;
  }
  case 9: { // q8_0: d, 32 signed bytes; x = q * d
    float d = halfToFloat(load16(b));
    const int8_t *qs = reinterpret_cast<const int8_t *>(b + 2);
    for (int j = 0; j < 32; ++j)
      out[j] = qs[j] * d;
    return;
  }
  default:
    fail(RWKV_ERROR_INTERNAL, "dequantizeBlock: unexpected type");
  }
}

} // namespace

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

std::string MetaValue::describe() const {
  switch (kind) {
  case Kind::Int:
    return text + " (an integer)";
  case Kind::Float:
    return text + " (a float)";
  case Kind::Bool:
    return text + " (a boolean)";
  case Kind::String:
    return "'" + escaped(text) + "' (a string)";
  case Kind::Array:
    return "an array of " + text;
  }
  return text;
}

bool MetaValue::matches(const MetaValue &expected) const {
  // safetensors' __metadata__ holds only strings: "6" matches an expected
  // 6, "true" an expected true.
  if (kind == Kind::String && expected.kind != Kind::String &&
      expected.kind != Kind::Array) {
    if (expected.kind == Kind::Bool)
      return text == expected.text;
    char *end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0')
      return false;
    MetaValue parsed{text.find_first_of(".eEn") == std::string::npos
                         ? Kind::Int
                         : Kind::Float,
                     text, v};
    if (parsed.kind == Kind::Int && expected.kind == Kind::Int)
      return v == expected.number;
    return parsed.matches(expected);
  }
  bool numeric = (kind == Kind::Int || kind == Kind::Float) &&
                 (expected.kind == Kind::Int || expected.kind == Kind::Float);
  if (!numeric)
    return kind == expected.kind && text == expected.text;
  if (kind == Kind::Int && expected.kind == Kind::Int)
    return text == expected.text;
  double scale = std::max(std::fabs(number), std::fabs(expected.number));
  return std::fabs(number - expected.number) <= 1e-6 * scale;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3FF;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBfloat16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7FFFFFFF) > 0x7F800000) // NaN: keep it quiet and NaN
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

uint16_t floatToHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t mag = bits & 0x7FFFFFFF;
  if (mag > 0x7F800000) // NaN
    return sign | 0x7E00;
  if (mag >= 0x47800000) // >= 2^16: Inf (the rounding below covers 65520)
    return sign | 0x7C00;
  if (mag < 0x38800000) { // below 2^-14: a subnormal half (or zero)
    float a;
    std::memcpy(&a, &mag, 4);
    // a * 2^24 is exact; nearbyint rounds to nearest even. 0x400 is the
    // smallest normal's encoding, so a carry needs no special case.
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  uint32_t h = ((((mag >> 23) - 127 + 15) << 10) | ((mag >> 13) & 0x3FF));
  uint32_t rest = mag & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h; // a mantissa carry moves into the exponent, up to Inf
  return sign | static_cast<uint16_t>(h);
}

int64_t quantizeQ8_0(const float *x, int64_t n, uint8_t *out) {
  for (int64_t blk = 0; blk < n / kQK; ++blk, x += kQK, out += 34) {
    float amax = 0;
    int largest = 0;
    for (int j = 0; j < kQK; ++j) {
      if (!std::isfinite(x[j]))
        return blk * kQK + j;
      if (std::fabs(x[j]) > amax)
        amax = std::fabs(x[j]), largest = j;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = floatToHalf(d);
    if ((h & 0x7C00) == 0x7C00)
      return blk * kQK + largest;
    out[0] = static_cast<uint8_t>(h & 0xFF);
    out[1] = static_cast<uint8_t>(h >> 8);
    for (int j = 0; j < kQK; ++j)
      out[2 + j] =
          static_cast<uint8_t>(static_cast<int8_t>(std::round(x[j] * id)));
  }
  return -1;
}

int64_t TensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &path) {
  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  ck->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(RWKV_ERROR_IO, path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(RWKV_ERROR_IO, path + ": not a regular file");
  }
  ck->size_ = static_cast<uint64_t>(st.st_size);
  if (ck->size_ > 0) {
    void *p = mmap(nullptr, ck->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail(RWKV_ERROR_IO, path + ": mmap failed: " + std::strerror(errno));
    }
    ck->data_ = static_cast<const uint8_t *>(p);
  }
  ::close(fd);

  uint32_t magic = 0;
  if (ck->size_ >= 4)
    std::memcpy(&magic, ck->data_, 4);
  if (magic == kGgmfMagic) {
    ck->indexRwkvCpp();
    return ck;
  }
  if (ck->size_ >= 4 && std::memcmp(ck->data_, "GGUF", 4) == 0) {
    ck->indexGguf();
    return ck;
  }
  if (ck->size_ >= 4 && std::memcmp(ck->data_, "PK\x03\x04", 4) == 0) {
    ck->indexTorchZip();
    return ck;
  }
  // safetensors: u64 header length, then a JSON object.
  if (ck->size_ >= 9 && ck->data_[8] == '{') {
    ck->indexSafetensors();
    return ck;
  }
  fail(RWKV_ERROR_FORMAT,
       path + ": unknown checkpoint format (expected an rwkv.cpp .bin with "
              "magic 0x67676d66, a PyTorch zip archive (.pth), "
              "safetensors or GGUF)");
}

Checkpoint::~Checkpoint() {
  if (data_)
    munmap(const_cast<uint8_t *>(data_), size_);
}

void Checkpoint::indexRwkvCpp() {
  auto readI32 = [&](uint64_t offset, const char *what) {
    if (offset + 4 > size_)
      fail(RWKV_ERROR_FORMAT, path_ + ": truncated at byte " +
                                  std::to_string(offset) + " while reading " +
                                  what + " (file has " + std::to_string(size_) +
                                  " bytes)");
    int32_t v;
    std::memcpy(&v, data_ + offset, 4);
    return v;
  };
  int32_t version = readI32(4, "the header version");
  if (version != 100 && version != 101)
    fail(RWKV_ERROR_FORMAT, path_ + ": rwkv.cpp file version " +
                                std::to_string(version) +
                                " at byte 4; expected 100 or 101");
  headerVocab = readI32(8, "the header n_vocab");
  headerEmbed = readI32(12, "the header n_embed");
  headerLayers = readI32(16, "the header n_layer");
  readI32(20, "the header data type");
  format_ = "rwkv.cpp ggmf v" + std::to_string(version);

  uint64_t off = 24;
  while (off < size_) {
    uint64_t start = off;
    int32_t nDims = readI32(off, "a tensor header");
    int32_t keyLen = readI32(off + 4, "a tensor header");
    int32_t type = readI32(off + 8, "a tensor header");
    off += 12;
    if (nDims < 1 || nDims > 4)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor header at byte " +
                                  std::to_string(start) + " has " +
                                  std::to_string(nDims) +
                                  " dimensions; expected 1 to 4");
    if (keyLen < 1 || keyLen > 1024)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": tensor header at byte " + std::to_string(start) +
               " has a name length of " + std::to_string(keyLen) +
               "; expected 1 to 1024");
    std::vector<int64_t> ggmlShape;
    for (int i = 0; i < nDims; ++i) {
      int32_t d = readI32(off, "a tensor shape");
      off += 4;
      if (d < 1)
        fail(RWKV_ERROR_FORMAT,
             path_ + ": tensor header at byte " + std::to_string(start) +
                 " has a dimension of size " + std::to_string(d));
      ggmlShape.push_back(d);
    }
    if (off + keyLen > size_)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": truncated at byte " + std::to_string(off) +
               " inside the name of "
               "the tensor whose header is at byte " +
               std::to_string(start) + " (" + std::to_string(keyLen) +
               " bytes, the file "
               "has " +
               std::to_string(size_) + ")");
    TensorInfo t;
    t.name.assign(reinterpret_cast<const char *>(data_ + off), keyLen);
    off += keyLen;
    // ggml stores dimensions innermost first.
    t.shape.assign(ggmlShape.rbegin(), ggmlShape.rend());
    const GgmlType *gt = ggmlType(type);
    if (!gt || type == static_cast<int>(DType::BF16))
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) +
                                  " has unknown data type " +
                                  std::to_string(type) +
                                  " (supported: 0 f32, 1 f16, 2 q4_0, 3 "
                                  "q4_1, 7 q5_0, 8 q5_1, 9 q8_0)");
    t.type = static_cast<DType>(type);
    t.typeName = gt->name;
    // Up to four 31-bit sizes: the products are checked.
    int64_t n = checkedElements(t.shape, gt->blockBytes ? 1 : gt->elementBytes);
    if (n < 0)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) + " " +
                                  shapeString(t.shape) + " " + gt->name +
                                  " (header at byte " + std::to_string(start) +
                                  ") has more bytes than fit in 64 bits");
    if (gt->blockBytes) {
      if (n % kQK != 0)
        fail(RWKV_ERROR_FORMAT,
             path_ + ": quantized tensor " + quotedName(t.name) + " has " +
                 std::to_string(n) + " elements, not a multiple of 32");
      t.bytes = static_cast<uint64_t>(n / kQK) * gt->blockBytes;
    } else {
      t.bytes = static_cast<uint64_t>(n) * gt->elementBytes;
    }
    t.offset = off;
    checkExtent(t);
    off += t.bytes;
    if (!tensors_.emplace(t.name, t).second)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor " + quotedName(t.name) +
                                  " appears twice (second at byte " +
                                  std::to_string(start) + ")");
  }
}

const TensorInfo *Checkpoint::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void Checkpoint::checkExtent(const TensorInfo &t) const {
  if (t.offset > size_ || t.bytes > size_ - t.offset)
    fail(RWKV_ERROR_FORMAT, path_ + ": truncated: tensor " +
                                quotedName(t.name) + " " +
                                shapeString(t.shape) + " " + t.typeName +
                                " needs " + std::to_string(t.bytes) +
                                " bytes at byte " + std::to_string(t.offset) +
                                ", the file ends at " + std::to_string(size_));
}

std::vector<float> Checkpoint::readF32(const TensorInfo &t) const {
  int64_t n = t.elements();
  std::vector<float> out(static_cast<size_t>(n));
  if (n == 0)
    return out; // an empty tensor: nothing to read (and no buffer to copy to)
  const uint8_t *p = data_ + t.offset;
  // Element index -> storage index, for strided (torch view) tensors.
  std::vector<int64_t> index;
  if (!t.strides.empty()) {
    index.resize(static_cast<size_t>(n));
    int64_t rank = static_cast<int64_t>(t.shape.size());
    std::vector<int64_t> pos(static_cast<size_t>(rank), 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = 0;
      for (int64_t d = 0; d < rank; ++d)
        at += pos[d] * t.strides[d];
      index[i] = at;
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++pos[d] < t.shape[d])
          break;
        pos[d] = 0;
      }
    }
  }
  auto at = [&](int64_t i) { return index.empty() ? i : index[i]; };
  switch (t.type) {
  case DType::F32:
    if (index.empty()) {
      std::memcpy(out.data(), p, static_cast<size_t>(n) * 4);
    } else {
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(&out[i], p + 4 * at(i), 4);
    }
    break;
  case DType::F16:
    for (int64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(load16(p + 2 * at(i)));
    break;
  case DType::BF16:
    for (int64_t i = 0; i < n; ++i)
      out[i] = bfloat16ToFloat(load16(p + 2 * at(i)));
    break;
  default: {
    const GgmlType *gt = ggmlType(static_cast<int>(t.type));
    for (int64_t blk = 0; blk < n / kQK; ++blk)
      dequantizeBlock(static_cast<int>(t.type), p + blk * gt->blockBytes,
                      &out[blk * kQK]);
  }
  }
  return out;
}

const uint16_t *Checkpoint::bf16Data(const TensorInfo &t) const {
  const uint8_t *p = data_ + t.offset;
  if (t.type != DType::BF16 || !t.strides.empty() ||
      reinterpret_cast<uintptr_t>(p) % alignof(uint16_t) != 0)
    return nullptr;
  return reinterpret_cast<const uint16_t *>(p);
}

const uint8_t *Checkpoint::q8Data(const TensorInfo &t) const {
  if (t.type != DType::Q8_0 || !t.strides.empty())
    return nullptr;
  return data_ + t.offset;
}

const float *Checkpoint::f32Data(const TensorInfo &t) const {
  const uint8_t *p = data_ + t.offset;
  if (t.type != DType::F32 || !t.strides.empty() ||
      reinterpret_cast<uintptr_t>(p) % alignof(float) != 0)
    return nullptr;
  return reinterpret_cast<const float *>(p);
}

} // namespace rwkvrt
