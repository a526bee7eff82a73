#include "master/core/persister.hpp"

namespace agora::master {

void Persister::persist(std::vector<Mutation> mutations, std::function<void(Status)> done) {
  std::function<void(Status)> guarded = guard_.wrap([done = std::move(done)](Status status) {
    if (done) done(std::move(status));
  });
  if (registrar_ == nullptr) {
    loop_.post([guarded] { guarded({}); });
    return;
  }
  registrar_->write(std::move(mutations), std::move(guarded));
}

}  // namespace agora::master
