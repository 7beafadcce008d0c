//===- Safetensors.cpp - indexing safetensors files -----------------------===//
//
// Layout (https://github.com/huggingface/safetensors): u64 little-endian
// header length N, N bytes of JSON, then the data. The JSON maps each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} with offsets
// relative to the end of the header; "__metadata__" holds free-form strings.
//
//===----------------------------------------------------------------------===//

#include "Checkpoint.h"

#include <nlohmann/json.hpp>

#include <cstring>

namespace rwkvrt {

void Checkpoint::indexSafetensors() {
  uint64_t headerLen = 0;
  std::memcpy(&headerLen, data_, 8);
  if (headerLen > size_ - 8)
    fail(RWKV_ERROR_FORMAT, path_ + ": safetensors header length " +
                                std::to_string(headerLen) +
                                " (bytes 0-7) runs past the end of the file (" +
                                std::to_string(size_) + " bytes)");
  format_ = "safetensors";
  const char *text = reinterpret_cast<const char *>(data_ + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + headerLen);
  } catch (const nlohmann::json::parse_error &e) {
    fail(RWKV_ERROR_FORMAT, path_ +
                                ": safetensors header is not valid JSON "
                                "(byte " +
                                std::to_string(8 + e.byte) + "): " + e.what());
  }
  if (!header.is_object())
    fail(RWKV_ERROR_FORMAT,
         path_ + ": safetensors header must be a JSON object");
  const uint64_t dataStart = 8 + headerLen;
  for (auto &item : header.items()) {
    const std::string &name = item.key();
    const nlohmann::json &entry = item.value();
    if (name == "__metadata__")
      continue;
    auto bad = [&](const std::string &what) {
      fail(RWKV_ERROR_FORMAT,
           path_ + ": safetensors entry '" + name + "': " + what);
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
      bad("dtype " + d + " is not supported (F32, F16 or BF16)");
    }
    if (!shape.is_array())
      bad("shape must be an array of sizes");
    for (const nlohmann::json &dim : shape) {
      if (!dim.is_number_unsigned())
        bad("shape must be an array of non-negative integers");
      t.shape.push_back(dim.get<int64_t>());
    }
    if (!offsets.is_array() || offsets.size() != 2 ||
        !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      bad("data_offsets must be [begin, end]");
    uint64_t begin = offsets[0].get<uint64_t>(),
             end = offsets[1].get<uint64_t>();
    uint64_t want = static_cast<uint64_t>(t.elements()) * elementBytes;
    if (end < begin || end - begin != want)
      bad("data_offsets [" + std::to_string(begin) + ", " +
          std::to_string(end) + "] span " + std::to_string(end - begin) +
          " bytes; a " + shapeString(t.shape) + " " + d + " tensor needs " +
          std::to_string(want));
    t.offset = dataStart + begin;
    t.bytes = want;
    checkExtent(t);
    tensors_.emplace(t.name, t);
  }
}

} // namespace rwkvrt
