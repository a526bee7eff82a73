#include "common/model.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/capabilities.hpp"
#include "common/transport.hpp"

namespace agora {

const std::string* findValue(const KeyValues& pairs, std::string_view key) {
  for (const auto& [k, v] : pairs) {
    if (k == key) return &v;
  }
  return nullptr;
}

const char* taskStateName(TaskState state) {
  switch (state) {
    case TaskState::STAGING:
      return "TASK_STAGING";
    case TaskState::STARTING:
      return "TASK_STARTING";
    case TaskState::RUNNING:
      return "TASK_RUNNING";
    case TaskState::KILLING:
      return "TASK_KILLING";
    case TaskState::FINISHED:
      return "TASK_FINISHED";
    case TaskState::FAILED:
      return "TASK_FAILED";
    case TaskState::KILLED:
      return "TASK_KILLED";
    case TaskState::ERROR:
      return "TASK_ERROR";
    case TaskState::LOST:
      return "TASK_LOST";
    case TaskState::DROPPED:
      return "TASK_DROPPED";
    case TaskState::UNREACHABLE:
      return "TASK_UNREACHABLE";
    case TaskState::GONE:
      return "TASK_GONE";
    case TaskState::GONE_BY_OPERATOR:
      return "TASK_GONE_BY_OPERATOR";
    case TaskState::UNKNOWN:
      return "TASK_UNKNOWN";
  }
  return "TASK_UNKNOWN";
}

const char* taskReasonName(TaskReason reason) {
  switch (reason) {
    case TaskReason::NONE:
      return "REASON_NONE";
    case TaskReason::COMMAND_EXITED:
      return "REASON_COMMAND_EXITED";
    case TaskReason::EXECUTOR_TERMINATED:
      return "REASON_EXECUTOR_TERMINATED";
    case TaskReason::EXECUTOR_REGISTRATION_TIMEOUT:
      return "REASON_EXECUTOR_REGISTRATION_TIMEOUT";
    case TaskReason::CONTAINER_LAUNCH_FAILED:
      return "REASON_CONTAINER_LAUNCH_FAILED";
    case TaskReason::CONTAINER_LIMITATION_MEMORY:
      return "REASON_CONTAINER_LIMITATION_MEMORY";
    case TaskReason::CONTAINER_LIMITATION_DISK:
      return "REASON_CONTAINER_LIMITATION_DISK";
    case TaskReason::TASK_KILLED_DURING_LAUNCH:
      return "REASON_TASK_KILLED_DURING_LAUNCH";
    case TaskReason::TASK_INVALID:
      return "REASON_TASK_INVALID";
    case TaskReason::TASK_UNKNOWN:
      return "REASON_TASK_UNKNOWN";
    case TaskReason::INVALID_OFFERS:
      return "REASON_INVALID_OFFERS";
    case TaskReason::RESOURCES_UNKNOWN:
      return "REASON_RESOURCES_UNKNOWN";
    case TaskReason::AGENT_REMOVED:
      return "REASON_AGENT_REMOVED";
    case TaskReason::AGENT_UNKNOWN:
      return "REASON_AGENT_UNKNOWN";
    case TaskReason::AGENT_DISCONNECTED:
      return "REASON_AGENT_DISCONNECTED";
    case TaskReason::AGENT_UNREACHABLE:
      return "REASON_AGENT_UNREACHABLE";
    case TaskReason::AGENT_RESTARTED:
      return "REASON_AGENT_RESTARTED";
    case TaskReason::FRAMEWORK_REMOVED:
      return "REASON_FRAMEWORK_REMOVED";
    case TaskReason::MASTER_DISCONNECTED:
      return "REASON_MASTER_DISCONNECTED";
    case TaskReason::RECONCILIATION:
      return "REASON_RECONCILIATION";
    case TaskReason::KILLED_BY_USER:
      return "REASON_KILLED_BY_USER";
    case TaskReason::GC_ERROR:
      return "REASON_GC_ERROR";
    case TaskReason::HEALTH_CHECK_UPDATED:
      return "REASON_HEALTH_CHECK_UPDATED";
    case TaskReason::READINESS_CHECK_UPDATED:
      return "REASON_READINESS_CHECK_UPDATED";
  }
  return "REASON_NONE";
}

bool isTerminal(TaskState state) {
  switch (state) {
    case TaskState::FINISHED:
    case TaskState::FAILED:
    case TaskState::KILLED:
    case TaskState::ERROR:
    case TaskState::LOST:
    case TaskState::DROPPED:
    case TaskState::GONE:
    case TaskState::GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
}

const char* networkModeName(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::HOST:
      return "host";
    case NetworkMode::NONE:
      return "none";
    case NetworkMode::BRIDGE:
      return "bridge";
  }
  return "unknown";
}

Result<NetworkMode> parseNetworkMode(const std::string& name) {
  for (NetworkMode mode : {NetworkMode::HOST, NetworkMode::NONE, NetworkMode::BRIDGE}) {
    if (name == networkModeName(mode)) return mode;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "network mode '" + name + "' is not host, none or bridge");
}

Status validateContainerSecurity(const ContainerInfo& container) {
  if (container.privileged && (!container.capAdd.empty() || !container.capDrop.empty())) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "a privileged container has every capability: capAdd and capDrop must be empty");
  }
  return validateCapabilityChanges(container.capAdd, container.capDrop);
}

