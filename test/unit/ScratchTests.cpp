//===- ScratchTests.cpp - the runtime's cache of temporaries --------------===//
//
// runtime/src/Scratch.h: blocks freed by the generated code are handed out
// again for the same size, per thread, up to a cap; blocks freed on another
// thread are kept by that thread.
//
//===----------------------------------------------------------------------===//

#include "Scratch.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <cstring>
#include <thread>

using namespace rwkvrt;

TEST(Scratch, ReusesAFreedBlockOfTheSameSize) {
  size_t before = scratchCachedBytes();
  void *a = rwkvScratchAlloc(1 << 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 16, 0u);
  std::memset(a, 0x5a, 1 << 20); // the whole block is usable
  rwkvScratchFree(a);
  EXPECT_EQ(scratchCachedBytes(), before + (1 << 20));
  void *other = rwkvScratchAlloc((1 << 20) + 64); // another size: fresh
  EXPECT_NE(other, a);
  void *again = rwkvScratchAlloc(1 << 20);
  EXPECT_EQ(again, a);
  EXPECT_EQ(scratchCachedBytes(), before);
  rwkvScratchFree(other);
  rwkvScratchFree(again);
  rwkvScratchFree(nullptr); // like free(NULL)
}

TEST(Scratch, KeepsAtMostTheCapPerThread) {
  std::thread([] {
    // Two blocks of 3/4 of the cap: the second does not fit and goes back
    // to libc.
    size_t big = kScratchCacheBytes / 4 * 3;
    void *a = rwkvScratchAlloc(big), *b = rwkvScratchAlloc(big);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    rwkvScratchFree(a);
    rwkvScratchFree(b);
    EXPECT_EQ(scratchCachedBytes(), big);
  }).join();
}

TEST(Scratch, ABlockFreedOnAnotherThreadStaysThere) {
  void *a = rwkvScratchAlloc(4096);
  size_t mine = scratchCachedBytes();
  std::thread([a] {
    rwkvScratchFree(a);
    EXPECT_EQ(scratchCachedBytes(), 4096u);
    EXPECT_EQ(rwkvScratchAlloc(4096), a);
    rwkvScratchFree(a);
  }).join();
  EXPECT_EQ(scratchCachedBytes(), mine);
}
