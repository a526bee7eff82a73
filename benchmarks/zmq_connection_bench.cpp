// agora-bench-zmq-connections: what libzmq itself keeps per connection, with
// no Agora code on the path. A child process binds a bare ROUTER that echoes
// every message; N DEALER peers, spread over other processes, connect and
// exchange messages with it. The ROUTER process's resident set (VmRSS) and
// its live heap (mallinfo2) are read after it started, after every peer made
// one round trip, and after every peer made --round-trips round trips; its
// CPU use is then sampled while the peers sit idle (ZMTP heartbeats only).
// Prints one line per phase:
//   zmq_connection_bytes peers=N phase=first|busy round_trips=K <options>
//   phase_s=... router_idle_cpu_pct=... router_bytes_per_peer=...
//   router_heap_bytes_per_peer=...
// Socket options go on the ROUTER only; an option libzmq refuses (a draft
// option in a build without draft API) is reported and the run stops.

#include <glog/logging.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_util.hpp"
#include "common/flags.hpp"

namespace agora::bench {
namespace {

constexpr int kPeersPerProcess = 4000;
constexpr int kMaxPeerProcesses = 16;
constexpr int kInBatchSize = 101;   // ZMQ_IN_BATCH_SIZE (draft API in libzmq 4.3)
constexpr int kOutBatchSize = 102;  // ZMQ_OUT_BATCH_SIZE (draft API in libzmq 4.3)

struct RouterOptions {
  int ioThreads = 1;
  int inBatch = 0;  // 0: libzmq's default
  int outBatch = 0;
  int sndbuf = -1;  // -1: the OS default
  int rcvbuf = -1;
  int hwm = 1000;
  bool heartbeats = false;  // ZMTP heartbeats: PING every 2 s, 10 s timeout and TTL
};

struct PeerOptions {
  bool heartbeats = false;  // ZMTP heartbeats: PING every 2 s, 10 s timeout
  int ttlMs = 0;            // the TTL the peers' PINGs ask the router to enforce
};

// State shared between the parent and its children (anonymous shared mapping).
struct Shared {
  std::atomic<int> phase{0};  // 0 wait, 1 first round trip, 2 busy, 3 stop
  std::atomic<int> listening{0};
  std::atomic<int> optionError{0};
  std::atomic<long> heapBytes{0};
  std::atomic<int> peersDone[3] = {};
  int peers = 0;
  int roundTrips = 1;
  RouterOptions options;
  PeerOptions peerOptions;
  char endpoint[128] = {};
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit and lets the context
// open as many sockets as that allows.
void* newContext(int ioThreads) {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  void* context = zmq_ctx_new();
  zmq_ctx_set(context, ZMQ_IO_THREADS, ioThreads);
  zmq_ctx_set(context, ZMQ_MAX_SOCKETS,
              static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20)));
  return context;
}

bool setInt(void* socket, int option, int value) {
  return zmq_setsockopt(socket, option, &value, sizeof(value)) == 0;
}

bool applyOptions(void* socket, const RouterOptions& o) {
  bool ok = setInt(socket, ZMQ_SNDHWM, o.hwm) && setInt(socket, ZMQ_RCVHWM, o.hwm);
  if (o.sndbuf >= 0) ok = ok && setInt(socket, ZMQ_SNDBUF, o.sndbuf);
  if (o.rcvbuf >= 0) ok = ok && setInt(socket, ZMQ_RCVBUF, o.rcvbuf);
  if (o.inBatch > 0) ok = ok && setInt(socket, kInBatchSize, o.inBatch);
  if (o.outBatch > 0) ok = ok && setInt(socket, kOutBatchSize, o.outBatch);
  if (o.heartbeats) {
    ok = ok && setInt(socket, ZMQ_HEARTBEAT_IVL, 2000) &&
         setInt(socket, ZMQ_HEARTBEAT_TIMEOUT, 10000) && setInt(socket, ZMQ_HEARTBEAT_TTL, 10000);
  }
  return ok;
}

[[noreturn]] void runRouter(Shared& shared) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  void* context = newContext(shared.options.ioThreads);
  void* router = zmq_socket(context, ZMQ_ROUTER);
  if (!applyOptions(router, shared.options)) {
    std::fprintf(stderr, "router option refused: %s\n", zmq_strerror(errno));
    shared.optionError.store(1);
    _exit(1);
  }
  PCHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0) << "bind";
  size_t size = sizeof(shared.endpoint);
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, shared.endpoint, &size);
  shared.heapBytes.store(static_cast<long>(mallinfo2().uordblks));
  shared.listening.store(1);
  zmq_pollitem_t item{router, 0, ZMQ_POLLIN, 0};
  while (shared.phase.load() != 3) {
    if (zmq_poll(&item, 1, 100) > 0) {
      // Echo [identity][payload] back to its peer.
      for (int i = 0; i < 1000; ++i) {
        zmq_msg_t identity, payload;
        zmq_msg_init(&identity);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&identity, router, ZMQ_DONTWAIT) < 0) {
          zmq_msg_close(&identity);
          zmq_msg_close(&payload);
          break;
        }
        zmq_msg_recv(&payload, router, 0);
        zmq_msg_send(&identity, router, ZMQ_SNDMORE);
        zmq_msg_send(&payload, router, 0);
      }
    }
    shared.heapBytes.store(static_cast<long>(mallinfo2().uordblks));
  }
  zmq_close(router);
  _exit(0);
}

