#include "agent/status_update_manager.hpp"

#include <glog/logging.h>

#include "common/transport.hpp"

namespace agora::agent {

StatusUpdateManager::StatusUpdateManager(EventLoop& loop, Options options, Forward forward)
    : loop_(loop), options_(options), forward_(std::move(forward)) {
  CHECK(options_.retryMin > Duration{0} && options_.retryMax >= options_.retryMin)
      << "status update retry bounds must satisfy 0 < min <= max";
}

StatusUpdateManager::~StatusUpdateManager() {
  for (auto& [key, stream] : streams_) cancelTimer(stream);
}

StatusUpdateManager::Outcome StatusUpdateManager::update(StatusUpdate update) {
  CHECK(!update.status.uuid.empty()) << "reliable status updates need a uuid";
  Key key{update.frameworkId, update.status.taskId};
  const std::string& uuid = update.status.uuid;
  auto existing = streams_.find(key);
  if (finishedUuids_.count(uuid) ||
      (existing != streams_.end() && existing->second.seen.count(uuid))) {
    stats_.duplicates++;
    return Outcome::kDuplicate;
  }
  if (existing != streams_.end() && existing->second.terminal) {
    LOG(WARNING) << "dropping " << taskStateName(update.status.state) << " update for task "
                 << key.second << ": it already has a terminal update";
    return Outcome::kAfterTerminal;
  }
  Stream& stream = streams_[key];
  stream.seen.insert(uuid);
  stream.terminal = isTerminal(update.status.state);
  stream.queue.push_back(std::move(update));
  if (stream.queue.size() == 1 && !paused_) {
    stream.backoff = options_.retryMin;
    sendHead(key, stream, false);
  }
  return Outcome::kAccepted;
}

bool StatusUpdateManager::acknowledge(const std::string& frameworkId, const std::string& taskId,
                                      const std::string& uuid) {
  auto it = streams_.find(Key{frameworkId, taskId});
  if (it == streams_.end() || it->second.queue.empty() ||
      it->second.queue.front().status.uuid != uuid) {
    stats_.staleAcks++;
    VLOG(1) << "ignoring acknowledgement " << hexEncode(uuid) << " for task " << taskId;
    return false;
  }
  Stream& stream = it->second;
  stats_.acked++;
  cancelTimer(stream);
  stream.queue.pop_front();
  if (stream.queue.empty()) {
    if (stream.terminal) {
      for (const auto& seen : stream.seen) remember(seen);
      streams_.erase(it);
    }
    return true;
  }
  if (!paused_) {
    stream.backoff = options_.retryMin;
    sendHead(it->first, stream, false);
  }
  return true;
}

void StatusUpdateManager::sendHead(const Key& key, Stream& stream, bool retry) {
  CHECK(!stream.queue.empty());
  (retry ? stats_.retried : stats_.sent)++;
  forward_(stream.queue.front());
  cancelTimer(stream);
  stream.timer = loop_.addTimer(stream.backoff, [this, key] {
    auto it = streams_.find(key);
    if (it == streams_.end() || it->second.queue.empty()) return;
    Stream& s = it->second;
    s.timer.reset();
    if (paused_) return;
    s.backoff = std::min(s.backoff * 2, options_.retryMax);
    sendHead(key, s, true);
  });
}

void StatusUpdateManager::cancelTimer(Stream& stream) {
  if (stream.timer) loop_.cancelTimer(*stream.timer);
  stream.timer.reset();
}

void StatusUpdateManager::pause() {
  paused_ = true;
  for (auto& [key, stream] : streams_) cancelTimer(stream);
}

void StatusUpdateManager::resume() {
  paused_ = false;
  for (auto& [key, stream] : streams_) {
    if (stream.queue.empty()) continue;
    stream.backoff = options_.retryMin;
    sendHead(key, stream, true);
  }
}

void StatusUpdateManager::clear() {
  for (auto& [key, stream] : streams_) {
    cancelTimer(stream);
    for (const auto& seen : stream.seen) remember(seen);
  }
  streams_.clear();
}

std::optional<UpdateStreamState> StatusUpdateManager::streamState(
    const std::string& frameworkId, const std::string& taskId) const {
  auto it = streams_.find(Key{frameworkId, taskId});
  if (it == streams_.end()) return std::nullopt;
  UpdateStreamState state;
  state.frameworkId = frameworkId;
  state.taskId = taskId;
  state.terminal = it->second.terminal;
  for (const StatusUpdate& update : it->second.queue) state.pending.push_back(update.status);
  state.seenUuids.assign(it->second.seen.begin(), it->second.seen.end());
  return state;
}

void StatusUpdateManager::restore(const UpdateStreamState& state, const std::string& sandbox) {
  Key key{state.frameworkId, state.taskId};
  if (state.terminal && state.pending.empty()) {  // acknowledged to the end
    for (const auto& uuid : state.seenUuids) remember(uuid);
    return;
  }
  Stream& stream = streams_[key];
  cancelTimer(stream);
  stream.queue.clear();
  for (const TaskStatus& status : state.pending) {
    stream.queue.push_back(StatusUpdate{state.frameworkId, status, sandbox});
  }
  stream.seen.insert(state.seenUuids.begin(), state.seenUuids.end());
  for (const TaskStatus& status : state.pending) stream.seen.insert(status.uuid);
  stream.terminal = state.terminal;
  if (!stream.queue.empty() && !paused_) {
    stream.backoff = options_.retryMin;
    sendHead(key, stream, false);
  }
}

size_t StatusUpdateManager::pending(const std::string& frameworkId,
                                    const std::string& taskId) const {
  auto it = streams_.find(Key{frameworkId, taskId});
  return it == streams_.end() ? 0 : it->second.queue.size();
}

size_t StatusUpdateManager::pending() const {
  size_t total = 0;
  for (const auto& [key, stream] : streams_) total += stream.queue.size();
  return total;
}

void StatusUpdateManager::remember(const std::string& uuid) {
  if (!finishedUuids_.insert(uuid).second) return;
  finishedOrder_.push_back(uuid);
  while (finishedOrder_.size() > options_.rememberedUuids) {
    finishedUuids_.erase(finishedOrder_.front());
    finishedOrder_.pop_front();
  }
}

}  // namespace agora::agent
