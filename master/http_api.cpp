#include "master/http_api.hpp"

namespace agora::master {

namespace {

http::Response rawJson(const std::string& body) {
  http::Response response;
  response.body = body;
  return response;
}

}  // namespace

void HttpApi::install(http::HttpServer& server) const {
  const SnapshotCell& cell = cell_;
  server.route("GET", "/health",
               [](const http::Request&) { return rawJson(R"({"status":"ok"})"); });
  server.route("GET", "/api/v1/state",
               [&cell](const http::Request&) { return rawJson(cell.get()->stateBody); });
  server.route("GET", "/api/v1/agents",
               [&cell](const http::Request&) { return rawJson(cell.get()->agentsBody); });
  server.route("GET", "/api/v1/frameworks",
               [&cell](const http::Request&) { return rawJson(cell.get()->frameworksBody); });
  server.route("GET", "/api/v1/tasks",
               [this](const http::Request& request) { return tasks(request); });
}

http::Response HttpApi::tasks(const http::Request& request) const {
  std::shared_ptr<const Snapshot> snapshot = cell_.get();
  std::string frameworkId = request.queryOr("framework_id", "");
  std::string state = request.queryOr("state", "");
  if (!state.empty() && state.rfind("TASK_", 0) != 0)
    state = "TASK_" + state;  // "RUNNING" works too
  if (frameworkId.empty() && state.empty()) return rawJson(snapshot->tasksBody);
  nlohmann::json tasks = nlohmann::json::array();
  for (const nlohmann::json& task : snapshot->tasks) {
    if (!frameworkId.empty() && task.value("framework_id", "") != frameworkId) continue;
    if (!state.empty() && task.value("state", "") != state) continue;
    tasks.push_back(task);
  }
  return rawJson(nlohmann::json{{"tasks", std::move(tasks)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace agora::master
