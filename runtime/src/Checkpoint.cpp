//===- Checkpoint.cpp - reading weight files ------------------------------===//

#include "Checkpoint.h"

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
                               {9, "q8_0", 34, 0}};

const GgmlType *ggmlType(int code) {
  for (const GgmlType &t : kGgmlTypes)
    if (t.code == code)
      return &t;
  return nullptr;
}

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
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

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

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
  if (ck->size_ >= 4 && std::memcmp(ck->data_, "PK\x03\x04", 4) == 0)
    fail(RWKV_ERROR_FORMAT,
         path + ": looks like a PyTorch .pth (zip) checkpoint, which this "
                "runtime cannot read yet; convert it with rwkv.cpp's "
                "convert_pytorch_to_ggml.py");
  fail(RWKV_ERROR_FORMAT,
       path + ": unknown checkpoint format (expected an rwkv.cpp .bin with "
              "magic 0x67676d66 at offset 0)");
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
      fail(RWKV_ERROR_FORMAT, path_ + ": truncated at byte " +
                                  std::to_string(off) +
                                  " inside a tensor name");
    TensorInfo t;
    t.name.assign(reinterpret_cast<const char *>(data_ + off), keyLen);
    off += keyLen;
    // ggml stores dimensions innermost first.
    t.shape.assign(ggmlShape.rbegin(), ggmlShape.rend());
    t.type = type;
    const GgmlType *gt = ggmlType(type);
    if (!gt)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor '" + t.name +
                                  "' has unknown data type " +
                                  std::to_string(type) +
                                  " (supported: 0 f32, 1 f16, 2 q4_0, 3 "
                                  "q4_1, 7 q5_0, 8 q5_1, 9 q8_0)");
    t.typeName = gt->name;
    int64_t n = t.elements();
    if (gt->blockBytes) {
      if (n % kQK != 0)
        fail(RWKV_ERROR_FORMAT, path_ + ": quantized tensor '" + t.name +
                                    "' has " + std::to_string(n) +
                                    " elements, not a multiple of 32");
      t.bytes = static_cast<uint64_t>(n / kQK) * gt->blockBytes;
    } else {
      t.bytes = static_cast<uint64_t>(n) * gt->elementBytes;
    }
    t.offset = off;
    if (off + t.bytes > size_)
      fail(RWKV_ERROR_FORMAT, path_ + ": truncated: tensor '" + t.name + "' " +
                                  shapeString(t.shape) + " " + t.typeName +
                                  " needs " + std::to_string(t.bytes) +
                                  " bytes at byte " + std::to_string(off) +
                                  ", the file ends at " +
                                  std::to_string(size_));
    off += t.bytes;
    if (!tensors_.emplace(t.name, t).second)
      fail(RWKV_ERROR_FORMAT, path_ + ": tensor '" + t.name +
                                  "' appears twice (second at byte " +
                                  std::to_string(start) + ")");
  }
}

const TensorInfo *Checkpoint::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<float> Checkpoint::readF32(const TensorInfo &t) const {
  int64_t n = t.elements();
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t *p = data_ + t.offset;
  const GgmlType *gt = ggmlType(t.type);
  if (t.type == 0) {
    std::memcpy(out.data(), p, static_cast<size_t>(n) * 4);
  } else if (t.type == 1) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(load16(p + 2 * i));
  } else {
    for (int64_t blk = 0; blk < n / kQK; ++blk)
      dequantizeBlock(t.type, p + blk * gt->blockBytes, &out[blk * kQK]);
  }
  return out;
}

} // namespace rwkvrt
