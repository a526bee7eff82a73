#include "agent/start_sockets.hpp"

#include <errno.h>
#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agora::agent {

StartSockets::StartSockets(EventLoop& loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)), buffer_(kMaxFrameBytes, '\0') {}

StartSockets::~StartSockets() {
  for (const auto& [id, fd] : fds_) {
    loop_.removeFd(fd);
    ::close(fd);
  }
}

Result<int> StartSockets::open(const std::string& containerId) {
  if (fds_.count(containerId)) {
    return makeError(ErrorCode::kAlreadyExists,
                     "container '" + containerId + "' already has a start socket");
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
    return makeError(errnoError("socketpair", errno));
  }
  // Only we read ours; the executor only writes its end.
  shutdown(sv[0], SHUT_WR);
  fds_[containerId] = sv[0];
  loop_.addFd(sv[0], [this, containerId, fd = sv[0]] { onReadable(containerId, fd); });
  return sv[1];
}

void StartSockets::close(const std::string& containerId) {
  auto it = fds_.find(containerId);
  if (it == fds_.end()) return;
  loop_.removeFd(it->second);
  ::close(it->second);
  fds_.erase(it);
}

void StartSockets::onReadable(std::string containerId, int fd) {
  // The handler may close this socket (or others): checked before each read.
  auto open = [&] {
    auto it = fds_.find(containerId);
    return it != fds_.end() && it->second == fd;
  };
  for (int i = 0; i < kFramesPerWakeup && open(); ++i) {
    ssize_t n = recv(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      // End-of-file: the executor's own link is up (or it is gone).
      if (n < 0) PLOG(WARNING) << "start socket of container " << containerId;
      return close(containerId);
    }
    if (static_cast<size_t>(n) > buffer_.size()) {
      ++oversized_;
      LOG(WARNING) << "dropping a " << n << "-byte frame on the start socket of container "
                   << containerId;
      continue;
    }
    handler_(containerId, std::string_view(buffer_.data(), static_cast<size_t>(n)));
  }
}

}  // namespace agora::agent
