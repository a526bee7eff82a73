// agora-master: the cluster's master daemon (see master.hpp).

#include <glog/logging.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "common/duration.hpp"
#include "common/event_loop.hpp"
#include "common/flags.hpp"
#include "common/heap_trim.hpp"
#include "common/http_security.hpp"
#include "common/http_server.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/zmq_transport.hpp"
#include "master/credentials.hpp"
#include "master/events/event_stream.hpp"
#include "master/http_api.hpp"
#include "master/allocator/hierarchical_allocator.hpp"
#include "master/leadership.hpp"
#include "master/master.hpp"
#include "master/registry/zk_registry.hpp"

namespace {

using namespace agora;

constexpr const char* kUsage =
    "Usage: agora-master --work-dir DIR [options]\n"
    "Tracks agents and frameworks, offers resources, relays launches and status updates.";

Status validate(const master::MasterOptions& options) {
  using std::chrono::hours;
  if (!(options.agentReregisterTimeout > Duration::zero())) {
    return makeError(ErrorCode::kInvalidArgument, "--agent-reregister-timeout must be positive");
  }
  if (options.frameworkResubscribeTimeout < options.agentReregisterTimeout) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--framework-resubscribe-timeout must be at least --agent-reregister-timeout "
                     "(the schedulers of tasks that agents may still report get as long)");
  }
  if (!(options.agentPingInterval > Duration::zero() && options.agentPingInterval <= hours(1))) {
    return makeError(ErrorCode::kInvalidArgument, "--agent-ping-interval must be in (0, 3600]");
  }
  if (options.agentMaxMissedPings < 1) {
    return makeError(ErrorCode::kInvalidArgument, "--agent-max-missed-pings must be at least 1");
  }
  if (!(options.frameworkHeartbeatInterval > Duration::zero() &&
        options.frameworkHeartbeatInterval <= hours(1))) {
    return makeError(ErrorCode::kInvalidArgument,
                     "--framework-heartbeat-interval must be in (0, 3600]");
  }
  if (options.allocatorSorter != "drf" && options.allocatorSorter != "random") {
    return makeError(ErrorCode::kInvalidArgument, "--allocator-sorter must be drf or random");
  }
  return {};
}

// Whether a ZeroMQ endpoint is reachable from this host only: ipc://,
// inproc://, or tcp:// on a loopback address.
bool isLocalEndpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  return endpoint.rfind("tcp://", 0) == 0 && http::isLoopbackListenAddress(endpoint.substr(6));
}

// SIGTERM, SIGINT (stop) and SIGHUP (reload) become readable events on a
// signalfd. REQUIRES: called before any thread starts, so every thread
// inherits the blocked mask.
int blockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  PCHECK(pthread_sigmask(SIG_BLOCK, &signals, nullptr) == 0) << "pthread_sigmask";
  int fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  PCHECK(fd >= 0) << "signalfd";
  return fd;
}

void refuse(const std::string& why) {
  std::cerr << "agora-master: cannot recover: " << why
            << "\nRefusing to start rather than lose state; repair or remove it, or start with "
               "--registry-fresh to move it aside and begin empty."
            << std::endl;
}

std::optional<std::unique_ptr<master::Registrar>> openSqliteRegistry(EventLoop& loop,
                                                                     const std::string& path,
                                                                     bool fresh) {
  auto registrar = master::Registrar::open(loop, path, {true, fresh});
  if (!registrar) {
    refuse(registrar.error().message);
    return std::nullopt;
  }
  if (!(*registrar)->movedAside().empty()) {
    LOG(WARNING) << "unreadable registry moved to " << (*registrar)->movedAside();
  }
  return std::move(*registrar);
}

// On election: read the shared registry, rebuild the master from it, then
// lead. A corrupt registry stops this master (exit 1) before it serves.
master::Leadership::Takeover takeoverFrom(master::ZkRegistry& registry, master::Master& master,
                                          bool fresh, int& exitCode, EventLoop& loop) {
  return [&registry, &master, fresh, &exitCode, &loop](const std::string& node,
                                                       std::function<void()> ready) {
    registry.takeover(node, fresh, [&, ready](Result<master::RegistryContents> contents) {
      if (!contents) {
        LOG(ERROR) << "cannot recover: " << contents.error().message;
        refuse(contents.error().message);
        exitCode = 1;
        loop.stop();
        return;
      }
      master.recoverAtTakeover(*contents);
      ready();
    });
  };
}

