#pragma once
// Gives freed heap back to the system. glibc keeps memory freed by other
// threads' arenas (libzmq's I/O thread allocates about 28 KB per connection
// there) until a trim: 10,000 connections that came and went left a master
// at ~287 MB resident, 12 MB after malloc_trim. HeapTrimmer checks every
// `interval` how much the allocator holds free and trims once that passes
// `threshold`, counting what it returned in
// agora_heap_trimmed_bytes_total{process=NAME}.
//
// Thread: the loop's.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/metrics.hpp"

namespace agora {

// Bytes the allocator holds free across its arenas (mallinfo2's fordblks).
size_t heapFreeBytes();

// Trims every arena; returns how much the resident set shrank (0 if it did not).
uint64_t trimHeap();

class HeapTrimmer {
 public:
  static constexpr size_t kDefaultThreshold = size_t{32} << 20;

  HeapTrimmer(EventLoop& loop, Metrics& metrics, const std::string& process,
              Duration interval = std::chrono::seconds(10), size_t threshold = kDefaultThreshold);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Trims now if the free heap is past the threshold; true if it trimmed.
  bool check();

 private:
  EventLoop& loop_;
  prometheus::Counter& trimmed_;
  size_t threshold_;
  EventLoop::TimerId timer_ = 0;
};

}  // namespace agora
