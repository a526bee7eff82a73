#include "common/heap_trim.hpp"

#include <glog/logging.h>
#include <malloc.h>

#include <fstream>
#include <string>

namespace agora {

namespace {

// VmRSS of this process in bytes, 0 if unknown.
uint64_t residentBytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

size_t heapFreeBytes() { return mallinfo2().fordblks; }

uint64_t trimHeap() {
  uint64_t before = residentBytes();
  malloc_trim(0);
  uint64_t after = residentBytes();
  return before > after ? before - after : 0;
}

HeapTrimmer::HeapTrimmer(EventLoop& loop, Metrics& metrics, const std::string& process,
                         Duration interval, size_t threshold)
    : loop_(loop),
      trimmed_(metrics.counter("agora_heap_trimmed_bytes_total",
                               "Resident bytes given back to the system by trimming freed heap",
                               {{"process", process}})),
      threshold_(threshold) {
  timer_ = loop_.addPeriodic(interval, [this] { check(); });
}

HeapTrimmer::~HeapTrimmer() { loop_.cancelTimer(timer_); }

bool HeapTrimmer::check() {
  size_t free = heapFreeBytes();
  if (free < threshold_) return false;
  uint64_t returned = trimHeap();
  trimmed_.Increment(static_cast<double>(returned));
  LOG(INFO) << "gave " << (returned >> 20) << " MiB of freed heap back to the system ("
            << (free >> 20) << " MiB free before)";
  return true;
}

}  // namespace agora