Status validateHostname(const std::string& hostname) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "hostname '" + hostname + "' " + why);
  };
  if (hostname.empty() || hostname.size() > 64) return bad("must be 1-64 characters");
  size_t start = 0;
  while (start <= hostname.size()) {
    size_t end = hostname.find('.', start);
    if (end == std::string::npos) end = hostname.size();
    std::string label = hostname.substr(start, end - start);
    if (label.empty() || label.size() > 63) return bad("has an empty or over-long label");
    if (label.front() == '-' || label.back() == '-')
      return bad("has a label starting or ending with '-'");
    for (unsigned char c : label) {
      if (!std::isalnum(c) && c != '-') return bad("may hold only letters, digits, '-' and '.'");
    }
    start = end + 1;
  }
  return {};
}

bool FrameworkInfo::hasCapability(const std::string& name) const {
  for (const auto& c : capabilities) {
    if (c == name) return true;
  }
  return false;
}

Status validateWebuiUrl(const std::string& url) {
  if (url.empty()) return {};
  auto bad = [](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "webui_url " + why);
  };
  if (url.size() > kMaxWebuiUrlBytes) {
    return bad("has " + std::to_string(url.size()) + " bytes; at most " +
               std::to_string(kMaxWebuiUrlBytes) + " are allowed");
  }
  for (size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (c <= 0x20 || c == 0x7f) {
      return bad("has a control character or whitespace at byte " + std::to_string(i));
    }
  }
  std::string lower;
  for (size_t i = 0; i < url.size() && i < 8; ++i) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(url[i])));
  }
  size_t schemeEnd = 0;
  if (lower.rfind("http://", 0) == 0) schemeEnd = 7;
  if (lower.rfind("https://", 0) == 0) schemeEnd = 8;
  if (schemeEnd == 0) {
    return bad("'" + url.substr(0, 64) + "' is not an absolute http:// or https:// URL");
  }
  if (schemeEnd == url.size() || url[schemeEnd] == '/' || url[schemeEnd] == '?' ||
      url[schemeEnd] == '#') {
    return bad("'" + url.substr(0, 64) + "' names no host");
  }
  return {};
}

Status validateId(const std::string& what, const std::string& id) {
  if (id.empty() || id.size() > 255) {
    return makeError(ErrorCode::kInvalidArgument, what + " must be 1-255 characters");
  }
  for (unsigned char c : id) {
    if (c <= ' ' || c == '/' || c == 0x7f) {
      return makeError(ErrorCode::kInvalidArgument,
                       what + " '" + id + "' has a space, '/' or control character");
    }
  }
  if (id == "." || id == "..") {
    return makeError(ErrorCode::kInvalidArgument, what + " must not be '.' or '..'");
  }
  return {};
}

void toCapnp(const KeyValues& in, capnp::List<schema::Attribute>::Builder out) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setName(in[i].first);
    out[i].setValue(in[i].second);
  }
}

KeyValues fromCapnp(capnp::List<schema::Attribute>::Reader in) {
  KeyValues out;
  for (auto a : in) out.emplace_back(a.getName(), a.getValue());
  return out;
}

