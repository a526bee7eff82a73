#pragma once
// The agent's HTTP API: GET /health, /api/v1/containers, /files/read.
// Handlers run on HTTP threads and read only the published AgentSnapshot and
// the file system; they never touch loop state.

#include <functional>
#include <memory>

#include "agent/agent_snapshot.hpp"
#include "agent/sandbox_files.hpp"
#include "common/authorizer.hpp"
#include "common/http_auth.hpp"
#include "common/http_server.hpp"

namespace agora::agent {

using SnapshotSource = std::function<std::shared_ptr<const AgentSnapshot>()>;

// REQUIRES: server not started. `snapshot` must be thread-safe.
// With `authenticator` and `authorizer` (both or neither; they outlive the
// server), GET /files/read serves a sandbox only to an identified caller
// (401 for anonymous ones, even with anonymous reads allowed) whom the ACLs
// let access_sandboxes of the task's user (403 naming the rule otherwise).
void installHttpApi(http::HttpServer& server, SnapshotSource snapshot, SandboxFiles files,
                    const http::Authenticator* authenticator = nullptr,
                    const acl::Authorizer* authorizer = nullptr);

// The handlers, exposed for tests.
http::Response containersResponse(const AgentSnapshot& snapshot);
http::Response filesReadResponse(const SandboxFiles& files, const http::Request& request,
                                 const SandboxFiles::SandboxAuthorizer& authorize = {});

}  // namespace agora::agent
