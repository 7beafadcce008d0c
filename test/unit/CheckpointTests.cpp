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
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

namespace fs = std::filesystem;
using rwkvrt::Checkpoint;
using rwkvrt::floatToHalf;
using rwkvrt::halfToFloat;
using rwkvrt::load16;
using rwkvrt::quantizeQ8_0;

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

// float -> half as the Q8_0 quantizer stores its scales: every f16 value
// (normal, subnormal, zero, Inf) round-trips, halfway cases round to even,
// overflow goes to Inf and NaN stays NaN.
TEST(Checkpoint, FloatToHalfRoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) // NaN payloads
      continue;
    EXPECT_EQ(floatToHalf(halfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f), 0x3C00);            // tie: to even
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01); // above the tie
  EXPECT_EQ(floatToHalf(1.0f + 3 * 0x1p-11f), 0x3C02);        // tie: to even
  EXPECT_EQ(floatToHalf(0x1p-25f), 0x0000);                   // tie below 2^-24
  EXPECT_EQ(floatToHalf(3 * 0x1p-25f), 0x0002);               // subnormal tie
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // rounds past the largest half
  EXPECT_EQ(floatToHalf(-1e9f), 0xFC00);
  EXPECT_EQ(floatToHalf(NAN) & 0x7C00, 0x7C00);
  EXPECT_NE(floatToHalf(NAN) & 0x3FF, 0);
}

