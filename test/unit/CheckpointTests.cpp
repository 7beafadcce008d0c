//===- CheckpointTests.cpp - the weight-file reader's block formats -------===//
//
// rwkv.cpp quantized tensors use ggml's block layouts (32 elements a block;
// ../shared/data/rwkvcpp-tiny/SOURCE.md). These tests write one block of each
// format with known fields and check the decoded values element by element,
// so a layout mistake (nibble order, high-bit order, scale/min position)
// cannot hide behind the end-to-end logit tolerance.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

namespace fs = std::filesystem;
using rwkvrt::Checkpoint;

namespace {

/// float -> IEEE half for values that are exact in half precision.
uint16_t half(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((bits >> 23) & 0xFF) - 127 + 15;
  return static_cast<uint16_t>(sign | (exp << 10) | ((bits >> 13) & 0x3FF));
}

/// Writes an rwkv.cpp file holding one tensor "t" of 32 elements.
std::string writeFile(int type, const std::vector<uint8_t> &block) {
  fs::path path =
      fs::temp_directory_path() / ("rwkv-ckpt-" + std::to_string(::getpid()) +
                                   "-" + std::to_string(type) + ".bin");
  std::ofstream out(path, std::ios::binary);
  auto put = [&](int32_t v) { out.write(reinterpret_cast<char *>(&v), 4); };
  for (int32_t v : {0x67676d66, 101, 256, 32, 1, type})
    put(v);
  put(1);    // dims
  put(1);    // key length
  put(type); // data type
  put(32);   // shape
  out.write("t", 1);
  out.write(reinterpret_cast<const char *>(block.data()),
            static_cast<std::streamsize>(block.size()));
  return path.string();
}

std::vector<float> decode(int type, const std::vector<uint8_t> &block) {
  std::string path = writeFile(type, block);
  auto ck = Checkpoint::open(path);
  const rwkvrt::TensorInfo *t = ck->find("t");
  EXPECT_NE(t, nullptr);
  std::vector<float> out = ck->readF32(*t);
  fs::remove(path);
  return out;
}

void append16(std::vector<uint8_t> &b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xFF));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

/// 16 bytes of nibbles: element j (< 16) in the low nibble of byte j,
/// element j + 16 in its high nibble.
void appendNibbles(std::vector<uint8_t> &b, const std::function<int(int)> &q) {
  for (int j = 0; j < 16; ++j)
    b.push_back(static_cast<uint8_t>((q(j) & 0xF) | ((q(j + 16) & 0xF) << 4)));
}

} // namespace

TEST(Checkpoint, Q4_0) {
  auto q = [](int i) { return (i * 5) % 16; };
  std::vector<uint8_t> b;
  append16(b, half(0.25f));
  appendNibbles(b, q);
  std::vector<float> x = decode(2, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_FLOAT_EQ(x[i], (q(i) - 8) * 0.25f) << i;
}

TEST(Checkpoint, Q4_1) {
  auto q = [](int i) { return (i * 7 + 3) % 16; };
  std::vector<uint8_t> b;
  append16(b, half(0.5f));
  append16(b, half(-2.0f));
  appendNibbles(b, q);
  std::vector<float> x = decode(3, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_FLOAT_EQ(x[i], q(i) * 0.5f - 2.0f) << i;
}

/// Q5_x: the 5th bit of element i is bit i of the 32-bit qh word.
void appendHighBits(std::vector<uint8_t> &b, const std::function<int(int)> &q) {
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i)
    qh |= static_cast<uint32_t>((q(i) >> 4) & 1) << i;
  for (int k = 0; k < 4; ++k)
    b.push_back(static_cast<uint8_t>(qh >> (8 * k)));
}

TEST(Checkpoint, Q5_0) {
  auto q = [](int i) { return (i * 11 + 1) % 32; };
  std::vector<uint8_t> b;
  append16(b, half(0.125f));
  appendHighBits(b, q);
  appendNibbles(b, q);
  std::vector<float> x = decode(7, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_FLOAT_EQ(x[i], (q(i) - 16) * 0.125f) << i;
}

TEST(Checkpoint, Q5_1) {
  auto q = [](int i) { return (i * 13 + 7) % 32; };
  std::vector<uint8_t> b;
  append16(b, half(0.0625f));
  append16(b, half(1.5f));
  appendHighBits(b, q);
  appendNibbles(b, q);
  std::vector<float> x = decode(8, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_FLOAT_EQ(x[i], q(i) * 0.0625f + 1.5f) << i;
}

TEST(Checkpoint, Q8_0) {
  std::vector<uint8_t> b;
  append16(b, half(0.5f));
  for (int i = 0; i < 32; ++i)
    b.push_back(static_cast<uint8_t>(static_cast<int8_t>(i * 9 - 128)));
  std::vector<float> x = decode(9, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_FLOAT_EQ(x[i], static_cast<int8_t>(i * 9 - 128) * 0.5f) << i;
}

TEST(Checkpoint, F16IncludingSubnormals) {
  std::vector<uint8_t> b;
  const uint16_t bits[] = {0x0000, 0x8000, 0x3C00, 0xC000,
                           0x0001, 0x03FF, 0x7BFF, 0x7C00};
  const float want[] = {0.0f,          -0.0f,         1.0f,     -2.0f,
                        5.9604645e-8f, 6.0975552e-5f, 65504.0f, INFINITY};
  for (int i = 0; i < 32; ++i)
    append16(b, bits[i % 8]);
  std::vector<float> x = decode(1, b);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(x[i], want[i % 8]) << i;
}

TEST(Checkpoint, UnknownTypeIsRejected) {
  std::string path = writeFile(5, std::vector<uint8_t>(64, 0));
  try {
    Checkpoint::open(path);
    ADD_FAILURE() << "type 5 was accepted";
  } catch (const rwkvrt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("tensor 't' has unknown data type 5"),
              std::string::npos)
        << e.what();
  }
  fs::remove(path);
}
