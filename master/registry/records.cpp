#include "master/registry/records.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <array>
#include <cstring>
#include <functional>

#include "common/codec.hpp"
#include "schemas/registry.capnp.h"

namespace agora::master {

namespace {

using schema::RegistryRecord;

std::string encode(const std::function<void(RegistryRecord::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<RegistryRecord>());
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

schema::AgentRegistryState toSchema(AgentRecordState state) {
  switch (state) {
    case AgentRecordState::kAdmitted:
      return schema::AgentRegistryState::ADMITTED;
    case AgentRecordState::kUnreachable:
      return schema::AgentRegistryState::UNREACHABLE;
    case AgentRecordState::kGone:
      return schema::AgentRegistryState::GONE;
  }
  return schema::AgentRegistryState::ADMITTED;
}

Result<AgentRecordState> fromSchema(schema::AgentRegistryState state) {
  switch (state) {
    case schema::AgentRegistryState::ADMITTED:
      return AgentRecordState::kAdmitted;
    case schema::AgentRegistryState::UNREACHABLE:
      return AgentRecordState::kUnreachable;
    case schema::AgentRegistryState::GONE:
      return AgentRecordState::kGone;
  }
  return makeError(ErrorCode::kProtocol,
                   "unknown agent state " + std::to_string(static_cast<int>(state)));
}

Status expectKey(const std::string& key, const std::string& inRecord) {
  if (key == inRecord) return {};
  return makeError(ErrorCode::kProtocol,
                   "stored under key '" + key + "' but names '" + inRecord + "'");
}

Status decodeAgent(const std::string& key, schema::RegisteredAgent::Reader in,
                   RegistryContents& contents) {
  AgentRecord record;
  record.id = in.getAgentId();
  record.hostname = in.getHostname();
  record.url = in.getHttpUrl();
  auto resources = Resources::fromCapnp(in.getResources());
  if (!resources) return makeError(resources.error().withContext("resources"));
  record.resources = std::move(*resources);
  record.attributes = fromCapnp(in.getAttributes());
  auto state = fromSchema(in.getState());
  if (!state) return makeError(state.error());
  record.state = *state;
  record.registeredTime = in.getRegisteredTime();
  record.unreachableTime = in.getUnreachableTime();
  record.goneTime = in.getGoneTime();
  record.principal = in.getPrincipal();
  if (auto same = expectKey(key, record.id); !same) return same;
  contents.agents[key] = std::move(record);
  return {};
}

Status decodeFramework(const std::string& key, schema::RegisteredFramework::Reader in,
                       RegistryContents& contents) {
  auto info = fromCapnp(in.getInfo());
  if (!info) return makeError(info.error().withContext("framework info"));
  FrameworkRecord record;
  record.info = std::move(*info);
  record.registeredTime = in.getRegisteredTime();
  record.failoverDeadline = in.getFailoverDeadline();
  record.removedTime = in.getRemovedTime();
  record.principal = in.getPrincipal();
  if (auto same = expectKey(key, record.info.id); !same) return same;
  contents.frameworks[key] = std::move(record);
  return {};
}

Status decodeQuota(const std::string& key, schema::RoleQuota::Reader in,
                   RegistryContents& contents) {
  if (auto same = expectKey(key, in.getRole()); !same) return same;
  QuotaRecord quota;
  if (in.getHasGuarantee()) {
    auto guarantee = Resources::fromCapnp(in.getGuarantee());
    if (!guarantee) return makeError(guarantee.error().withContext("guarantee"));
    quota.guarantee = std::move(*guarantee);
  }
  if (in.getHasLimit()) {
    auto limit = Resources::fromCapnp(in.getLimit());
    if (!limit) return makeError(limit.error().withContext("limit"));
    quota.limit = std::move(*limit);
  }
  contents.quotas[key] = std::move(quota);
  return {};
}

Result<Resources> decodeVolumes(capnp::List<schema::Resource>::Reader in, const char* what) {
  auto volumes = Resources::fromCapnp(in);
  if (!volumes) return makeError(volumes.error().withContext(what));
  if (!(volumes->volumes() == *volumes)) {
    return makeError(ErrorCode::kProtocol, std::string(what) + ": " +
                                               (*volumes - volumes->volumes()).toString() +
                                               " is not a volume");
  }
  return volumes;
}

Status decodeReservations(const std::string& key, schema::Reservation::Reader in,
                          RegistryContents& contents) {
  if (auto same = expectKey(key, in.getAgentId()); !same) return same;
  auto reserved = Resources::fromCapnp(in.getResources());
  if (!reserved) return makeError(reserved.error().withContext("reservations"));
  for (const auto& [reservation, part] : reserved->byReservation()) {
    if (reservation.type != ReservationType::kDynamic) {
      return makeError(ErrorCode::kProtocol, "reservations: " + part.toString() + " is not dynamic");
    }
  }
  if (!reserved->unreserved().empty()) {
    return makeError(ErrorCode::kProtocol,
                     "reservations: " + reserved->unreserved().toString() + " is unreserved");
  }
  if (!reserved->volumes().empty()) {
    return makeError(ErrorCode::kProtocol,
                     "reservations: " + reserved->volumes().toString() + " is a volume");
  }
  auto volumes = decodeVolumes(in.getVolumes(), "volumes");
  if (!volumes) return makeError(volumes.error());
  auto destroyed = decodeVolumes(in.getDestroyedVolumes(), "destroyed volumes");
  if (!destroyed) return makeError(destroyed.error());
  contents.reservations[key] =
      AgentReservations{std::move(*reserved), std::move(*volumes), std::move(*destroyed)};
  return {};
}

Status decodeTask(const std::string& key, schema::CompletedTask::Reader in,
                  RegistryContents& contents) {
  CompletedTaskRecord record;
  record.frameworkId = in.getFrameworkId();
  record.taskId = in.getTaskId();
  if (auto same = expectKey(key, completedTaskKey(record.frameworkId, record.taskId)); !same) {
    return same;
  }
  record.name = in.getName();
  record.agentId = in.getAgentId();
  record.role = in.getRole();
  auto resources = Resources::fromCapnp(in.getResources());
  if (!resources) return makeError(resources.error().withContext("resources"));
  record.resources = std::move(*resources);
  record.sandbox = in.getSandbox();
  auto latest = fromCapnp(in.getLatest());
  if (!latest) return makeError(latest.error().withContext("latest status"));
  record.latest = std::move(*latest);
  for (auto entry : in.getStatuses()) {
    auto status = fromCapnp(entry);
    if (!status) return makeError(status.error().withContext("status history"));
    record.statuses.push_back(std::move(*status));
  }
  contents.tasks.push_back(std::move(record));
  return {};
}

Status decodeRoot(const std::string& kind, const std::string& key, RegistryRecord::Reader record,
                  RegistryContents& contents) {
  auto wrongKind = [&](const char* found) -> Status {
    return makeError(ErrorCode::kProtocol,
                     "stored as kind '" + kind + "' but holds a " + found + " record");
  };
  switch (record.which()) {
    case RegistryRecord::AGENT:
      if (kind != kAgentKind) return wrongKind("agent");
      return decodeAgent(key, record.getAgent(), contents);
    case RegistryRecord::FRAMEWORK:
      if (kind != kFrameworkKind) return wrongKind("framework");
      return decodeFramework(key, record.getFramework(), contents);
    case RegistryRecord::WEIGHT:
      if (kind != kWeightKind) return wrongKind("weight");
      if (auto same = expectKey(key, record.getWeight().getRole()); !same) return same;
      contents.weights[key] = record.getWeight().getWeight();
      return {};
    case RegistryRecord::QUOTA:
      if (kind != kQuotaKind) return wrongKind("quota");
      return decodeQuota(key, record.getQuota(), contents);
    case RegistryRecord::RESERVATION:
      if (kind != kReservationKind) return wrongKind("reservation");
      return decodeReservations(key, record.getReservation(), contents);
    case RegistryRecord::MAINTENANCE:
      if (kind != kMaintenanceKind) return wrongKind("maintenance");
      contents.maintenance++;
      return {};
    case RegistryRecord::TASK:
      if (kind != kTaskKind) return wrongKind("task");
      return decodeTask(key, record.getTask(), contents);
  }
  return makeError(ErrorCode::kProtocol,
                   "record of a kind this master does not know (written by a newer master?)");
}

const std::array<uint32_t, 256>& crcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

Mutation putAgent(const AgentRecord& record) {
  return {std::string(kAgentKind), record.id, encode([&](RegistryRecord::Builder root) {
            auto out = root.initAgent();
            out.setAgentId(record.id);
            out.setHostname(record.hostname);
            out.setHttpUrl(record.url);
            record.resources.toCapnp(out.initResources(record.resources.count()));
            toCapnp(record.attributes,
                    out.initAttributes(static_cast<unsigned>(record.attributes.size())));
            out.setState(toSchema(record.state));
            out.setRegisteredTime(record.registeredTime);
            out.setUnreachableTime(record.unreachableTime);
            out.setGoneTime(record.goneTime);
            out.setPrincipal(record.principal);
          })};
}

Mutation eraseAgent(const std::string& agentId) {
  return {std::string(kAgentKind), agentId, std::nullopt};
}

Mutation putFramework(const FrameworkRecord& record) {
  return {std::string(kFrameworkKind), record.info.id, encode([&](RegistryRecord::Builder root) {
            auto out = root.initFramework();
            toCapnp(record.info, out.initInfo());
            out.setRegisteredTime(record.registeredTime);
            out.setFailoverDeadline(record.failoverDeadline);
            out.setRemovedTime(record.removedTime);
            out.setPrincipal(record.principal);
          })};
}

Mutation putWeight(const std::string& role, double weight) {
  return {std::string(kWeightKind), role, encode([&](RegistryRecord::Builder root) {
            auto out = root.initWeight();
            out.setRole(role);
            out.setWeight(weight);
          })};
}

Mutation putQuota(const std::string& role, const QuotaRecord& quota) {
  return {std::string(kQuotaKind), role, encode([&](RegistryRecord::Builder root) {
            auto out = root.initQuota();
            out.setRole(role);
            out.setHasGuarantee(quota.guarantee.has_value());
            if (quota.guarantee) quota.guarantee->toCapnp(out.initGuarantee(quota.guarantee->count()));
            out.setHasLimit(quota.limit.has_value());
            if (quota.limit) quota.limit->toCapnp(out.initLimit(quota.limit->count()));
          })};
}

Mutation eraseQuota(const std::string& role) { return {std::string(kQuotaKind), role, std::nullopt}; }

Mutation putReservations(const std::string& agentId, const AgentReservations& reservations) {
  if (reservations.empty()) return {std::string(kReservationKind), agentId, std::nullopt};
  return {std::string(kReservationKind), agentId, encode([&](RegistryRecord::Builder root) {
            auto out = root.initReservation();
            out.setAgentId(agentId);
            const Resources& reserved = reservations.dynamic;
            reserved.toCapnp(out.initResources(reserved.count()));
            const Resources& volumes = reservations.volumes;
            if (!volumes.empty()) volumes.toCapnp(out.initVolumes(volumes.count()));
            const Resources& destroyed = reservations.destroyedVolumes;
            if (!destroyed.empty()) destroyed.toCapnp(out.initDestroyedVolumes(destroyed.count()));
          })};
}

std::string completedTaskKey(std::string_view frameworkId, std::string_view taskId) {
  std::string key = std::to_string(frameworkId.size());
  key += '/';
  key += frameworkId;
  key += '/';
  key += taskId;
  return key;
}

Mutation putCompletedTask(const CompletedTaskRecord& record) {
  return {std::string(kTaskKind), completedTaskKey(record.frameworkId, record.taskId),
          encode([&](RegistryRecord::Builder root) {
            auto out = root.initTask();
            out.setFrameworkId(record.frameworkId);
            out.setTaskId(record.taskId);
            out.setName(record.name);
            out.setAgentId(record.agentId);
            out.setRole(record.role);
            record.resources.toCapnp(out.initResources(record.resources.count()));
            out.setSandbox(record.sandbox);
            toCapnp(record.latest, out.initLatest());
            auto statuses = out.initStatuses(static_cast<unsigned>(record.statuses.size()));
            for (unsigned i = 0; i < record.statuses.size(); ++i) {
              toCapnp(record.statuses[i], statuses[i]);
            }
          })};
}

Mutation eraseCompletedTask(std::string_view frameworkId, std::string_view taskId) {
  return {std::string(kTaskKind), completedTaskKey(frameworkId, taskId), std::nullopt};
}

Status decodeRecord(const std::string& kind, const std::string& key, std::string_view bytes,
                    RegistryContents& contents) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return makeError(ErrorCode::kProtocol,
                     "record of " + std::to_string(bytes.size()) + " bytes is not a message");
  }
  // The store's buffer is not word-aligned: copy.
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  Status inner;
  Status thrown = catchDecode([&] {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 8 * 1024 * 1024;
    capnp::FlatArrayMessageReader reader(words, options);
    inner = decodeRoot(kind, key, reader.getRoot<RegistryRecord>(), contents);
  });
  if (!thrown) return thrown;
  return inner;
}

uint32_t crc32c(std::string_view bytes) {
  const auto& table = crcTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t recordCrc(std::string_view kind, std::string_view key, std::string_view bytes) {
  std::string all(kind);
  all.push_back('\0');
  all += key;
  all.push_back('\0');
  all += bytes;
  return crc32c(all);
}

}  // namespace agora::master
