#pragma once
// The agent's HTTP API: GET /health, /api/v1/containers, /files/read.
// Handlers run on HTTP threads and read only the published AgentSnapshot and
// the file system; they never touch loop state.

#include <functional>
#include <memory>

#include "agent/agent_snapshot.hpp"
#include "agent/sandbox_files.hpp"
#include "common/http_server.hpp"

namespace agora::agent {

using SnapshotSource = std::function<std::shared_ptr<const AgentSnapshot>()>;

// REQUIRES: server not started. `snapshot` must be thread-safe.
void installHttpApi(http::HttpServer& server, SnapshotSource snapshot, SandboxFiles files);

// The handlers, exposed for tests.
http::Response containersResponse(const AgentSnapshot& snapshot);
http::Response filesReadResponse(const SandboxFiles& files, const http::Request& request);

}  // namespace agora::agent
