#include "frameworks/sdk/cluster_events.hpp"

#include <glog/logging.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "common/http_client.hpp"
#include "common/sse.hpp"
#include "frameworks/sdk/master_probe.hpp"

namespace agora::sdk {

namespace {

constexpr int kMaxRedirects = 3;

}  // namespace

Result<std::unique_ptr<ClusterEvents>> ClusterEvents::start(Options options, Handler onEvent) {
  std::unique_ptr<ClusterEvents> events(new ClusterEvents(std::move(options), std::move(onEvent)));
  if (events->bases_.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "no master address to follow events from");
  }
  events->thread_ = std::jthread([raw = events.get()](std::stop_token stop) { raw->run(stop); });
  return events;
}

ClusterEvents::ClusterEvents(Options options, Handler onEvent)
    : options_(std::move(options)),
      onEvent_(std::move(onEvent)),
      bases_(httpBases(options_.master)) {}

ClusterEvents::~ClusterEvents() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::string ClusterEvents::lastError() const {
  std::lock_guard<std::mutex> lock(errorMutex_);
  return lastError_;
}

void ClusterEvents::run(std::stop_token stop) {
  bool first = true;
  while (!stop.stop_requested()) {
    for (const std::string& base : bases_) {
      if (stop.stop_requested()) return;
      if (!first) ++reconnects_;
      first = false;
      if (follow(base, stop, 0)) break;  // it streamed: start again from the first
    }
    // Wait before trying again, waking early when asked to stop.
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, stop, options_.reconnectDelay, [] { return false; });
  }
}

bool ClusterEvents::follow(const std::string& base, std::stop_token stop, int redirects) {
  std::string path = std::string("/api/v1/events?from=") + (options_.snapshot ? "snapshot" : "now");
  if (!options_.types.empty()) path += "&types=" + http::urlEncode(options_.types);
  if (!options_.frameworkId.empty()) path += "&framework_id=" + http::urlEncode(options_.frameworkId);
  std::map<std::string, std::string> headers;
  if (!lastEventId_.empty()) headers["Last-Event-ID"] = lastEventId_;
  http::SseParser parser;
  bool streamed = false;
  auto response = http::getStream(
      base + path, headers,
      [&](std::string_view chunk) {
        streamed = true;
        for (auto& message : parser.feed(chunk)) {
          auto event = nlohmann::json::parse(message.data, nullptr, false);
          if (event.is_discarded()) continue;
          lastEventId_ = message.id;
          onEvent_(event);
        }
        return !stop.stop_requested();
      },
      std::chrono::seconds(5), stop);
  auto setError = [this](std::string error) {
    std::lock_guard<std::mutex> lock(errorMutex_);
    lastError_ = std::move(error);
  };
  if (!response) {
    setError(base + ": " + response.error().message);
    return streamed;
  }
  auto location = response->headers.find("location");
  if (response->status >= 301 && response->status <= 308 && location != response->headers.end() &&
      redirects < kMaxRedirects) {
    // A standby names the leader: follow it there.
    std::string target = location->second;
    size_t pathStart = target.find("/api/");
    return follow(pathStart == std::string::npos ? target : target.substr(0, pathStart), stop,
                  redirects + 1);
  }
  if (response->status < 200 || response->status > 299) {
    setError(base + " answered " + std::to_string(response->status) + ": " + response->body);
    LOG_EVERY_N(WARNING, 10) << "cluster events: " << lastError();
    return false;
  }
  setError("");
  return true;
}

}  // namespace agora::sdk
