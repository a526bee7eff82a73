#pragma once
// Where the registrar keeps the registry: a SQLite file on the master's disk
// (sqlite_backend.hpp) or ZooKeeper, shared by highly available masters
// (zk_registry.hpp). Both store the same records (records.hpp) with the same
// CRC-32C, and both refuse a corrupt registry rather than drop it.
//
// Threading: submit() on the loop thread; completions run on the loop thread.

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "master/registry/records.hpp"

namespace agora::master {

class RegistryBackend {
 public:
  using Done = std::function<void(Status)>;

  virtual ~RegistryBackend() = default;

  // Applies `mutations` (non-empty) atomically, in order, after every earlier
  // submit. `done` runs on the loop once they are durable (or failed), and
  // completions run in submit order. Completions still pending when the
  // backend is destroyed may be dropped.
  virtual void submit(std::vector<Mutation> mutations, Done done) = 0;
  // Where the records live, for messages ("/var/lib/agora/registry.db",
  // "zk://127.0.0.1:2181/agora/registry").
  virtual const std::string& location() const = 0;
};

}  // namespace agora::master
