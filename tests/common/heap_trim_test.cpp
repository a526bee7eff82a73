// HeapTrimmer against glibc's real allocator: heap freed by another thread
// (as libzmq's I/O thread frees a closed connection's buffers) stays
// resident until trimmed. Sanitizers replace the allocator: skipped there.

#include "common/heap_trim.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace agora {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif

TEST(HeapTrimTest, HeapFreedByAnotherThreadGoesBackToTheSystemPastTheThreshold) {
  if (kOwnAllocator) GTEST_SKIP() << "the sanitizer's allocator keeps freed memory itself";
  EventLoop loop;
  Metrics metrics;
  const size_t threshold = size_t{16} << 20;
  HeapTrimmer trimmer(loop, metrics, "test", std::chrono::hours(1), threshold);
  trimmer.check();  // start from a trimmed heap
  EXPECT_FALSE(trimmer.check()) << heapFreeBytes() << " bytes free after a trim";
  // 80 MiB in 2 KiB blocks, touched; one in 64 kept so the rest cannot
  // merge into the top of the heap and leave by themselves.
  std::vector<char*> kept;
  std::thread([&] {
    std::vector<char*> blocks;
    for (int i = 0; i < 40000; ++i) {
      auto* block = static_cast<char*>(std::malloc(2048));
      std::memset(block, 1, 2048);
      blocks.push_back(block);
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (i % 64 == 0) {
        kept.push_back(blocks[i]);
      } else {
        std::free(blocks[i]);
      }
    }
  }).join();
  EXPECT_GE(heapFreeBytes(), size_t{32} << 20);
  EXPECT_TRUE(trimmer.check());
  double returned = metrics.counter("agora_heap_trimmed_bytes_total", "", {{"process", "test"}})
                        .Value();
  // What counts is resident memory given back; glibc still counts the
  // trimmed chunks as free heap (they are only unmapped), so free bytes say
  // nothing here.
  EXPECT_GE(returned, 32.0 * (1 << 20)) << "bytes returned";
  for (char* block : kept) std::free(block);
}

}  // namespace
}  // namespace agora
