#include "agent/agent.hpp"

#include <glog/logging.h>

#include "agent/executor/envelope.hpp"
#include "agent/paths.hpp"
#include "agent/persistent_volumes.hpp"
#include "common/checkpoint_file.hpp"

namespace agora::agent {

using schema::AgentEnvelope;

namespace {
constexpr int kMissedPingsBeforeReregistering = 3;
}  // namespace

Agent::Agent(EventLoop& loop, ClientTransport& master, ServerTransport& executors,
             Containerizer& containerizer, Options options)
    : loop_(loop),
      master_(master),
      options_(std::move(options)),
      updates_(loop, options_.statusUpdates, [this](const StatusUpdate& u) { forward(u); }),
      supervisor_(loop, executors, containerizer, updates_, counters_, options_.supervisor) {
  master_.setHandler([this](std::string_view protocol, std::string_view payload) {
    onMasterMessage(protocol, payload);
  });
  master_.setConnectedHandler([this] { onConnected(); });
  supervisor_.setChangeHandler([this] { schedulePublish(); });
}

Agent::~Agent() {
  lifetime_.invalidate();
  master_.setHandler(nullptr);
  master_.setConnectedHandler(nullptr);
  loop_.cancelTimer(tick_);
}

void Agent::recover(const RecoveredState& state) {
  if (state.agent) {
    agentId_ = state.agent->agentId;
    checkpointedId_ = agentId_;
  }
  for (const RecoveredContainer& c : state.containers) {
    frameworks_[c.container.framework.id] = c.container.framework;
  }
  LOG(INFO) << "recovering " << (agentId_.empty() ? "no agent ID" : "agent " + agentId_) << " with "
            << state.containers.size() << " containers";
  supervisor_.recover(state.containers);
}

void Agent::checkpointIdentity() {
  if (!options_.checkpoint || checkpointedId_ == agentId_) return;
  AgentIdentity identity = options_.identity;
  identity.agentId = agentId_;
  Status s = agentId_.empty()
                 ? removeCheckpointFile(paths::agentCheckpoint(options_.supervisor.workDir))
                 : checkpoints::writeAgent(options_.supervisor.workDir, identity);
  if (!s) {
    LOG(ERROR) << "cannot checkpoint the agent ID: " << s.error().message;
    return;
  }
  checkpointedId_ = agentId_;
}

void Agent::start() {
  tick_ = loop_.addPeriodic(options_.tickInterval, [this] { onTick(); });
  startRegistration("starting");
}

void Agent::startRegistration(const std::string& why) {
  LOG(INFO) << (agentId_.empty() ? "registering" : "re-registering as " + agentId_) << " (" << why
            << ")";
  registered_ = false;
  registrationAttempt_ = randomUuidBytes();
  // The clock's monotonic time (CLOCK_MONOTONIC, shared by this host's
  // processes): a killed process's late re-registration orders before this
  // one's (ReregisterAgent.attemptSeq).
  auto sinceBoot =
      std::chrono::duration_cast<std::chrono::nanoseconds>(loop_.clock().now().time_since_epoch());
  registrationSeq_ = std::max(registrationSeq_ + 1, static_cast<uint64_t>(sinceBoot.count()));
  updates_.pause();
  sendRegistration();
  schedulePublish();
}

void Agent::sendRegistration() {
  std::string frame = buildEnvelope<AgentEnvelope>([&](auto envelope) {
    if (agentId_.empty()) {
      auto m = envelope.initRegisterAgent();
      m.setHostname(options_.hostname);
      options_.resources.toCapnp(m.initResources(options_.resources.count()));
      toCapnp(options_.attributes,
              m.initAttributes(static_cast<unsigned>(options_.attributes.size())));
      m.setHttpUrl(options_.httpUrl);
      return;
    }
    auto m = envelope.initReregisterAgent();
    m.setAgentId(agentId_);
    m.setAttempt(
        capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(registrationAttempt_.data()),
                            registrationAttempt_.size()));
    m.setAttemptSeq(registrationSeq_);
    m.setHostname(options_.hostname);
    options_.resources.toCapnp(m.initResources(options_.resources.count()));
    toCapnp(options_.attributes,
            m.initAttributes(static_cast<unsigned>(options_.attributes.size())));
    m.setHttpUrl(options_.httpUrl);
    auto tasks = supervisor_.tasks();
    auto list = m.initTasks(static_cast<unsigned>(tasks.size()));
    std::map<std::string, const FrameworkInfo*> frameworks;
    for (unsigned i = 0; i < tasks.size(); ++i) {
      list[i].setFrameworkId(tasks[i].frameworkId);
      toCapnp(tasks[i].task, list[i].initTask());
      TaskStatus latest = tasks[i].latest;
      latest.agentId = agentId_;
      toCapnp(latest, list[i].initLatest());
      list[i].setSandbox(tasks[i].sandbox);
      auto fw = frameworks_.find(tasks[i].frameworkId);
      if (fw != frameworks_.end()) frameworks[fw->first] = &fw->second;
    }
    auto fws = m.initFrameworks(static_cast<unsigned>(frameworks.size()));
    unsigned i = 0;
    for (const auto& [id, info] : frameworks) toCapnp(*info, fws[i++]);
  });
  master_.send(kAgentProtocol, frame);
  sentSinceConnected_ = true;
}