// ggml's reference Q8_0 quantizer: d = max|x| / 127 (stored as f16), the
// largest magnitude maps to +-127, q = round(x / d) with halves away from
// zero; an all-zero block stores d = 0 and q = 0; decoding gives d * q.
TEST(Checkpoint, QuantizeQ8_0AsGgml) {
  std::vector<float> x(64);
  for (int i = 0; i < 32; ++i)
    x[i] = (i - 16) * 0.25f;   // max |x| = 4: d = 4/127
  x[5] = 2.5f * 4.0f / 127.0f; // a half: rounds away from zero to 3
  std::vector<uint8_t> out(68, 0xAA);
  EXPECT_EQ(quantizeQ8_0(x.data(), 64, out.data()), -1);
  const float d = 4.0f / 127.0f;
  EXPECT_EQ(load16(out.data()), floatToHalf(d));
  EXPECT_EQ(static_cast<int8_t>(out[2 + 0]), -127);
  EXPECT_EQ(static_cast<int8_t>(out[2 + 5]), 3);
  for (int i = 0; i < 32; ++i)
    if (i != 5)
      EXPECT_EQ(static_cast<int8_t>(out[2 + i]),
                static_cast<int8_t>(std::round(x[i] * (1.0f / d))))
          << i;
  EXPECT_EQ(load16(out.data() + 34), 0); // the zero block
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(out[36 + i], 0) << i;
  // Through the .bin decoder: within d / 2 of every input.
  std::vector<uint8_t> blob(out.begin(), out.begin() + 34);
  std::vector<float> back = decode(9, blob);
  for (int i = 0; i < 32; ++i)
    EXPECT_LE(std::fabs(back[i] - x[i]), 0.5f * halfToFloat(load16(out.data())))
        << i;
  // Values Q8_0 cannot hold: the first non-finite one, or the largest of a
  // block whose scale overflows f16.
  std::vector<float> bad(64, 1.0f);
  bad[40] = NAN;
  bad[50] = INFINITY;
  EXPECT_EQ(quantizeQ8_0(bad.data(), 64, out.data()), 40);
  bad[40] = 1.0f, bad[50] = 1.0f;
  bad[7] = -1e7f; // d = 1e7 / 127 > 65504
  EXPECT_EQ(quantizeQ8_0(bad.data(), 64, out.data()), 7);
  bad[7] = -8e6f; // d = 62992: representable
  EXPECT_EQ(quantizeQ8_0(bad.data(), 64, out.data()), -1);
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

//===----------------------------------------------------------------------===//
// Hostile files: sizes that overflow, damaged safetensors headers, names
// with bytes that must not reach a message raw. Each case checks the text.
//===----------------------------------------------------------------------===//

namespace {

std::string scratchPath(const std::string &name) {
  return (fs::temp_directory_path() /
          ("rwkv-ckpt-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

/// Writes a safetensors file: `header` (JSON) as given, the length field
/// `header.size() + lengthDelta`, then `dataBytes` bytes 0..255 repeating.
std::string writeSafetensors(const std::string &name, const std::string &header,
                             uint64_t dataBytes, int64_t lengthDelta = 0) {
  std::string path = scratchPath(name + ".safetensors");
  std::ofstream out(path, std::ios::binary);
  uint64_t len = header.size() + lengthDelta;
  out.write(reinterpret_cast<const char *>(&len), 8);
  out << header;
  for (uint64_t i = 0; i < dataBytes; ++i)
    out.put(static_cast<char>(i & 0xFF));
  return path;
}

/// The message Checkpoint::open throws for `path` ("" if it opens).
std::string openError(const std::string &path) {
  try {
    Checkpoint::open(path);
  } catch (const rwkvrt::Error &e) {
    fs::remove(path);
    EXPECT_EQ(e.status(), RWKV_ERROR_FORMAT) << e.what();
    return e.what();
  }
  fs::remove(path);
  return "";
}

#define EXPECT_MESSAGE(message, text)                                          \
  EXPECT_NE((message).find(text), std::string::npos) << (message)

/// Two f32 tensors a [4] at [0, 16] and b [2, 2] at [16, 32].
const char kTwo[] =
    R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
    R"("b":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}})";

} // namespace

TEST(Checkpoint, SafetensorsValidFileOpens) {
  std::string path = writeSafetensors("valid", std::string(kTwo) + "   ", 32);
  auto ck = Checkpoint::open(path);
  ASSERT_NE(ck->find("b"), nullptr);
  EXPECT_EQ(ck->find("b")->offset, 8 + std::strlen(kTwo) + 3 + 16);
  fs::remove(path);
}

// An empty tensor (a [0] shape is valid safetensors) reads as no values;
// the reader used to pass a null pointer to memcpy (UBSan, found by
// test/fuzz/checkpoint-fuzzer).
TEST(Checkpoint, EmptyTensorReadsAsNoValues) {
  std::string path = writeSafetensors(
      "empty",
      R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      4);
  auto ck = Checkpoint::open(path);
  ASSERT_NE(ck->find("e"), nullptr);
  EXPECT_TRUE(ck->readF32(*ck->find("e")).empty());
  EXPECT_EQ(ck->readF32(*ck->find("a")).size(), 1u);
  fs::remove(path);
}

TEST(Checkpoint, SafetensorsHeaderLengthOffByOne) {
  // One byte short: the data would start a byte early (every tensor
  // shifted); one byte long: the header takes in a byte of data.
  std::string header = std::string(kTwo) + " ";
  std::string path = writeSafetensors("short", header, 32, -1);
  std::string m = openError(path);
  EXPECT_MESSAGE(m, path +
                        ": safetensors tensors cover 32 bytes of data, "
                        "but the file has 33 bytes after the " +
                        std::to_string(header.size() - 1) + "-byte header");
  EXPECT_MESSAGE(m, "is the header length at bytes 0-7 wrong?");
  path = writeSafetensors("long", kTwo, 32, +1);
  m = openError(path);
  EXPECT_MESSAGE(m, path + ": safetensors header (bytes 8-" +
                        std::to_string(8 + std::strlen(kTwo)) +
                        ", length from bytes 0-7) must be a JSON object "
                        "padded with spaces, but its last non-space byte");
  EXPECT_MESSAGE(m, "is '\\x00', not '}'");
}

TEST(Checkpoint, SafetensorsOffsetsMustTileTheData) {
  // Overlapping tensors.
  std::string m = openError(writeSafetensors(
      "overlap",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F32","shape":[4],"data_offsets":[12,28]}})",
      28));
  EXPECT_MESSAGE(m, "safetensors tensors overlap: 'b' [12, 28] begins inside "
                    "'a' [0, 16] (data_offsets must not overlap)");
  // Every tensor at offset 0.
  m = openError(writeSafetensors(
      "zero",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
      16));
  EXPECT_MESSAGE(m, "safetensors tensors overlap: 'b' [0, 16] begins inside "
                    "'a' [0, 16]");
  // A hole between tensors.
  m = openError(writeSafetensors(
      "hole",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F32","shape":[4],"data_offsets":[20,36]}})",
      36));
  EXPECT_MESSAGE(m, "safetensors data has a hole: bytes [16, 20) of the data "
                    "belong to no tensor (after 'a' [0, 16], before 'b' "
                    "[20, 36])");
  // Trailing bytes nobody indexes.
  m = openError(writeSafetensors("tail", kTwo, 40));
  EXPECT_MESSAGE(m, "safetensors tensors cover 32 bytes of data, but the file "
                    "has 40 bytes");
  // Past the end of the file.
  m = openError(writeSafetensors("past", kTwo, 24));
  EXPECT_MESSAGE(m, "truncated: tensor 'b' [2, 2] f32 has data_offsets [16, "
                    "32], but the data (from byte");
}

TEST(Checkpoint, SafetensorsSizesDoNotOverflow) {
  // end < begin: the span must not wrap around.
  std::string m = openError(
      writeSafetensors("backwards",
                       R"({"w":{"dtype":"F32","shape":[256,64],)"
                       R"("data_offsets":[18446744073709551600,65520]}})",
                       0));
  EXPECT_MESSAGE(m, "safetensors entry 'w': data_offsets "
                    "[18446744073709551600, 65520] end before they begin");
  // 2^62 x 2^62 elements: the element count must not wrap to 0.
  m = openError(
      writeSafetensors("huge",
                       R"({"w":{"dtype":"F32","shape":[4611686018427387904,)"
                       R"(4611686018427387904],"data_offsets":[0,0]}})",
                       0));
  EXPECT_MESSAGE(m, "safetensors entry 'w': shape [4611686018427387904, "
                    "4611686018427387904] of F32 elements has more bytes "
                    "than fit in 64 bits");
  m = openError(
      writeSafetensors("huge-dim",
                       R"({"w":{"dtype":"F32","shape":[18446744073709551615],)"
                       R"("data_offsets":[0,0]}})",
                       0));
  EXPECT_MESSAGE(m, "shape must be an array of non-negative integers below "
                    "2^63, got [18446744073709551615]");
}

TEST(Checkpoint, SafetensorsHeaderRules) {
  std::string m = openError(writeSafetensors(
      "dup",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}})",
      32));
  EXPECT_MESSAGE(m, "safetensors header has the key 'a' twice (duplicate "
                    "keys are not allowed)");
  m = openError(writeSafetensors(
      "metadata",
      R"({"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[4],)"
      R"("data_offsets":[0,16]}})",
      16));
  EXPECT_MESSAGE(m, "safetensors __metadata__ entry 'n' must be a string");
  // Found by the checkpoint fuzzer: a number past a double's range threw
  // nlohmann's out_of_range through Checkpoint::open (std::terminate).
  m = openError(writeSafetensors(
      "huge-number",
      R"({"a":{"dtype":"F32","shape":[5e1111111111],"data_offsets":[0,16]}})",
      16));
  EXPECT_MESSAGE(m, "safetensors header is not valid JSON here: "
                    "[json.exception.out_of_range.406] number overflow");
}