// Round trips of `peers` DEALERs (identities from `first`) with the router.
[[noreturn]] void runPeers(Shared& shared, int first, int peers) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Connect only once the router's starting size is taken.
  while (shared.phase.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (shared.phase.load() == 3) _exit(0);
  void* context = newContext(1);
  std::vector<void*> sockets;
  for (int i = 0; i < peers; ++i) {
    void* dealer = zmq_socket(context, ZMQ_DEALER);
    PCHECK(dealer != nullptr) << "DEALER " << i;
    std::string identity = "peer-" + std::to_string(first + i);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, identity.data(), identity.size());
    setInt(dealer, ZMQ_LINGER, 0);
    setInt(dealer, ZMQ_RCVTIMEO, 120000);
    if (shared.peerOptions.heartbeats) {
      setInt(dealer, ZMQ_HEARTBEAT_IVL, 2000);
      setInt(dealer, ZMQ_HEARTBEAT_TIMEOUT, 10000);
      setInt(dealer, ZMQ_HEARTBEAT_TTL, shared.peerOptions.ttlMs);
    }
    PCHECK(zmq_connect(dealer, shared.endpoint) == 0) << "connect";
    sockets.push_back(dealer);
  }
  char payload[200] = {};
  for (int phase = 1; phase <= 2; ++phase) {
    while (shared.phase.load() < phase) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    int trips = phase == 1 ? 1 : shared.roundTrips - 1;
    for (int trip = 0; trip < trips; ++trip) {
      for (void* dealer : sockets) zmq_send(dealer, payload, sizeof(payload), 0);
      for (void* dealer : sockets) {
        PCHECK(zmq_recv(dealer, payload, sizeof(payload), 0) >= 0) << "no echo within 120 s";
      }
    }
    shared.peersDone[phase].fetch_add(peers);
  }
  while (shared.phase.load() != 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (void* dealer : sockets) zmq_close(dealer);
  _exit(0);
}

