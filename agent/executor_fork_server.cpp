#include "agent/executor_fork_server.hpp"

#include <glog/logging.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "agent/executor/fork_server.hpp"
#include "common/codec.hpp"
#include "common/subprocess.hpp"
#include "schemas/executor.capnp.h"

namespace agora::agent {

namespace {

using std::chrono::steady_clock;

// How long the server may take to come up or to answer a request.
constexpr std::chrono::milliseconds kReplyTimeout{5000};
// After a server failed, launches exec their executor for this long.
constexpr std::chrono::seconds kPauseAfterFailure{10};

Error unavailable(const std::string& why) {
  return Error{ErrorCode::kUnavailable, "executor fork server: " + why};
}

}  // namespace

struct ExecutorForkServer::Reply {
  enum Kind { kReady, kStarted, kChildFailed, kRefused } kind = kRefused;
  pid_t pid = -1;
  ChildFailure failure;
  std::string refused;
};

ExecutorForkServer::ExecutorForkServer(ChildReaper& reaper, std::string executorPath)
    : reaper_(reaper), executorPath_(std::move(executorPath)) {}

ExecutorForkServer::~ExecutorForkServer() { stop(""); }

void ExecutorForkServer::stop(const std::string& why) {
  if (serverPid_ > 0) {
    if (!why.empty()) LOG(WARNING) << "stopping executor fork server " << serverPid_ << ": " << why;
    reaper_.unwatch(serverPid_);
    kill(serverPid_, SIGKILL);
    waitpid(serverPid_, nullptr, 0);
    serverPid_ = -1;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!why.empty()) pausedUntil_ = steady_clock::now() + kPauseAfterFailure;
}

Status ExecutorForkServer::start() {
  if (!forkServerSupported()) {
    unsupported_ = true;
    return makeError(unavailable("not supported by this build or kernel"));
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return makeError(errnoError("socketpair", errno));
  }
  ProcessOptions options;
  options.argv = {executorPath_, "--fork-server"};
  options.env = currentEnvironment();
  // The dynamic linker binds every symbol of every library when the server
  // starts, once: its copies would otherwise each resolve the ones they use
  // (and fault in the pages that takes). The server drops the variable
  // before it copies itself (fork_server.cpp).
  options.env.push_back(std::string(kForkServerBindNow) + "=1");
  options.passFd = sv[1];
  auto pid = launchProcess(options);
  close(sv[1]);
  if (!pid) {
    close(sv[0]);
    return makeError(pid.error());
  }
  fd_ = sv[0];
  serverPid_ = *pid;
  ++serversStarted_;
  reaper_.watch(*pid, [this, pid = *pid](int status) {
    if (serverPid_ != pid) return;
    LOG(WARNING) << "executor fork server " << pid << " " << describeWaitStatus(status);
    serverPid_ = -1;  // reaped
    stop("it exited");
  });
  auto ready = awaitReply(kReplyTimeout);
  if (ready && ready->kind == Reply::kReady) {
    LOG(INFO) << "executor fork server " << serverPid_ << " is up";
    return {};
  }
  if (ready && ready->kind == Reply::kRefused) unsupported_ = true;  // it says it cannot
  std::string why = ready ? "it said " + (ready->refused.empty() ? "something else" : ready->refused)
                          : ready.error().message;
  stop(why);
  return makeError(unavailable("did not come up: " + why));
}

Result<ExecutorForkServer::Reply> ExecutorForkServer::awaitReply(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return makeError(ErrorCode::kTimeout, "no answer within " +
                                                            std::to_string(timeout.count()) + " ms");
  if (ready < 0) return makeError(errnoError("poll", errno));
  std::vector<char> buffer(4096);
  ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
  if (n < 0) return makeError(errnoError("recv", errno));
  if (n == 0) return makeError(ErrorCode::kUnavailable, "it closed its end");
  auto decoded = Decoded::parse(std::string_view(buffer.data(), static_cast<size_t>(n)));
  if (!decoded) return makeError(decoded.error());
  Reply reply;
  Status read = catchDecode([&] {
    auto root = decoded->root<schema::ForkReply>();
    switch (root.which()) {
      case schema::ForkReply::READY: reply.kind = Reply::kReady; break;
      case schema::ForkReply::STARTED:
        reply.kind = Reply::kStarted;
        reply.pid = root.getStarted();
        break;
      case schema::ForkReply::CHILD_FAILED: {
        auto f = root.getChildFailed();
        reply.kind = Reply::kChildFailed;
        reply.pid = f.getPid();
        reply.failure = ChildFailure{f.getStep(), f.getErr(), f.getDetail()};
        break;
      }
      case schema::ForkReply::REFUSED:
        reply.kind = Reply::kRefused;
        reply.refused = root.getRefused();
        break;
    }
  });
  if (!read) return makeError(read.error());
  if ((reply.kind == Reply::kStarted || reply.kind == Reply::kChildFailed) && reply.pid <= 0) {
    return makeError(ErrorCode::kProtocol, "an answer without a pid");
  }
  return reply;
}

ssize_t ExecutorForkServer::sendRequest(const std::string& bytes, int passFd) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (passFd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passFd, sizeof(int));
  }
  return sendmsg(fd_, &msg, MSG_NOSIGNAL);
}

Result<pid_t> ExecutorForkServer::launch(const std::string& launchFile,
                                         const ProcessOptions& process) {
  if (unsupported_) return makeError(unavailable("not usable here"));
  if (fd_ < 0) {
    if (steady_clock::now() < pausedUntil_) return makeError(unavailable("paused after a failure"));
    if (Status s = start(); !s) {
      LOG(WARNING) << s.error().message << "; executors are exec'd";
      pausedUntil_ = steady_clock::now() + kPauseAfterFailure;
      return makeError(unavailable(s.error().message));
    }
  }
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<schema::ForkRequest>();
  request.setLaunchFile(launchFile);
  request.setCwd(process.cwd);
  request.setOutputPath(process.stdoutPath);
  auto joins = request.initJoinFiles(static_cast<unsigned>(process.joinFiles.size()));
  for (unsigned i = 0; i < process.joinFiles.size(); ++i) joins.set(i, process.joinFiles[i]);
  std::string bytes = encodePacked(message);
  if (sendRequest(bytes, process.passFd) < 0) {
    // Not delivered (the server died since the last launch): nothing started.
    stop(errnoError("send", errno).message);
    return makeError(unavailable("it is gone"));
  }
  // From here the server may have started the executor: no fallback, which
  // could start a second one.
  auto reply = awaitReply(kReplyTimeout);
  if (!reply) {
    stop(reply.error().message);
    return makeError(reply.error().withContext("executor fork server"));
  }
  switch (reply->kind) {
    case Reply::kStarted: return reply->pid;
    case Reply::kChildFailed:
      waitpid(reply->pid, nullptr, 0);  // ours: it exited with 127
      return makeError(describeChildFailure(reply->failure, process));
    case Reply::kRefused:
      return makeError(ErrorCode::kInternal, "executor fork server: " + reply->refused);
    case Reply::kReady: break;
  }
  stop("an unexpected answer");
  return makeError(ErrorCode::kProtocol, "executor fork server: an unexpected answer");
}

}  // namespace agora::agent
