#pragma once
// A check the executor runs beside its task (schema::CheckInfo): the plain
// form, its validation and its conversions. The executor's side is
// agent/executor/task_checks.hpp.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/command_info.hpp"
#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

using CheckKind = schema::CheckKind;

struct CheckInfo {
  CheckKind kind = CheckKind::NONE;
  uint32_t port = 0;  // http, tcp
  std::string path;   // http; empty: "/"
  // command: a shell line or argv, with variables added to the task's
  // environment; it runs as the task's command does (its user is unused).
  CommandInfo command;
  double delaySec = 0;
  double intervalSec = 10;
  double timeoutSec = 20;
  double gracePeriodSec = 0;
  uint32_t maxFailures = 3;
  bool enabled() const { return kind != CheckKind::NONE; }
};

const char* checkKindName(CheckKind kind);  // "none", "http", "tcp", "command"

// kInvalidArgument naming the field: a port of 1-65535 for http/tcp, a path
// starting with '/' without spaces or control characters (at most 1024
// bytes), a non-empty command, times finite and within limits (interval
// 0.01-3600 s, timeout 0.01-3600 s, delay and grace 0-86400 s), max
// failures 1-1000. A disabled check is valid whatever its other fields.
Status validateCheck(const CheckInfo& check);

void toCapnp(const CheckInfo& in, schema::CheckInfo::Builder out);
// Validates (`what` names the check in errors: "health check").
Result<CheckInfo> fromCapnp(schema::CheckInfo::Reader in, const std::string& what);

nlohmann::json toJson(const CheckInfo& check);

}  // namespace agora
