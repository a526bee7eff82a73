#pragma once
// One master component alone: a MasterContext on a FakeNetwork and a
// SimulatedClock, with the agents and frameworks it may look up kept in a
// plain directory the test fills, and every event it publishes recorded.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/fake_transport.hpp"
#include "master/allocator/hierarchical_allocator.hpp"
#include "master/core/context.hpp"
#include "tests/master/fake_peers.hpp"

namespace agora::master::testing {

class PlainDirectory : public AgentDirectory, public FrameworkDirectory {
 public:
  const Agent* findAgent(const std::string& id) const override {
    auto it = agents.find(id);
    return it == agents.end() ? nullptr : &it->second;
  }
  bool isGone(const std::string& id) const override { return gone.count(id) > 0; }
  const Framework* findFramework(const std::string& id) const override {
    auto it = frameworks.find(id);
    return it == frameworks.end() ? nullptr : &it->second;
  }

  std::map<std::string, Agent> agents;
  std::set<std::string> gone;
  std::map<std::string, Framework> frameworks;
};

class ComponentTest : public ::testing::Test {
 protected:
  ComponentTest() {
    bus_.subscribe([this](const std::shared_ptr<const events::Event>& e) {
      published_.push_back(events::typeName(e->body));
    });
  }

  void settle() { loop_.runUntilIdle(); }
  // A registered agent known to the allocator, talking from peer `id`.
  void addAgent(const std::string& id, const std::string& resources) {
    Agent& agent = directory_.agents[id];
    agent.id = id;
    agent.peer = id;
    agent.hostname = id + ".example";
    agent.total = *Resources::parse(resources);
    allocator_.addAgent(id, agent.total, {});
  }
  // A subscribed framework in role "*" whose scheduler is `peer`.
  void addFramework(const std::string& id, const std::string& peer, bool partitionAware = false) {
    Framework& framework = directory_.frameworks[id];
    framework.info.id = id;
    framework.info.name = id;
    framework.info.roles = {"*"};
    if (partitionAware) framework.info.capabilities = {"PARTITION_AWARE"};
    framework.peer = peer;
    framework.connected = framework.active = true;
    allocator_.addFramework(id, framework.info.roles);
    allocator_.activateFramework(id);
  }
  // Event types published since the last call.
  std::vector<std::string> published() { return std::exchange(published_, {}); }

  SimulatedClock clock_;
  EventLoop loop_{clock_};
  FakeNetwork network_{loop_};
  std::unique_ptr<FakeServer> server_ = network_.bind("master");
  Metrics registry_;
  MasterMetrics metrics_{registry_};
  Outbox outbox_{*server_, metrics_};
  Persister persister_{loop_, nullptr};
  HierarchicalAllocator allocator_{clock_, makeSorter("drf")};
  events::EventBus bus_{clock_};
  PlainDirectory directory_;
  int changes_ = 0;
  int allocationsAsked_ = 0;
  MasterContext ctx_{loop_,       "M",           0,
                     metrics_,    outbox_,       persister_,
                     allocator_,  bus_,          [this] { ++changes_; },
                     [this] { ++allocationsAsked_; }, &directory_, &directory_};

 private:
  std::vector<std::string> published_;
};

}  // namespace agora::master::testing
