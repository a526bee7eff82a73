#pragma once
// Who calls a daemon's HTTP API: a bearer token from the daemon's tokens
// file (`Authorization: Bearer TOKEN`), or a TLS client certificate the
// server verified (its common name); otherwise nobody (anonymous). The
// tokens file is JSON, readable by its owner only (it holds secrets):
//
//   {"tokens": [{"identity": "operator:alice", "token": "...",
//                "expires": "2027-01-31T18:00:00Z"}]}          (optional, UTC)
//
// What the identity may do is the ACLs' business (common/authorizer.hpp);
// this only says who it is, and turns away what needs an identity:
// a token that is not in the file or has expired (401), any change (a method other than
// GET/HEAD) without an identity (401), and reads without one unless
// anonymous reads are allowed (401). Thread-safe; reload() swaps the tokens.

#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/http_server.hpp"
#include "common/result.hpp"
#include "common/snapshot_cell.hpp"

namespace agora::http {

struct AuthOptions {
  std::string tokensFile;      // empty: no tokens (certificates only, if any)
  bool anonymousRead = false;  // GET/HEAD without an identity
};

class Authenticator {
 public:
  // kInvalidArgument for a tokens file that does not parse, kPermissionDenied
  // for one others may read.
  static Result<std::unique_ptr<Authenticator>> create(AuthOptions options);
  // No tokens, anonymous reads as given (tests, and daemons without auth).
  explicit Authenticator(bool anonymousRead = true);

  // The caller's identity; "" for anonymous; kPermissionDenied (a 401) for
  // a token that is not known.
  Result<std::string> identify(const Request& request) const;
  // A 401 response for a request that needs an identity it lacks, else
  // nullopt. Also serves as (part of) an HttpServer filter.
  std::optional<Response> gate(const Request& request) const;
  // Re-reads the tokens file (none given: nothing to do); on error the old
  // tokens stay.
  Status reload();

  bool anonymousRead() const { return options_.anonymousRead; }
  static bool isRead(const Request& request) {
    return request.method == "GET" || request.method == "HEAD";
  }

 private:
  struct TokenEntry {
    std::string identity;
    std::time_t expires = 0;  // 0: never
    std::string expiresText;
  };
  using Tokens = std::map<std::string, TokenEntry>;  // token -> who
  static Result<Tokens> loadTokens(const std::string& path);

  AuthOptions options_;
  SnapshotCell<Tokens> tokens_;
};

// A new random token (32 bytes from the kernel, hex): for `agora dev` and tests.
Result<std::string> randomToken();
// Writes `tokens` (identity -> token) as a tokens file, mode 0600, atomically.
Status writeTokensFile(const std::string& path, const std::map<std::string, std::string>& tokens);

}  // namespace agora::http
