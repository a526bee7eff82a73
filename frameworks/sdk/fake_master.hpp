#pragma once
// FakeMaster: an in-process master speaking the scheduler protocol over a
// FakeNetwork, for testing frameworks without processes. It is written from
// PROTOCOL.md, independently of master/ (frameworks never link master code).
//
// It keeps fake agents with resources and offers each agent's free resources
// (minus running tasks and outstanding offers) to one subscribed framework at
// a time, honouring decline/accept refuse filters, SUPPRESS and REVIVE. It
// validates ACCEPTs like the real master (unknown offers -> TASK_LOST or
// TASK_DROPPED; invalid tasks -> TASK_ERROR), records launches, kills,
// declines and acknowledgements, and lets the test drive task states with
// sendUpdate() or an automatic mode.
//
// Threads: everything runs on the loop given to the constructor; tests drive
// it with loop.runUntilIdle() and a SimulatedClock.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/fake_transport.hpp"
#include "common/model.hpp"
#include "frameworks/sdk/messages.hpp"

namespace agora::sdk {

struct FakeAgent {
  std::string id;
  Resources resources;
  std::string hostname = "localhost";
  KeyValues attributes;
  std::string url = "http://127.0.0.1:5051";
};

struct FakeMasterOptions {
  std::string endpoint = "fake-master";
  double heartbeatIntervalSec = 5.0;
  // Offer free resources as soon as they appear (subscribe, agent added, task
  // ended, offer declined, revive); when false only offerResources() does.
  bool autoOffer = true;
  // What happens to a launched task by itself.
  enum class AutoRun { kNone, kRunning, kFinish, kFail };
  AutoRun autoRun = AutoRun::kNone;
  // Answer KILL with TASK_KILLED at once.
  bool autoKill = true;
};

class FakeMaster {
 public:
  struct Framework {
    FrameworkInfo info;
    std::string peer;
    bool connected = true;
    bool suppressed = false;
    bool removed = false;
    int heartbeats = 0;
  };
  struct Task {
    TaskInfo info;
    std::string frameworkId;
    TaskState state = TaskState::STAGING;
    std::optional<bool> healthy = std::nullopt;  // the latest verdicts (sendVerdicts)
    std::optional<bool> ready = std::nullopt;
  };
  struct Decline {
    std::string frameworkId;
    std::vector<std::string> offerIds;
    double refuseSeconds = 0;
  };

  // REQUIRES: loop and network outlive the master.
  FakeMaster(EventLoop& loop, FakeNetwork& network, FakeMasterOptions options = {});
  ~FakeMaster();
  FakeMaster(const FakeMaster&) = delete;
  FakeMaster& operator=(const FakeMaster&) = delete;

  const std::string& endpoint() const { return options_.endpoint; }
  FakeMasterOptions& options() { return options_; }

  void addAgent(FakeAgent agent);
  // REQUIRES: resources parse ("cpus:4;mem:1024").
  void addAgent(const std::string& id, const std::string& resources);
  // Rescinds the agent's offers; its live tasks become TASK_LOST (REASON_AGENT_REMOVED).
  void removeAgent(const std::string& agentId);

  // Offers every agent's free resources now (also what autoOffer does).
  void offerResources();
  void rescind(const std::string& offerId);
  // Sends a reliable update (fresh uuid) for a known task; returns the uuid.
  std::string sendUpdate(const std::string& taskId, TaskState state,
                         TaskReason reason = TaskReason::NONE, const std::string& message = "",
                         std::optional<int> exitCode = std::nullopt);
  // Sends TASK_RUNNING with new check verdicts, as an executor does when its
  // task's health or readiness check decides (later updates carry them).
  std::string sendVerdicts(const std::string& taskId, std::optional<bool> healthy,
                           std::optional<bool> ready, const std::string& message = "");
  void sendError(const std::string& frameworkId, const std::string& message);
  // Stops heartbeats and every event (the scheduler sees a silent master).
  void setSilent(bool silent) { silent_ = silent; }

  // --- What the frameworks did. ---
  const std::map<std::string, Framework>& frameworks() const { return frameworks_; }
  const Framework* framework(const std::string& id) const;
  const Task* task(const std::string& taskId) const;
  const std::vector<TaskInfo>& launches() const { return launches_; }
  const std::vector<TaskRef>& kills() const { return kills_; }
  const std::vector<Decline>& declines() const { return declines_; }
  const std::vector<std::vector<TaskRef>>& reconciles() const { return reconciles_; }
  // Uuids (raw bytes) of reliable updates sent and not yet acknowledged.
  const std::set<std::string>& unacknowledged() const { return unacknowledged_; }
  int acknowledgements() const { return acknowledgements_; }
  // Offer ID -> offer, for offers not yet used, declined or rescinded.
  const std::map<std::string, Offer>& outstandingOffers() const { return offers_; }
  // Every call received, by name ("SUBSCRIBE", "HEARTBEAT", ...).
  int callCount(const std::string& name) const;

 private:
  void onCall(const std::string& peer, std::string_view payload);
  void handleSubscribe(const std::string& peer, const call::Subscribe& subscribe);
  void handleAccept(Framework& fw, const call::Accept& accept);
  void handleDecline(Framework& fw, const call::Decline& decline);
  void handleKill(Framework& fw, const TaskRef& ref);
  void handleReconcile(Framework& fw, const call::Reconcile& reconcile);
  void handleTeardown(Framework& fw);
  void launchTask(Framework& fw, TaskInfo task);
  void autoRun(const std::string& taskId);

  void sendEvent(const Framework& fw, Event::Body body);
  // An update without a uuid (master-generated).
  void sendMasterUpdate(const Framework& fw, const std::string& taskId, const std::string& agentId,
                        TaskState state, TaskReason reason, const std::string& message);
  void addFilter(const std::string& frameworkId, const std::string& agentId,
                 const Resources& resources, double refuseSeconds);
  bool filtered(const std::string& frameworkId, const std::string& agentId,
                const Resources& resources) const;
  Resources freeResources(const FakeAgent& agent) const;
  void maybeOffer();
  Framework* frameworkOfPeer(const std::string& peer);

  struct Filter {
    std::string frameworkId;
    std::string agentId;
    Resources resources;
    TimePoint expires;
  };

  EventLoop& loop_;
  FakeMasterOptions options_;
  std::unique_ptr<FakeServer> server_;
  bool silent_ = false;
  int nextId_ = 1;
  EventLoop::TimerId heartbeatTimer_ = 0;
  std::map<std::string, FakeAgent> agents_;
  std::map<std::string, Framework> frameworks_;
  std::vector<std::string> frameworkOrder_;  // subscription order: who gets offers first
  size_t nextFramework_ = 0;                 // round-robin cursor into frameworkOrder_
  std::map<std::string, Task> tasks_;        // by task ID
  std::map<std::string, Offer> offers_;
  std::vector<Filter> filters_;
  std::vector<TaskInfo> launches_;
  std::vector<TaskRef> kills_;
  std::vector<Decline> declines_;
  std::vector<std::vector<TaskRef>> reconciles_;
  std::set<std::string> unacknowledged_;
  int acknowledgements_ = 0;
  std::map<std::string, int> callCounts_;
};

}  // namespace agora::sdk
