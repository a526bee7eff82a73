#include "common/curve.hpp"

#include <glog/logging.h>
#include <sys/stat.h>

#include <filesystem>
#include <array>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/zmq_transport.hpp"

namespace agora {

namespace {

Status invalid(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, message);
}

// "name = value" lines; '#' starts a comment.
Result<std::map<std::string, std::string>> readKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorCode::kNotFound, "cannot read key file " + path);
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return makeError(invalid(path + ": not 'name = value': " + line).error());
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    fields[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return fields;
}

Status writeFile(const std::string& path, const std::string& text, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return makeError(ErrorCode::kAlreadyExists, path + " exists; not overwriting a key");
  }
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return makeError(ErrorCode::kInternal, "cannot write " + path);
    out << text;
    if (!out.flush()) return makeError(ErrorCode::kInternal, "cannot write " + path);
  }
  if (chmod(path.c_str(), mode) != 0) {
    return makeError(ErrorCode::kInternal, "cannot set the permissions of " + path);
  }
  return {};
}

std::string z85(const unsigned char* bytes, size_t size) {
  std::string out(size * 5 / 4 + 1, '\0');
  zmq_z85_encode(out.data(), bytes, size);
  out.resize(size * 5 / 4);
  return out;
}

}  // namespace

bool validCurveKey(const std::string& key) {
  if (key.size() != 40) return false;
  unsigned char bytes[32];
  return zmq_z85_decode(bytes, key.c_str()) != nullptr;
}

Result<CurveKeyPair> generateCurveKeyPair() {
  char publicKey[41], secretKey[41];
  if (zmq_curve_keypair(publicKey, secretKey) != 0) {
    return makeError(ErrorCode::kInternal, "cannot generate a CURVE key pair: " +
                                               std::string(zmq_strerror(zmq_errno())));
  }
  return CurveKeyPair{publicKey, secretKey};
}

Status writeCurveKeyPair(const std::string& prefix, const CurveKeyPair& pair) {
  std::string pub = "public-key = " + pair.publicKey + "\n";
  if (Status s = writeFile(prefix + ".key",
                           "# Agora CURVE key pair: keep it secret\n" + pub +
                               "secret-key = " + pair.secretKey + "\n",
                           0600);
      !s) {
    return s;
  }
  return writeFile(prefix + ".pub", pub, 0644);
}

Result<CurveKeyPair> readCurveKeyPair(const std::string& path) {
  auto fields = readKeyFile(path);
  if (!fields) return makeError(fields.error());
  CurveKeyPair pair{(*fields)["public-key"], (*fields)["secret-key"]};
  if (!validCurveKey(pair.publicKey) || !validCurveKey(pair.secretKey)) {
    return makeError(invalid(path + ": needs a public-key and a secret-key of 40 Z85 characters "
                                    "(agora keygen writes them)")
                         .error());
  }
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    return makeError(invalid(path + ": a secret key must be readable by its owner only "
                                    "(chmod 600)")
                         .error());
  }
  return pair;
}

Result<std::string> readCurvePublicKey(const std::string& path) {
  auto fields = readKeyFile(path);
  if (!fields) return makeError(fields.error());
  std::string key = (*fields)["public-key"];
  if (!validCurveKey(key)) {
    return makeError(invalid(path + ": needs a public-key of 40 Z85 characters").error());
  }
  return key;
}

Result<std::map<std::string, std::string>> readCurveAllowList(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return makeError(ErrorCode::kNotFound, "cannot list " + dir + ": " + ec.message());
  std::map<std::string, std::string> keys;
  for (const auto& entry : it) {
    if (entry.path().extension() != ".pub") continue;
    auto key = readCurvePublicKey(entry.path().string());
    if (!key) return makeError(key.error());
    keys[*key] = entry.path().stem().string();
  }
  return keys;
}

struct CurveAuthenticator::State {
  mutable std::mutex mutex;
  std::map<std::string, std::map<std::string, std::string>> domains;
  std::map<std::string, uint64_t> refused;
};

CurveAuthenticator& CurveAuthenticator::instance() {
  static CurveAuthenticator* authenticator = new CurveAuthenticator();  // lives with the context
  return *authenticator;
}

void CurveAuthenticator::start() {
  state_ = std::make_shared<State>();
  auto socket = std::make_shared<zmq::socket_t>(zmqContext(), zmq::socket_type::rep);
  socket->set(zmq::sockopt::linger, 0);
  socket->bind("inproc://zeromq.zap.01");
  std::thread([state = state_, socket] {
    while (true) {
      std::vector<zmq::message_t> request;
      try {
        if (!zmq::recv_multipart(*socket, std::back_inserter(request))) continue;
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
        continue;
      }
      // version, request id, domain, address, identity, mechanism, credentials
      if (request.size() < 6) continue;
      std::string domain = request[2].to_string(), address = request[3].to_string();
      std::string mechanism = request[5].to_string();
      std::string key = request.size() >= 7 && request[6].size() == 32
                            ? z85(static_cast<const unsigned char*>(request[6].data()), 32)
                            : "";
      std::string user;
      bool allowed = false;
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        auto it = state->domains.find(domain);
        if (mechanism == "CURVE" && it != state->domains.end()) {
          auto found = it->second.find(key);
          allowed = found != it->second.end();
          if (allowed) user = found->second;
        }
        if (!allowed) state->refused[domain]++;
      }
      if (!allowed) {
        LOG_EVERY_N(WARNING, 100) << "refused a " << mechanism << " handshake from " << address
                                  << " on " << domain << ": key " << (key.empty() ? "none" : key)
                                  << " is not allowed [" << google::COUNTER << " so far]";
      }
      // version, request id, status code, status text, user id, metadata
      std::string_view code = allowed ? "200" : "400";
      std::string_view text = allowed ? "" : "unknown key";
      std::array<zmq::const_buffer, 6> reply = {
          zmq::buffer(request[0].to_string_view()), zmq::buffer(request[1].to_string_view()),
          zmq::buffer(code), zmq::buffer(text), zmq::buffer(user), zmq::str_buffer("")};
      try {
        zmq::send_multipart(*socket, reply);
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
      }
    }
  }).detach();
}

void CurveAuthenticator::allow(const std::string& domain,
                               std::map<std::string, std::string> keys) {
  static std::once_flag started;
  std::call_once(started, [this] { start(); });
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->domains[domain] = std::move(keys);
}

void CurveAuthenticator::forget(const std::string& domain) {
  if (state_ == nullptr) return;
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->domains.erase(domain);
}

uint64_t CurveAuthenticator::refused(const std::string& domain) const {
  if (state_ == nullptr) return 0;
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto it = state_->refused.find(domain);
  return it == state_->refused.end() ? 0 : it->second;
}

}  // namespace agora