void Agent::onConnected() {
  if (tick_ == 0) return;  // not started
  bool queued = sentSinceConnected_;
  sentSinceConnected_ = false;
  // A new connection may reach a restarted master that does not know this
  // agent's connection: register again now rather than after missed pings.
  if (registered_) return startRegistration("connected to the master again");
  // A re-registration sent before this connection may have been processed,
  // and the master's answer and the launches it sent after it lost with the
  // connection that carried them: a resend of the same attempt would be a
  // retry to the master, which does not look at its task list again. A new
  // attempt makes it reconcile (launches that never arrived end lost). When
  // the attempt only waited in the queue for this connection, the master
  // gets both, the older first: one more reconciliation, nothing lost.
  if (!agentId_.empty()) return startRegistration("connected again before the master answered");
  // A first registration sent on a connection still being made goes out
  // now; once more would only be a duplicate. A send lost with a broken
  // connection is repeated by the tick.
  if (!queued) sendRegistration();
}

void Agent::onTick() {
  supervisor_.refreshUsage();
  if (!destroyedVolumes_.empty()) deleteDestroyedVolumes();
  schedulePublish();
  if (!registered_) {
    sendRegistration();
    return;
  }
  if (loop_.clock().now() - lastPing_ > pingInterval_ * kMissedPingsBeforeReregistering) {
    if (onRedirect_) onRedirect_("");
    startRegistration("no ping from the master for " +
                      std::to_string(kMissedPingsBeforeReregistering) + " intervals");
  }
}

void Agent::onMasterMessage(std::string_view protocol, std::string_view payload) {
  auto frame = openFrame(kAgentProtocol, protocol, payload, kAgentMessageLimits);
  if (!frame) return reject(frame.error().reason, "master: " + frame.error().detail);
  Status read = catchDecode([&] {
    auto envelope = frame->root<AgentEnvelope>();
    if (envelope.getVersion() != schema::PROTOCOL_VERSION) {
      reject(kRejectVersion, "master: protocol version " + std::to_string(envelope.getVersion()));
      return;
    }
    dispatch(envelope);
  });
  if (!read) reject(kRejectDecode, "master: " + read.error().message);
  schedulePublish();
}

