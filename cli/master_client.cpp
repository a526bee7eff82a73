#include "cli/master_client.hpp"

#include "cli/global_options.hpp"
#include "common/zk/leader_lookup.hpp"
#include "common/zk/zk_url.hpp"
#include "frameworks/sdk/master_probe.hpp"

namespace agora::cli {

namespace {
constexpr int kMaxRedirects = 3;
}  // namespace

MasterClient::MasterClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

Result<std::vector<std::string>> MasterClient::bases() const {
  if (zk::isZkUrl(address_)) {
    auto leader = zk::lookupLeader(address_, timeout_);
    if (!leader) return makeError(leader.error());
    return std::vector<std::string>{toHttpBase(leader->httpAddress)};
  }
  std::vector<std::string> out = sdk::httpBases(address_);
  if (out.empty()) return makeError(ErrorCode::kInvalidArgument, "no master address given");
  return out;
}

Result<http::ClientResponse> MasterClient::fetch(const std::string& path,
                                                 const Getter& get) const {
  auto candidates = bases();
  if (!candidates) return makeError(candidates.error());
  Error last{ErrorCode::kUnavailable, "no master answered"};
  for (const std::string& base : *candidates) {
    std::string url = base + path;
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      auto response = get ? get(url) : http::get(url, timeout_);
      if (!response) {
        last = response.error();
        break;  // try the next master
      }
      auto location = response->headers.find("location");
      bool redirect = response->status >= 301 && response->status <= 308 &&
                      location != response->headers.end() && !location->second.empty();
      if (!redirect) {
        // A standby that knows no leader yet: another master may.
        if (response->status == 503 && candidates->size() > 1) {
          last = Error{ErrorCode::kUnavailable, "no leading master (" + base + " is a standby)"};
          break;
        }
        return response;
      }
      url = location->second;
    }
  }
  return makeError(last);
}

Error MasterClient::unreachable(const Error& e) const {
  std::string hint = e.code == ErrorCode::kInvalidArgument
                         ? " (check --master / AGORA_MASTER)"
                         : " — is `agora dev` running? (or set --master / AGORA_MASTER)";
  if (auto zmq = zeroMqPeer(); !zmq.empty() && e.code != ErrorCode::kInvalidArgument) {
    hint = " — " + zmq +
           " is a master's scheduler endpoint (ZeroMQ); --master takes its HTTP API address "
           "(`agora-master --http`, " + kDefaultMaster + " by default)";
  }
  return Error{e.code, "cannot reach the master at " + address_ + ": " + e.message + hint};
}

Error MasterClient::refused(const http::ClientResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  std::string detail = body.is_object() && body.contains("error") && body["error"].is_string()
                           ? body["error"].get<std::string>()
                           : response.body.substr(0, 200);
  return Error{response.status == 404   ? ErrorCode::kNotFound
               : response.status == 400 ? ErrorCode::kInvalidArgument
                                        : ErrorCode::kUnavailable,
               detail};
}

Result<std::string> MasterClient::getRaw(const std::string& path) const {
  auto response = fetch(path);
  if (!response) return makeError(unreachable(response.error()));
  if (response->status != 200) {
    Error e = refused(*response);
    return makeError(e.code, "the master at " + address_ + " answered " +
                                 std::to_string(response->status) + " for " + path + ": " +
                                 e.message);
  }
  return std::move(response->body);
}

Status MasterClient::stream(const std::string& path,
                            const std::map<std::string, std::string>& headers,
                            const std::function<bool(std::string_view)>& onData) const {
  auto response = fetch(path, [&](const std::string& url) {
    return http::getStream(url, headers, onData, timeout_);
  });
  if (!response) return makeError(unreachable(response.error()));
  if (response->status < 200 || response->status > 299) {
    Error e = refused(*response);
    return makeError(e.code, "the master at " + address_ + " answered " +
                                 std::to_string(response->status) + " for " + path + ": " +
                                 e.message);
  }
  return {};
}

std::string MasterClient::zeroMqPeer() const {
  if (zk::isZkUrl(address_)) return "";
  auto candidates = bases();
  if (!candidates) return "";
  for (const std::string& base : *candidates) {
    std::string hostPort = base.substr(base.find("://") + 3);
    auto kind = sdk::probePeer(hostPort, std::chrono::milliseconds(500));
    if (kind && *kind == sdk::PeerKind::kZeroMq) return hostPort;
  }
  return "";
}

Result<nlohmann::json> MasterClient::getJson(const std::string& path) const {
  auto body = getRaw(path);
  if (!body) return makeError(body.error());
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return makeError(ErrorCode::kProtocol,
                     "the master at " + address_ + " sent malformed JSON for " + path);
  }
  return json;
}

Result<std::string> MasterClient::schedulerEndpoint() const {
  auto json = getJson("/api/v1/master");
  if (!json) return makeError(json.error());
  auto it = json->find("endpoint");
  if (it == json->end() || !it->is_string() || it->get<std::string>().rfind("tcp://", 0) != 0) {
    return makeError(ErrorCode::kProtocol,
                     "the master at " + address_ + " does not name a tcp:// scheduler endpoint");
  }
  std::string endpoint = it->get<std::string>();
  size_t colon = endpoint.rfind(':');
  std::string host = endpoint.substr(6, colon == std::string::npos ? 0 : colon - 6);
  if (host != "0.0.0.0" && host != "*" && host != "[::]") return endpoint;
  auto candidates = bases();
  if (!candidates) return makeError(candidates.error());
  // "http://HOST:PORT" -> HOST, with the master's port.
  std::string base = candidates->front().substr(7);
  return "tcp://" + base.substr(0, base.rfind(':')) + endpoint.substr(colon);
}

Result<nlohmann::json> MasterClient::task(const std::string& taskId) const {
  auto json = getJson("/api/v1/tasks");
  if (!json) return makeError(json.error());
  const auto& tasks = (*json)["tasks"];
  if (tasks.is_array()) {
    for (const auto& entry : tasks) {
      if (entry.is_object() && entry.value("id", "") == taskId) return entry;
    }
  }
  return makeError(ErrorCode::kNotFound, "the master at " + address_ + " knows no task '" + taskId +
                                             "' (`agora tasks` lists them)");
}

}  // namespace agora::cli
