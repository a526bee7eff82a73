#include "tests/chaos/fault_record.hpp"

namespace agora::chaos {

std::string describe(const FaultRecord& fault) {
  switch (fault.kind) {
    case FaultRecord::Kind::kLeaderKilled: return "SIGKILL leading " + fault.target;
    case FaultRecord::Kind::kLeaderSteppedDown: return "leading " + fault.target + " stepped down";
    case FaultRecord::Kind::kAgentKilled: return "SIGKILL " + fault.target;
    case FaultRecord::Kind::kExecutorKilled: return "SIGKILL executor " + fault.target;
    case FaultRecord::Kind::kSchedulerKilled: return "SIGKILL framework " + fault.target;
    case FaultRecord::Kind::kAgentCut: return "cut " + fault.target;
  }
  return "fault";
}

}  // namespace agora::chaos
