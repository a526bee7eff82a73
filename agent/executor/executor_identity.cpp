#include "agent/executor/executor_identity.hpp"

#include <errno.h>
#include <glog/logging.h>
#include <sys/random.h>

#include "common/transport.hpp"

namespace agora::agent {

std::string newExecutorSecret() {
  std::string bytes(16, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    // getrandom only fails without kernel support (< 3.17) or with a bad buffer.
    PCHECK(n > 0) << "getrandom";
    got += static_cast<size_t>(n);
  }
  return hexEncode(bytes);
}

std::string executorIdentity(const std::string& containerId, const std::string& secret) {
  return secret.empty() ? containerId : containerId + ":" + secret;
}

ExecutorPeer parseExecutorIdentity(std::string_view identity) {
  size_t colon = identity.rfind(':');
  if (colon == std::string_view::npos) return ExecutorPeer{std::string(identity), ""};
  return ExecutorPeer{std::string(identity.substr(0, colon)),
                      std::string(identity.substr(colon + 1))};
}

bool sameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace agora::agent