void Agent::dispatch(AgentEnvelope::Reader envelope) {
  switch (envelope.which()) {
    case AgentEnvelope::AGENT_REGISTERED:
      return onRegistered(envelope.getAgentRegistered());
    case AgentEnvelope::PING:
      return onPing(envelope.getPing());
    case AgentEnvelope::RUN_TASK:
      return onRunTask(envelope.getRunTask());
    case AgentEnvelope::DESTROY_VOLUMES:
      return onDestroyVolumes(envelope.getDestroyVolumes());
    case AgentEnvelope::KILL_TASK: {
      auto m = envelope.getKillTask();
      double grace = m.getGracePeriodSec();
      if (!(grace <= 3600)) grace = 3600;  // also maps NaN
      return supervisor_.kill(m.getFrameworkId(), m.getTaskId(), grace);
    }
    case AgentEnvelope::STATUS_UPDATE_ACK: {
      auto m = envelope.getStatusUpdateAck();
      auto uuid = m.getUuid();
      std::string fw = m.getFrameworkId(), task = m.getTaskId();
      if (updates_.acknowledge(
              fw, task, std::string(reinterpret_cast<const char*>(uuid.begin()), uuid.size()))) {
        supervisor_.onAcknowledged(fw, task);
      }
      return;
    }
    case AgentEnvelope::SHUTDOWN_FRAMEWORK: {
      std::string fw = envelope.getShutdownFramework().getFrameworkId();
      LOG(INFO) << "shutting down framework " << fw;
      supervisor_.killFramework(fw);
      frameworks_.erase(fw);
      return;
    }
    case AgentEnvelope::NOT_LEADER: {
      auto m = envelope.getNotLeader();
      std::string endpoint = m.getLeaderEndpoint();
      LOG_EVERY_N(INFO, 10) << "the master is a standby; the leader is " << m.getLeaderId().cStr()
                            << " at " << endpoint;
      if (onRedirect_ && !endpoint.empty()) onRedirect_(endpoint);
      return;
    }
    case AgentEnvelope::SHUTDOWN_AGENT: {
      auto shutdown = envelope.getShutdownAgent();
      std::string about = shutdown.getAgentId();
      if (!about.empty() && about != agentId_) {
        // An answer to a re-registration sent before this agent registered anew.
        LOG(INFO) << "ignoring a shutdown of former agent ID " << about;
        return;
      }
      LOG(WARNING) << "the master shut this agent down: " << shutdown.getMessage().cStr();
      supervisor_.killAll(/*forget=*/true);
      updates_.clear();
      frameworks_.clear();
      agentId_.clear();
      checkpointIdentity();
      return startRegistration("shut down by the master");
    }
    default:
      return reject(kRejectInvalid, "master: unexpected message " +
                                        std::to_string(static_cast<int>(envelope.which())));
  }
}

void Agent::onRegistered(schema::AgentRegistered::Reader message) {
  if (registered_) return;  // a late answer to a retried registration
  if (!agentId_.empty() && message.getReregistered() && message.getAttemptSeq() != 0 &&
      message.getAttemptSeq() != registrationSeq_) {
    // Answers an attempt before the current one, whose task list may lack
    // launches the master sent under that answer's session: wait for the
    // current attempt's answer (its RunTasks are dropped meanwhile).
    LOG(INFO) << "ignoring the answer to re-registration #" << message.getAttemptSeq() << ": #"
              << registrationSeq_ << " is the current one";
    return;
  }
  std::string id = message.getAgentId();
  if (Status s = validateId("agent ID", id); !s)
    return reject(kRejectInvalid, "master: " + s.error().message);
  double interval = message.getPingIntervalSec();
  if (!(interval > 0 && interval <= 3600)) interval = 2;
  if (!agentId_.empty() && id != agentId_) {
    LOG(WARNING) << "the master gave a new agent ID " << id << " (was " << agentId_ << ")";
  }
  agentId_ = id;
  auto session = message.getSession();
  session_.assign(reinterpret_cast<const char*>(session.begin()), session.size());
  checkpointIdentity();
  pingInterval_ = seconds(interval);
  lastPing_ = loop_.clock().now();
  registered_ = true;
  LOG(INFO) << (message.getReregistered() ? "re-registered" : "registered") << " as " << agentId_;
  updates_.resume();
}

void Agent::onPing(schema::Ping::Reader message) {
  if (!message.getKnown()) {
    if (registered_) startRegistration("the master does not know this agent");
    return;
  }
  lastPing_ = loop_.clock().now();
  master_.send(kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto envelope) {
                 envelope.initPong().setAgentId(agentId_);
               }));
}

void Agent::onRunTask(schema::RunTask::Reader message) {
  auto framework = fromCapnp(message.getFramework());
  if (!framework) return reject(kRejectInvalid, "runTask: " + framework.error().message);
  auto task = fromCapnp(message.getTask());
  if (!task) return reject(kRejectInvalid, "runTask: " + task.error().message);
  if (!registered_) {
    // Sent before the master processed our (re-)registration, which does not
    // list the task: the master reports it lost. Launching it would run a
    // task its framework was told is gone.
    LOG(WARNING) << "dropping task " << task->taskId << " of framework " << framework->id
                 << ": it arrived while registering";
    return;
  }
  auto session = message.getSession();
  if (session.size() > 0 && std::string_view(reinterpret_cast<const char*>(session.begin()),
                                             session.size()) != session_) {
    // Sent before our current registration, whose task list lacked it: the
    // master has reported it lost.
    LOG(WARNING) << "dropping task " << task->taskId << " of framework " << framework->id
                 << ": it was sent before this agent's current registration";
    return;
  }
  frameworks_[framework->id] = *framework;
  task->agentId = agentId_;  // the task's AGORA_AGENT_ID, whatever the scheduler wrote
  LOG(INFO) << "launching task " << task->taskId << " of framework " << framework->id;
  supervisor_.launch(*framework, *task);
}

