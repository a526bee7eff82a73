#include "benchmarks/sim_agents.hpp"

#include <capnp/message.h>
#include <glog/logging.h>

#include <algorithm>
#include <map>

#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/model.hpp"
#include "common/transport.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::bench {

struct SimAgents::Shard {
  struct Agent {
    int index = 0;
    std::unique_ptr<ZmqClient> client;
    std::string agentId;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point nextRetry;  // of the registration
    std::chrono::seconds retryDelay{1};
    double latencyMs = -1;
    bool reregistering = false;
    std::map<std::string, FrameworkInfo> frameworks;
    std::vector<std::pair<std::string, TaskInfo>> tasks;  // (framework ID, task)
  };
  EventLoop loop;
  std::vector<Agent> agents;
};

SimAgents::SimAgents(SimAgentsOptions options)
    : options_(std::move(options)),
      counters_(options_.counters != nullptr ? options_.counters : &ownCounters_) {}

SimAgents::~SimAgents() { stop(); }

std::string agentEnvelope(const std::function<void(schema::AgentEnvelope::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto env = message.initRoot<schema::AgentEnvelope>();
  env.setVersion(schema::PROTOCOL_VERSION);
  fill(env);
  return encodePacked(message);
}

namespace {

void sendStatus(ClientTransport& client, const std::string& agentId, const std::string& frameworkId,
                const std::string& taskId, TaskState state) {
  TaskStatus status;
  status.taskId = taskId;
  status.state = state;
  status.agentId = agentId;
  status.frameworkId = frameworkId;
  status.source = StatusSource::EXECUTOR;
  status.uuid = randomUuidBytes();
  if (state == TaskState::FINISHED) {
    status.exitCode = 0;
    status.reason = TaskReason::COMMAND_EXITED;
  }
  client.send(kAgentProtocol, agentEnvelope([&](schema::AgentEnvelope::Builder env) {
                auto update = env.initStatusUpdate();
                update.setFrameworkId(frameworkId);
                toCapnp(status, update.initStatus());
              }));
}

}  // namespace

void SimAgents::start() {
  int threads = std::max(1, options_.threads);
  for (int t = 0; t < threads; ++t) shards_.push_back(std::make_unique<Shard>());
  for (int i = 0; i < options_.agents; ++i) {
    Shard& shard = *shards_[i % threads];
    Shard::Agent agent;
    agent.index = options_.firstIndex + i;
    shard.agents.push_back(std::move(agent));
  }
  for (auto& shard : shards_) {
    threads_.emplace_back([this, s = shard.get()] { runShard(*s); });
  }
}

namespace {

std::string reregisterMessage(const std::string& agentId, int index, const Resources& resources,
                              const std::map<std::string, FrameworkInfo>& frameworks,
                              const std::vector<std::pair<std::string, TaskInfo>>& tasks) {
  return agentEnvelope([&](schema::AgentEnvelope::Builder env) {
    auto reg = env.initReregisterAgent();
    reg.setAgentId(agentId);
    reg.setHostname("sim-" + std::to_string(index));
    resources.toCapnp(reg.initResources(resources.count()));
    auto list = reg.initTasks(static_cast<unsigned>(tasks.size()));
    for (unsigned i = 0; i < tasks.size(); ++i) {
      list[i].setFrameworkId(tasks[i].first);
      toCapnp(tasks[i].second, list[i].initTask());
      TaskStatus status;
      status.taskId = tasks[i].second.taskId;
      status.state = TaskState::RUNNING;
      status.frameworkId = tasks[i].first;
      status.agentId = agentId;
      toCapnp(status, list[i].initLatest());
    }
    auto fws = reg.initFrameworks(static_cast<unsigned>(frameworks.size()));
    unsigned i = 0;
    for (const auto& [id, info] : frameworks) toCapnp(info, fws[i++]);
  });
}

}  // namespace

void SimAgents::runShard(Shard& shard) {
  auto registerMessage = [&](const Shard::Agent& agent) {
    return agentEnvelope([&](schema::AgentEnvelope::Builder env) {
      auto reg = env.initRegisterAgent();
      reg.setHostname("sim-" + std::to_string(agent.index));
      options_.resources.toCapnp(reg.initResources(options_.resources.count()));
      reg.setHttpUrl("");
    });
  };
  for (auto& agent : shard.agents) {
    auto client = ZmqClient::create(shard.loop, options_.masterEndpoint,
                                    "simagent-" + std::to_string(agent.index),
                                    options_.curve ? &*options_.curve : nullptr);
    CHECK(client.has_value()) << client.error().message;
    agent.client = std::move(*client);
    Shard::Agent* self = &agent;
    agent.client->setHandler([this, self](std::string_view, std::string_view payload) {
      auto decoded = Decoded::parse(payload);
      if (!decoded) return;
      Status st = catchDecode([&] {
        auto env = decoded->root<schema::AgentEnvelope>();
        switch (env.which()) {
          case schema::AgentEnvelope::AGENT_REGISTERED:
            if (self->reregistering && env.getAgentRegistered().getReregistered()) {
              self->reregistering = false;
              counters_->reregistered++;
            }
            if (self->agentId.empty()) {
              self->agentId = env.getAgentRegistered().getAgentId();
              self->latencyMs = std::chrono::duration<double, std::milli>(
                                    std::chrono::steady_clock::now() - self->started)
                                    .count();
              counters_->registered++;
            }
            break;
          case schema::AgentEnvelope::PING:
            if (!env.getPing().getKnown() && !self->agentId.empty()) {
              // The master lost track of this agent (e.g. marked it
              // unreachable while overloaded): re-register, as agents do.
              self->client->send(kAgentProtocol,
                                 reregisterMessage(self->agentId, self->index, options_.resources,
                                                   self->frameworks, self->tasks));
              break;
            }
            self->client->send(kAgentProtocol, agentEnvelope([&](schema::AgentEnvelope::Builder out) {
                                 out.initPong().setAgentId(self->agentId);
                               }));
            break;
          case schema::AgentEnvelope::RUN_TASK: {
            auto run = env.getRunTask();
            std::string frameworkId = run.getFramework().getId();
            std::string taskId = run.getTask().getTaskId();
            sendStatus(*self->client, self->agentId, frameworkId, taskId, TaskState::RUNNING);
            if (options_.holdTasks) {
              auto framework = fromCapnp(run.getFramework());
              auto task = fromCapnp(run.getTask());
              if (framework && task) {
                self->frameworks[frameworkId] = *framework;
                self->tasks.emplace_back(frameworkId, std::move(*task));
              }
            } else {
              sendStatus(*self->client, self->agentId, frameworkId, taskId, TaskState::FINISHED);
            }
            counters_->tasksRun++;
            break;
          }
          case schema::AgentEnvelope::KILL_TASK: {
            // Killed at once: TASK_KILLED, and no longer held.
            auto kill = env.getKillTask();
            std::string frameworkId = kill.getFrameworkId();
            std::string taskId = kill.getTaskId();
            std::erase_if(self->tasks, [&](const auto& held) {
              return held.first == frameworkId && held.second.taskId == taskId;
            });
            sendStatus(*self->client, self->agentId, frameworkId, taskId, TaskState::KILLED);
            counters_->tasksKilled++;
            break;
          }
          case schema::AgentEnvelope::STATUS_UPDATE_ACK:
            counters_->acks++;
            break;
          default:
            break;
        }
      });
      LOG_IF(WARNING, !st) << st.error().message;
    });
    agent.started = std::chrono::steady_clock::now();
    agent.nextRetry = agent.started + agent.retryDelay;
    agent.client->send(kAgentProtocol, registerMessage(agent));
  }
  // Retry registration until every agent of this shard is in, backing off
  // per agent (1 s doubling to 32 s): a DEALER queues what it sends until
  // its connection is up, so with thousands of agents still connecting a
  // fixed 1 s retry piles up hundreds of registrations per agent, delivered
  // at once, and the server drowns in them.
  shard.loop.addPeriodic(std::chrono::seconds(1), [&] {
    auto now = std::chrono::steady_clock::now();
    for (auto& agent : shard.agents) {
      if (!agent.agentId.empty() || now < agent.nextRetry) continue;
      agent.client->send(kAgentProtocol, registerMessage(agent));
      agent.retryDelay = std::min(agent.retryDelay * 2, std::chrono::seconds(32));
      agent.nextRetry = now + agent.retryDelay;
    }
  });
  shard.loop.run();
  for (auto& agent : shard.agents) agent.client.reset();
}


void SimAgents::reregisterAll() {
  for (auto& shard : shards_) {
    shard->loop.post([this, s = shard.get()] {
      for (auto& agent : s->agents) {
        if (agent.agentId.empty()) continue;
        agent.reregistering = true;
        agent.client->send(kAgentProtocol,
                           reregisterMessage(agent.agentId, agent.index, options_.resources,
                                             agent.frameworks, agent.tasks));
      }
    });
  }
}

void SimAgents::stop() {
  for (auto& shard : shards_) shard->loop.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<double> SimAgents::registrationLatenciesMs() const {
  std::vector<double> out;
  for (const auto& shard : shards_) {
    for (const auto& agent : shard->agents) out.push_back(agent.latencyMs);
  }
  return out;
}

std::vector<std::chrono::steady_clock::time_point> SimAgents::registrationStarts() const {
  std::vector<std::chrono::steady_clock::time_point> out(options_.agents);
  for (const auto& shard : shards_) {
    for (const auto& agent : shard->agents) out[agent.index - options_.firstIndex] = agent.started;
  }
  return out;
}

int SimAgents::indexOf(const std::string& agentId) const {
  for (const auto& shard : shards_) {
    for (const auto& agent : shard->agents) {
      if (agent.agentId == agentId) return agent.index;
    }
  }
  return -1;
}

}  // namespace agora::bench
