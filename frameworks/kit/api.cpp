#include "frameworks/kit/api.hpp"

#include <glog/logging.h>

#include <utility>

namespace agora::kit {

namespace {

// "HOST:PORT" (plain HTTP) or a URL, without trailing slashes.
std::string normalizeUrl(std::string url) {
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string portOf(const std::string& address) { return address.substr(address.rfind(':') + 1); }

// A handler whose JSON errors (a missing field, a wrong type) answer 400.
http::Handler jsonErrorsAre400(http::Handler handler) {
  return [handler = std::move(handler)](const http::Request& request) {
    try {
      return handler(request);
    } catch (const nlohmann::json::exception& e) {
      return http::errorResponse(400, std::string("invalid JSON: ") + e.what());
    }
  };
}

int statusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kTooLarge:
      return 413;
    default:
      return 500;
  }
}

}  // namespace

ApiServer::ApiServer(Options options)
    : options_(std::move(options)), events_(std::make_unique<EventHub>(options_.events)) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::create(Options options) {
  std::optional<http::TlsOptions> tls;
  if (options.security != nullptr) tls = options.security->tls;
  auto server = http::HttpServer::create(options.listen, options.threads, tls);
  if (!server) {
    return makeError(server.error().withContext("cannot serve the API of framework '" +
                                                options.name + "' on " + options.listen));
  }
  std::unique_ptr<ApiServer> api(new ApiServer(std::move(options)));
  api->server_ = std::move(*server);
  const Options& o = api->options_;
  if (o.advertiseHost.empty()) {
    api->url_ = api->server_->url();
  } else {
    bool v6 = o.advertiseHost.find(':') != std::string::npos && o.advertiseHost.front() != '[';
    api->url_ = std::string(tls ? "https://" : "http://") +
                (v6 ? "[" + o.advertiseHost + "]" : o.advertiseHost) + ":" +
                portOf(api->server_->address());
  }
  http::HttpServer& s = *api->server_;
  // Authentication first (GET /health is exempt), then the standby's redirect.
  if (o.security != nullptr) o.security->protect(s);
  s.addFilter([raw = api.get()](const http::Request& request) { return raw->standby(request); });
  s.route("GET", "/health", [](const http::Request&) {
    return http::jsonResponse(200, {{"status", "ok"}});
  });
  s.route("GET", "/api/v1/leader",
          [raw = api.get()](const http::Request&) { return raw->leaderResponse(); });
  api->events_->install(s);
  return api;
}

void ApiServer::route(const std::string& method, const std::string& path, http::Handler handler) {
  server_->route(method, path, jsonErrorsAre400(std::move(handler)));
}

void ApiServer::routePrefix(const std::string& method, const std::string& prefix,
                            http::Handler handler) {
  server_->routePrefix(method, prefix, jsonErrorsAre400(std::move(handler)));
}

void ApiServer::setLeader(std::function<std::optional<std::string>()> leaderUrl) {
  std::lock_guard<std::mutex> lock(leaderMutex_);
  leaderUrl_ = std::move(leaderUrl);
}

Status ApiServer::start() {
  if (Status started = server_->start(); !started) return started;
  LOG(INFO) << "framework '" << options_.name << "' serves its API on " << address()
            << " (advertised as " << url_ << ")";
  return {};
}

void ApiServer::stop() {
  if (server_) server_->stop();
}

std::string ApiServer::address() const { return server_->address(); }

std::pair<std::optional<std::string>, bool> ApiServer::leader() const {
  std::function<std::optional<std::string>()> leaderUrl;
  {
    std::lock_guard<std::mutex> lock(leaderMutex_);
    leaderUrl = leaderUrl_;
  }
  if (!leaderUrl) return {url_, true};  // the only instance
  std::optional<std::string> known = leaderUrl();
  if (!known || known->empty()) return {std::nullopt, false};
  std::string normalized = normalizeUrl(*known);
  return {normalized, normalized == url_};
}

std::optional<http::Response> ApiServer::standby(const http::Request& request) const {
  if (request.path == "/health") return std::nullopt;
  if (request.path == "/api/v1/leader" && request.method == "GET") return std::nullopt;
  auto [leaderUrl, leading] = leader();
  if (leading) return std::nullopt;
  if (!leaderUrl) return http::errorResponse(503, "no leader elected");
  http::Response response =
      http::errorResponse(307, "this instance is a standby; the leader is at " + *leaderUrl);
  response.headers.emplace_back("Location", *leaderUrl + request.target);
  return response;
}

http::Response ApiServer::leaderResponse() const {
  auto [leaderUrl, leading] = leader();
  nlohmann::json known = leaderUrl ? nlohmann::json(*leaderUrl) : nlohmann::json(nullptr);
  return http::jsonResponse(
      200, {{"leader", known}, {"self", url_}, {"leading", leading}, {"framework", options_.name}});
}

Result<nlohmann::json> ApiServer::jsonBody(const http::Request& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json::object();
  }
  try {
    return nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the body is not JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

http::Response ApiServer::errorResponse(const Error& error) {
  return http::errorResponse(statusOf(error.code), error.message);
}

}  // namespace agora::kit