int run(int argc, char** argv) {
  std::string workDir, httpAddress, listen, logDir, zkUrl, minAllocatable, registryKind;
  std::string curveKey, credentials;
  bool insecureZmq = false;
  // Every duration flag takes the shared syntax (common/duration.hpp).
  using namespace std::chrono_literals;
  DurationFlag pingInterval{2s}, heartbeatInterval{5s}, reregisterTimeout{10min},
      unreachableTimeout{10min}, maxAgentAge{336h}, offerTimeout{0s}, zkSessionTimeout{10s};
  // Negative: not given (defaults to the agent re-registration timeout).
  DurationFlag resubscribeTimeout{-1s};
  bool registryFresh = false;
  master::MasterOptions options;
  master::events::EventStream::Options streamOptions;
  HttpSecurityFlags httpSecurity;
  po::options_description flags("Options");
  flags.add_options()("work-dir", po::value(&workDir)->required(),
                      "directory for the master's state")(
      "http", po::value(&httpAddress)->default_value("127.0.0.1:5050"),
      "HTTP API address HOST:PORT")("listen",
                                    po::value(&listen)->default_value("tcp://127.0.0.1:5055"),
                                    "ZeroMQ endpoint for agents and schedulers")(
      "curve-key", po::value(&curveKey)->default_value(""),
      "this master's CurveZMQ key pair (agora keygen): every link is encrypted and only the "
      "keys in --credentials connect")(
      "credentials", po::value(&credentials)->default_value(""),
      "with --curve-key: directory of agents/NAME.pub and frameworks/NAME.pub, the keys "
      "allowed to connect")(
      "insecure-zmq", po::bool_switch(&insecureZmq),
      "allow --listen on an address other than loopback without --curve-key (anyone who "
      "reaches it may then register agents and frameworks, and read tasks in clear)")(
      "agent-ping-interval", po::value(&pingInterval)->default_value(pingInterval, "2s"),
      "time between pings to each agent")(
      "agent-max-missed-pings", po::value(&options.agentMaxMissedPings)->default_value(5),
      "unanswered pings after which an agent is unreachable")(
      "framework-heartbeat-interval",
      po::value(&heartbeatInterval)->default_value(heartbeatInterval, "5s"),
      "time between heartbeats to schedulers; silent for 3 intervals: disconnected")(
      "log-dir", po::value(&logDir)->default_value(""), "also log to files in this directory")(
      "allocator-sorter", po::value(&options.allocatorSorter)->default_value("drf"),
      "order of roles and frameworks: drf (weighted DRF) or random")(
      "min-allocatable-resources",
      po::value(&minAllocatable)->default_value(master::kDefaultMinAllocatable),
      "smallest pool worth offering: alternatives separated by '|', each all of its scalars")(
      "agent-reregister-timeout",
      po::value(&reregisterTimeout)->default_value(reregisterTimeout, "10m"),
      "time after a restart within which registered agents must re-register")(
      "framework-resubscribe-timeout",
      po::value(&resubscribeTimeout)->default_value(resubscribeTimeout, "--agent-reregister-timeout"),
      "how long after its start (restart or takeover) the master waits for the schedulers that "
      "were connected before their own failover timeouts start (e.g. 15m); at least, and by "
      "default, --agent-reregister-timeout")(
      "agent-unreachable-timeout", po::value(&unreachableTimeout)->default_value(unreachableTimeout, "10m"),
      "remove an agent unreachable this long (e.g. 10m): its tasks become GONE, and if it "
      "returns it must kill them and register anew")(
      "registry-max-agent-age", po::value(&maxAgentAge)->default_value(maxAgentAge, "14d"),
      "forget a removed agent this long after its removal (e.g. 14d): if it returns later it "
      "is not told to shut down")(
      "max-frameworks-per-principal",
      po::value(&options.maxFrameworksPerPrincipal)->default_value(options.maxFrameworksPerPrincipal),
      "live frameworks one principal (framework key; all schedulers without CURVE count as "
      "one) may have; 0: no limit")(
      "subscriptions-per-principal",
      po::value(&options.subscribeRate.perSecond)->default_value(options.subscribeRate.perSecond),
      "SUBSCRIBE calls per second one principal may make (bursts of 5 s worth); 0: no limit")(
      "agent-registrations-per-principal",
      po::value(&options.agentRegistrationRate.perSecond)
          ->default_value(options.agentRegistrationRate.perSecond),
      "new agent registrations per second one agent key may make (bursts of 25 s worth); 0: no "
      "limit")(
      "registry-max-agent-count",
      po::value(&options.registryMaxAgentCount)->default_value(100 * 1024),
      "removed agents remembered at most; past it the oldest are forgotten first")(
      "event-buffer", po::value(&streamOptions.bufferedEvents)->default_value(10000),
      "recent events kept for GET /api/v1/events: `agora events` shows them, and a client "
      "that reconnects within them misses nothing")(
      "event-stream-client-queue",
      po::value(&streamOptions.maxClientQueueBytes)->default_value(size_t{4} << 20),
      "bytes of events that may wait for one GET /api/v1/events client; one further behind "
      "is dropped (it reconnects and resumes)")(
      "max-completed-tasks-per-framework",
      po::value(&options.completedTasks.perFramework)->default_value(1000),
      "completed tasks kept per framework (also across restarts, in the registry); the "
      "oldest go first")(
      "max-completed-frameworks", po::value(&options.completedTasks.frameworks)->default_value(50),
      "frameworks whose completed tasks are kept; past it, those of the framework with the "
      "oldest latest completion go")(
      "max-completed-tasks", po::value(&options.completedTasks.total)->default_value(10000),
      "completed tasks kept in all")(
      "registry", po::value(&registryKind)->default_value(""),
      "where the registry lives: zk (the default with --zk: PATH/registry in ZooKeeper, shared "
      "by all masters) or sqlite (WORK_DIR/registry.db, the default without --zk)")(
      "registry-fresh", po::bool_switch(&registryFresh),
      "start with an empty registry, moving an unreadable one aside (WORK_DIR/registry.db.bad-*; "
      "in ZooKeeper, corrupt records to PATH/registry-bad-*)")(
      "offer-timeout", po::value(&offerTimeout)->default_value(offerTimeout, "0"),
      "rescind offers not answered within this duration (e.g. 30s); 0: never")(
      "zk", po::value(&zkUrl)->default_value(""),
      "zk://HOST:PORT[,HOST:PORT]/PATH: high availability; only the elected leader serves")(
      "zk-session-timeout", po::value(&zkSessionTimeout)->default_value(zkSessionTimeout, "10s"),
      "ZooKeeper session timeout; a leader that loses its session for this long exits");
  addHttpSecurityFlags(flags, httpSecurity);
  po::variables_map vm;
  auto parsed = parseFlags(argc, argv, kUsage, flags, vm);
  if (!parsed) {
    std::cerr << "agora-master: " << parsed.error().message << "\n" << kUsage << std::endl;
    return 2;
  }
  if (!*parsed) return 0;  // --help
  options.agentPingInterval = pingInterval.value;
  options.frameworkHeartbeatInterval = heartbeatInterval.value;
  options.agentReregisterTimeout = reregisterTimeout.value;
  options.frameworkResubscribeTimeout = resubscribeTimeout.value < Duration::zero()
                                            ? reregisterTimeout.value
                                            : resubscribeTimeout.value;
  options.subscribeRate.burst = 5 * options.subscribeRate.perSecond;
  options.agentRegistrationRate.burst = 25 * options.agentRegistrationRate.perSecond;
  options.offerTimeout = offerTimeout.value;
  options.registryMaxAgentAge = maxAgentAge.value;
  options.agentUnreachableTimeout = unreachableTimeout.value;
  if (!(unreachableTimeout.value > Duration::zero())) {
    std::cerr << "agora-master: --agent-unreachable-timeout must be positive" << std::endl;
    return 2;
  }
  if (auto minimum = master::parseMinAllocatable(minAllocatable); minimum) {
    options.minAllocatable = std::move(*minimum);
  } else {
    std::cerr << "agora-master: --min-allocatable-resources: " << minimum.error().message
              << std::endl;
    return 2;
  }
  if (registryKind.empty()) registryKind = zkUrl.empty() ? "sqlite" : "zk";
  if (registryKind != "zk" && registryKind != "sqlite") {
    std::cerr << "agora-master: --registry must be zk or sqlite" << std::endl;
    return 2;
  }
  if (registryKind == "zk" && zkUrl.empty()) {
    std::cerr << "agora-master: --registry=zk needs --zk" << std::endl;
    return 2;
  }
  if (auto valid = validate(options); !valid) {
    std::cerr << "agora-master: " << valid.error().message << std::endl;
    return 2;
  }
  initLogging(argv[0], logDir);
  std::error_code ec;
  std::filesystem::create_directories(workDir, ec);
  if (ec) {
    LOG(ERROR) << "cannot create work dir " << workDir << ": " << ec.message();
    return 1;
  }
  // The registry holds every task's command and environment: the owner's only.
  std::filesystem::permissions(workDir, std::filesystem::perms::owner_all, ec);
  if (ec) LOG(WARNING) << "cannot make " << workDir << " private: " << ec.message();

  int signalFd = blockStopSignals();
  EventLoop loop;
  auto curve = master::loadCurveCredentials(curveKey, credentials);
  if (!curve) {
    std::cerr << "agora-master: " << curve.error().message << std::endl;
    return 2;
  }
  if (!*curve && !insecureZmq && !isLocalEndpoint(listen)) {
    std::cerr << "agora-master: refusing to take agents and schedulers in clear on " << listen
              << ", which is not a loopback address: give --curve-key and --credentials, or "
                 "--insecure-zmq to accept it"
              << std::endl;
    return 2;
  }
  auto transport = ZmqServer::create(loop, listen, *curve ? &**curve : nullptr);
  if (!transport) {
    LOG(ERROR) << transport.error().message;
    return 1;
  }
  // With --zk the master reaches agents and schedulers only while it leads.
  std::unique_ptr<master::Leadership> leadership;
  if (!zkUrl.empty()) {
    auto created = master::Leadership::create(loop, **transport, zkUrl,
                                               formatDuration(zkSessionTimeout.value));
    if (!created) {
      LOG(ERROR) << created.error().message;
      return 2;
    }
    leadership = std::move(*created);
  }
  int exitCode = 0;
  std::unique_ptr<master::Registrar> registrar;
  master::ZkRegistry* zkRegistry = nullptr;  // owned by the registrar
  if (registryKind == "zk") {
    auto backend = std::make_unique<master::ZkRegistry>(
        loop, leadership->session(), leadership->servers(), leadership->electionPath());
    zkRegistry = backend.get();
    zkRegistry->setOnFailure([&](const Error&) {
      LOG(ERROR) << "exiting: a leader whose registry write failed cannot know the registry";
      exitCode = 3;
      loop.stop();
    });
    registrar = master::Registrar::create(loop, std::move(backend));
  } else {
    auto opened = openSqliteRegistry(loop, workDir + "/registry.db", registryFresh);
    if (!opened) return 1;
    registrar = std::move(*opened);
  }
  options.registrar = registrar.get();
  // Outlives the master (which updates it) and the HTTP server (which serves it).
  Metrics metrics;
  HeapTrimmer heapTrimmer(loop, metrics, "master");
  // CurveZMQ handshakes the transport refused (unknown keys; the log names
  // their addresses), brought into /metrics each second.
  prometheus::Counter& refused = metrics.counter(
      "agora_master_refused_handshakes_total",
      "CurveZMQ handshakes refused before any message: unknown keys or plain clients");
  uint64_t refusedSeen = 0;
  EventLoop::TimerId refusedTimer = loop.addPeriodic(std::chrono::seconds(1), [&] {
    uint64_t now = (*transport)->refusedHandshakes();
    if (now > refusedSeen) refused.Increment(static_cast<double>(now - refusedSeen));
    refusedSeen = now;
  });
  auto security = setUpHttpSecurity(httpSecurity, httpAddress, metrics, "agora_master");
  if (!security) {
    std::cerr << "agora-master: " << security.error().message << std::endl;
    return 2;
  }
  options.authorizer = security->authorizer.get();
  master::Master master(loop, leadership ? leadership->transport() : **transport, options,
                        metrics);
  master::HttpApi api(master.snapshotCell(), loop, master);
  api.secure(*security->authenticator, *security->authorizer);
  api.describeMaster(master.id(), options.version, (*transport)->endpoint());
  auto server = http::HttpServer::create(httpAddress, 2, security->tls);
  if (!server) {
    LOG(ERROR) << "cannot serve HTTP on " << httpAddress << ": " << server.error().message;
    return 1;
  }
  security->protect(**server);
  api.install(**server);
  // What clients are sent to: HOST:PORT, or https://HOST:PORT over TLS.
  const std::string httpAdvertised = security->tls ? (*server)->url() : (*server)->address();
  metrics.serveOn(**server);
  // GET /api/v1/events; the server stops (below) before it goes.
  master::events::EventStream eventStream(
      loop, master.events(), [&master] { return master.snapshot()->stateBody(); }, metrics,
      streamOptions);
  eventStream.install(**server);
  if (leadership) {
    leadership->install(**server);
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    leadership->start({master.id(), (*transport)->endpoint(), httpAdvertised, host,
                       options.version},
                      [&](const std::string& why) {
                        LOG(ERROR) << "lost leadership (" << why
                                   << "); exiting so a supervisor restarts this master as a standby";
                        exitCode = 3;
                        loop.stop();
                      },
                      zkRegistry ? takeoverFrom(*zkRegistry, master, registryFresh, exitCode, loop)
                                 : master::Leadership::Takeover());
  }
  if (auto started = (*server)->start(); !started) {
    LOG(ERROR) << "cannot start HTTP server: " << started.error().message;
    return 1;
  }
  loop.addFd(signalFd, [&] {
    signalfd_siginfo info;
    while (read(signalFd, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGHUP) {
        LOG(INFO) << "SIGHUP: reloading the ACLs and tokens";
        security->reload();
        continue;
      }
      LOG(INFO) << "received signal " << info.ssi_signo << "; stopping";
      loop.stop();
    }
  });
  LOG(INFO) << "agora-master " << master.id() << ": HTTP on " << (*server)->address()
            << ", agents and schedulers on " << (*transport)->endpoint();
  loop.run();
  loop.cancelTimer(refusedTimer);
  (*server)->stop();
  loop.removeFd(signalFd);
  close(signalFd);
  LOG(INFO) << "agora-master stopped";
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
