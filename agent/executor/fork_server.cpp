#include "agent/executor/fork_server.hpp"

#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "agent/executor/process_launcher.hpp"
#include "common/codec.hpp"
#include "common/result.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {

namespace {

struct Request {
  int startFd = -1;  // came with the request; the server's copy is closed once forked
  std::string launchFile;
  std::string cwd;
  std::string outputPath;
  std::vector<std::string> joinFiles;
};

Result<Request> decodeRequest(std::string_view bytes) {
  auto decoded = Decoded::parse(bytes);
  if (!decoded) return makeError(decoded.error());
  Request request;
  Status read = catchDecode([&] {
    auto root = decoded->root<schema::ForkRequest>();
    request.launchFile = root.getLaunchFile();
    request.cwd = root.getCwd();
    request.outputPath = root.getOutputPath();
    for (auto file : root.getJoinFiles()) request.joinFiles.emplace_back(file);
  });
  if (!read) return makeError(read.error());
  if (request.launchFile.empty() || request.outputPath.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "a fork request needs a launch file and output");
  }
  return request;
}

template <class Fill>
void reply(int fd, Fill fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<schema::ForkReply>());
  std::string bytes = encodePacked(message);
  if (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) PLOG(WARNING) << "fork server: send";
}

// One request and the descriptor that came with it (-1: none; any more
// are closed). Returns recvmsg's result.
ssize_t receive(int fd, std::vector<char>& buffer, int& passed) {
  passed = -1;
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (passed < 0) {
        passed = received;
      } else {
        close(received);
      }
    }
  }
  return n;
}

// Where glibc keeps this thread's ID (set_tid_address at start-up): the
// clone writes the copy's ID there, as fork() does.
Result<pid_t*> tidAddress() {
  pid_t* address = nullptr;
  if (prctl(PR_GET_TID_ADDRESS, &address) != 0) {
    return makeError(errnoError("prctl(PR_GET_TID_ADDRESS)", errno));
  }
  if (address == nullptr || *address != static_cast<pid_t>(syscall(SYS_gettid))) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "the thread ID address does not hold this thread's ID");
  }
  return address;
}

pid_t cloneAsSibling(pid_t* tid) {
  struct clone_args args {};
  args.flags = CLONE_PARENT | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
  args.child_tid = reinterpret_cast<uintptr_t>(tid);
  args.exit_signal = 0;  // with CLONE_PARENT: ours (SIGCHLD) to the agent
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof(args)));
}

// The argument and environment areas of this process ([arg_start, arg_end)
// and [env_start, env_end): fields 48-51 of /proc/self/stat), where a copy
// writes its command line.
struct ArgArea {
  char* begin = nullptr;
  size_t argBytes = 0, totalBytes = 0;
};
std::optional<ArgArea> readArgArea() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));  // from field 3 (state)
  std::string field;
  unsigned long long value[4] = {};
  for (int i = 3; i <= 51 && fields >> field; ++i) {
    if (i >= 48) value[i - 48] = std::strtoull(field.c_str(), nullptr, 10);
  }
  auto [argStart, argEnd, envStart, envEnd] = value;
  if (argStart == 0 || argEnd <= argStart) return std::nullopt;
  ArgArea area{reinterpret_cast<char*>(argStart), argEnd - argStart, argEnd - argStart};
  if (envStart == argEnd && envEnd > envStart) area.totalBytes = envEnd - argStart;
  return area;
}

// Done once by the server, so that its copies may overwrite the area: the
// environment strings and glibc's names of the program, which point into
// it, move to the heap (the copies inherit them there).
std::optional<ArgArea> claimArgArea() {
  auto area = readArgArea();
  if (!area) return std::nullopt;
  static std::string name = program_invocation_name;
  static std::string shortName = program_invocation_short_name;
  program_invocation_name = name.data();
  program_invocation_short_name = shortName.data();
  if (area->totalBytes > area->argBytes) {
    static std::vector<char*> env;  // the process's environment from now on
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.push_back(strdup(*e));
    env.push_back(nullptr);
    environ = env.data();
  }
  return area;
}

// /proc/PID/cmdline of a copy is the server's: show "agora-executor
// --launch-file PATH" as an exec'd executor's, written over the argument
// strings and, when longer, over the environment strings after them, as
// setproctitle(3) does. The kernel then reads the title up to its end (the
// argument area no longer ends with a NUL).
void showCommandLine(const ArgArea& area, const std::string& launchFile) {
  std::string title = std::string(program_invocation_name) + " --launch-file " + launchFile;
  size_t n = std::min(title.size(), area.totalBytes - 1);
  std::memset(area.begin, 0, area.totalBytes);
  std::memcpy(area.begin, title.data(), n);
}

