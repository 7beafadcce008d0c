//===- Scratch.cpp - reuse of the generated code's temporaries ------------===//

#include "Scratch.h"

#include <cstdlib>
#include <unordered_map>
#include <vector>

namespace rwkvrt {

namespace {

/// Each block starts with its size, padded to keep malloc's 16-byte
/// alignment for the caller.
constexpr size_t kHeader = 16;

struct Cache {
  std::unordered_map<size_t, std::vector<void *>> free;
  size_t bytes = 0;
  ~Cache() {
    for (auto &kv : free)
      for (void *base : kv.second)
        std::free(base);
  }
};

Cache &cache() {
  thread_local Cache c;
  return c;
}

} // namespace

extern "C" void *rwkvScratchAlloc(size_t bytes) {
  Cache &c = cache();
  auto it = c.free.find(bytes);
  if (it != c.free.end() && !it->second.empty()) {
    void *base = it->second.back();
    it->second.pop_back();
    c.bytes -= bytes;
    return static_cast<char *>(base) + kHeader;
  }
  if (bytes > SIZE_MAX - kHeader)
    return nullptr;
  void *base = std::malloc(bytes + kHeader);
  if (!base)
    return nullptr;
  *static_cast<size_t *>(base) = bytes;
  return static_cast<char *>(base) + kHeader;
}

extern "C" void rwkvScratchFree(void *p) {
  if (!p)
    return;
  void *base = static_cast<char *>(p) - kHeader;
  size_t bytes = *static_cast<size_t *>(base);
  Cache &c = cache();
  if (c.bytes + bytes > kScratchCacheBytes) {
    std::free(base);
    return;
  }
  c.free[bytes].push_back(base);
  c.bytes += bytes;
}

size_t scratchCachedBytes() { return cache().bytes; }

} // namespace rwkvrt
