#pragma once
// A blocking TCP connection to 127.0.0.1 with a 5 s receive timeout, for HTTP
// tests sending bytes the client would never produce (or never reading).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace agora::http {

class RawConnection {
 public:
  // receiveBuffer > 0 shrinks the socket's receive buffer (before connecting),
  // so that a connection that does not read pushes back sooner.
  explicit RawConnection(uint16_t port, int receiveBuffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (receiveBuffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof(receiveBuffer));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // One response with a Content-Length body; "" on EOF, error or timeout.
  std::string readResponse() {
    for (;;) {
      size_t headerEnd = buffer_.find("\r\n\r\n");
      if (headerEnd != std::string::npos) {
        size_t lengthAt = buffer_.find("Content-Length: ");
        size_t length = lengthAt < headerEnd ? std::stoul(buffer_.substr(lengthAt + 16)) : 0;
        if (buffer_.size() >= headerEnd + 4 + length) {
          std::string response = buffer_.substr(0, headerEnd + 4 + length);
          buffer_.erase(0, response.size());
          return response;
        }
      }
      if (readSome() <= 0) return "";
    }
  }
  // True when the peer closes (EOF or reset) before the receive timeout.
  bool waitForClose() {
    for (;;) {
      ssize_t n = readSome();
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  ssize_t readSome() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
    return n;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace agora::http
