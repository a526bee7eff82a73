#include "tests/support/zookeeper_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/subprocess.hpp"

namespace agora::testing {

namespace {

constexpr const char* kJar = "/usr/share/java/zookeeper.jar";
constexpr const char* kLogConfig = "/etc/zookeeper/conf";

// One four-letter-word command; the answer, or "" when nothing answers.
std::string fourLetterWord(const std::string& host, uint16_t port, const std::string& word) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  std::string answer;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return "";
  }
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, word.data(), word.size()) == static_cast<ssize_t>(word.size())) {
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

}  // namespace

bool ZooKeeperServer::available(std::string* why) {
  if (access(kJar, R_OK) != 0) {
    *why = std::string(kJar) + " is missing (apt-get install zookeeper; scripts/setup)";
    return false;
  }
  if (access("/usr/bin/java", X_OK) != 0) {
    *why = "no Java runtime (apt-get install default-jre-headless)";
    return false;
  }
  return true;
}

ZooKeeperServer::ZooKeeperServer(const std::string& dir, std::string host)
    : dir_(dir), host_(std::move(host)) {
  std::filesystem::create_directories(dir_ + "/data");
  port_ = freePort();
  std::ofstream(dir_ + "/zoo.cfg") << "tickTime=100\n"
                                   << "minSessionTimeout=200\n"
                                   << "maxSessionTimeout=60000\n"
                                   << "dataDir=" << dir_ << "/data\n"
                                   << "clientPort=" << port_ << "\n"
                                   << "clientPortAddress=" << host_ << "\n"
                                   << "admin.enableServer=false\n"
                                   << "4lw.commands.whitelist=ruok,srvr,mntr\n";
  start();
}

ZooKeeperServer::~ZooKeeperServer() { kill(); }

void ZooKeeperServer::start() {
  SpawnOptions options;
  options.argv = {"java",
                  "-Xmx128m",
                  "-cp",
                  std::string(kLogConfig) + ":" + kJar,
                  "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                  dir_ + "/zoo.cfg"};
  options.stdoutPath = dir_ + "/zookeeper.out";
  options.stderrPath = dir_ + "/zookeeper.out";
  options.dieWithParent = true;
  auto pid = spawn(options);
  if (!pid) throw std::runtime_error("cannot start ZooKeeper: " + pid.error().message);
  process_ = std::make_unique<Child>("zookeeper", *pid);
  if (!eventually([&] { return ruok() || !process_->running(); }, std::chrono::seconds(30)) ||
      !ruok()) {
    throw std::runtime_error("ZooKeeper did not come up; see " + dir_ + "/zookeeper.out");
  }
}

bool ZooKeeperServer::ruok() const { return fourLetterWord(host_, port_, "ruok") == "imok"; }

void ZooKeeperServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait(std::chrono::seconds(10));
  process_.reset();
}

void ZooKeeperServer::restart() {
  kill();
  start();
}

}  // namespace agora::testing
