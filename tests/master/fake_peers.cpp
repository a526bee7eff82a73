#include "tests/master/fake_peers.hpp"

#include <glog/logging.h>

#include "common/codec.hpp"

namespace agora::master::testing {

std::string agentFrame(const std::function<void(schema::AgentEnvelope::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto envelope = message.initRoot<schema::AgentEnvelope>();
  envelope.setVersion(schema::PROTOCOL_VERSION);
  fill(envelope);
  return encodePacked(message);
}

std::string callFrame(const std::function<void(schema::Call::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto call = message.initRoot<schema::Call>();
  call.setVersion(schema::PROTOCOL_VERSION);
  fill(call);
  return encodePacked(message);
}

TaskInfo makeTask(const std::string& id, const std::string& resources) {
  TaskInfo task;
  task.taskId = id;
  task.name = id;
  task.resources = *Resources::parse(resources);
  task.command.value = "sleep 100";
  return task;
}

FakeAgent::FakeAgent(FakeNetwork& network, const std::string& identity)
    : client_(network.connect("master", identity)) {
  client_->setHandler([this](std::string_view, std::string_view payload) { onMessage(payload); });
}

void FakeAgent::registerAgent(const std::string& resources, const std::string& hostname) {
  Resources total = *Resources::parse(resources);
  client_->send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder env) {
                  auto reg = env.initRegisterAgent();
                  reg.setHostname(hostname);
                  total.toCapnp(reg.initResources(total.count()));
                  reg.setHttpUrl("http://" + hostname + ":5051");
                  toCapnp(attributes, reg.initAttributes(static_cast<unsigned>(attributes.size())));
                }));
}

void FakeAgent::reregister(const std::string& id, const std::string& resources,
                           const std::vector<std::pair<std::string, TaskInfo>>& runningTasks,
                           const std::string& attempt, uint64_t attemptSeq) {
  Resources total = *Resources::parse(resources);
  client_->send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder env) {
                  auto reg = env.initReregisterAgent();
                  reg.setAgentId(id);
                  reg.setAttempt(capnp::Data::Reader(
                      reinterpret_cast<const capnp::byte*>(attempt.data()), attempt.size()));
                  reg.setAttemptSeq(attemptSeq);
                  reg.setHostname("host1");
                  total.toCapnp(reg.initResources(total.count()));
                  auto tasks = reg.initTasks(static_cast<unsigned>(runningTasks.size()));
                  for (unsigned i = 0; i < runningTasks.size(); ++i) {
                    tasks[i].setFrameworkId(runningTasks[i].first);
                    toCapnp(runningTasks[i].second, tasks[i].initTask());
                    TaskStatus status;
                    status.taskId = runningTasks[i].second.taskId;
                    status.state = TaskState::RUNNING;
                    status.frameworkId = runningTasks[i].first;
                    toCapnp(status, tasks[i].initLatest());
                  }
                }));
}

void FakeAgent::pong() {
  client_->send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder env) {
                  env.initPong().setAgentId(agentId);
                }));
}

std::string FakeAgent::sendStatus(const std::string& frameworkId, const std::string& taskId,
                                  TaskState state, const std::string& uuid,
                                  std::optional<int> exitCode) {
  TaskStatus status;
  status.exitCode = exitCode;
  status.taskId = taskId;
  status.state = state;
  status.frameworkId = frameworkId;
  status.agentId = agentId;
  status.source = StatusSource::EXECUTOR;
  status.uuid = uuid.empty() ? randomUuidBytes() : uuid;
  client_->send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder env) {
                  auto update = env.initStatusUpdate();
                  update.setFrameworkId(frameworkId);
                  toCapnp(status, update.initStatus());
                  update.setSandbox("/sandbox/" + taskId);
                }));
  return status.uuid;
}

void FakeAgent::sendRaw(std::string_view protocol, std::string_view payload) {
  client_->send(protocol, payload);
}

namespace {
std::string bytesOf(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}
}  // namespace

