#pragma once
// Reads the master's operator API (/api/v1/...) and agents' sandbox files,
// with errors that tell a person what to do.

#include <chrono>
#include <functional>
#include <map>
#include <string_view>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http_client.hpp"
#include "common/result.hpp"

namespace agora::cli {

class MasterClient {
 public:
  // address: the master's HTTP API, "HOST:PORT" or "http://HOST:PORT"; a
  // comma-separated list of them (highly available masters: each is tried in
  // turn); or zk://HOST:PORT[,HOST:PORT]/PATH (the leader is looked up in
  // ZooKeeper). Redirects from standby masters to the leader are followed.
  explicit MasterClient(std::string address,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // GET path (e.g. "/api/v1/tasks"): the raw body of a 200 response.
  // kUnavailable: "cannot reach the master at A: connection refused — is
  // `agora dev` running?"; other statuses carry the server's "error" field.
  Result<std::string> getRaw(const std::string& path) const;
  Result<nlohmann::json> getJson(const std::string& path) const;
  // Where the master takes schedulers (GET /api/v1/master), as tcp://HOST:PORT;
  // a wildcard host (0.0.0.0, *) becomes the host this client reached.
  Result<std::string> schedulerEndpoint() const;
  // The task's entry in /api/v1/tasks; kNotFound when the master does not know it.
  Result<nlohmann::json> task(const std::string& taskId) const;
  // GET path from the leading master, handing the body to `onData` as it
  // arrives (http::getStream) until the master closes the connection or
  // onData returns false. Errors as getRaw's.
  Status stream(const std::string& path, const std::map<std::string, std::string>& headers,
                const std::function<bool(std::string_view)>& onData) const;

  const std::string& address() const { return address_; }

 private:
  // The HTTP bases to try, in order.
  Result<std::vector<std::string>> bases() const;
  // The first of the addresses where a ZeroMQ peer (a scheduler endpoint,
  // given by mistake) listens, as HOST:PORT; empty if none.
  std::string zeroMqPeer() const;
  using Getter = std::function<Result<http::ClientResponse>(const std::string& url)>;
  // GET from the first master that answers, following redirects; `get`
  // fetches one URL (default: http::get).
  Result<http::ClientResponse> fetch(const std::string& path, const Getter& get = nullptr) const;
  // An error for a failed fetch, with what to do about it.
  Error unreachable(const Error& e) const;
  // An error for a non-200 answer, with the server's "error" field.
  static Error refused(const http::ClientResponse& response);

  std::string address_;
  std::chrono::milliseconds timeout_;
};

}  // namespace agora::cli
