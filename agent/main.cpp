// agora-agent: runs tasks for the master on this host.

#include <glog/logging.h>
#include <limits.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "agent/agent.hpp"
#include "agent/agent_metrics.hpp"
#include "agent/cgroups/cgroups_detect.hpp"
#include "agent/cgroups_isolator.hpp"
#include "agent/checkpoints.hpp"
#include "agent/executor/child_reaper.hpp"
#include "agent/host_resources.hpp"
#include "agent/http_api.hpp"
#include "common/http_security.hpp"
#include "agent/image_provisioner.hpp"
#include "agent/isolation_flag.hpp"
#include "agent/paths.hpp"
#include "agent/posix_containerizer.hpp"
#include "agent/proc_stat.hpp"
#include "common/duration.hpp"
#include "common/flags.hpp"
#include "common/heap_trim.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "common/subprocess.hpp"
#include "common/zk/master_connection.hpp"
#include "common/zmq_transport.hpp"

namespace {

using namespace agora;
using namespace agora::agent;

struct Flags {
  std::string master, workDir, http, resources, attributes, hostname, executorPath, logDir;
  std::string curveKey, masterPublicKey;
  DurationFlag retryMin{std::chrono::seconds(10)}, retryMax{std::chrono::minutes(10)};
  std::string isolation, cgroupsRoot, allowedHostPaths;
  std::string recover = "reconnect", bootIdFile = "/proc/sys/kernel/random/boot_id";
  bool cgroupsCpuQuota = false;
  uint64_t cgroupsPidsMax = 1024;
  std::string imageStoreDir, runtimeDir;
  DurationFlag imageGcInterval{std::chrono::hours(1)};
  size_t maxStartingContainers = defaultMaxStartingContainers();
  bool executorForkServer = true;
  std::string writableLayer = "disk";
  double defaultTaskDiskMb = 0;
  DurationFlag diskCheckInterval{std::chrono::seconds(15)},
      sandboxGcDelay{std::chrono::hours(7 * 24)};
  double gcDiskHeadroom = 0.1;
  agora::HttpSecurityFlags httpSecurity;
};

// Creates, limits and removes a scratch cgroup under `root`.
Status probeCgroups(cgroups::Cgroups& cgroups, const std::string& root) {
  std::string name = root + "/probe-" + std::to_string(getpid());
  Status status = cgroups.create(name);
  if (status) status = cgroups.setLimits(name, cgroups::CgroupLimits{1, false, 64 << 20, 64});
  (void)cgroups.remove(name);
  (void)cgroups.remove(root);  // fails harmlessly while containers use it
  if (!status) return makeError(status.error().withContext("cgroup probe failed"));
  return {};
}

// The cgroups isolator when `want` and usable (see isolation_flag.hpp), or
// nullptr. Leftover cgroups are removed after recovery, once the adopted
// containers are known.
Result<std::unique_ptr<CgroupsIsolator>> makeCgroupsIsolator(const Flags& flags,
                                                             IsolatorWant want) {
  if (want == IsolatorWant::kOff) return std::unique_ptr<CgroupsIsolator>();
  auto cgroups = cgroups::detectCgroups();
  std::string why = geteuid() != 0 ? "not running as root"
                    : !cgroups     ? cgroups.error().message
                                   : "";
  if (why.empty()) {
    if (auto moved = (*cgroups)->prepareRoot(); !moved) {
      why = moved.error().message;
    } else if (*moved > 0) {
      LOG(INFO) << "moved " << *moved
                << " processes out of the cgroups root into a leaf cgroup beneath it";
    }
  }
  if (why.empty()) {
    // Mounted is not usable (a v2 host without delegation, a read-only
    // cgroupfs): try a cgroup of our own once before relying on it.
    if (auto probed = probeCgroups(**cgroups, flags.cgroupsRoot); !probed) {
      why = probed.error().message;
    }
  }
  auto use = decideIsolator("cgroups", want, why);
  if (!use) return makeError(use.error());
  if (!*use) {
    LOG(INFO) << "cgroups isolation off (" << why << ")";
    return std::unique_ptr<CgroupsIsolator>();
  }
  LOG(INFO) << "isolation: cgroups, " << (*cgroups)->describe() << ", root '" << flags.cgroupsRoot
            << "', pids.max " << flags.cgroupsPidsMax << ", cpu quota "
            << (flags.cgroupsCpuQuota ? "on" : "off");
  auto isolator = std::make_unique<CgroupsIsolator>(
      std::move(*cgroups),
      CgroupsIsolator::Options{flags.cgroupsRoot, flags.cgroupsCpuQuota, flags.cgroupsPidsMax});
  return isolator;
}

// Whether executors start tasks in their own namespaces. Without them
// nothing confines a task's view of the host: said once, loudly.
Result<bool> useNamespaces(IsolatorWant want) {
  std::string why = want == IsolatorWant::kOff ? "--isolation leaves it out" : namespacesUnusable();
  auto use = decideIsolator("namespaces", want, why);
  if (!use) return use;
  if (*use) {
    LOG(INFO) << "namespaces isolation on";
  } else {
    LOG(WARNING) << "namespaces isolation off (" << why
                 << "): tasks run without a mount namespace and see the host's filesystem "
                    "writable as their user (the agent's when they name none), /tmp included";
  }
  return use;
}

struct Isolation {
  std::vector<std::unique_ptr<Isolator>> isolators;
  CgroupsIsolator* cgroups = nullptr;  // owned by `isolators`
  bool namespaces = false;
};

Result<Isolation> makeIsolation(const Flags& flags) {
  auto choice = parseIsolation(flags.isolation);
  if (!choice) return makeError(choice.error());
  auto cgroupsIsolator = makeCgroupsIsolator(flags, choice->cgroups);
  if (!cgroupsIsolator) return makeError(cgroupsIsolator.error());
  auto namespaces = useNamespaces(choice->namespaces);
  if (!namespaces) return makeError(namespaces.error());
  Isolation out;
  out.cgroups = cgroupsIsolator->get();
  if (*cgroupsIsolator) out.isolators.push_back(std::move(*cgroupsIsolator));
  out.namespaces = *namespaces;
  return out;
}

// Kills the containers an earlier run checkpointed whose executors still run
// (same pid and start time) and removes every checkpoint: a fresh start.
// `discarded` gets the IDs of every container the checkpoints named, whose
// cgroups are then leftovers.
Status startFresh(const std::string& workDir, const std::string& runtimeDir,
                  const std::string& why, std::set<std::string>& discarded) {
  LOG(WARNING) << "starting fresh as a new agent: " << why;
  for (const ContainerState& c : checkpoints::readableContainers(runtimeDir)) {
    discarded.insert(c.containerId);
    auto stat = c.executorPid > 0 ? readProcStat(c.executorPid) : std::nullopt;
    if (!stat || stat->startTime != c.executorStartTime) continue;
    LOG(WARNING) << "killing container " << c.containerId << " of task " << c.task.taskId
                 << " (executor pid " << c.executorPid << ")";
    killSession(c.executorPid);
  }
  return checkpoints::removeAll(workDir, runtimeDir);
}

// Reads the checkpoints of an earlier run (--recover=reconnect). A corrupt
// checkpoint is an error unless --recover=cleanup; a changed boot ID (host
// reboot) or --recover=cleanup means a fresh start.
Result<RecoveredState> loadState(const Flags& flags, const std::string& workDir,
                                 const std::string& runtimeDir, const std::string& bootId,
                                 std::set<std::string>& discarded) {
  auto state = checkpoints::recover(workDir, bootId, runtimeDir);
  if (!state && flags.recover != "cleanup") {
    return makeError(state.error().withContext(
        "cannot recover the agent's state; to discard it and kill the containers it describes, "
        "restart with --recover=cleanup"));
  }
  std::string why;
  if (!state) {
    why = "--recover=cleanup and " + state.error().message;
  } else if (flags.recover == "cleanup") {
    why = "--recover=cleanup";
  } else if (state->agent && state->agent->bootId != bootId) {
    why = "the host rebooted (boot ID " + state->agent->bootId + ", now " + bootId +
          "); agent " + state->agent->agentId + " and its " +
          std::to_string(state->containers.size()) + " containers are gone";
  }
  if (why.empty()) return std::move(*state);
  if (Status s = startFresh(workDir, runtimeDir, why, discarded); !s) return makeError(s.error());
  return RecoveredState{};
}

Result<KeyValues> parseAttributes(const std::string& text) {
  KeyValues out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0) {
      return makeError(ErrorCode::kInvalidArgument,
                       "--attributes: '" + item + "' is not NAME:VALUE");
    }
    out.emplace_back(item.substr(0, colon), item.substr(colon + 1));
    start = end + 1;
  }
  return out;
}

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : path;
}

