#include "frameworks/kit/event_hub.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "common/sse.hpp"

namespace agora::kit {

namespace {

const std::string kKeepalive = ": keepalive\n\n";

// Strings may come from the network and not be UTF-8: replace bad bytes
// instead of throwing. One line: newlines in strings are escaped.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string cleanType(std::string type) {
  if (type.empty()) return "message";
  for (char& c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok) c = '_';
  }
  return type;
}

}  // namespace

struct EventHub::Shared {
  struct Client {
    std::shared_ptr<http::StreamWriter> writer;
    std::set<std::string> types;  // empty: all
  };

  explicit Shared(Options o) : options(o) {}

  // Writes `frame` to the client at `it`; drops it (erased, stream closed)
  // when it is gone or too far behind. REQUIRES: mutex held.
  bool sendLocked(std::map<uint64_t, Client>::iterator it, const std::string& frame) {
    http::StreamWriter& writer = *it->second.writer;
    size_t queued = writer.queuedBytes();
    bool behind = queued > 0 && queued + frame.size() > options.maxQueuedBytes;
    if (!behind && writer.write(frame)) return true;
    if (behind) {
      LOG(WARNING) << "dropping event client " << it->first << ": " << queued
                   << " bytes wait for it";
    }
    writer.close();
    clients.erase(it);
    return false;
  }

  // Registers a client and sends it the snapshot (when there is one); `json`
  // is the snapshot rendered by the caller, or null to render it here.
  // REQUIRES: mutex held.
  std::optional<uint64_t> attachLocked(std::shared_ptr<http::StreamWriter> writer,
                                       std::set<std::string> types,
                                       const std::optional<std::string>& json) {
    --pending;
    if (stopping) {
      writer->close();
      return std::nullopt;
    }
    uint64_t id = nextClient++;
    auto it = clients.emplace(id, Client{std::move(writer), std::move(types)}).first;
    std::string rendered;
    if (json) {
      rendered = *json;
    } else if (snapshot) {
      try {
        rendered = dump(snapshot());
      } catch (const std::exception& e) {
        LOG(ERROR) << "event snapshot failed: " << e.what();
        it->second.writer->close();
        clients.erase(it);
        return std::nullopt;
      }
    }
    if (!rendered.empty() &&
        !sendLocked(it, http::sseFrame("snapshot", std::to_string(lastId), rendered))) {
      return std::nullopt;
    }
    return id;
  }

  const Options options;
  mutable std::mutex mutex;
  std::condition_variable wake;  // the keep-alive thread
  bool stopping = false;
  std::function<nlohmann::json()> snapshot;
  uint64_t lastId = 0;
  uint64_t nextClient = 1;
  size_t pending = 0;  // accepted, not attached yet: counted against maxClients
  std::map<uint64_t, Client> clients;
};

EventHub::EventHub(Options options) : shared_(std::make_shared<Shared>(options)) {
  keepalive_ = std::thread([shared = shared_] {
    std::unique_lock<std::mutex> lock(shared->mutex);
    while (!shared->stopping) {
      shared->wake.wait_for(lock, shared->options.keepalive, [&] { return shared->stopping; });
      if (shared->stopping) break;
      for (auto it = shared->clients.begin(); it != shared->clients.end();) {
        auto next = std::next(it);
        shared->sendLocked(it, kKeepalive);
        it = next;
      }
    }
  });
}

EventHub::~EventHub() {
  std::map<uint64_t, Shared::Client> clients;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stopping = true;
    clients.swap(shared_->clients);
  }
  shared_->wake.notify_all();
  keepalive_.join();
  for (auto& [id, client] : clients) client.writer->close();
}

void EventHub::setSnapshot(std::function<nlohmann::json()> snapshot) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->snapshot = std::move(snapshot);
}

uint64_t EventHub::publish(std::string type, nlohmann::json data) {
  type = cleanType(std::move(type));
  std::string json = dump(data);
  std::lock_guard<std::mutex> lock(shared_->mutex);
  uint64_t id = ++shared_->lastId;
  if (shared_->clients.empty()) return id;
  const std::string frame = http::sseFrame(type, std::to_string(id), json);
  for (auto it = shared_->clients.begin(); it != shared_->clients.end();) {
    auto next = std::next(it);
    const auto& types = it->second.types;
    if (types.empty() || types.count(type)) shared_->sendLocked(it, frame);
    it = next;
  }
  return id;
}

size_t EventHub::clients() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->clients.size();
}

uint64_t EventHub::lastId() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->lastId;
}

void EventHub::install(http::HttpServer& server, const std::string& path) {
  http::StreamOptions options;
  // Shared::sendLocked bounds what waits for a client; the writer's own
  // bound only backs it up (a snapshot may be larger than that bound).
  options.maxQueuedBytes = std::numeric_limits<size_t>::max() / 2;
  // What the kernel holds for a client counts too: a few round trips' worth.
  options.socketSendBuffer =
      static_cast<int>(std::min(shared_->options.maxQueuedBytes, size_t{256} << 10));
  std::weak_ptr<Shared> weak = shared_;
  server.routeStream(
      "GET", path,
      [weak](const http::Request& request,
             std::shared_ptr<http::StreamWriter> writer) -> std::optional<http::Response> {
        auto shared = weak.lock();
        if (!shared) return http::errorResponse(503, "the framework is stopping");
        std::set<std::string> types = http::parseEventTypes(request.queryOr("types", ""));
        EventLoop* loop = shared->options.loop;
        std::optional<uint64_t> id;
        {
          std::lock_guard<std::mutex> lock(shared->mutex);
          if (shared->stopping) return http::errorResponse(503, "the framework is stopping");
          if (shared->clients.size() + shared->pending >= shared->options.maxClients) {
            return http::errorResponse(
                503, "too many event clients (" + std::to_string(shared->options.maxClients) + ")");
          }
          ++shared->pending;
          if (loop == nullptr) id = shared->attachLocked(writer, std::move(types), std::nullopt);
        }
        auto forget = [weak](uint64_t client) {
          return [weak, client] {
            if (auto alive = weak.lock()) {
              std::lock_guard<std::mutex> lock(alive->mutex);
              alive->clients.erase(client);
            }
          };
        };
        if (loop == nullptr) {
          if (id) writer->onClose(forget(*id));
          return std::nullopt;
        }
        // On the loop: the snapshot falls between two of its events.
        loop->post([weak, writer, types = std::move(types), forget]() mutable {
          auto alive = weak.lock();
          if (!alive) return writer->close();
          std::function<nlohmann::json()> snapshot;
          {
            std::lock_guard<std::mutex> lock(alive->mutex);
            snapshot = alive->snapshot;
          }
          std::optional<std::string> json = std::string();
          if (snapshot) {
            try {
              json = dump(snapshot());
            } catch (const std::exception& e) {
              LOG(ERROR) << "event snapshot failed: " << e.what();
              std::lock_guard<std::mutex> lock(alive->mutex);
              --alive->pending;
              return writer->close();
            }
          }
          std::optional<uint64_t> client;
          {
            std::lock_guard<std::mutex> lock(alive->mutex);
            client = alive->attachLocked(writer, std::move(types), json);
          }
          if (client) writer->onClose(forget(*client));
        });
        return std::nullopt;
      },
      options);
}

}  // namespace agora::kit