TEST(Checkpoint, NamesFromFilesAreEscaped) {
  // A NUL inside a name must not end the message, nor an escape byte reach
  // the terminal raw.
  std::string m = openError(
      writeSafetensors("nul",
                       R"({"we\u0000ig\u001bht":{"dtype":"F32","shape":[8],)"
                       R"("data_offsets":[0,16]}})",
                       16));
  EXPECT_MESSAGE(m, "safetensors entry 'we\\x00ig\\x1bht': data_offsets "
                    "[0, 16] span 16 bytes; a [8] F32 tensor needs 32");
  EXPECT_EQ(std::strlen(m.c_str()), m.size());
  EXPECT_EQ(m.find('\x1b'), std::string::npos);

  // rwkv.cpp names are raw bytes.
  std::string path = scratchPath("nul.bin");
  {
    std::ofstream out(path, std::ios::binary);
    auto put = [&](int32_t v) { out.write(reinterpret_cast<char *>(&v), 4); };
    for (int32_t v : {0x67676d66, 101, 256, 32, 1, 0})
      put(v);
    put(1), put(3), put(5), put(32);
    out.write("t\0\n", 3);
  }
  m = openError(path);
  EXPECT_MESSAGE(m, "tensor 't\\x00\\x0a' has unknown data type 5");
}

TEST(Checkpoint, RwkvCppSizesDoNotOverflow) {
  // Four dimensions of 2^31 - 1: 2^124 elements.
  std::string path = scratchPath("huge.bin");
  {
    std::ofstream out(path, std::ios::binary);
    auto put = [&](int32_t v) { out.write(reinterpret_cast<char *>(&v), 4); };
    for (int32_t v : {0x67676d66, 101, 256, 32, 1, 0})
      put(v);
    put(4), put(1), put(0);
    for (int i = 0; i < 4; ++i)
      put(INT32_MAX);
    out.write("t", 1);
  }
  std::string m = openError(path);
  EXPECT_MESSAGE(m, "tensor 't' [2147483647, 2147483647, 2147483647, "
                    "2147483647] f32 (header at byte 24) has more bytes than "
                    "fit in 64 bits");
}

