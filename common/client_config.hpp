#pragma once
// What a client (the `agora` tool, a scheduler) needs to reach a secured
// cluster, in one JSON file readable by its owner only:
//
//   {"master": "https://10.0.0.5:5050",        the master's HTTP API
//    "token": "...",                           bearer token for the HTTP APIs
//    "ca_file": "/etc/agora/ca.crt",           CAs that sign the daemons' certificates
//    "client_certificate": "...", "client_key": "...",  or a certificate identity
//    "curve_key": "/home/me/.agora/me.key",    the scheduler's CurveZMQ key pair
//    "master_public_key": "/etc/agora/master.pub"}
//
// Every field is optional. `agora dev` writes one for its cluster, and
// ensureLocalCredentials() makes the keys, tokens and file a one-machine
// cluster runs with.

#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/zmq_transport.hpp"

namespace agora {

struct ClientConfig {
  std::string master, token, caFile, clientCertificate, clientKey, curveKey, masterPublicKey;
};

// kNotFound when the file does not exist; kPermissionDenied when others may
// read it (it holds a token); kInvalidArgument naming the field otherwise.
Result<ClientConfig> readClientConfig(const std::string& path);
// Mode 0600, written atomically.
Status writeClientConfig(const std::string& path, const ClientConfig& config);

// The configuration a client uses: `explicitPath` (--config), else
// `environmentPath` (AGORA_CONFIG) — either must exist — else HOME/.agora/config,
// else the one `agora dev` keeps for its default work dir
// (HOME/.agora/dev/security/config); nullopt when there is none.
Result<std::optional<ClientConfig>> findClientConfig(const std::string& explicitPath,
                                                     const std::string& environmentPath,
                                                     const std::string& home);

// A scheduler's CurveZMQ link from key files: its key pair and the master's
// public key. nullopt when both are empty (plain); an error when one is.
Result<std::optional<CurveClientKeys>> loadCurveClientKeys(const std::string& keyFile,
                                                           const std::string& masterPublicKeyFile);

// A one-machine cluster's security material in `dir` (made once, reused
// afterwards): CurveZMQ key pairs for the master, an agent and a framework
// (the master's allow list in DIR/credentials: agents/agent.pub,
// frameworks/local.pub), an operator token in DIR/tokens.json, and
// DIR/config for clients (ClientConfig, with `masterHttp` as its master).
struct LocalCredentials {
  std::string masterKey;        // DIR/keys/master.key
  std::string masterPublicKey;  // DIR/keys/master.pub
  std::string credentialsDir;   // DIR/credentials
  std::string agentKey;         // DIR/keys/agent.key
  std::string frameworkKey;     // DIR/credentials/frameworks/local.key
  std::string tokensFile;       // DIR/tokens.json
  std::string operatorToken;    // identity "operator:local"
  std::string clientConfig;     // DIR/config
};
Result<LocalCredentials> ensureLocalCredentials(const std::string& dir,
                                                const std::string& masterHttp);

}  // namespace agora
