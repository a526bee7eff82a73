#pragma once
// The master's operator HTTP API. Handlers run on the HTTP server's threads
// and read only the published Snapshot, never master state.
//
//   GET /health               {"status":"ok"}
//   GET /api/v1/state         {"master":{...},"agents":[...],"frameworks":[...],"tasks":[...]}
//   GET /api/v1/agents        {"agents":[...]}
//   GET /api/v1/frameworks    {"frameworks":[...]}
//   GET /api/v1/tasks         {"tasks":[...]}; optional query framework_id=, state=
//
// GET /metrics (Prometheus text) is not installed here: it serializes the
// master's agora::Metrics registry, registered with Metrics::serveOn (main.cpp).

#include "common/http_server.hpp"
#include "master/snapshot.hpp"

namespace agora::master {

class HttpApi {
 public:
  // REQUIRES: cell outlives every server the API is installed on.
  explicit HttpApi(const SnapshotCell& cell) : cell_(cell) {}

  // Registers the routes. REQUIRES: the server is not started yet.
  void install(http::HttpServer& server) const;

  // The handlers, callable directly (tests).
  http::Response tasks(const http::Request& request) const;

 private:
  const SnapshotCell& cell_;
};

}  // namespace agora::master
