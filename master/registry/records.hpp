#pragma once
// The registry's records in plain C++ (schemas/registry.capnp), their
// encoding into stored bytes, and the mutations the master queues.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"

namespace agora::master {

enum class AgentRecordState { kAdmitted, kUnreachable, kGone };

struct AgentRecord {
  std::string id;
  std::string hostname;
  std::string url;
  Resources resources;
  KeyValues attributes;
  AgentRecordState state = AgentRecordState::kAdmitted;
  double registeredTime = 0;
  double unreachableTime = 0;
  double goneTime = 0;  // wall seconds it was removed (kGone); 0 otherwise
  std::string principal;  // the key that first registered it; empty without CURVE
};

struct FrameworkRecord {
  FrameworkInfo info;
  double registeredTime = 0;
  // Absolute wall-clock deadline for a disconnected framework; 0 while connected.
  double failoverDeadline = 0;
  // Non-zero: torn down at this wall time (a tombstone).
  double removedTime = 0;
  std::string principal;  // the key that first subscribed it; empty without CURVE
};

struct QuotaRecord {
  std::optional<Resources> guarantee;
  std::optional<Resources> limit;
};

// What the master keeps per agent beside its admission: dynamic
// reservations (every resource reserved, dynamic), persistent volumes (each
// a reserved disk with persistence), and destroyed volumes the agent has not
// confirmed deleted.
struct AgentReservations {
  Resources dynamic;
  Resources volumes;
  Resources destroyedVolumes;

  bool empty() const { return dynamic.empty() && volumes.empty() && destroyedVolumes.empty(); }
};

// A terminal task kept across restarts (schema::CompletedTask).
struct CompletedTaskRecord {
  std::string frameworkId;
  std::string taskId;
  std::string name;
  std::string agentId;
  std::string role;
  Resources resources;
  std::string sandbox;
  TaskStatus latest;  // terminal; its IDs match the record's
  // State changes, oldest first: state, reason, message and timestamp.
  std::vector<TaskStatus> statuses;
};

// Everything read back from the store.
struct RegistryContents {
  std::map<std::string, AgentRecord> agents;
  std::map<std::string, FrameworkRecord> frameworks;
  std::map<std::string, double> weights;
  std::map<std::string, QuotaRecord> quotas;
  std::map<std::string, AgentReservations> reservations;  // by agent ID
  // Terminal tasks, in no particular order.
  std::vector<CompletedTaskRecord> tasks;
  // Records of kinds this master keeps but does not act on yet.
  size_t maintenance = 0;
};

// Store kinds (the first half of a record's key).
inline constexpr std::string_view kAgentKind = "agent";
inline constexpr std::string_view kFrameworkKind = "framework";
inline constexpr std::string_view kWeightKind = "weight";
inline constexpr std::string_view kQuotaKind = "quota";
inline constexpr std::string_view kReservationKind = "reservation";
inline constexpr std::string_view kMaintenanceKind = "maintenance";
inline constexpr std::string_view kTaskKind = "task";

// One change to the store: put `bytes` under (kind, key), or delete it.
struct Mutation {
  std::string kind;
  std::string key;
  std::optional<std::string> bytes;  // nullopt: delete
};

Mutation putAgent(const AgentRecord& record);
// Deletes the agent's record (a pruned gone agent).
Mutation eraseAgent(const std::string& agentId);
Mutation putFramework(const FrameworkRecord& record);
Mutation putWeight(const std::string& role, double weight);
Mutation putQuota(const std::string& role, const QuotaRecord& quota);
Mutation eraseQuota(const std::string& role);
// The agent's reservations record; an empty one erases it.
Mutation putReservations(const std::string& agentId, const AgentReservations& reservations);

// "<framework ID length>/<framework ID>/<task ID>": unambiguous whatever the IDs hold.
std::string completedTaskKey(std::string_view frameworkId, std::string_view taskId);
Mutation putCompletedTask(const CompletedTaskRecord& record);
Mutation eraseCompletedTask(std::string_view frameworkId, std::string_view taskId);

// Decodes one stored record into `contents`. Errors name what is wrong
// (undecodable bytes, a kind/key that disagrees with the payload).
Status decodeRecord(const std::string& kind, const std::string& key, std::string_view bytes,
                    RegistryContents& contents);

// CRC-32C (Castagnoli) of `bytes`, stored next to every record.
uint32_t crc32c(std::string_view bytes);
// The checksum stored with a record: CRC-32C of kind, NUL, key, NUL, bytes.
uint32_t recordCrc(std::string_view kind, std::string_view key, std::string_view bytes);

}  // namespace agora::master
