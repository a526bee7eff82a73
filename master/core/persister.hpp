#pragma once
// The components' one way to the registry: queued writes whose completion
// runs on the loop, never after the master is gone. Without a registrar
// (tests) nothing persists and every write completes at once. Loop thread
// only.

#include <functional>
#include <vector>

#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "master/registry/registrar.hpp"

namespace agora::master {

class Persister {
 public:
  // REQUIRES: loop and registrar (null: none) outlive it.
  Persister(EventLoop& loop, Registrar* registrar) : loop_(loop), registrar_(registrar) {}

  // Queues `mutations`; `done` (optional) runs on the loop once they are
  // durable, and not at all if this persister is gone by then.
  void persist(std::vector<Mutation> mutations, std::function<void(Status)> done = {});
  // Runs `done` on the loop once every write queued so far is durable.
  void afterPersisted(std::function<void(Status)> done) { persist({}, std::move(done)); }
  Registrar* registrar() const { return registrar_; }

 private:
  EventLoop& loop_;
  Registrar* registrar_;
  LifetimeGuard guard_;
};

}  // namespace agora::master
