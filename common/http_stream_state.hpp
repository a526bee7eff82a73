#pragma once
// The state a StreamWriter shares between its producers and the server
// connection that sends it. Internal to the HTTP server (http_server.cpp);
// free of Asio so that producers never touch the server's event loop except
// through the `wake` function the connection attaches, which the connection
// detaches (finish()) before its event loop can go away.

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/http_server.hpp"

namespace agora::http::detail {

class StreamState final : public StreamWriter {
 public:
  explicit StreamState(size_t maxQueuedBytes) : maxQueuedBytes_(maxQueuedBytes) {}

  bool write(std::string data) override;
  void close() override;
  bool closed() const override;
  size_t queuedBytes() const override;
  void onClose(std::function<void()> callback) override;

  // What the connection has to do next.
  struct Pending {
    std::vector<std::string> chunks;  // to write, in order; still counted as queued
    bool abort = false;               // drop everything and close now
    bool closeRequested = false;      // close() was called: close once written
  };

  // Starts delivering: `wake` is called (under the state's lock, so it must only
  // schedule work) whenever there is something for the connection to take().
  // Wakes once right away.
  void attach(std::function<void()> wake);
  // Takes the queued chunks. Their bytes stay counted until written().
  Pending take();
  void written(size_t bytes);
  bool abortRequested() const;
  // Closes the stream and drops what is queued; wakes the connection.
  void abort();
  // The connection is done: closes the stream, detaches `wake` and returns the
  // onClose callbacks to run (only to the first caller).
  std::vector<std::function<void()>> finish();

  static void runCallbacks(std::vector<std::function<void()>> callbacks);

 private:
  void wakeLocked(bool force);

  const size_t maxQueuedBytes_;
  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  size_t queuedBytes_ = 0;  // queue_ plus chunks taken and not yet written
  bool closed_ = false;
  bool closeRequested_ = false;
  bool abort_ = false;
  bool finished_ = false;
  bool wakePending_ = false;  // a take() is due; no need to wake again
  std::function<void()> wake_;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace agora::http::detail