void toCapnp(const TaskInfo& in, schema::TaskInfo::Builder out) {
  out.setTaskId(in.taskId);
  out.setName(in.name);
  out.setAgentId(in.agentId);
  in.resources.toCapnp(out.initResources(in.resources.count()));
  toCapnp(in.command, out.initCommand());
  out.setKillGracePeriodSec(in.killGracePeriodSec);
  toCapnp(in.labels, out.initLabels(static_cast<unsigned>(in.labels.size())));
  auto container = out.initContainer();
  container.setNetworkMode(in.container.networkMode);
  container.setHostname(in.container.hostname);
  container.setUserNamespace(in.container.userNamespace);
  container.setImage(in.container.image);
  auto volumes = container.initVolumes(static_cast<unsigned>(in.container.volumes.size()));
  for (unsigned i = 0; i < in.container.volumes.size(); ++i)
    toCapnp(in.container.volumes[i], volumes[i]);
  container.setReadOnlyRootfs(in.container.readOnlyRootfs);
  auto add = container.initCapAdd(static_cast<unsigned>(in.container.capAdd.size()));
  for (unsigned i = 0; i < in.container.capAdd.size(); ++i) add.set(i, in.container.capAdd[i]);
  auto drop = container.initCapDrop(static_cast<unsigned>(in.container.capDrop.size()));
  for (unsigned i = 0; i < in.container.capDrop.size(); ++i) drop.set(i, in.container.capDrop[i]);
  container.setSeccompUnconfined(in.container.seccompUnconfined);
  container.setPrivileged(in.container.privileged);
  if (in.healthCheck.enabled()) toCapnp(in.healthCheck, out.initHealthCheck());
  if (in.readinessCheck.enabled()) toCapnp(in.readinessCheck, out.initReadinessCheck());
  if (!in.secrets.empty()) {
    toCapnp(in.secrets, out.initSecrets(static_cast<unsigned>(in.secrets.size())));
  }
}

Result<TaskInfo> fromCapnp(schema::TaskInfo::Reader in) {
  TaskInfo out;
  out.taskId = in.getTaskId();
  out.name = in.getName();
  out.agentId = in.getAgentId();
  auto resources = Resources::fromCapnp(in.getResources());
  if (!resources) return makeError(resources.error().withContext("task '" + out.taskId + "'"));
  out.resources = std::move(*resources);
  out.command = fromCapnp(in.getCommand());
  out.killGracePeriodSec = in.getKillGracePeriodSec();
  if (!(out.killGracePeriodSec >= 0 && out.killGracePeriodSec <= 3600)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "task '" + out.taskId + "': kill grace period must be in [0, 3600] s");
  }
  out.labels = fromCapnp(in.getLabels());
  auto container = in.getContainer();
  out.container.networkMode = container.getNetworkMode();
  if (static_cast<uint16_t>(out.container.networkMode) >
      static_cast<uint16_t>(NetworkMode::BRIDGE)) {
    return makeError(ErrorCode::kInvalidArgument,
                     "task '" + out.taskId + "': unknown network mode");
  }
  out.container.hostname = container.getHostname();
  if (!out.container.hostname.empty()) {
    if (Status s = validateHostname(out.container.hostname); !s) {
      return makeError(s.error().withContext("task '" + out.taskId + "'"));
    }
  }
  out.container.userNamespace = container.getUserNamespace();
  out.container.image = container.getImage();
  for (auto v : container.getVolumes()) {
    auto volume = fromCapnp(v);
    if (!volume) return makeError(volume.error().withContext("task '" + out.taskId + "'"));
    out.container.volumes.push_back(std::move(*volume));
  }
  out.container.readOnlyRootfs = container.getReadOnlyRootfs();
  for (auto name : container.getCapAdd()) out.container.capAdd.emplace_back(name);
  for (auto name : container.getCapDrop()) out.container.capDrop.emplace_back(name);
  out.container.seccompUnconfined = container.getSeccompUnconfined();
  out.container.privileged = container.getPrivileged();
  if (Status s = validateContainerSecurity(out.container); !s) {
    return makeError(s.error().withContext("task '" + out.taskId + "'"));
  }
  if (in.hasHealthCheck()) {
    auto check = fromCapnp(in.getHealthCheck(), "health check");
    if (!check) return makeError(check.error().withContext("task '" + out.taskId + "'"));
    out.healthCheck = std::move(*check);
  }
  if (in.hasReadinessCheck()) {
    auto check = fromCapnp(in.getReadinessCheck(), "readiness check");
    if (!check) return makeError(check.error().withContext("task '" + out.taskId + "'"));
    out.readinessCheck = std::move(*check);
  }
  auto secrets = fromCapnp(in.getSecrets());
  if (!secrets) return makeError(secrets.error().withContext("task '" + out.taskId + "'"));
  out.secrets = std::move(*secrets);
  return out;
}

