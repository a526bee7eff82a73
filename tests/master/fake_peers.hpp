#pragma once
// Fake agents and schedulers for master unit tests: FakeClients on a
// FakeNetwork that build raw Cap'n Proto frames and record what they get.

#include <capnp/message.h>

#include <functional>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "common/fake_transport.hpp"
#include "common/model.hpp"
#include "schemas/master_agent.capnp.h"
#include "schemas/scheduler.capnp.h"
#include "tests/common/resource_helpers.hpp"

namespace agora::master::testing {

using agora::testing::res;
using agora::testing::volume;

std::string agentFrame(const std::function<void(schema::AgentEnvelope::Builder)>& fill);
std::string callFrame(const std::function<void(schema::Call::Builder)>& fill);
TaskInfo makeTask(const std::string& id, const std::string& resources);

class FakeAgent {
 public:
  FakeAgent(FakeNetwork& network, const std::string& identity);

  void registerAgent(const std::string& resources, const std::string& hostname = "host1");
  void reregister(const std::string& agentId, const std::string& resources,
                  const std::vector<std::pair<std::string, TaskInfo>>& runningTasks,
                  const std::string& attempt = "", uint64_t attemptSeq = 0);
  void pong();
  // Returns the update's uuid: `uuid` (a resend) or a new one.
  std::string sendStatus(const std::string& frameworkId, const std::string& taskId,
                         TaskState state, const std::string& uuid = "",
                         std::optional<int> exitCode = std::nullopt);
  void sendRaw(std::string_view protocol, std::string_view payload);

  FakeClient& client() { return *client_; }
  bool autoPong = true;
  // Answer destroyVolumes with volumesDestroyed (the data is deleted).
  bool confirmDestroys = true;
  KeyValues attributes;  // sent by registerAgent()

  std::string agentId;
  int registeredCount = 0;
  int pings = 0;
  int unknownPings = 0;                                    // pings with known=false
  std::string session;                                     // of the last AgentRegistered
  std::vector<std::pair<std::string, TaskInfo>> runTasks;  // (frameworkId, task)
  std::vector<std::string> runTaskSessions;                // RunTask.session of each
  std::vector<std::string> kills;                          // task IDs
  std::vector<std::string> acks;                           // uuids
  std::vector<std::string> shutdownFrameworks;
  std::vector<std::string> shutdownAgents;  // their messages
  std::vector<std::string> destroyedVolumes;  // persistence IDs of destroyVolumes

 private:
  void onMessage(std::string_view payload);
  std::unique_ptr<FakeClient> client_;
};

// A RESERVE, UNRESERVE, CREATE or DESTROY of an ACCEPT.
struct OfferOperation {
  schema::Operation::Which kind;
  Resources resources;
};

class FakeScheduler {
 public:
  FakeScheduler(FakeNetwork& network, const std::string& identity);

  void subscribe(const std::string& name, const std::string& frameworkId = "",
                 double failoverTimeoutSec = 0, bool partitionAware = false);
  void accept(const std::vector<std::string>& offerIds, const std::vector<TaskInfo>& tasks,
              double refuseSeconds = 5, bool asGroup = false);
  // ACCEPT of `offerIds` with `operations` in order, then one LAUNCH of
  // `tasks` (none when empty).
  void acceptWith(const std::vector<std::string>& offerIds,
                  const std::vector<OfferOperation>& operations,
                  const std::vector<TaskInfo>& tasks = {}, double refuseSeconds = 0);
  void decline(const std::vector<std::string>& offerIds, double refuseSeconds);
  void revive();
  void suppress();
  void kill(const std::string& taskId);
  void acknowledge(const std::string& agentId, const std::string& taskId, const std::string& uuid);
  void reconcile(const std::vector<std::string>& taskIds);
  void teardown();
  void heartbeat();
  void send(const std::function<void(schema::Call::Builder)>& fill);

  FakeClient& client() { return *client_; }
  // FrameworkInfo.roles sent by subscribe() (empty: the master uses "*").
  std::vector<std::string> roles;
  std::string user = "tester";  // FrameworkInfo.user
  std::vector<AttributeConstraint> offerConstraints;  // sent by subscribe()
  std::string webuiUrl;                               // sent by subscribe()
  // Answer each master heartbeat with a heartbeat call (a live scheduler).
  bool autoHeartbeat = true;

  std::string frameworkId;
  std::vector<Offer> offers;          // every offer received
  std::set<std::string> outstanding;  // received, not rescinded or used
  std::vector<std::string> rescinds;
  std::vector<TaskStatus> updates;
  std::vector<std::string> errors;
  int heartbeats = 0;

  // Offer IDs outstanding now; empty if none.
  std::vector<std::string> outstandingOffers() const {
    return {outstanding.begin(), outstanding.end()};
  }
  const TaskStatus* lastUpdateFor(const std::string& taskId) const;

 private:
  // `tasks` null: no LAUNCH.
  void sendAccept(const std::vector<std::string>& offerIds,
                  const std::vector<OfferOperation>& operations, const std::vector<TaskInfo>* tasks,
                  double refuseSeconds, bool asGroup);
  void onMessage(std::string_view payload);
  std::unique_ptr<FakeClient> client_;
};

}  // namespace agora::master::testing
