#include "benchmarks/transport_baseline.hpp"

#include <capnp/message.h>
#include <glog/logging.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "benchmarks/sim_agents.hpp"
#include "common/codec.hpp"
#include "common/event_loop.hpp"
#include "common/transport.hpp"
#include "common/zmq_transport.hpp"
#include "schemas/master_agent.capnp.h"

namespace agora::bench {

namespace {
constexpr size_t kEndpointBytes = 256;
}  // namespace

struct TransportBaseline::Shared {
  std::atomic<int> started{0};
  std::atomic<int> listening{0};
  std::atomic<int> stopping{0};
  std::atomic<int> registered{0};
  double pingIntervalSec = 10;
  char endpoint[kEndpointBytes] = {};
};

TransportBaseline::TransportBaseline() {
  void* memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
  PCHECK(memory != MAP_FAILED) << "mmap";
  shared_ = new (memory) Shared();
  child_ = fork();
  PCHECK(child_ >= 0) << "fork";
  if (child_ == 0) runChild();  // never returns
}

TransportBaseline::~TransportBaseline() {
  stop();
  shared_->~Shared();
  munmap(shared_, sizeof(Shared));
}

void TransportBaseline::runChild() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  while (shared_->started.load() == 0 && shared_->stopping.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (shared_->stopping.load() != 0) _exit(0);
  {
    EventLoop loop;
    auto server = ZmqServer::create(loop, "tcp://127.0.0.1:*");
    CHECK(server.has_value()) << server.error().message;
    std::string bound = (*server)->endpoint();
    CHECK_LT(bound.size(), kEndpointBytes);
    std::strcpy(shared_->endpoint, bound.c_str());
    std::set<std::string> peers;
    (*server)->setHandler([&](const std::string& peer, std::string_view, std::string_view payload) {
      auto decoded = Decoded::parse(payload);
      if (!decoded) return;
      Status read = catchDecode([&] {
        auto envelope = decoded->root<schema::AgentEnvelope>();
        if (envelope.which() != schema::AgentEnvelope::REGISTER_AGENT) return;
        if (peers.insert(peer).second) shared_->registered++;
        (*server)->send(peer, kAgentProtocol, agentEnvelope([&](schema::AgentEnvelope::Builder out) {
                          auto registered = out.initAgentRegistered();
                          registered.setAgentId("baseline-" + peer);
                          registered.setPingIntervalSec(shared_->pingIntervalSec);
                        }));
      });
      LOG_IF(WARNING, !read) << read.error().message;
    });
    loop.addPeriodic(std::chrono::milliseconds(static_cast<int>(shared_->pingIntervalSec * 1000)),
                     [&] {
                       for (const std::string& peer : peers) {
                         (*server)->send(peer, kAgentProtocol,
                                         agentEnvelope([&](schema::AgentEnvelope::Builder out) {
                                           auto ping = out.initPing();
                                           ping.setAgentId("baseline-" + peer);
                                           ping.setKnown(true);
                                         }));
                       }
                     });
    loop.addPeriodic(std::chrono::milliseconds(5), [&] {
      if (shared_->stopping.load() != 0) loop.stop();
    });
    shared_->listening.store(1);
    loop.run();
  }
  _exit(0);
}

std::string TransportBaseline::start(double pingIntervalSec) {
  shared_->pingIntervalSec = pingIntervalSec;
  shared_->started.store(1);
  while (shared_->listening.load() == 0) {
    CHECK_EQ(waitpid(child_, nullptr, WNOHANG), 0) << "the transport baseline server died";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return shared_->endpoint;
}

void TransportBaseline::stop() {
  if (child_ <= 0) return;
  shared_->stopping.store(1);
  waitpid(child_, nullptr, 0);
  child_ = -1;
}

int TransportBaseline::registered() const { return shared_->registered.load(); }

}  // namespace agora::bench
