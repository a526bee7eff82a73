#pragma once
// A file descriptor closed when it goes out of scope (moved ones are not).

#include <unistd.h>

#include <utility>

namespace agora {

struct Fd {
  int fd = -1;

  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd >= 0) close(fd);
      fd = std::exchange(other.fd, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace agora
