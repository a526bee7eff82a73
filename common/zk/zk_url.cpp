#include "common/zk/zk_url.hpp"

#include <charconv>

#include "common/duration.hpp"

namespace agora::zk {

namespace {

constexpr std::string_view kScheme = "zk://";

Status validateServer(std::string_view server) {
  size_t colon = server.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(server) + "' is not HOST:PORT");
  }
  std::string_view port = server.substr(colon + 1);
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(server) + "': port must be 1-65535");
  }
  return {};
}

}  // namespace

bool isZkUrl(const std::string& address) { return address.rfind(kScheme, 0) == 0; }

Result<ZkUrl> parseZkUrl(const std::string& url) {
  auto fail = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "ZooKeeper URL '" + url + "': " + why);
  };
  if (!isZkUrl(url)) return fail("must start with zk://");
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return fail("missing the path (zk://HOST:PORT/PATH)");
  ZkUrl parsed{rest.substr(0, slash), rest.substr(slash)};
  if (parsed.servers.empty()) return fail("no servers");
  size_t start = 0;
  while (start <= parsed.servers.size()) {
    size_t comma = parsed.servers.find(',', start);
    if (comma == std::string::npos) comma = parsed.servers.size();
    if (Status s = validateServer(std::string_view(parsed.servers).substr(start, comma - start));
        !s) {
      return fail(s.error().message);
    }
    start = comma + 1;
  }
  if (parsed.path == "/") return fail("the path must name a node below the root");
  if (parsed.path.back() == '/') return fail("the path must not end with '/'");
  if (parsed.path.find("//") != std::string::npos) return fail("the path has an empty component");
  return parsed;
}

Result<Duration> parseTimeout(const std::string& text) {
  auto value = parseDuration(text);
  if (!value) return makeError(value.error());
  if (!(*value > Duration::zero() && *value <= std::chrono::hours(1))) {
    return makeError(ErrorCode::kInvalidArgument, "'" + text + "' must be in (0s, 1h]");
  }
  return *value;
}

}  // namespace agora::zk
