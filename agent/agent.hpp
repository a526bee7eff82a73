#pragma once
// The agent's link to the master (PROTOCOL.md, master <-> agent): registers
// (registerAgent each second until agentRegistered; reregisterAgent with its
// tasks once it has an ID), answers pings, re-registers at once when its
// connection to the master is re-established or a ping says known=false, and
// when no ping came for 3 intervals, hands runTask / killTask /
// shutdownFramework / shutdownAgent to the TaskSupervisor, and forwards the
// StatusUpdateManager's updates and the master's acknowledgements.
// Publishes an AgentSnapshot for the HTTP API after every change.
//
// With Options::checkpoint the agent ID is checkpointed (with the boot ID)
// as soon as the master assigns it, and recover() - called before start() -
// restores the ID, frameworks and containers of an earlier run so that the
// agent re-registers with them.
//
// Thread: the loop thread, except snapshot() (any thread).

#include <map>
#include <memory>
#include <string>

#include "agent/agent_snapshot.hpp"
#include "agent/containerizer.hpp"
#include "common/snapshot_cell.hpp"
#include "agent/status_update_manager.hpp"
#include "agent/task_supervisor.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/model.hpp"
#include "common/resources.hpp"
#include "common/transport.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::agent {

class Agent {
 public:
  struct Options {
    std::string hostname;
    Resources resources;
    KeyValues attributes;
    std::string httpUrl;
    Duration tickInterval = seconds(1);  // registration retries, ping watchdog
    StatusUpdateManager::Options statusUpdates;
    TaskSupervisor::Options supervisor;
    bool checkpoint = false;  // in supervisor.workDir
    AgentIdentity identity;   // boot ID, hostname and resources to checkpoint with the ID
  };

  // REQUIRES: every reference outlives the agent.
  Agent(EventLoop& loop, ClientTransport& master, ServerTransport& executors,
        Containerizer& containerizer, Options options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // REQUIRES: before start().
  void recover(const RecoveredState& state);
  void start();
  // The master connection now reaches a new leading master: register again
  // at once (same agent ID) instead of waiting for missed pings.
  void reconnect(const std::string& why) { startRegistration(why); }
  // Runs on the loop when a standby master names the leader's endpoint, and
  // with "" when the master went silent (so a redirected connection returns
  // to its configured endpoint). main.cpp points the connection there.
  void setRedirectHandler(std::function<void(const std::string& endpoint)> handler) {
    onRedirect_ = std::move(handler);
  }
  // Runs on the loop thread after each snapshot is published (metrics export).
  void setPublishHandler(std::function<void(const AgentSnapshot&)> handler) {
    onPublish_ = std::move(handler);
  }

  bool registered() const { return registered_; }
  const std::string& agentId() const { return agentId_; }
  const StatusUpdateManager& statusUpdates() const { return updates_; }
  const TaskSupervisor& supervisor() const { return supervisor_; }
  // Thread-safe.
  std::shared_ptr<const AgentSnapshot> snapshot() const { return snapshot_.get(); }

 private:
  void onMasterMessage(std::string_view protocol, std::string_view payload);
  void dispatch(schema::AgentEnvelope::Reader envelope);
  void onRegistered(schema::AgentRegistered::Reader message);
  void onPing(schema::Ping::Reader message);
  void onRunTask(schema::RunTask::Reader message);
  void onDestroyVolumes(schema::DestroyVolumes::Reader message);
  // Deletes the destroyed volumes no live container uses; keeps the rest.
  void deleteDestroyedVolumes();
  void startRegistration(const std::string& why);
  void onConnected();
  void sendRegistration();
  void forward(const StatusUpdate& update);
  void onTick();
  void reject(const char* reason, const std::string& detail);
  void checkpointIdentity();
  void schedulePublish();
  void publish();

  EventLoop& loop_;
  ClientTransport& master_;
  const Options options_;
  AgentCounters counters_;
  StatusUpdateManager updates_;
  TaskSupervisor supervisor_;
  std::map<std::string, FrameworkInfo> frameworks_;
  // Destroyed by the master, still used by a container: deleted on a later tick.
  std::vector<PersistentVolume> destroyedVolumes_;

  std::string agentId_;
  std::string checkpointedId_;
  bool registered_ = false;
  std::string registrationAttempt_;  // ReregisterAgent.attempt, kept by retries
  uint64_t registrationSeq_ = 0;     // ReregisterAgent.attemptSeq, likewise
  // A registration went out since the last connected event: it waits in
  // the connection's queue, so that event need not send another.
  bool sentSinceConnected_ = false;
  std::string session_;  // AgentRegistered.session: RunTasks of another are dropped
  Duration pingInterval_ = seconds(2);
  TimePoint lastPing_{};
  EventLoop::TimerId tick_ = 0;

  bool publishScheduled_ = false;
  std::function<void(const AgentSnapshot&)> onPublish_;
  std::function<void(const std::string&)> onRedirect_;
  LifetimeGuard lifetime_;
  SnapshotCell<AgentSnapshot> snapshot_;
};

}  // namespace agora::agent
