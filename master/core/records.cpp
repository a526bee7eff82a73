#include "master/core/records.hpp"

#include <glog/logging.h>

namespace agora::master {

const char* agentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kRegistered:
      return "REGISTERED";
    case AgentStatus::kUnreachable:
      return "UNREACHABLE";
    case AgentStatus::kRecovering:
      return "RECOVERING";
  }
  return "UNKNOWN";
}

}  // namespace agora::master
