#include "common/task_check.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace agora {

const char* checkKindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::NONE:
      return "none";
    case CheckKind::HTTP:
      return "http";
    case CheckKind::TCP:
      return "tcp";
    case CheckKind::COMMAND:
      return "command";
  }
  return "unknown";
}

namespace {

Status invalid(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

Status checkSeconds(const char* field, double value, double min, double max) {
  if (!std::isfinite(value) || value < min || value > max) {
    char range[64];
    std::snprintf(range, sizeof(range), "[%g, %g]", min, max);
    return invalid(std::string(field) + " must be in " + range + " s");
  }
  return {};
}

}  // namespace

Status validateCheck(const CheckInfo& check) {
  switch (check.kind) {
    case CheckKind::NONE:
      return {};
    case CheckKind::HTTP:
      if (!check.path.empty()) {
        if (check.path.front() != '/' || check.path.size() > 1024) {
          return invalid("path must start with '/' and be at most 1024 bytes");
        }
        for (unsigned char c : check.path) {
          if (c <= ' ' || c == 0x7f)
            return invalid("path must not contain spaces or control characters");
        }
      }
      [[fallthrough]];
    case CheckKind::TCP:
      if (check.port == 0 || check.port > 65535) return invalid("port must be in [1, 65535]");
      break;
    case CheckKind::COMMAND:
      if (check.command.shell ? check.command.value.empty()
                              : check.command.value.empty() && check.command.arguments.empty()) {
        return invalid("command must not be empty");
      }
      for (const auto& [name, value] : check.command.environment) {
        if (name.empty() || name.find('=') != std::string::npos) {
          return invalid("command environment variable '" + name + "' has no valid name");
        }
      }
      break;
    default:
      return invalid("unknown check kind");
  }
  if (Status s = checkSeconds("interval", check.intervalSec, 0.01, 3600); !s) return s;
  if (Status s = checkSeconds("timeout", check.timeoutSec, 0.01, 3600); !s) return s;
  if (Status s = checkSeconds("delay", check.delaySec, 0, 86400); !s) return s;
  if (Status s = checkSeconds("grace period", check.gracePeriodSec, 0, 86400); !s) return s;
  if (check.maxFailures < 1 || check.maxFailures > 1000) {
    return invalid("max failures must be in [1, 1000]");
  }
  return {};
}

void toCapnp(const CheckInfo& in, schema::CheckInfo::Builder out) {
  out.setKind(in.kind);
  out.setPort(in.port);
  out.setPath(in.path);
  toCapnp(in.command, out.initCommand());
  out.setDelaySec(in.delaySec);
  out.setIntervalSec(in.intervalSec);
  out.setTimeoutSec(in.timeoutSec);
  out.setGracePeriodSec(in.gracePeriodSec);
  out.setMaxFailures(in.maxFailures);
}

Result<CheckInfo> fromCapnp(schema::CheckInfo::Reader in, const std::string& what) {
  CheckInfo out;
  out.kind = in.getKind();
  if (static_cast<uint16_t>(out.kind) > static_cast<uint16_t>(CheckKind::COMMAND)) {
    return makeError(ErrorCode::kInvalidArgument, what + ": unknown check kind");
  }
  if (out.kind == CheckKind::NONE) return out;
  out.port = in.getPort();
  out.path = in.getPath();
  out.command = fromCapnp(in.getCommand());
  out.delaySec = in.getDelaySec();
  out.intervalSec = in.getIntervalSec();
  out.timeoutSec = in.getTimeoutSec();
  out.gracePeriodSec = in.getGracePeriodSec();
  out.maxFailures = in.getMaxFailures();
  if (Status s = validateCheck(out); !s) return makeError(s.error().withContext(what));
  return out;
}

nlohmann::json toJson(const CheckInfo& check) {
  nlohmann::json out = {{"kind", checkKindName(check.kind)}};
  if (!check.enabled()) return out;
  if (check.kind == CheckKind::COMMAND) {
    out["command"] = check.command.shell ? nlohmann::json(check.command.value)
                                         : nlohmann::json(check.command.arguments);
  } else {
    out["port"] = check.port;
    if (check.kind == CheckKind::HTTP) out["path"] = check.path.empty() ? "/" : check.path;
  }
  out["delay_seconds"] = check.delaySec;
  out["interval_seconds"] = check.intervalSec;
  out["timeout_seconds"] = check.timeoutSec;
  out["grace_period_seconds"] = check.gracePeriodSec;
  out["max_failures"] = check.maxFailures;
  return out;
}

}  // namespace agora