// The copy's side: what an exec'd executor gets from process_launcher
// before its exec, then closing every descriptor but 0-2 (the error pipe
// with them: the server reads end-of-file, the start succeeded).
void becomeExecutor(const Request& request, const std::optional<ArgArea>& area, int nullFd,
                    int outFd, int errFd) {
  if (setsid() < 0) failChild(errFd, kStepSession);
  joinCgroups(request.joinFiles, errFd);
  if (dup2(nullFd, 0) < 0) failChild(errFd, kStepStdin);
  if (dup2(outFd, 1) < 0) failChild(errFd, kStepStdout);
  if (dup2(outFd, 2) < 0) failChild(errFd, kStepStderr);
  if (!request.cwd.empty() && chdir(request.cwd.c_str()) != 0) failChild(errFd, kStepChdir);
  prctl(PR_SET_NAME, "agora-executor", 0, 0, 0);
  if (area) showCommandLine(*area, request.launchFile);
  int keep = 3;
  if (request.startFd >= 0) {
    if (dup2(request.startFd, kStartFd) < 0) failChild(errFd, kStepPassFd);
    keep = kStartFd + 1;
  }
  syscall(SYS_close_range, keep, ~0U, 0);
}

// Starts one executor; returns in the copy with what it is to run.
std::optional<ForkedExecutor> forkOne(int fd, const Request& request, pid_t* tid,
                                      const std::optional<ArgArea>& area) {
  auto refuse = [&](const std::string& why) {
    reply(fd, [&](schema::ForkReply::Builder r) { r.setRefused(why); });
  };
  int outFd = open(request.outputPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (outFd < 0) {
    refuse(errnoError("open " + request.outputPath, errno).message);
    return std::nullopt;
  }
  int nullFd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int errPipe[2] = {-1, -1};
  if (nullFd < 0 || pipe2(errPipe, O_CLOEXEC) != 0) {
    refuse(errnoError(nullFd < 0 ? "open /dev/null" : "pipe", errno).message);
    for (int f : {outFd, nullFd}) {
      if (f >= 0) close(f);
    }
    return std::nullopt;
  }
  pid_t pid = cloneAsSibling(tid);
  if (pid == 0) {
    becomeExecutor(request, area, nullFd, outFd, errPipe[1]);
    return ForkedExecutor{request.launchFile, request.startFd >= 0 ? kStartFd : -1};
  }
  int cloneErr = errno;
  for (int f : {outFd, nullFd, errPipe[1]}) close(f);
  if (pid < 0) {
    close(errPipe[0]);
    refuse(errnoError("clone3", cloneErr).message);
    return std::nullopt;
  }
  auto failure = readChildFailure(errPipe[0]);
  close(errPipe[0]);
  reply(fd, [&](schema::ForkReply::Builder r) {
    if (!failure) {
      r.setStarted(pid);
      return;
    }
    auto f = r.initChildFailed();
    f.setPid(pid);
    f.setStep(failure->step);
    f.setErr(failure->err);
    f.setDetail(failure->detail);
  });
  return std::nullopt;
}

// What every executor would otherwise do once for itself: libzmq's network
// start-up (OpenPGM's, which looks its protocol up through NSS, and
// libsodium's) and reading the time zone (/etc/localtime) for its first log
// line's time stamp. Both start-ups are counted and undone when the last
// context ends, so the server keeps one: its copies then skip them (about
// 15 page faults and an NSS lookup each). The context starts no thread
// until a socket is made, and its copies never use it.
void warmUp() {
  static void* const kept = zmq_ctx_new();
  if (kept == nullptr) PLOG(WARNING) << "fork server: zmq_ctx_new";
  tzset();
}

}  // namespace

bool forkServerSupported() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  return tidAddress().has_value();
#endif
}

std::optional<ForkedExecutor> serveForks(int fd) {
  auto tid = tidAddress();
  if (!tid) {
    reply(fd, [&](schema::ForkReply::Builder r) { r.setRefused(tid.error().message); });
    return std::nullopt;
  }
  prctl(PR_SET_NAME, "agora-forksrv", 0, 0, 0);
  unsetenv(kForkServerBindNow);  // it did its work at start-up; executors' tasks do not inherit it
  const auto area = claimArgArea();
  warmUp();
  reply(fd, [](schema::ForkReply::Builder r) { r.setReady(); });
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    int passed = -1;
    ssize_t n = receive(fd, buffer, passed);
    if (n == 0) return std::nullopt;  // the agent is gone or done with us
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "fork server: recvmsg";
      return std::nullopt;
    }
    auto request = static_cast<size_t>(n) == buffer.size()
                       ? Result<Request>(makeError(ErrorCode::kInvalidArgument, "too large"))
                       : decodeRequest(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (!request) {
      if (passed >= 0) close(passed);
      reply(fd, [&](schema::ForkReply::Builder r) {
        r.setRefused("bad fork request: " + request.error().message);
      });
      continue;
    }
    request->startFd = passed;
    if (auto child = forkOne(fd, *request, *tid, area)) return child;
    if (passed >= 0) close(passed);  // the copy has its own
  }
}

}  // namespace agora::agent
