#pragma once
// One fault of the chaos run, as the fault driver injected (or, for a master
// that stepped down on its own, noticed) it: what the checker needs to decide
// whether a fault explains a launch that vanished.

#include <cstdint>
#include <string>

namespace agora::chaos {

struct FaultRecord {
  enum class Kind {
    kLeaderKilled,      // SIGKILL of the leading master
    kLeaderSteppedDown, // the leading master exited on its own (status 3)
    kAgentKilled,
    kExecutorKilled,
    kSchedulerKilled,   // target: "keeper" or "batcher"
    kAgentCut,          // its network link down
  };
  Kind kind;
  std::string target;  // "master1", "agent0", "keeper", "pid 123 (task short-4)"
  int64_t atMs = 0;    // monotonicMs() (journal.hpp) when it happened
  // When the process was started again or the cut healed; -1 until then
  // (and for faults without an end: an executor kill, a step-down).
  int64_t endMs = -1;
};

// "SIGKILL leading master1" and the like.
std::string describe(const FaultRecord& fault);

}  // namespace agora::chaos