int run(const Flags& flags) {
  if (Status s = paths::makeDirs(flags.workDir); !s) {
    LOG(ERROR) << s.error().message;
    return 1;
  }
  std::string workDir = absolute(flags.workDir);
  if (paths::executorSocket(workDir).size() >= sizeof(sockaddr_un::sun_path)) {
    LOG(ERROR) << "work dir path too long for " << paths::executorSocket(workDir);
    return 1;
  }
  auto memoryLayer = parseWritableLayer(flags.writableLayer, "--writable-layer");
  if (!memoryLayer) {
    LOG(ERROR) << memoryLayer.error().message;
    return 1;
  }
  std::string runtimeDir = flags.runtimeDir.empty() ? workDir + "/run" : flags.runtimeDir;
  if (Status s = paths::makeDirs(runtimeDir, 0700); !s) {
    LOG(ERROR) << "--runtime-dir: " << s.error().message;
    return 1;
  }
  runtimeDir = absolute(runtimeDir);
  for (const auto& dir : {paths::sandboxesRoot(workDir), paths::containersRoot(workDir),
                          paths::containersRoot(runtimeDir)}) {
    if (Status s = paths::makeDirs(dir); !s) {
      LOG(ERROR) << s.error().message;
      return 1;
    }
  }
  auto resources = hostResources(workDir, flags.resources);
  auto attributes = parseAttributes(flags.attributes);
  if (!resources || !attributes) {
    LOG(ERROR) << (!resources ? resources.error().message : attributes.error().message);
    return 1;
  }
  if (!(flags.gcDiskHeadroom >= 0 && flags.gcDiskHeadroom <= 1)) {
    LOG(ERROR) << "--gc-disk-headroom: " << flags.gcDiskHeadroom << " is not between 0 and 1";
    return 1;
  }
  if (!(flags.retryMin.value > Duration::zero() && flags.retryMax.value >= flags.retryMin.value)) {
    LOG(ERROR) << "--status-update-retry-min/max must satisfy 0 < min <= max";
    return 1;
  }
  if (flags.recover != "reconnect" && flags.recover != "cleanup") {
    LOG(ERROR) << "--recover: '" << flags.recover << "' is not reconnect or cleanup";
    return 1;
  }
  auto bootId = checkpoints::readBootId(flags.bootIdFile);
  if (!bootId) {
    LOG(ERROR) << bootId.error().message;
    return 1;
  }
  std::set<std::string> discarded;  // containers of checkpoints a fresh start removed
  auto recovered = loadState(flags, workDir, runtimeDir, *bootId, discarded);
  if (!recovered) {
    LOG(ERROR) << recovered.error().message;
    return 1;
  }
  // Signals arrive through a signalfd; blocked before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sigFd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  PCHECK(sigFd >= 0) << "signalfd";

  EventLoop loop;
  std::string identity = randomIdentity("agent");
  std::optional<CurveClientKeys> curve;
  if (!flags.curveKey.empty() || !flags.masterPublicKey.empty()) {
    auto pair = readCurveKeyPair(flags.curveKey);
    auto serverKey = readCurvePublicKey(flags.masterPublicKey);
    if (flags.curveKey.empty() || flags.masterPublicKey.empty() || !pair || !serverKey) {
      LOG(ERROR) << "--curve-key and --master-public-key go together: "
                 << (!pair ? pair.error().message
                           : !serverKey ? serverKey.error().message : "give both");
      return 2;
    }
    curve = CurveClientKeys{*pair, *serverKey};
  }
  auto master = zk::MasterConnection::create(loop, flags.master, identity, seconds(10), curve);
  if (Status s = paths::makeExecutorSocketDir(workDir); !s) {
    LOG(ERROR) << s.error().message;
    return 1;
  }
  auto executors = ZmqServer::create(loop, paths::executorEndpoint(workDir));
  if (!master || !executors) {
    LOG(ERROR) << (!master ? master.error().message : executors.error().message);
    return 1;
  }
  Metrics metrics;
  HeapTrimmer heapTrimmer(loop, metrics, "agent");
  std::unique_ptr<http::HttpServer> httpServer;
  std::string httpUrl;
  HttpSecurity security;
  if (!flags.http.empty()) {
    auto secured = setUpHttpSecurity(flags.httpSecurity, flags.http, metrics, "agora_agent");
    if (!secured) {
      LOG(ERROR) << secured.error().message;
      return 2;
    }
    security = std::move(*secured);
    if (flags.httpSecurity.tokens.empty() && flags.httpSecurity.tlsClientCa.empty()) {
      LOG(WARNING) << "the HTTP API on " << flags.http
                   << " has no --tokens nor --tls-client-ca: no caller can be identified, so "
                      "sandbox files are served to nobody and changes are refused";
    }
    auto server = http::HttpServer::create(flags.http, 1, security.tls);
    if (!server) {
      LOG(ERROR) << "--http: " << server.error().message;
      return 1;
    }
    httpServer = std::move(*server);
    httpUrl = httpServer->url();
    security.protect(*httpServer);
  }
  if (flags.cgroupsRoot.empty() || flags.cgroupsRoot.find('/') != std::string::npos) {
    LOG(ERROR) << "--cgroups-root must be one path component";
    return 1;
  }
  auto isolation = makeIsolation(flags);
  if (!isolation) {
    LOG(ERROR) << isolation.error().message;
    return 1;
  }
  auto hostPaths = HostPathPolicy::parse(flags.allowedHostPaths);
  if (!hostPaths) {
    LOG(ERROR) << "--allowed-host-paths: " << hostPaths.error().message;
    return 1;
  }
  ChildReaper reaper(loop, seconds(1));
  // Images need the namespaces (their own mount namespace and root).
  std::unique_ptr<ImageProvisioner> images;
  if (isolation->namespaces) {
    std::string storeDir =
        flags.imageStoreDir.empty() ? paths::imageStore(workDir) : absolute(flags.imageStoreDir);
    auto provisioner = ImageProvisioner::create(
        loop, storeDir, flags.imageGcInterval.value);
    if (!provisioner) {
      LOG(ERROR) << "--image-store-dir: " << provisioner.error().message;
      return 1;
    }
    images = std::move(*provisioner);
  }
  PosixContainerizer containerizer(
      reaper,
      PosixContainerizer::Options{workDir, flags.executorPath, paths::executorEndpoint(workDir),
                                  isolation->namespaces, std::move(*hostPaths), runtimeDir,
                                  flags.executorForkServer, *memoryLayer},
      std::move(isolation->isolators));
  Agent::Options options;
  options.supervisor.images = images.get();
  options.hostname = flags.hostname;
  options.resources = *resources;
  options.attributes = *attributes;
  options.httpUrl = httpUrl;
  options.statusUpdates.retryMin = flags.retryMin.value;
  options.statusUpdates.retryMax = flags.retryMax.value;
  options.supervisor.workDir = workDir;
  options.supervisor.runtimeDir = runtimeDir;
  options.supervisor.checkpoint = true;
  options.supervisor.maxStarting = flags.maxStartingContainers;
  options.supervisor.defaultDiskMb = flags.defaultTaskDiskMb;
  options.supervisor.diskCheckInterval = flags.diskCheckInterval.value;
  options.supervisor.sandboxGcDelay = flags.sandboxGcDelay.value;
  options.supervisor.gcDiskHeadroom = flags.gcDiskHeadroom;
  options.checkpoint = true;
  options.identity = AgentIdentity{"", "", flags.hostname, flags.resources};
  options.identity.bootId = *bootId;
  Agent agent(loop, **master, **executors, containerizer, options);
  agent.setRedirectHandler([connection = master->get()](const std::string& endpoint) {
    connection->redirect(endpoint);
  });
  (*master)->setLeaderHandler(
      [&agent](const zk::MasterInfo& leader) { agent.reconnect("new leading master " + leader.id); });
  agent.recover(*recovered);
  if (isolation->cgroups != nullptr) {
    // After recovery: the cgroups of adopted containers stay; those of this
    // work dir's other containers, and of those a fresh start discarded, are
    // leftovers.
    auto live = containerizer.containers();
    auto removed = isolation->cgroups->removeLeftovers([&](const std::string& id) {
      return validateId("container ID", id).has_value() &&
             std::find(live.begin(), live.end(), id) == live.end() &&
             (discarded.count(id) > 0 ||
              access(paths::containerDir(runtimeDir, id).c_str(), F_OK) == 0);
    });
    LOG(INFO) << "removed " << removed.size() << " leftover container cgroups";
  }
  AgentMetrics agentMetrics(metrics);
  agent.setPublishHandler([&](const AgentSnapshot& s) { agentMetrics.update(s); });
  if (httpServer) {
    installHttpApi(
        *httpServer, [&agent] { return agent.snapshot(); },
        SandboxFiles(paths::sandboxesRoot(workDir),
                     &metrics.counter("agora_agent_files_refused_total",
                                      "GET /files/read requests refused for leaving a sandbox, "
                                      "a symbolic link, or a file the task's user cannot read")),
        security.authenticator.get(), security.authorizer.get());
    metrics.serveOn(*httpServer);
    if (Status s = httpServer->start(); !s) {
      LOG(ERROR) << "--http: " << s.error().message;
      return 1;
    }
  }
  loop.addFd(sigFd, [&] {
    signalfd_siginfo info;
    while (read(sigFd, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGCHLD) continue;
      if (info.ssi_signo == SIGHUP) {
        LOG(INFO) << "SIGHUP: reloading the ACLs and tokens";
        if (security.authorizer) security.reload();
        continue;
      }
      LOG(INFO) << "received " << strsignal(static_cast<int>(info.ssi_signo)) << "; stopping";
      loop.stop();
    }
    reaper.poll();
  });
  LOG(INFO) << "agent " << identity << " on " << workDir << " offering " << resources->toString()
            << (httpUrl.empty() ? "" : "; HTTP on " + httpUrl);
  agent.start();
  loop.run();
  if (httpServer) httpServer->stop();
  loop.removeFd(sigFd);
  close(sigFd);
  LOG(INFO) << "agent stopped; containers keep running";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  agora::po::options_description options("Options");
  options.add_options()("master", agora::po::value(&f.master)->required(),
                        "master endpoint (tcp://127.0.0.1:5055) or zk://HOST:PORT[,HOST:PORT]/PATH "
                        "to follow the leader")("work-dir",
                                                agora::po::value(&f.workDir)->required(),
                                                "sandboxes, containers, executor socket")(
      "http", agora::po::value(&f.http)->default_value(""),
      "HTTP API address HOST:PORT (empty: none)")(
      "curve-key", agora::po::value(&f.curveKey)->default_value(""),
      "this agent's CurveZMQ key pair (agora keygen; its .pub in the master's "
      "--credentials agents/): the link to the master is encrypted")(
      "master-public-key", agora::po::value(&f.masterPublicKey)->default_value(""),
      "with --curve-key: the master's public key file; no other master is talked to")(
      "resources", agora::po::value(&f.resources)->default_value(""),
      "override detected resources, e.g. 'cpus:4;mem:8192;ports:[31000-32000]'; "
      "NAME(ROLE):VALUE reserves statically for ROLE, e.g. 'cpus(eng):2;cpus:6'")(
      "attributes", agora::po::value(&f.attributes)->default_value(""), "e.g. 'rack:r1;zone:a'")(
      "hostname", agora::po::value(&f.hostname)->default_value(""),
      "advertised hostname (default: this host's)")(
      "status-update-retry-min", agora::po::value(&f.retryMin)->default_value(f.retryMin, "10s"),
      "time before the first resend")("status-update-retry-max",
                                         agora::po::value(&f.retryMax)->default_value(f.retryMax, "10m"),
                                         "cap of the resend backoff")(
      "executor-path", agora::po::value(&f.executorPath)->default_value(""),
      "agora-executor binary (default: next to this one)")(
      "executor-fork-server",
      agora::po::value(&f.executorForkServer)->default_value(true)->implicit_value(true),
      "start executors as copies of one agora-executor --fork-server instead of exec'ing "
      "each (saves ~2.5 ms per launch); false: exec each")(
      "writable-layer", agora::po::value(&f.writableLayer)->default_value(f.writableLayer),
      "where an image container's writable layer lives: disk (under the work dir) or memory "
      "(a tmpfs in the container's mount namespace, counted against its memory limit and "
      "sized by its disk resource when it has one; starts faster); per task: label "
      "agora.rootfs.writable_layer")(
      "log-dir", agora::po::value(&f.logDir)->default_value(""),
      "glog files (default: stderr only)")(
      "isolation", agora::po::value(&f.isolation)->default_value(""),
      "comma list of cgroups, namespaces; posix for none (default: each one usable here)")(
      "allowed-host-paths", agora::po::value(&f.allowedHostPaths)->default_value(""),
      "comma list of host directories (e.g. /srv/data,/mnt/shared) under which tasks may bind "
      "host-path volumes, symlinks resolved (default: none, every host-path volume is refused)")(
      "cgroups-root", agora::po::value(&f.cgroupsRoot)->default_value("agora"),
      "containers' cgroups go to ROOT/<containerId> under the agent's own cgroup")(
      "cgroups-cpu-quota", agora::po::bool_switch(&f.cgroupsCpuQuota),
      "hard CPU limit (CFS quota = cpus x period); per task: label agora.cgroups.cpu_quota")(
      "cgroups-pids-max", agora::po::value(&f.cgroupsPidsMax)->default_value(1024),
      "processes per container, 0 for no limit; per task: label agora.cgroups.pids_max")(
      "default-task-disk", agora::po::value(&f.defaultTaskDiskMb)->default_value(0),
      "disk limit in MB of a task's sandbox when the task asks for no `disk`; 0 for none")(
      "disk-check-interval",
      agora::po::value(&f.diskCheckInterval)->default_value(f.diskCheckInterval, "15s"),
      "time between measurements of sandboxes against their disk limit (off the event "
      "loop); a task past its limit is killed with REASON_CONTAINER_LIMITATION_DISK; 0: never")(
      "sandbox-gc-delay",
      agora::po::value(&f.sandboxGcDelay)->default_value(f.sandboxGcDelay, "7d"),
      "how long a finished task's sandbox is kept (after its updates are acknowledged) before "
      "it is removed, also across agent restarts; shorter as the disk fills (see "
      "--gc-disk-headroom); 0: kept forever")(
      "gc-disk-headroom", agora::po::value(&f.gcDiskHeadroom)->default_value(f.gcDiskHeadroom),
      "fraction of the work dir's disk to keep free: sandboxes are kept "
      "--sandbox-gc-delay * max(0, 1 - used / (1 - headroom)): half the delay at 45% used, "
      "and at once from 90% used with the default 0.1")(
      "max-starting-containers",
      agora::po::value(&f.maxStartingContainers)->default_value(f.maxStartingContainers),
      "containers started at once (launched, not yet running; default 8 per CPU); later "
      "launches wait in order; 0 for no limit")(
      "recover", agora::po::value(&f.recover)->default_value("reconnect"),
      "reconnect: resume the agent ID and containers checkpointed in the work dir (refuses to "
      "start if a checkpoint is corrupt); cleanup: kill them and start as a new agent")(
      "boot-id-file", agora::po::value(&f.bootIdFile)->default_value(f.bootIdFile),
      "where the host's boot ID is read (a changed ID means the host rebooted); for tests")(
      "image-store-dir", agora::po::value(&f.imageStoreDir)->default_value(""),
      "where task images are pulled and unpacked (default: WORK_DIR/images)")(
      "image-gc-interval", agora::po::value(&f.imageGcInterval)->default_value(f.imageGcInterval, "1h"),
      "time between removals of images no container uses; 0 for never")(
      "runtime-dir", agora::po::value(&f.runtimeDir)->default_value(""),
      "per-boot state: container checkpoints, launch specs, rootfs mount points (default: "
      "WORK_DIR/run); on tmpfs (e.g. /run/agora/NAME, one per agent) launches never wait on "
      "the disk, and a reboot empties it");
  agora::addHttpSecurityFlags(options, f.httpSecurity);
  agora::po::variables_map vm;
  auto parsed = agora::parseFlags(
      argc, argv, "Usage: agora-agent --master ENDPOINT|zk://HOST:PORT/PATH --work-dir DIR [options]", options, vm);
  if (!parsed) {
    std::cerr << "agora-agent: " << parsed.error().message << std::endl;
    return 2;
  }
  if (!*parsed) return 0;
  agora::initLogging(argv[0], f.logDir);
  if (f.hostname.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    f.hostname = host;
  }
  if (f.executorPath.empty()) f.executorPath = agora::selfDirectory() + "/agora-executor";
  return run(f);
}
