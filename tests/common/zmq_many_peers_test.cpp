// A ZmqServer with thousands of idle ZmqClient peers, as the master has with
// thousands of agents. libzmq 4.3 cancels a connection's heartbeat timers on
// every frame received by scanning every timer of its I/O thread, so ZMTP
// heartbeat timers on the server side made an idle server's CPU grow with the
// square of its peers (about half a core at 4,000 peers, measured with
// benchmarks/zmq_connection_bench.cpp); at 10,000 it no longer accepted
// connections in time. The peers run in child processes so only the server's
// CPU is counted.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <vector>

#include "common/event_loop.hpp"
#include "common/zmq_transport.hpp"

namespace agora {
namespace {

constexpr int kPeerProcesses = 4;
constexpr int kPeersPerProcess = 1000;
constexpr int kPeers = kPeerProcesses * kPeersPerProcess;
constexpr ssize_t kEndpointRecord = 256;

// Kills and reaps the peer processes, also when an assertion returns early.
struct Children {
  std::vector<pid_t> pids;
  ~Children() { killAll(); }
  void killAll() {
    for (pid_t pid : pids) kill(pid, SIGKILL);
    for (pid_t pid : pids) waitpid(pid, nullptr, 0);
    pids.clear();
  }
};

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Connects `count` clients to `endpoint`, each says hello once, then keeps
// them connected (ZMTP heartbeats running) until killed.
[[noreturn]] void runPeers(const std::string& endpoint, int first, int count) {
  EventLoop loop;
  std::vector<std::unique_ptr<ZmqClient>> clients;
  for (int i = 0; i < count; ++i) {
    auto client = ZmqClient::create(loop, endpoint, "peer-" + std::to_string(first + i));
    if (!client) _exit(1);
    (*client)->send(kAgentProtocol, "hello");
    clients.push_back(std::move(*client));
  }
  loop.run();
  _exit(0);
}

TEST(ZmqManyPeersTest, IdlePeersCostTheServerLittleCpu) {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  // The server holds one descriptor per peer, each peer process two per peer.
  if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < kPeers + 2 * kPeersPerProcess + 256) {
    GTEST_SKIP() << "needs a descriptor limit of " << kPeers + 2 * kPeersPerProcess + 256;
  }
  // The children fork before this process has a ZeroMQ context (its first
  // socket creates it), so each builds its own; they learn the server's
  // endpoint through a pipe. Keep this the only test in its binary.
  int endpointPipe[2];
  ASSERT_EQ(pipe(endpointPipe), 0);
  Children children;
  for (int p = 0; p < kPeerProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(endpointPipe[1]);
      char endpoint[kEndpointRecord + 1] = {};
      if (read(endpointPipe[0], endpoint, kEndpointRecord) != kEndpointRecord) _exit(1);
      runPeers(endpoint, p * kPeersPerProcess, kPeersPerProcess);
    }
    children.pids.push_back(pid);
  }
  close(endpointPipe[0]);
  EventLoop loop;
  auto server = ZmqServer::create(loop, "tcp://127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  std::string endpoint = (*server)->endpoint();
  // One fixed-size record per child (writes up to PIPE_BUF stay whole).
  ASSERT_LT(endpoint.size(), static_cast<size_t>(kEndpointRecord));
  endpoint.resize(kEndpointRecord, '\0');
  for (int p = 0; p < kPeerProcesses; ++p) {
    ASSERT_EQ(write(endpointPipe[1], endpoint.data(), kEndpointRecord), kEndpointRecord);
  }
  close(endpointPipe[1]);
  std::set<std::string> peers;
  (*server)->setHandler([&](const std::string& peer, std::string_view, std::string_view) {
    peers.insert(peer);
    if (peers.size() == static_cast<size_t>(kPeers)) loop.stop();
  });
  auto connectStart = std::chrono::steady_clock::now();
  auto deadline = loop.addTimer(std::chrono::seconds(120), [&] { loop.stop(); });
  loop.run();
  loop.cancelTimer(deadline);
  double connectSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - connectStart).count();
  double cpuPercent = -1;
  if (peers.size() == static_cast<size_t>(kPeers)) {
    // Two heartbeat intervals of the clients (2 s) with every peer idle.
    double before = cpuSeconds();
    auto start = std::chrono::steady_clock::now();
    loop.addTimer(std::chrono::seconds(4), [&] { loop.stop(); });
    loop.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpuPercent = (cpuSeconds() - before) / wall * 100;
    std::printf("%d peers: all said hello after %.1f s; server CPU idle %.1f%%\n", kPeers,
                connectSeconds, cpuPercent);
  }
  children.killAll();
  ASSERT_EQ(peers.size(), static_cast<size_t>(kPeers)) << "not every peer got through";
  // Answering 2,000 PINGs a second costs a few percent of a core; the
  // quadratic timer scans cost tens of percent.
  EXPECT_LT(cpuPercent, 15) << "server CPU with " << kPeers << " idle peers";
}

}  // namespace
}  // namespace agora
