#include "agent/executor/start_link.hpp"

#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

namespace agora::agent {

StartLink::StartLink(int startFd, std::string identity)
    : fd_(startFd), identity_(std::move(identity)) {
  // Passed open across exec (or dup'ed by the fork server): ours only.
  if (fd_ >= 0 && fcntl(fd_, F_SETFD, FD_CLOEXEC) != 0) {
    PLOG(WARNING) << "start socket " << fd_ << " unusable";
    fd_ = -1;
  }
}

StartLink::~StartLink() { closeStartFd(); }

void StartLink::closeStartFd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void StartLink::attach(ClientTransport& link) {
  link_ = &link;
  closeStartFd();
  link.setHandler(std::move(handler_));
  if (connected_) link.setConnectedHandler(std::move(connected_));
}

void StartLink::setHandler(Handler handler) {
  if (link_) return link_->setHandler(std::move(handler));
  handler_ = std::move(handler);
}

void StartLink::setConnectedHandler(std::function<void()> handler) {
  if (link_) return link_->setConnectedHandler(std::move(handler));
  connected_ = std::move(handler);
}

bool StartLink::send(std::string_view protocol, std::string_view payload) {
  if (link_) return link_->send(protocol, payload);
  stats_.framesOut++;
  stats_.bytesOut += payload.size();
  if (fd_ >= 0 && protocol == kExecutorProtocol) {
    // Never blocks: a frame the socket cannot take now is resent once the
    // real link is attached.
    if (::send(fd_, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
        errno != EAGAIN) {
      // The agent closed its end (it restarted): the resend reaches it.
      closeStartFd();
    }
  }
  return true;
}

const std::string& StartLink::identity() const { return link_ ? link_->identity() : identity_; }

const TransportStats& StartLink::stats() const { return link_ ? link_->stats() : stats_; }

}  // namespace agora::agent
