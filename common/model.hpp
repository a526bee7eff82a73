#pragma once
// Plain C++ forms of the shared wire types (schemas/common.capnp), used by
// component logic and the SDK, with conversions to and from Cap'n Proto and
// JSON. Conversions from the wire validate and return errors.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/attribute_constraint.hpp"
#include "common/command_info.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"
#include "common/task_check.hpp"
#include "common/task_secret.hpp"
#include "common/volume.hpp"
#include "schemas/common.capnp.h"

namespace agora {

using TaskState = schema::TaskState;
using TaskReason = schema::TaskReason;
using StatusSource = schema::StatusSource;
using NetworkMode = schema::NetworkMode;
// The value of the first pair with `key`; null if none.
const std::string* findValue(const KeyValues& pairs, std::string_view key);

const char* taskStateName(TaskState state);     // "TASK_RUNNING"
const char* taskReasonName(TaskReason reason);  // "REASON_COMMAND_EXITED"
bool isTerminal(TaskState state);

const char* networkModeName(NetworkMode mode);  // "host", "none", "bridge"
Result<NetworkMode> parseNetworkMode(const std::string& name);

// What the task's container looks like beyond cgroups (see ContainerInfo in
// schemas/common.capnp).
struct ContainerInfo {
  NetworkMode networkMode = NetworkMode::HOST;
  std::string hostname;  // empty: the container ID
  bool userNamespace = false;
  std::string image;            // skopeo-style reference; empty: the host's filesystem
  std::vector<Volume> volumes;  // syntax checked by validateVolumes(), not by fromCapnp()
  // Security of a namespaced container (agent/executor/security_policy.hpp).
  bool readOnlyRootfs = false;
  std::vector<std::string> capAdd;  // capability names or "ALL"
  std::vector<std::string> capDrop;
  bool seccompUnconfined = false;
  bool privileged = false;
  // True when nothing asks for more than a plain process on the host.
  bool isDefault() const {
    return networkMode == NetworkMode::HOST && hostname.empty() && !userNamespace &&
           image.empty() && volumes.empty() && !readOnlyRootfs && capAdd.empty() &&
           capDrop.empty() && !seccompUnconfined && !privileged;
  }
};

// Capability names that parse, none both added and dropped, and no
// capability change together with privileged.
Status validateContainerSecurity(const ContainerInfo& container);

// A host name the kernel and resolvers accept: at most 64 characters, dot
// separated labels of 1-63 letters, digits and '-', no label starting or
// ending with '-'.
Status validateHostname(const std::string& hostname);

struct TaskInfo {
  std::string taskId;
  std::string name;
  std::string agentId;
  Resources resources;
  CommandInfo command;
  double killGracePeriodSec = 3.0;
  KeyValues labels;
  ContainerInfo container;
  CheckInfo healthCheck;     // kind NONE: none
  CheckInfo readinessCheck;  // kind NONE: none
  std::vector<TaskSecret> secrets;
};

struct TaskStatus {
  std::string taskId;
  TaskState state = TaskState::STAGING;
  TaskReason reason = TaskReason::NONE;
  std::string message;
  std::string agentId;
  std::string frameworkId;
  StatusSource source = StatusSource::MASTER;
  std::optional<int> exitCode;
  std::string uuid;  // raw 16 bytes; empty for unreliable updates
  double timestamp = 0;
  std::string containerId;
  // The verdicts of the task's health and readiness checks (TaskInfo), once
  // they have one; unset without a check.
  std::optional<bool> healthy;
  std::optional<bool> ready;
};

struct FrameworkInfo {
  std::string id;
  std::string name;
  std::string user;
  std::vector<std::string> roles;
  double failoverTimeoutSec = 0;
  bool checkpoint = false;
  std::vector<std::string> capabilities;
  std::string hostname;
  std::vector<AttributeConstraint> offerConstraints;
  std::string webuiUrl;  // the framework's own HTTP API/UI; "" for none
  bool hasCapability(const std::string& name) const;
};

struct Offer {
  std::string id;
  std::string frameworkId;
  std::string agentId;
  std::string hostname;
  Resources resources;
  KeyValues attributes;
  std::string agentUrl;
  // The role the offer is allocated to. (The initializer keeps positional
  // aggregate initialization that predates it warning-free.)
  std::string role = {};
};

// Task IDs, framework names and similar: 1-255 printable chars, no '/' or whitespace.
Status validateId(const std::string& what, const std::string& id);
// FrameworkInfo::webuiUrl: empty, or an absolute http:// or https:// URL
// with a host, of at most kMaxWebuiUrlBytes, without control characters or
// whitespace. kInvalidArgument saying what is wrong.
constexpr size_t kMaxWebuiUrlBytes = 1024;
Status validateWebuiUrl(const std::string& url);

// Cap'n Proto conversions. Readers may throw kj::Exception on corrupt input:
// call them inside catchDecode().
void toCapnp(const TaskInfo& in, schema::TaskInfo::Builder out);
Result<TaskInfo> fromCapnp(schema::TaskInfo::Reader in);
void toCapnp(const TaskStatus& in, schema::TaskStatus::Builder out);
Result<TaskStatus> fromCapnp(schema::TaskStatus::Reader in);
void toCapnp(const FrameworkInfo& in, schema::FrameworkInfo::Builder out);
Result<FrameworkInfo> fromCapnp(schema::FrameworkInfo::Reader in);
void toCapnp(const Offer& in, schema::Offer::Builder out);
Result<Offer> fromCapnp(schema::Offer::Reader in);
void toCapnp(const KeyValues& in, capnp::List<schema::Attribute>::Builder out);
KeyValues fromCapnp(capnp::List<schema::Attribute>::Reader in);

nlohmann::json toJson(const Resources& resources);
nlohmann::json toJson(const TaskInfo& task);
nlohmann::json toJson(const TaskStatus& status);
nlohmann::json toJson(const FrameworkInfo& framework);
nlohmann::json toJson(const KeyValues& values);
nlohmann::json toJson(const ContainerInfo& container);

}  // namespace agora
