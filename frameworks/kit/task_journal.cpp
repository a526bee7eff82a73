#include "frameworks/kit/task_journal.hpp"

#include <nlohmann/json.hpp>

namespace agora::kit {

namespace {

constexpr uint16_t kLastState = static_cast<uint16_t>(TaskState::UNKNOWN);

}  // namespace

std::string TaskJournal::encode(const TaskEntry& entry) {
  nlohmann::json out = {{"agent", entry.agentId},
                        {"data", entry.data},
                        {"confirmed", entry.confirmed},
                        {"state", static_cast<uint16_t>(entry.state)},
                        {"state_name", taskStateName(entry.state)},
                        {"reason", static_cast<uint16_t>(entry.reason)}};
  if (!entry.group.empty()) out["group"] = entry.group;
  if (!entry.placement.hostname.empty()) out["hostname"] = entry.placement.hostname;
  if (!entry.placement.agentUrl.empty()) out["agent_url"] = entry.placement.agentUrl;
  if (!entry.placement.attributes.empty()) {
    nlohmann::json attributes = nlohmann::json::object();
    for (const auto& [key, value] : entry.placement.attributes) attributes[key] = value;
    out["attributes"] = attributes;
  }
  if (entry.exitCode) out["exit_code"] = *entry.exitCode;
  if (entry.healthy) out["healthy"] = *entry.healthy;
  if (entry.ready) out["ready"] = *entry.ready;
  if (!entry.message.empty()) out["message"] = entry.message;
  if (entry.updated > 0) out["updated"] = entry.updated;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<TaskEntry> TaskJournal::decode(const Record& record) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kProtocol, "task record '" + record.key + "': " + why);
  };
  nlohmann::json in = nlohmann::json::parse(record.value, nullptr, false);
  if (!in.is_object()) return bad("not a JSON object");
  TaskEntry entry;
  entry.taskId = record.key.substr(std::string(kPrefix).size());
  try {
    entry.agentId = in.at("agent").get<std::string>();
    entry.data = in.at("data").get<std::string>();
    entry.confirmed = in.at("confirmed").get<bool>();
    auto state = in.at("state").get<uint16_t>();
    if (state > kLastState) return bad("unknown state " + std::to_string(state));
    entry.state = static_cast<TaskState>(state);
    entry.reason = static_cast<TaskReason>(in.at("reason").get<uint16_t>());
    if (in.contains("exit_code")) entry.exitCode = in["exit_code"].get<int>();
    entry.group = in.value("group", "");
    if (in.contains("healthy")) entry.healthy = in["healthy"].get<bool>();
    if (in.contains("ready")) entry.ready = in["ready"].get<bool>();
    entry.message = in.value("message", "");
    entry.updated = in.value("updated", 0.0);
    entry.placement.hostname = in.value("hostname", "");
    entry.placement.agentUrl = in.value("agent_url", "");
    if (auto attributes = in.find("attributes"); attributes != in.end()) {
      for (const auto& [key, value] : attributes->items()) {
        entry.placement.attributes.emplace_back(key, value.get<std::string>());
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return entry;
}

Result<TaskJournal> TaskJournal::load(Store& store) {
  TaskJournal journal(store);
  auto records = store.list(kPrefix);
  if (!records) return makeError(records.error());
  for (const Record& record : *records) {
    auto entry = decode(record);
    if (!entry) return makeError(entry.error());
    journal.versions_[entry->taskId] = record.version;
    std::string id = entry->taskId, group = entry->group;
    TaskEntry& stored = journal.tasks_[id] = std::move(*entry);
    journal.groups_[group][id] = &stored;
    journal.count(stored, 1);
  }
  return journal;
}

Status TaskJournal::intend(const std::vector<TaskEntry>& launching) {
  std::vector<TaskEntry> intents;
  std::vector<Write> writes;
  for (const TaskEntry& given : launching) {
    if (given.taskId.empty()) return makeError(ErrorCode::kInvalidArgument, "empty task ID");
    TaskEntry entry = given;
    entry.confirmed = false;
    entry.state = TaskState::STAGING;
    entry.reason = TaskReason::NONE;
    entry.exitCode.reset();
    writes.push_back(Write::put(kPrefix + entry.taskId, encode(entry), 0));
    intents.push_back(std::move(entry));
  }
  auto done = store_->commit(writes);
  if (!done) {
    if (done.error().code == ErrorCode::kFailedPrecondition) {
      return makeError(ErrorCode::kFailedPrecondition,
                       "a task ID is launched once: " + done.error().message);
    }
    return makeError(done.error());
  }
  for (size_t i = 0; i < intents.size(); ++i) {
    versions_[intents[i].taskId] = (*done)[i].version;
    std::string id = intents[i].taskId, group = intents[i].group;
    TaskEntry& stored = tasks_[id] = std::move(intents[i]);
    groups_[group][id] = &stored;
    count(stored, 1);
  }
  return {};
}

Status TaskJournal::record(const TaskStatus& status) { return recordAll({status}); }

Status TaskJournal::recordAll(const std::vector<TaskStatus>& statuses) {
  std::vector<TaskEntry> next;
  std::vector<Write> writes;
  std::map<std::string, size_t> at;  // task -> its index in next/writes
  for (const TaskStatus& status : statuses) {
    auto it = tasks_.find(status.taskId);
    if (it == tasks_.end()) {
      return makeError(ErrorCode::kNotFound, "no task '" + status.taskId + "' in the journal");
    }
    auto seen = at.find(status.taskId);
    TaskEntry entry = seen == at.end() ? it->second : next[seen->second];
    // A reconciliation answer of UNKNOWN/LOST for an unconfirmed intent
    // settles it as well: the launch never arrived.
    entry.confirmed = true;
    entry.state = status.state;
    entry.reason = status.reason;
    entry.exitCode = status.exitCode;
    entry.healthy = status.healthy;
    entry.ready = status.ready;
    entry.message = status.message.substr(0, TaskEntry::kMaxMessage);
    entry.updated = status.timestamp;
    if (!status.agentId.empty()) entry.agentId = status.agentId;
    Write write = Write::put(kPrefix + entry.taskId, encode(entry), versions_[entry.taskId]);
    if (seen == at.end()) {
      at[status.taskId] = next.size();
      next.push_back(std::move(entry));
      writes.push_back(std::move(write));
    } else {
      next[seen->second] = std::move(entry);
      writes[seen->second] = std::move(write);
    }
  }
  if (writes.empty()) return {};
  auto done = store_->commit(writes);
  if (!done) return makeError(done.error());
  for (size_t i = 0; i < next.size(); ++i) {
    TaskEntry& stored = tasks_.at(next[i].taskId);
    versions_[stored.taskId] = (*done)[i].version;
    count(stored, -1);
    stored = std::move(next[i]);
    count(stored, 1);
  }
  return {};
}

Status TaskJournal::forget(const std::string& taskId) {
  auto it = tasks_.find(taskId);
  if (it == tasks_.end()) return {};
  if (Status s = store_->erase(kPrefix + taskId, versions_[taskId]); !s) return s;
  count(it->second, -1);
  if (auto g = groups_.find(it->second.group); g != groups_.end()) {
    g->second.erase(taskId);
    if (g->second.empty()) groups_.erase(g);
  }
  tasks_.erase(it);
  versions_.erase(taskId);
  return {};
}

const TaskEntry* TaskJournal::find(const std::string& taskId) const {
  auto it = tasks_.find(taskId);
  return it == tasks_.end() ? nullptr : &it->second;
}

void TaskJournal::count(const TaskEntry& entry, int64_t delta) {
  auto& tally = tallies_[entry.group];
  TaskKind kind{entry.data, entry.state, entry.healthy, entry.ready};
  int64_t& n = tally[kind];
  n += delta;
  if (n == 0) tally.erase(kind);
  if (tally.empty()) tallies_.erase(entry.group);
}

const std::map<TaskKind, int64_t>& TaskJournal::tally(const std::string& name) const {
  static const std::map<TaskKind, int64_t> kNone;
  auto it = tallies_.find(name);
  return it == tallies_.end() ? kNone : it->second;
}

std::vector<const TaskEntry*> TaskJournal::group(const std::string& name) const {
  std::vector<const TaskEntry*> out;
  auto g = groups_.find(name);
  if (g == groups_.end()) return out;
  out.reserve(g->second.size());
  for (const auto& [id, entry] : g->second) out.push_back(entry);
  return out;
}

std::vector<std::string> TaskJournal::unconfirmed() const {
  std::vector<std::string> out;
  for (const auto& [id, entry] : tasks_) {
    if (!entry.confirmed) out.push_back(id);
  }
  return out;
}

std::vector<std::string> TaskJournal::active() const {
  std::vector<std::string> out;
  for (const auto& [id, entry] : tasks_) {
    if (!isTerminal(entry.state)) out.push_back(id);
  }
  return out;
}

}  // namespace agora::kit
