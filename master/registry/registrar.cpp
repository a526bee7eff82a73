#include "master/registry/registrar.hpp"

#include <glog/logging.h>

#include "master/registry/registry_store.hpp"
#include "master/registry/sqlite_backend.hpp"

namespace agora::master {

Result<std::unique_ptr<Registrar>> Registrar::open(EventLoop& loop, const std::string& path,
                                                   RegistrarOptions options) {
  RegistryContents contents;
  auto store = RegistryStore::open(path, contents);
  std::string aside;
  if (!store && options.fresh) {
    LOG(WARNING) << store.error().message << "; starting with an empty registry (--registry-fresh)";
    auto moved = RegistryStore::moveAside(path);
    if (!moved) return makeError(moved.error());
    aside = *moved;
    contents = RegistryContents();
    store = RegistryStore::open(path, contents);
  }
  if (!store) return makeError(store.error());
  auto registrar =
      create(loop, std::make_unique<SqliteBackend>(loop, std::move(*store), options.threaded),
             std::move(contents));
  registrar->movedAside_ = std::move(aside);
  return registrar;
}

std::unique_ptr<Registrar> Registrar::create(EventLoop& loop,
                                             std::unique_ptr<RegistryBackend> backend,
                                             RegistryContents recovered) {
  std::unique_ptr<Registrar> registrar(new Registrar(loop, std::move(backend)));
  registrar->recovered_ = std::move(recovered);
  return registrar;
}

Registrar::Registrar(EventLoop& loop, std::unique_ptr<RegistryBackend> backend)
    : loop_(loop), backend_(std::move(backend)) {}

Registrar::~Registrar() {
  lifetime_.invalidate();
  if (!heldWrites_.empty()) hold(false);
  backend_.reset();
}

void Registrar::write(std::vector<Mutation> mutations, Done done) {
  if (!mutations.empty()) stats_.writes++;
  if (held_) {
    heldWrites_.push_back(Held{std::move(mutations), std::move(done)});
    return;
  }
  std::vector<Done> dones;
  if (done) dones.push_back(std::move(done));
  dispatch(std::move(mutations), std::move(dones));
}

void Registrar::hold(bool held) {
  held_ = held;
  if (held_ || heldWrites_.empty()) return;
  std::vector<Mutation> all;
  std::vector<Done> dones;
  for (Held& write : heldWrites_) {
    for (Mutation& mutation : write.mutations) all.push_back(std::move(mutation));
    if (write.done) dones.push_back(std::move(write.done));
  }
  heldWrites_.clear();
  dispatch(std::move(all), std::move(dones));
}

void Registrar::dispatch(std::vector<Mutation> mutations, std::vector<Done> dones) {
  if (mutations.empty()) {
    // Nothing to write: answer once everything before is durable.
    if (!inflight_.empty()) {
      for (Done& done : dones) inflight_.back().dones.push_back(std::move(done));
    } else if (!dones.empty()) {
      loop_.post(lifetime_.wrap([dones = std::move(dones)] {
        for (const Done& done : dones) done({});
      }));
    }
    return;
  }
  inflight_.push_back(Inflight{std::move(dones), loop_.clock().now()});
  stats_.commits++;
  backend_->submit(std::move(mutations), lifetime_.wrap([this](Status s) { complete(s); }));
}

void Registrar::complete(const Status& status) {
  CHECK(!inflight_.empty()) << "registry completion without a write in flight";
  Inflight done = std::move(inflight_.front());
  inflight_.pop_front();
  double ms = std::chrono::duration<double, std::milli>(loop_.clock().now() - done.start).count();
  stats_.commitMsTotal += ms;
  stats_.commitMsMax = std::max(stats_.commitMsMax, ms);
  for (const Done& callback : done.dones) callback(status);
}

}  // namespace agora::master
