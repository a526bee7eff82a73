#pragma once
// Changes through the master's operator API (POST/DELETE /api/v1/...).
// Reads go through MasterClient.

#include <chrono>
#include <string>

#include "common/result.hpp"

namespace agora::cli {

// Sends `method path` with a JSON `body` to the master's HTTP API
// ("HOST:PORT" or "http://HOST:PORT") and returns the body of a 2xx answer.
// A 4xx/5xx answer becomes an Error whose message is the API's "error" field
// verbatim (kInvalidArgument is never used for it: an API refusal is not a
// usage error); an unreachable master says so and how to point at one.
Result<std::string> sendToMaster(const std::string& address, const std::string& method,
                                 const std::string& path, const std::string& body,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace agora::cli