void FakeAgent::onMessage(std::string_view payload) {
  auto decoded = Decoded::parse(payload);
  CHECK(decoded.has_value()) << decoded.error().message;
  auto env = decoded->root<schema::AgentEnvelope>();
  switch (env.which()) {
    case schema::AgentEnvelope::AGENT_REGISTERED:
      agentId = env.getAgentRegistered().getAgentId();
      session = bytesOf(env.getAgentRegistered().getSession());
      registeredCount++;
      break;
    case schema::AgentEnvelope::PING:
      if (!env.getPing().getKnown()) {
        unknownPings++;
        break;
      }
      pings++;
      if (autoPong) pong();
      break;
    case schema::AgentEnvelope::RUN_TASK: {
      auto run = env.getRunTask();
      runTasks.emplace_back(run.getFramework().getId(), *fromCapnp(run.getTask()));
      runTaskSessions.push_back(bytesOf(run.getSession()));
      break;
    }
    case schema::AgentEnvelope::KILL_TASK:
      kills.emplace_back(env.getKillTask().getTaskId());
      break;
    case schema::AgentEnvelope::STATUS_UPDATE_ACK: {
      auto uuid = env.getStatusUpdateAck().getUuid();
      acks.emplace_back(reinterpret_cast<const char*>(uuid.begin()), uuid.size());
      break;
    }
    case schema::AgentEnvelope::SHUTDOWN_FRAMEWORK:
      shutdownFrameworks.emplace_back(env.getShutdownFramework().getFrameworkId());
      break;
    case schema::AgentEnvelope::SHUTDOWN_AGENT:
      shutdownAgents.emplace_back(env.getShutdownAgent().getMessage());
      break;
    case schema::AgentEnvelope::DESTROY_VOLUMES: {
      auto volumes = env.getDestroyVolumes().getVolumes();
      for (auto volume : volumes) {
        destroyedVolumes.emplace_back(volume.getDisk().getPersistence().getId());
      }
      if (!confirmDestroys) break;
      client_->send(kAgentProtocol, agentFrame([&](schema::AgentEnvelope::Builder out) {
                      auto confirmed = out.initVolumesDestroyed();
                      confirmed.setAgentId(agentId);
                      confirmed.setVolumes(volumes);
                    }));
      break;
    }
    default:
      break;
  }
}

FakeScheduler::FakeScheduler(FakeNetwork& network, const std::string& identity)
    : client_(network.connect("master", identity)) {
  client_->setHandler([this](std::string_view, std::string_view payload) { onMessage(payload); });
}

void FakeScheduler::send(const std::function<void(schema::Call::Builder)>& fill) {
  client_->send(kSchedulerProtocol, callFrame([&](schema::Call::Builder call) {
                  call.setFrameworkId(frameworkId);
                  fill(call);
                }));
}

void FakeScheduler::subscribe(const std::string& name, const std::string& id,
                              double failoverTimeoutSec, bool partitionAware) {
  FrameworkInfo info;
  info.id = id;
  info.name = name;
  info.user = user;
  info.failoverTimeoutSec = failoverTimeoutSec;
  info.roles = roles;
  info.offerConstraints = offerConstraints;
  info.webuiUrl = webuiUrl;
  if (partitionAware) info.capabilities.push_back("PARTITION_AWARE");
  client_->send(kSchedulerProtocol, callFrame([&](schema::Call::Builder call) {
                  call.setFrameworkId(id);
                  toCapnp(info, call.initSubscribe());
                }));
}

void FakeScheduler::accept(const std::vector<std::string>& offerIds,
                           const std::vector<TaskInfo>& tasks, double refuseSeconds, bool asGroup) {
  sendAccept(offerIds, {}, &tasks, refuseSeconds, asGroup);
}

void FakeScheduler::acceptWith(const std::vector<std::string>& offerIds,
                               const std::vector<OfferOperation>& operations,
                               const std::vector<TaskInfo>& tasks, double refuseSeconds) {
  sendAccept(offerIds, operations, tasks.empty() ? nullptr : &tasks, refuseSeconds, false);
}