// GGUF metadata of every scalar type is recorded (the fuzz seed
// metadata.gguf), and MetaValue compares as [checkpoint.metadata] needs:
// integers exactly, floats to f32 precision, kinds otherwise strictly.
TEST(Checkpoint, GgufMetadataIsRecorded) {
  auto ck = Checkpoint::open(RWKV_FUZZ_CORPUS "/checkpoint/metadata.gguf");
  ASSERT_TRUE(ck->recordsMetadata());
  const auto &m = ck->metadata();
  auto text = [&](const char *key) {
    auto it = m.find(key);
    return it == m.end() ? std::string("(absent)") : it->second.describe();
  };
  EXPECT_EQ(text("general.architecture"), "'rwkv6' (a string)");
  EXPECT_EQ(text("rwkv6.rescale_every_n_layers"), "6 (an integer)");
  EXPECT_EQ(text("a.u8"), "7 (an integer)");
  EXPECT_EQ(text("a.i8"), "-1 (an integer)");
  EXPECT_EQ(text("a.i16"), "-9 (an integer)");
  EXPECT_EQ(text("a.i32"), "-5 (an integer)");
  EXPECT_EQ(text("a.u64"), "9223372036854775808 (an integer)");
  EXPECT_EQ(text("a.i64"), "-1099511627776 (an integer)");
  EXPECT_EQ(text("a.f32"), "9.99999975e-06 (a float)");
  EXPECT_EQ(text("a.f64"), "0.5 (a float)");
  EXPECT_EQ(text("a.bool"), "true (a boolean)");
  EXPECT_EQ(text("a.arr"), "an array of 2 elements");

  using rwkvrt::MetaValue;
  using Kind = MetaValue::Kind;
  MetaValue eps{Kind::Float, "1e-05", 1e-5};
  EXPECT_TRUE(m.at("a.f32").matches(eps)); // f32-rounded 1e-5
  EXPECT_FALSE(m.at("a.f32").matches(MetaValue{Kind::Float, "2e-05", 2e-5}));
  EXPECT_TRUE(m.at("rwkv6.rescale_every_n_layers")
                  .matches(MetaValue{Kind::Float, "6", 6.0}));
  EXPECT_FALSE(m.at("rwkv6.rescale_every_n_layers")
                   .matches(MetaValue{Kind::String, "6", 0}));
  EXPECT_FALSE(m.at("general.architecture")
                   .matches(MetaValue{Kind::String, "rwkv7", 0}));
  EXPECT_TRUE(m.at("a.bool").matches(MetaValue{Kind::Bool, "true", 0}));
  EXPECT_EQ(text("general.alignment"), "32 (an integer)");
  // safetensors metadata are strings: compared as the value they spell.
  MetaValue six{Kind::String, "6", 0};
  EXPECT_TRUE(six.matches(MetaValue{Kind::Int, "6", 6}));
  EXPECT_FALSE(six.matches(MetaValue{Kind::Int, "7", 7}));
  EXPECT_TRUE((MetaValue{Kind::String, "1e-05", 0})
                  .matches(MetaValue{Kind::Float, "1e-05", 1e-5}));
  EXPECT_FALSE(
      (MetaValue{Kind::String, "6x", 0}).matches(MetaValue{Kind::Int, "6", 6}));
  EXPECT_TRUE((MetaValue{Kind::String, "true", 0})
                  .matches(MetaValue{Kind::Bool, "true", 0}));

  // A key given twice is refused by name.
  std::vector<char> bytes;
  {
    std::ifstream in(RWKV_FUZZ_CORPUS "/checkpoint/metadata.gguf",
                     std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // "a.u8" renamed in place to "a.i8", the key that follows it.
  std::string hay(bytes.begin(), bytes.end());
  size_t at = hay.find("a.u8");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = 'i'; // "a.i8", which follows it
  std::string dup = scratchPath("dup.gguf");
  std::ofstream(dup, std::ios::binary).write(bytes.data(), bytes.size());
  try {
    Checkpoint::open(dup);
    ADD_FAILURE() << "a duplicate metadata key was accepted";
  } catch (const rwkvrt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("metadata 'a.i8' at byte"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("is a duplicate (keys must be "
                                         "unique)"),
              std::string::npos)
        << e.what();
  }
  // A file format without metadata records none, and is not checked.
  if (std::ifstream(RWKV_SHARED_DATA
                    "/rwkvcpp-tiny/tiny-rwkv-7v0-834K-FP32.bin"))
    EXPECT_FALSE(Checkpoint::open(RWKV_SHARED_DATA
                                  "/rwkvcpp-tiny/tiny-rwkv-7v0-834K-FP32.bin")
                     ->recordsMetadata());
}