// CPU seconds (user + system) `pid` has used so far.
double cpuSeconds(pid_t pid) {
  FILE* stat = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (stat == nullptr) return 0;
  char buffer[1024] = {};
  size_t length = std::fread(buffer, 1, sizeof(buffer) - 1, stat);
  std::fclose(stat);
  buffer[length] = 0;
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime and stime are fields 14 and 15.
  const char* rest = std::strrchr(buffer, ')');
  unsigned long utime = 0, stime = 0;
  if (rest == nullptr ||
      std::sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                  &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string describe(const RouterOptions& o, const PeerOptions& p) {
  auto orDefault = [](int value, bool set) {
    return set ? std::to_string(value) : std::string("default");
  };
  std::string out = "io_threads=" + std::to_string(o.ioThreads) + " hwm=" + std::to_string(o.hwm);
  out += " in_batch=" + orDefault(o.inBatch, o.inBatch > 0);
  out += " out_batch=" + orDefault(o.outBatch, o.outBatch > 0);
  out += " sndbuf=" + orDefault(o.sndbuf, o.sndbuf >= 0);
  out += " rcvbuf=" + orDefault(o.rcvbuf, o.rcvbuf >= 0);
  out += std::string(" router_heartbeats=") + (o.heartbeats ? "on" : "off");
  out += std::string(" peer_heartbeats=") + (p.heartbeats ? "on" : "off");
  out += " peer_ttl_ms=" + std::to_string(p.ttlMs);
  return out;
}

// Runs the two phases against the started children and prints their lines;
// false if the peers did not finish a phase within ten minutes.
bool measure(Shared& shared, pid_t router, const std::vector<pid_t>& children,
             double idleSeconds) {
  auto anyDied = [&] {
    for (pid_t pid : children) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return true;
    }
    return waitpid(router, nullptr, WNOHANG) == router;
  };
  double baseRss = settledResidentBytes(router, 16 * 1024);
  double baseHeap = static_cast<double>(shared.heapBytes.load());
  int peers = shared.peers;
  for (int phase = 1; phase <= 2; ++phase) {
    auto start = std::chrono::steady_clock::now();
    shared.phase.store(phase);
    auto deadline = start + std::chrono::minutes(10);
    while (shared.peersDone[phase].load() < peers && std::chrono::steady_clock::now() < deadline &&
           !anyDied()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (shared.peersDone[phase].load() < peers) {
      std::fprintf(stderr, "only %d of %d peers finished phase %d\n",
                   shared.peersDone[phase].load(), peers, phase);
      return false;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double rss = settledResidentBytes(router, 16 * 1024);
    // The router's CPU while every peer is connected and idle (heartbeats only).
    double cpuBefore = cpuSeconds(router);
    std::this_thread::sleep_for(std::chrono::duration<double>(idleSeconds));
    double idleCpu = (cpuSeconds(router) - cpuBefore) / idleSeconds * 100;
    double heap = static_cast<double>(shared.heapBytes.load());
    std::printf("zmq_connection_bytes peers=%d phase=%s round_trips=%d %s phase_s=%.1f "
                "router_idle_cpu_pct=%.1f router_bytes_per_peer=%.0f "
                "router_heap_bytes_per_peer=%.0f\n",
                peers, phase == 1 ? "first" : "busy", phase == 1 ? 1 : shared.roundTrips,
                describe(shared.options, shared.peerOptions).c_str(), seconds, idleCpu,
                (rss - baseRss) / peers, (heap - baseHeap) / peers);
    std::fflush(stdout);
  }
  return true;
}

int run(int argc, char** argv) {
  po::options_description flags("Options");
  int peers = 1000, roundTrips = 300;
  double idleSeconds = 10;
  RouterOptions o;
  PeerOptions p;
  flags.add_options()("peers", po::value(&peers)->default_value(peers), "DEALER peers")(
      "round-trips", po::value(&roundTrips)->default_value(roundTrips),
      "round trips per peer in the busy phase (the first phase makes one)")(
      "idle-seconds", po::value(&idleSeconds)->default_value(idleSeconds),
      "how long the router's idle CPU is sampled after each phase")(
      "io-threads", po::value(&o.ioThreads)->default_value(1), "router context's I/O threads")(
      "hwm", po::value(&o.hwm)->default_value(1000), "router ZMQ_SNDHWM and ZMQ_RCVHWM")(
      "in-batch", po::value(&o.inBatch)->default_value(0), "router ZMQ_IN_BATCH_SIZE (draft)")(
      "out-batch", po::value(&o.outBatch)->default_value(0), "router ZMQ_OUT_BATCH_SIZE (draft)")(
      "sndbuf", po::value(&o.sndbuf)->default_value(-1), "router ZMQ_SNDBUF")(
      "rcvbuf", po::value(&o.rcvbuf)->default_value(-1), "router ZMQ_RCVBUF")(
      "router-heartbeats", "router sends ZMTP PINGs (2 s) with a 10 s timeout and TTL")(
      "peer-heartbeats", "peers send ZMTP PINGs (2 s) with a 10 s timeout")(
      "peer-ttl-ms", po::value(&p.ttlMs)->default_value(0),
      "TTL in the peers' PINGs (the router drops a peer silent that long)");
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, "usage: agora-bench-zmq-connections [--peers N]", flags, vm);
  if (!parsed) {
    std::cerr << parsed.error().message << "\n";
    return 2;
  }
  if (!*parsed) return 0;
  o.heartbeats = vm.count("router-heartbeats") > 0;
  p.heartbeats = vm.count("peer-heartbeats") > 0;
  peers = std::clamp(peers, 1, kPeersPerProcess * kMaxPeerProcesses);
  roundTrips = std::max(roundTrips, 1);
  idleSeconds = std::max(idleSeconds, 0.1);

  void* memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
  PCHECK(memory != MAP_FAILED) << "mmap";
  auto& shared = *new (memory) Shared();
  shared.peers = peers;
  shared.roundTrips = roundTrips;
  shared.options = o;
  shared.peerOptions = p;
  pid_t router = fork();
  PCHECK(router >= 0) << "fork";
  if (router == 0) runRouter(shared);
  std::vector<pid_t> children;
  int processes = (peers + kPeersPerProcess - 1) / kPeersPerProcess;
  int per = (peers + processes - 1) / processes;
  for (int first = 0; first < peers; first += per) {
    pid_t pid = fork();
    PCHECK(pid >= 0) << "fork";
    if (pid == 0) runPeers(shared, first, std::min(per, peers - first));
    children.push_back(pid);
  }
  while (shared.listening.load() == 0 && shared.optionError.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int status = 0;
  if (shared.optionError.load() != 0) {
    std::printf("zmq_connection_bytes peers=%d %s refused\n", peers, describe(o, p).c_str());
    status = 2;
  } else if (!measure(shared, router, children, idleSeconds)) {
    status = 1;
  }
  shared.phase.store(3);
  if (status != 0) {
    for (pid_t pid : children) kill(pid, SIGKILL);
    kill(router, SIGKILL);
  }
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  waitpid(router, nullptr, 0);
  return status;
}

}  // namespace
}  // namespace agora::bench

int main(int argc, char** argv) { return agora::bench::run(argc, argv); }