void toCapnp(const TaskStatus& in, schema::TaskStatus::Builder out) {
  out.setTaskId(in.taskId);
  out.setState(in.state);
  out.setReason(in.reason);
  out.setMessage(in.message);
  out.setAgentId(in.agentId);
  out.setFrameworkId(in.frameworkId);
  out.setSource(in.source);
  out.setHasExitCode(in.exitCode.has_value());
  out.setExitCode(in.exitCode.value_or(0));
  out.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(in.uuid.data()), in.uuid.size()));
  out.setTimestamp(in.timestamp);
  out.setContainerId(in.containerId);
  out.setHealthChecked(in.healthy.has_value());
  out.setHealthy(in.healthy.value_or(false));
  out.setReadinessChecked(in.ready.has_value());
  out.setReady(in.ready.value_or(false));
}

Result<TaskStatus> fromCapnp(schema::TaskStatus::Reader in) {
  TaskStatus out;
  out.taskId = in.getTaskId();
  out.state = in.getState();
  if (static_cast<uint16_t>(out.state) > static_cast<uint16_t>(TaskState::UNKNOWN)) {
    return makeError(ErrorCode::kInvalidArgument, "unknown task state");
  }
  out.reason = in.getReason();
  if (static_cast<uint16_t>(out.reason) >
      static_cast<uint16_t>(TaskReason::READINESS_CHECK_UPDATED)) {
    out.reason = TaskReason::NONE;
  }
  out.message = in.getMessage();
  out.agentId = in.getAgentId();
  out.frameworkId = in.getFrameworkId();
  out.source = in.getSource();
  if (in.getHasExitCode()) out.exitCode = in.getExitCode();
  auto uuid = in.getUuid();
  out.uuid.assign(reinterpret_cast<const char*>(uuid.begin()), uuid.size());
  out.timestamp = in.getTimestamp();
  out.containerId = in.getContainerId();
  if (in.getHealthChecked()) out.healthy = in.getHealthy();
  if (in.getReadinessChecked()) out.ready = in.getReady();
  return out;
}

void toCapnp(const FrameworkInfo& in, schema::FrameworkInfo::Builder out) {
  out.setId(in.id);
  out.setName(in.name);
  out.setUser(in.user);
  auto roles = out.initRoles(static_cast<unsigned>(in.roles.size()));
  for (unsigned i = 0; i < in.roles.size(); ++i) roles.set(i, in.roles[i]);
  out.setFailoverTimeoutSec(in.failoverTimeoutSec);
  out.setCheckpoint(in.checkpoint);
  auto caps = out.initCapabilities(static_cast<unsigned>(in.capabilities.size()));
  for (unsigned i = 0; i < in.capabilities.size(); ++i) caps.set(i, in.capabilities[i]);
  out.setHostname(in.hostname);
  toCapnp(in.offerConstraints,
          out.initOfferConstraints(static_cast<unsigned>(in.offerConstraints.size())));
  out.setWebuiUrl(in.webuiUrl);
}

Result<FrameworkInfo> fromCapnp(schema::FrameworkInfo::Reader in) {
  FrameworkInfo out;
  out.id = in.getId();
  out.name = in.getName();
  out.user = in.getUser();
  for (auto r : in.getRoles()) out.roles.emplace_back(r);
  out.failoverTimeoutSec = in.getFailoverTimeoutSec();
  if (!(out.failoverTimeoutSec >= 0 && out.failoverTimeoutSec <= 365.0 * 86400)) {
    return makeError(ErrorCode::kInvalidArgument, "failover timeout must be in [0, 1 year]");
  }
  out.checkpoint = in.getCheckpoint();
  for (auto c : in.getCapabilities()) out.capabilities.emplace_back(c);
  out.hostname = in.getHostname();
  auto constraints = fromCapnp(in.getOfferConstraints());
  if (!constraints) return makeError(constraints.error());
  out.offerConstraints = std::move(*constraints);
  out.webuiUrl = in.getWebuiUrl();
  return out;
}

