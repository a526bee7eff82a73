#pragma once
// Test helpers for HTTP event streams: a client following one on a thread of
// its own, and polling with a deadline (real servers and sockets: no
// simulated time to advance).

#include <chrono>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.hpp"
#include "common/sse.hpp"

namespace agora::kit::testing {

// Polls `done` for up to 10 s.
template <class F>
bool waitFor(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Follows GET URL (an event stream) on a thread of its own until the server
// ends it, stop() or the destructor.
class Follower {
 public:
  explicit Follower(std::string url, std::map<std::string, std::string> headers = {}) {
    thread_ = std::jthread(
        [this, url = std::move(url), headers = std::move(headers)](std::stop_token stop) {
          http::SseParser parser;
          auto result = http::getStream(
              url, headers,
              [&](std::string_view chunk) {
                std::lock_guard<std::mutex> lock(mutex_);
                raw_.append(chunk);
                for (auto& m : parser.feed(chunk)) messages_.push_back(std::move(m));
                return true;
              },
              std::chrono::seconds(5), stop);
          std::lock_guard<std::mutex> lock(mutex_);
          status_ = result ? result->status : -1;
          done_ = true;
        });
  }
  std::vector<http::SseParser::Message> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
  }
  std::string raw() {
    std::lock_guard<std::mutex> lock(mutex_);
    return raw_;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  int status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  // Ends the stream from this side (the client goes away).
  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::vector<http::SseParser::Message> messages_;
  std::string raw_;
  bool done_ = false;
  int status_ = 0;
  std::jthread thread_;
};

}  // namespace agora::kit::testing
