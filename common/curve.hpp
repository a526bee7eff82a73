#pragma once
// CurveZMQ: key pairs, the files `agora keygen` writes, and the process-wide
// ZAP handler that decides which public keys may connect to a CURVE server.
//
// Key files (Z85 text, 40 characters per key):
//   NAME.key  (0600)  public-key = ...\nsecret-key = ...\n
//   NAME.pub  (0644)  public-key = ...\n
// A directory of NAME.pub files is an allow list: each key's principal is
// its file name without ".pub".

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace agora {

struct CurveKeyPair {
  std::string publicKey;  // Z85
  std::string secretKey;  // Z85
};

Result<CurveKeyPair> generateCurveKeyPair();
// Writes PREFIX.key and PREFIX.pub; refuses to overwrite either.
Status writeCurveKeyPair(const std::string& prefix, const CurveKeyPair& pair);
// A .key file's pair. kInvalidArgument names the file and what is wrong.
Result<CurveKeyPair> readCurveKeyPair(const std::string& path);
// The public key of a .pub or .key file.
Result<std::string> readCurvePublicKey(const std::string& path);
// Every DIR/PRINCIPAL.pub: public key -> principal. An unreadable or
// malformed file fails the whole list (a half-read allow list is a hole).
Result<std::map<std::string, std::string>> readCurveAllowList(const std::string& dir);
// Whether `key` is 40 characters of Z85 encoding 32 bytes.
bool validCurveKey(const std::string& key);

// The ZAP handler of the process's ZeroMQ context (one per context, on its
// own thread, started by the first allow()). Each CURVE server names a
// domain; a client whose key is not allowed on the server's domain is refused
// during the handshake, before any of its frames reach the server, and
// counted and logged with its address. Thread-safe.
class CurveAuthenticator {
 public:
  static CurveAuthenticator& instance();

  // The keys (public key -> principal) allowed on `domain`, replacing any
  // earlier list. A server's messages carry the principal as "User-Id".
  void allow(const std::string& domain, std::map<std::string, std::string> keys);
  void forget(const std::string& domain);
  // Handshakes refused on `domain` so far.
  uint64_t refused(const std::string& domain) const;

 private:
  CurveAuthenticator() = default;
  struct State;
  void start();
  std::shared_ptr<State> state_;
};

}  // namespace agora