void toCapnp(const Offer& in, schema::Offer::Builder out) {
  out.setId(in.id);
  out.setFrameworkId(in.frameworkId);
  out.setAgentId(in.agentId);
  out.setHostname(in.hostname);
  in.resources.toCapnp(out.initResources(in.resources.count()));
  toCapnp(in.attributes, out.initAttributes(static_cast<unsigned>(in.attributes.size())));
  out.setAgentUrl(in.agentUrl);
  out.setRole(in.role);
}

Result<Offer> fromCapnp(schema::Offer::Reader in) {
  Offer out;
  out.id = in.getId();
  out.frameworkId = in.getFrameworkId();
  out.agentId = in.getAgentId();
  out.hostname = in.getHostname();
  auto resources = Resources::fromCapnp(in.getResources());
  if (!resources) return makeError(resources.error().withContext("offer '" + out.id + "'"));
  out.resources = std::move(*resources);
  out.attributes = fromCapnp(in.getAttributes());
  out.agentUrl = in.getAgentUrl();
  out.role = in.getRole();
  return out;
}

nlohmann::json toJson(const Resources& resources) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& name : resources.scalarNames()) out[name] = resources.scalar(name);
  for (const auto& name : resources.rangeNames()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Range& r : resources.ranges(name)) list.push_back({r.begin, r.end});
    out[name] = list;
  }
  return out;
}

nlohmann::json toJson(const KeyValues& values) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : values) out[k] = v;
  return out;
}

nlohmann::json toJson(const ContainerInfo& container) {
  nlohmann::json volumes = nlohmann::json::array();
  for (const Volume& volume : container.volumes) volumes.push_back(toJson(volume));
  return {{"network", networkModeName(container.networkMode)},
          {"hostname", container.hostname},
          {"user_namespace", container.userNamespace},
          {"image", container.image},
          {"volumes", volumes},
          {"read_only_rootfs", container.readOnlyRootfs},
          {"cap_add", container.capAdd},
          {"cap_drop", container.capDrop},
          {"seccomp_unconfined", container.seccompUnconfined},
          {"privileged", container.privileged}};
}

nlohmann::json toJson(const TaskInfo& task) {
  nlohmann::json cmd = {{"shell", task.command.shell},
                        {"value", task.command.value},
                        {"arguments", task.command.arguments},
                        {"user", task.command.user}};
  nlohmann::json out = {{"id", task.taskId},
                        {"name", task.name},
                        {"agent_id", task.agentId},
                        {"resources", toJson(task.resources)},
                        {"command", cmd},
                        {"labels", toJson(task.labels)},
                        {"container", toJson(task.container)}};
  if (task.healthCheck.enabled()) out["health_check"] = toJson(task.healthCheck);
  if (task.readinessCheck.enabled()) out["readiness_check"] = toJson(task.readinessCheck);
  if (!task.secrets.empty()) out["secrets"] = toJson(task.secrets);
  return out;
}

nlohmann::json toJson(const TaskStatus& status) {
  nlohmann::json out = {{"task_id", status.taskId},
                        {"state", taskStateName(status.state)},
                        {"reason", taskReasonName(status.reason)},
                        {"message", status.message},
                        {"agent_id", status.agentId},
                        {"framework_id", status.frameworkId},
                        {"timestamp", status.timestamp},
                        {"uuid", hexEncode(status.uuid)}};
  if (status.exitCode) out["exit_code"] = *status.exitCode;
  if (!status.containerId.empty()) out["container_id"] = status.containerId;
  if (status.healthy) out["healthy"] = *status.healthy;
  if (status.ready) out["ready"] = *status.ready;
  return out;
}

nlohmann::json toJson(const FrameworkInfo& framework) {
  return {{"id", framework.id},
          {"name", framework.name},
          {"user", framework.user},
          {"roles", framework.roles},
          {"failover_timeout_sec", framework.failoverTimeoutSec},
          {"checkpoint", framework.checkpoint},
          {"capabilities", framework.capabilities},
          {"hostname", framework.hostname},
          {"offer_constraints", toJson(framework.offerConstraints)},
          {"webui_url", framework.webuiUrl}};
}

}  // namespace agora