void FakeScheduler::sendAccept(const std::vector<std::string>& offerIds,
                               const std::vector<OfferOperation>& operations,
                               const std::vector<TaskInfo>* tasks, double refuseSeconds,
                               bool asGroup) {
  for (const auto& id : offerIds) outstanding.erase(id);
  send([&](schema::Call::Builder call) {
    auto accept = call.initAccept();
    auto ids = accept.initOfferIds(static_cast<unsigned>(offerIds.size()));
    for (unsigned i = 0; i < offerIds.size(); ++i) ids.set(i, offerIds[i]);
    auto ops = accept.initOperations(static_cast<unsigned>(operations.size() + (tasks ? 1 : 0)));
    for (unsigned i = 0; i < operations.size(); ++i) {
      const Resources& r = operations[i].resources;
      switch (operations[i].kind) {
        case schema::Operation::RESERVE: r.toCapnp(ops[i].initReserve(r.count())); break;
        case schema::Operation::UNRESERVE: r.toCapnp(ops[i].initUnreserve(r.count())); break;
        case schema::Operation::CREATE: r.toCapnp(ops[i].initCreate(r.count())); break;
        case schema::Operation::DESTROY: r.toCapnp(ops[i].initDestroy(r.count())); break;
        default: LOG(FATAL) << "not an offer operation on resources";
      }
    }
    if (tasks != nullptr) {
      auto op = ops[static_cast<unsigned>(operations.size())];
      auto n = static_cast<unsigned>(tasks->size());
      auto list = asGroup ? op.initLaunchGroup(n) : op.initLaunch(n);
      for (unsigned i = 0; i < n; ++i) toCapnp((*tasks)[i], list[i]);
    }
    accept.initFilters().setRefuseSeconds(refuseSeconds);
  });
}

void FakeScheduler::decline(const std::vector<std::string>& offerIds, double refuseSeconds) {
  for (const auto& id : offerIds) outstanding.erase(id);
  send([&](schema::Call::Builder call) {
    auto decline = call.initDecline();
    auto ids = decline.initOfferIds(static_cast<unsigned>(offerIds.size()));
    for (unsigned i = 0; i < offerIds.size(); ++i) ids.set(i, offerIds[i]);
    decline.initFilters().setRefuseSeconds(refuseSeconds);
  });
}

void FakeScheduler::revive() {
  send([](schema::Call::Builder call) { call.initRevive(0); });
}

void FakeScheduler::suppress() {
  send([](schema::Call::Builder call) { call.initSuppress(0); });
}

void FakeScheduler::kill(const std::string& taskId) {
  send([&](schema::Call::Builder call) { call.initKill().setTaskId(taskId); });
}

void FakeScheduler::acknowledge(const std::string& agentId, const std::string& taskId,
                                const std::string& uuid) {
  send([&](schema::Call::Builder call) {
    auto ack = call.initAcknowledge();
    ack.setAgentId(agentId);
    ack.setTaskId(taskId);
    ack.setUuid(kj::arrayPtr(reinterpret_cast<const kj::byte*>(uuid.data()), uuid.size()));
  });
}

void FakeScheduler::reconcile(const std::vector<std::string>& taskIds) {
  send([&](schema::Call::Builder call) {
    auto refs = call.initReconcile(static_cast<unsigned>(taskIds.size()));
    for (unsigned i = 0; i < taskIds.size(); ++i) refs[i].setTaskId(taskIds[i]);
  });
}

void FakeScheduler::teardown() {
  send([](schema::Call::Builder call) { call.setTeardown(); });
}

void FakeScheduler::heartbeat() {
  send([](schema::Call::Builder call) { call.setHeartbeat(); });
}

const TaskStatus* FakeScheduler::lastUpdateFor(const std::string& taskId) const {
  for (auto it = updates.rbegin(); it != updates.rend(); ++it) {
    if (it->taskId == taskId) return &*it;
  }
  return nullptr;
}

void FakeScheduler::onMessage(std::string_view payload) {
  auto decoded = Decoded::parse(payload);
  CHECK(decoded.has_value()) << decoded.error().message;
  auto event = decoded->root<schema::Event>();
  switch (event.which()) {
    case schema::Event::SUBSCRIBED:
      frameworkId = event.getSubscribed().getFrameworkId();
      break;
    case schema::Event::OFFERS:
      for (auto offer : event.getOffers()) {
        offers.push_back(*fromCapnp(offer));
        outstanding.insert(offers.back().id);
      }
      break;
    case schema::Event::RESCIND:
      rescinds.emplace_back(event.getRescind());
      outstanding.erase(rescinds.back());
      break;
    case schema::Event::UPDATE:
      updates.push_back(*fromCapnp(event.getUpdate()));
      break;
    case schema::Event::ERROR:
      errors.emplace_back(event.getError());
      break;
    case schema::Event::HEARTBEAT:
      heartbeats++;
      if (autoHeartbeat) heartbeat();
      break;
    default:
      break;
  }
}

}  // namespace agora::master::testing
