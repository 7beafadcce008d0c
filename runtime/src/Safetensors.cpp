//===- Safetensors.cpp - indexing safetensors files -----------------------===//
//
// Layout (https://github.com/huggingface/safetensors, "Format"): u64
// little-endian header length N, N bytes of UTF-8 JSON that start with '{'
// (trailing spaces allowed), then the byte buffer. The JSON maps each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} with offsets
// relative to the start of the byte buffer, end - begin the tensor's size
// (elements x dtype size); "__metadata__" maps strings to strings. Duplicate
// keys are disallowed, and the byte buffer must be entirely indexed
// without holes: sorted by offset, the tensors start at 0, each where the
// previous one ends, and the last ends where the file does. A header length
// that is off by a byte, overlapping tensors or tensors that all start at 0
// are therefore refused here instead of loading shifted or aliased weights.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

namespace rwkvrt {

namespace {
/// The reference implementation's limit (safetensors MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
} // namespace

void Checkpoint::indexSafetensors() {
  recordsMetadata_ = true;
  uint64_t headerLen = 0;
  std::memcpy(&headerLen, data_, 8);
  if (headerLen > size_ - 8)
    fail(RWKV_ERROR_FORMAT, path_ + ": safetensors header length " +
                                std::to_string(headerLen) +
                                " (bytes 0-7) runs past the end of the file (" +
                                std::to_string(size_) + " bytes)");
  if (headerLen > kMaxHeaderBytes)
    fail(RWKV_ERROR_FORMAT, path_ + ": safetensors header length " +
                                std::to_string(headerLen) +
                                " (bytes 0-7) exceeds the format's limit of " +
                                std::to_string(kMaxHeaderBytes) + " bytes");
  format_ = "safetensors";
  const char *text = reinterpret_cast<const char *>(data_ + 8);
  // The header may be padded with spaces; nothing else may follow the
  // object (a length one byte too long takes in a byte of tensor data).
  uint64_t jsonLen = headerLen;
  while (jsonLen > 0 && text[jsonLen - 1] == ' ')
    --jsonLen;
  if (jsonLen == 0 || text[jsonLen - 1] != '}')
    fail(RWKV_ERROR_FORMAT,
         path_ + ": safetensors header (bytes 8-" +
             std::to_string(8 + headerLen - 1) +
             ", length from bytes 0-7) must be a JSON object padded with "
             "spaces, but its last non-space byte (byte " +
             std::to_string(8 + (jsonLen ? jsonLen - 1 : 0)) + ") is " +
             (jsonLen ? quotedName(std::string_view(text + jsonLen - 1, 1))
                      : std::string("absent")) +
             ", not '}' (is the header length wrong?)");
  // Duplicate keys are disallowed; nlohmann keeps the last one silently.
  std::set<std::string> seen;
  std::string duplicate;
  auto noteKeys = [&](int depth, nlohmann::json::parse_event_t event,
                      nlohmann::json &parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
        parsed.is_string() && !seen.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + jsonLen, noteKeys);
  } catch (const nlohmann::json::parse_error &e) {
    fail(RWKV_ERROR_FORMAT,
         path_ + ": safetensors header is not valid JSON (byte " +
             std::to_string(8 + e.byte) + "): " + escaped(e.what()));
  } catch (const nlohmann::json::exception &e) {
    // A number too large for a double (out_of_range 406), found by the
    // checkpoint fuzzer: JSON says nothing about ranges, so it parses.
    fail(RWKV_ERROR_FORMAT, path_ +
                                ": safetensors header is not valid JSON "
                                "here: " +
                                escaped(e.what()));
  }
  if (!header.is_object())
    fail(RWKV_ERROR_FORMAT,
         path_ + ": safetensors header must be a JSON object");
  if (!duplicate.empty())
    fail(RWKV_ERROR_FORMAT, path_ + ": safetensors header has the key " +
                                quotedName(duplicate) +
                                " twice (duplicate keys are not allowed)");
  const uint64_t dataStart = 8 + headerLen;
  const uint64_t bufferBytes = size_ - dataStart;
  struct Extent {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Extent> extents;
  for (auto &item : header.items()) {
    const std::string &name = item.key();
    const nlohmann::json &entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        fail(RWKV_ERROR_FORMAT,
             path_ + ": safetensors __metadata__ must be an object of strings");
      for (auto &m : entry.items())
        if (!m.value().is_string())
          fail(RWKV_ERROR_FORMAT, path_ + ": safetensors __metadata__ entry " +
                                      quotedName(m.key()) +
                                      " must be a string (the format allows "
                                      "only string values)");
        else
          metadata_[m.key()] = MetaValue{MetaValue::Kind::String,
                                         m.value().get<std::string>(), 0};
      continue;
    }
    auto bad = [&](const std::string &what) {
      fail(RWKV_ERROR_FORMAT,
           path_ + ": safetensors entry " + quotedName(name) + ": " + what);
    };
    if (!entry.is_object() || !entry.contains("dtype") ||
        !entry.contains("shape") || !entry.contains("data_offsets"))
      bad("expected an object with dtype, shape and data_offsets");
    const nlohmann::json &dtype = entry["dtype"], &shape = entry["shape"],
                         &offsets = entry["data_offsets"];
    if (!dtype.is_string())
      bad("dtype must be a string");
    TensorInfo t;
    t.name = name;
    std::string d = dtype.get<std::string>();
    uint64_t elementBytes = 0;
    if (d == "F32") {
      t.type = DType::F32, t.typeName = "f32", elementBytes = 4;
    } else if (d == "F16") {
      t.type = DType::F16, t.typeName = "f16", elementBytes = 2;
    } else if (d == "BF16") {
      t.type = DType::BF16, t.typeName = "bf16", elementBytes = 2;
    } else {
      bad("dtype " + quotedName(d) + " is not supported (F32, F16 or BF16)");
    }
    if (!shape.is_array())
      bad("shape must be an array of sizes");
    for (const nlohmann::json &dim : shape) {
      if (!dim.is_number_unsigned() ||
          dim.get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        bad("shape must be an array of non-negative integers below 2^63, "
            "got " +
            escaped(shape.dump()));
      t.shape.push_back(dim.get<int64_t>());
    }
    if (checkedElements(t.shape, elementBytes) < 0)
      bad("shape " + shapeString(t.shape) + " of " + d +
          " elements has more bytes than fit in 64 bits");
    if (!offsets.is_array() || offsets.size() != 2 ||
        !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      bad("data_offsets must be [begin, end] (non-negative integers)");
    uint64_t begin = offsets[0].get<uint64_t>(),
             end = offsets[1].get<uint64_t>();
    uint64_t want = static_cast<uint64_t>(t.elements()) * elementBytes;
    std::string range =
        "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (end < begin)
      bad("data_offsets " + range + " end before they begin");
    if (end - begin != want)
      bad("data_offsets " + range + " span " + std::to_string(end - begin) +
          " bytes; a " + shapeString(t.shape) + " " + d + " tensor needs " +
          std::to_string(want));
    if (end > bufferBytes)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": truncated: tensor " + quotedName(name) + " " +
               shapeString(t.shape) + " " + t.typeName + " has data_offsets " +
               range + ", but the data (from byte " +
               std::to_string(dataStart) + ") has " +
               std::to_string(bufferBytes) + " bytes; the file ends at " +
               std::to_string(size_));
    t.offset = dataStart + begin;
    t.bytes = want;
    extents.push_back({begin, end, name});
    tensors_.emplace(t.name, t);
  }
  // The byte buffer must be indexed entirely, without holes or overlaps.
  std::sort(extents.begin(), extents.end(),
            [](const Extent &a, const Extent &b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t at = 0;
  const Extent *previous = nullptr;
  auto range = [](const Extent &e) {
    return quotedName(e.name) + " [" + std::to_string(e.begin) + ", " +
           std::to_string(e.end) + "]";
  };
  for (const Extent &e : extents) {
    if (e.begin < at)
      fail(RWKV_ERROR_FORMAT, path_ +
                                  ": safetensors tensors overlap: " + range(e) +
                                  " begins inside " + range(*previous) +
                                  " (data_offsets must not overlap)");
    if (e.begin > at)
      fail(RWKV_ERROR_FORMAT,
           path_ + ": safetensors data has a hole: bytes [" +
               std::to_string(at) + ", " + std::to_string(e.begin) +
               ") of the data belong to no tensor (" +
               (previous ? "after " + range(*previous) + ", " : "") +
               "before " + range(e) +
               "); the format requires contiguous data_offsets");
    at = e.end;
    previous = &e;
  }
  if (at != bufferBytes)
    fail(RWKV_ERROR_FORMAT,
         path_ + ": safetensors tensors cover " + std::to_string(at) +
             " bytes of data, but the file has " + std::to_string(bufferBytes) +
             " bytes after the " + std::to_string(headerLen) +
             "-byte header (" + std::to_string(bufferBytes - at) +
             " unindexed bytes at the end: is the header length at bytes "
             "0-7 wrong?)");
}

} // namespace rwkvrt