void Agent::forward(const StatusUpdate& update) {
  master_.send(kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto envelope) {
                 auto m = envelope.initStatusUpdate();
                 m.setFrameworkId(update.frameworkId);
                 TaskStatus status = update.status;
                 status.agentId = agentId_;
                 toCapnp(status, m.initStatus());
                 m.setSandbox(update.sandbox);
               }));
  schedulePublish();
}

void Agent::reject(const char* reason, const std::string& detail) {
  counters_.messagesRejected[reason]++;
  LOG_EVERY_N(WARNING, 100) << "rejected (" << reason << "): " << detail;
}

void Agent::schedulePublish() {
  if (publishScheduled_) return;
  publishScheduled_ = true;
  loop_.post(lifetime_.wrap([this] { publish(); }));
}

void Agent::publish() {
  publishScheduled_ = false;
  auto snapshot = std::make_shared<AgentSnapshot>();
  snapshot->agentId = agentId_;
  snapshot->registered = registered_;
  snapshot->containers = supervisor_.containerViews();
  snapshot->containersRunning = supervisor_.liveContainers();
  snapshot->counters = counters_;
  const auto& stats = updates_.stats();
  snapshot->counters.statusUpdatesSent = stats.sent;
  snapshot->counters.statusUpdatesRetried = stats.retried;
  snapshot->counters.statusUpdatesAcked = stats.acked;
  if (onPublish_) onPublish_(*snapshot);
  snapshot_.publish(std::move(snapshot));
}

}  // namespace agora::agent

namespace agora::agent {

void Agent::onDestroyVolumes(schema::DestroyVolumes::Reader message) {
  std::string about = message.getAgentId();
  if (about != agentId_) {
    LOG(WARNING) << "ignoring a volume destruction for agent " << about << " (this is " << agentId_
                 << ")";
    return;
  }
  auto volumes = Resources::fromCapnp(message.getVolumes());
  if (!volumes) return reject(kRejectInvalid, "destroyVolumes: " + volumes.error().message);
  for (PersistentVolume& volume : volumes->volumeList()) {
    bool pending = false;  // the master repeats unconfirmed destroys
    for (const PersistentVolume& known : destroyedVolumes_) {
      pending = pending || known.resources == volume.resources;
    }
    if (!pending) destroyedVolumes_.push_back(std::move(volume));
  }
  deleteDestroyedVolumes();
}

void Agent::deleteDestroyedVolumes() {
  std::vector<PersistentVolume> kept;
  Resources deleted;
  for (PersistentVolume& volume : destroyedVolumes_) {
    std::string user = supervisor_.volumeUser(volume);
    if (!user.empty()) {
      LOG_EVERY_N(INFO, 30) << "volume '" << volume.disk.id << "' of role '"
                            << volume.reservation.role << "' was destroyed but task " << user
                            << " still uses it: deleting its data once that task's container ends";
      kept.push_back(std::move(volume));
      continue;
    }
    if (Status s = deletePersistentVolume(options_.supervisor.workDir, volume); !s) {
      // Not confirmed: the master sends it again at the next registration.
      LOG(ERROR) << "cannot delete destroyed volume '" << volume.disk.id
                 << "': " << s.error().message;
      continue;
    }
    deleted += volume.resources;
  }
  destroyedVolumes_ = std::move(kept);
  if (deleted.empty()) return;
  master_.send(kAgentProtocol, buildEnvelope<AgentEnvelope>([&](auto envelope) {
                 auto m = envelope.initVolumesDestroyed();
                 m.setAgentId(agentId_);
                 deleted.toCapnp(m.initVolumes(deleted.count()));
               }));
}

}  // namespace agora::agent
