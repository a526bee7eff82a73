#pragma once
// Decides which framework gets each agent's free resources. Pure logic: no
// I/O, time from the injected Clock. The master tells it what exists and what
// is in use; allocate() returns the offers to make and counts them as
// allocated until the master recovers them (decline, rescind, unused part of
// an accept, terminal task).
//
// DrfAllocator: each agent's whole free pool goes to one framework, the one
// with the lowest dominant share (allocated / cluster total, maximised over
// resource names) among active, unsuppressed frameworks with no refuse filter
// covering that pool on that agent. Ties go to the earlier-added framework.
// Roles, weights and quotas are not modelled yet.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/resources.hpp"

namespace agora::master {

struct Allocation {
  std::string frameworkId;
  std::string agentId;
  Resources resources;
};

class Allocator {
 public:
  virtual ~Allocator() = default;

  // `used`: resources already allocated on the agent, by framework (tasks
  // reported by a re-registering agent). Replaces an agent with the same ID.
  virtual void addAgent(const std::string& agentId, const Resources& total,
                        const std::map<std::string, Resources>& used) = 0;
  // Forgets the agent and every allocation on it.
  virtual void removeAgent(const std::string& agentId) = 0;

  // New frameworks start active and unsuppressed.
  virtual void addFramework(const std::string& frameworkId) = 0;
  // Forgets the framework, its filters, and returns its allocations to the agents.
  virtual void removeFramework(const std::string& frameworkId) = 0;
  virtual void activateFramework(const std::string& frameworkId) = 0;
  virtual void deactivateFramework(const std::string& frameworkId) = 0;
  virtual void suppress(const std::string& frameworkId) = 0;
  // Clears the framework's filters and unsuppresses it.
  virtual void revive(const std::string& frameworkId) = 0;

  // Returns resources allocated to the framework on the agent to the free
  // pool. With refuseSeconds > 0 the framework is not offered a subset of
  // them on that agent until the filter expires.
  virtual void recover(const std::string& frameworkId, const std::string& agentId,
                       const Resources& resources, double refuseSeconds) = 0;

  // One allocation pass; the returned resources count as allocated.
  virtual std::vector<Allocation> allocate() = 0;

  // Introspection (metrics, tests).
  virtual Resources allocated(const std::string& frameworkId) const = 0;
  virtual Resources available(const std::string& agentId) const = 0;
  virtual double dominantShare(const std::string& frameworkId) const = 0;
};

class DrfAllocator final : public Allocator {
 public:
  // REQUIRES: clock outlives the allocator.
  explicit DrfAllocator(const Clock& clock) : clock_(clock) {}

  void addAgent(const std::string& agentId, const Resources& total,
                const std::map<std::string, Resources>& used) override;
  void removeAgent(const std::string& agentId) override;
  void addFramework(const std::string& frameworkId) override;
  void removeFramework(const std::string& frameworkId) override;
  void activateFramework(const std::string& frameworkId) override;
  void deactivateFramework(const std::string& frameworkId) override;
  void suppress(const std::string& frameworkId) override;
  void revive(const std::string& frameworkId) override;
  void recover(const std::string& frameworkId, const std::string& agentId,
               const Resources& resources, double refuseSeconds) override;
  std::vector<Allocation> allocate() override;
  Resources allocated(const std::string& frameworkId) const override;
  Resources available(const std::string& agentId) const override;
  double dominantShare(const std::string& frameworkId) const override;

  // Smallest pool worth offering: at least this many cpus or this much mem.
  static constexpr double kMinCpus = 0.01;
  static constexpr double kMinMemMb = 32;

 private:
  struct Filter {
    Resources resources;
    TimePoint expires;
  };
  struct AgentSlot {
    Resources total;
    Resources allocatedSum;
    std::map<std::string, Resources> allocated;  // by framework
  };
  struct FrameworkSlot {
    uint64_t order = 0;  // tie-break: earlier-added first
    bool active = true;
    bool suppressed = false;
    Resources allocated;
    std::map<std::string, std::vector<Filter>> filters;  // by agent
  };

  bool isFiltered(FrameworkSlot& framework, const std::string& agentId, const Resources& pool,
                  TimePoint now) const;
  const std::string* pickFramework(const std::string& agentId, const Resources& pool,
                                   TimePoint now);
  void addAllocation(const std::string& frameworkId, const std::string& agentId,
                     const Resources& resources);

  const Clock& clock_;
  uint64_t nextOrder_ = 0;
  Resources clusterTotal_;
  std::map<std::string, AgentSlot> agents_;
  std::map<std::string, FrameworkSlot> frameworks_;
};

}  // namespace agora::master
