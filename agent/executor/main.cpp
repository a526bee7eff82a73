// agora-executor --launch-file PATH: supervises one container's task.
// agora-executor --fork-server: started once by an agent with a socket on
// descriptor 3, starts executors as copies of itself (fork_server.hpp).
// --start-fd N: a socket from the agent for the first status updates
// (start_link.hpp).

#include <glog/logging.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "agent/executor/child_reaper.hpp"
#include "agent/executor/executor.hpp"
#include "agent/executor/executor_identity.hpp"
#include "agent/executor/fork_server.hpp"
#include "agent/executor/launch_spec.hpp"
#include "agent/executor/namespace_task_runner.hpp"
#include "agent/executor/posix_task_runner.hpp"
#include "agent/executor/process_prober.hpp"
#include "agent/executor/start_link.hpp"
#include "common/flags.hpp"
#include "common/logging.hpp"
#include "common/zmq_transport.hpp"

namespace {

// The link to the agent (and its monitor); ZeroMQ would otherwise size its
// context for the descriptor limit, written out at every executor's start.
constexpr int kExecutorZmqSockets = 16;

int run(const std::string& launchFile, int startFd) {
  using namespace agora;
  using namespace agora::agent;
  auto spec = readLaunchSpec(launchFile);
  if (!spec) {
    LOG(ERROR) << spec.error().message;
    return 2;
  }
  // SIGCHLD comes through a signalfd so the task is reaped at once. SIGTERM is
  // ignored: the agent stops us through the protocol, and a stray SIGTERM to
  // our session must not orphan the task. Blocked before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  int sigFd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  PCHECK(sigFd >= 0) << "signalfd";

  EventLoop loop;
  ChildReaper reaper(loop, seconds(1));
  loop.addFd(sigFd, [&] {
    signalfd_siginfo info;
    while (read(sigFd, &info, sizeof(info)) == sizeof(info)) {
    }
    reaper.poll();
  });
  // The agent decides whether tasks get namespaces (its --isolation).
  std::unique_ptr<TaskRunner> runner;
  if (spec->namespaces) {
    runner = std::make_unique<NamespaceTaskRunner>(reaper);
  } else {
    runner = std::make_unique<PosixTaskRunner>(reaper);
  }
  // The container starts building at once; the executor's first status
  // updates (RUNNING) reach the agent over the start socket while ZeroMQ
  // starts its threads and connects. Until then this process has a single
  // thread.
  StartLink link(startFd, spec->containerId);  // first: the socket closes at the task's exec
  runner->begin(*spec);
  std::unique_ptr<ZmqClient> client;  // outlives the executor, which uses it through `link`
  int exitCode = 0;
  Executor::Options options;
  options.prober = [&](pid_t taskPid) -> std::unique_ptr<Prober> {
    return std::make_unique<ProcessProber>(loop, reaper,
                                           ProcessProber::Target{taskPid, runner->checkOptions()});
  };
  size_t slash = launchFile.rfind('/');
  options.exitFile = (slash == std::string::npos ? std::string(".") : launchFile.substr(0, slash)) +
                     "/exit.ckpt";
  const std::string endpoint = spec->agentEndpoint;
  const std::string identity = executorIdentity(spec->containerId, spec->secret);
  Executor executor(loop, link, *runner, std::move(*spec), options, [&](int code) {
    exitCode = code;
    loop.stop();
  });
  executor.start();
  limitZmqSockets(kExecutorZmqSockets);
  auto created = ZmqClient::create(loop, endpoint, identity);
  if (!created) {
    // The agent destroys the container (init and task) once we are gone.
    LOG(ERROR) << created.error().message;
    return 2;
  }
  client = std::move(*created);
  link.attach(*client);
  executor.resync();  // what went over the start socket is not acknowledged
  loop.run();
  loop.removeFd(sigFd);
  close(sigFd);
  return exitCode;
}

// Ends the process once run() returned: its state is on disk and its
// objects are gone, so the static destructors and the finalisers of a dozen
// libraries (about 3% of an executor's CPU) are skipped. Sanitizer builds
// exit normally (the leak check runs at exit).
[[noreturn]] void finish(int code) {
#if !defined(__SANITIZE_ADDRESS__)
  std::fflush(nullptr);
  _exit(code);
#else
  std::exit(code);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  agora::po::options_description options("Options");
  options.add_options()("launch-file", agora::po::value<std::string>(),
                        "the container's launch.bin written by the agent")(
      "fork-server", agora::po::bool_switch(),
      "serve the agent's fork requests on descriptor 3 (one server per agent)")(
      "start-fd", agora::po::value<int>()->default_value(-1),
      "the agent's start socket, for the first status updates (start_link.hpp)");
  agora::po::variables_map vm;
  auto parsed = agora::parseFlags(
      argc, argv, "Usage: agora-executor --launch-file PATH | --fork-server", options, vm);
  if (!parsed) {
    std::cerr << "agora-executor: " << parsed.error().message << std::endl;
    return 2;
  }
  if (!*parsed) return 0;
  agora::initLogging(argv[0], "");
  if (vm["fork-server"].as<bool>()) {
    auto forked = agora::agent::serveForks(agora::agent::kForkServerFd);
    if (!forked) return 0;  // the server's end
    finish(run(forked->launchFile, forked->startFd));
  }
  if (!vm.count("launch-file")) {
    std::cerr << "agora-executor: --launch-file or --fork-server is required" << std::endl;
    return 2;
  }
  finish(run(vm["launch-file"].as<std::string>(), vm["start-fd"].as<int>()));
}
