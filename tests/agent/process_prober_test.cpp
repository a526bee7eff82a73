// ProcessProber with real processes: http/tcp probes against servers on
// loopback, in our network namespace and in a namespace of a "task" this
// test creates; command probes in the task's mount, uts and network
// namespaces; timeouts that kill what a probe started. Needs root for the
// namespaces; skips otherwise.

#include "agent/executor/process_prober.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/agent/loopback_listener.hpp"

namespace agora::agent {
namespace {

using testing::listenOn;
using testing::portOf;

namespace fs = std::filesystem;

// Answers every connection with `response` (empty: never answers) until
// the socket is shut down.
void serve(int s, const std::string& response) {
  std::vector<int> held;
  for (;;) {
    int c = accept(s, nullptr, nullptr);
    if (c < 0) break;
    char buf[1024];
    ssize_t n = recv(c, buf, sizeof(buf), 0);
    (void)n;
    if (response.empty()) {
      held.push_back(c);
      continue;
    }
    ssize_t w = send(c, response.data(), response.size(), MSG_NOSIGNAL);
    (void)w;
    close(c);
  }
  for (int c : held) close(c);
}

class HttpServer {
 public:
  explicit HttpServer(std::string response) {
    fd_ = listenOn(0);
    port_ = portOf(fd_);
    thread_ = std::thread([this, response] { serve(fd_, response); });
  }
  ~HttpServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  int fd_ = -1;
  std::thread thread_;
};

bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

class ProcessProberTest : public ::testing::Test {
 protected:
  ProcessProberTest() : reaper_(loop_, millis(50)) {
    char tmpl[] = "/tmp/agora-prober-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~ProcessProberTest() override {
    if (task_ > 0) {
      kill(task_, SIGKILL);
      waitpid(task_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // One probe of `check` against the process `pid`, run to its end.
  ProbeResult probe(const CheckInfo& check, pid_t pid) {
    ProcessOptions command;
    command.env = currentEnvironment();
    command.cwd = dir_;
    command.newProcessGroup = true;
    ProcessProber prober(loop_, reaper_, {pid, command});
    std::optional<ProbeResult> result;
    prober.start(check, [&](ProbeResult r) {
      result = std::move(r);
      loop_.stop();
    });
    auto guard = loop_.addTimer(seconds(20), [&] { loop_.stop(); });
    loop_.run();
    loop_.cancelTimer(guard);
    EXPECT_TRUE(result.has_value()) << "no result in 20 s";
    EXPECT_EQ(prober.running(), 0u);
    return result.value_or(ProbeResult{false, "no result"});
  }

  static CheckInfo http(uint16_t port, std::string path = "/") {
    CheckInfo c;
    c.kind = CheckKind::HTTP;
    c.port = port;
    c.path = std::move(path);
    c.timeoutSec = 5;
    return c;
  }
  static CheckInfo tcp(uint16_t port) {
    CheckInfo c = http(port);
    c.kind = CheckKind::TCP;
    return c;
  }
  static CheckInfo command(std::string line) {
    CheckInfo c;
    c.kind = CheckKind::COMMAND;
    c.command.value = std::move(line);
    c.timeoutSec = 5;
    return c;
  }

  // Forks a "task" in its own mount, uts and network namespaces: hostname
  // probe-ns, a tmpfs at DIR/ns with a file `marker`, lo up and an HTTP
  // server on `port` answering 200. Returns once it serves.
  void startNamespacedTask(uint16_t port) {
    fs::create_directories(dir_ + "/ns");
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    task_ = fork();
    ASSERT_GE(task_, 0);
    if (task_ == 0) {
      close(ready[0]);
      if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET) != 0) _exit(10);
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(11);
      if (mount("tmpfs", (dir_ + "/ns").c_str(), "tmpfs", 0, "size=1m") != 0) _exit(12);
      std::ofstream(dir_ + "/ns/marker") << "x";
      if (sethostname("probe-ns", 8) != 0) _exit(13);
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      ifreq ifr{};
      std::strcpy(ifr.ifr_name, "lo");
      ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
      if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) _exit(14);
      int l = listenOn(port);
      if (l < 0) _exit(15);
      char ok = 1;
      if (write(ready[1], &ok, 1) != 1) _exit(16);
      serve(l, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    ASSERT_EQ(read(ready[0], &ok, 1), 1) << "the namespaced task did not start";
    close(ready[0]);
  }

  EventLoop loop_;
  ChildReaper reaper_;
  std::string dir_;
  pid_t task_ = 0;
};

TEST_F(ProcessProberTest, HttpPassesOn2xxAnd3xxAndFailsOtherwiseSayingWhy) {
  HttpServer ok("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  HttpServer moved("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
  HttpServer broken("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  HttpServer garbage("SSH-2.0-OpenSSH_9.2\r\n");
  auto r = probe(http(ok.port(), "/health"), getpid());
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.message, "HTTP 200 from GET /health");
  EXPECT_TRUE(probe(http(moved.port()), getpid()).passed);
  r = probe(http(broken.port(), "/ready"), getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "HTTP 503 from GET /ready on 127.0.0.1:" + std::to_string(broken.port()));
  r = probe(http(garbage.port()), getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("not an HTTP response"), std::string::npos) << r.message;
}

TEST_F(ProcessProberTest, TcpPassesWhenSomethingListensAndNamesTheRefusal) {
  HttpServer server("x");
  EXPECT_TRUE(probe(tcp(server.port()), getpid()).passed);
  int s = listenOn(0);
  uint16_t port = portOf(s);
  close(s);  // a port nothing listens on
  auto r = probe(tcp(port), getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_F(ProcessProberTest, AHungServerTimesOut) {
  HttpServer hung("");
  CheckInfo c = http(hung.port());
  c.timeoutSec = 0.3;
  auto r = probe(c, getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "timed out after 0.3 s");
}

TEST_F(ProcessProberTest, CommandPassesOnExitZeroWithTheCheckEnvironment) {
  CheckInfo c = command("test -f \"$WANTED\"");
  c.command.environment = {{"WANTED", dir_ + "/ok"}};
  auto r = probe(c, getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "command exited with status 1");
  std::ofstream(dir_ + "/ok") << "";
  r = probe(c, getpid());
  EXPECT_TRUE(r.passed) << r.message;
  CheckInfo missing;
  missing.kind = CheckKind::COMMAND;
  missing.command.shell = false;
  missing.command.value = "/nonexistent/check";
  r = probe(missing, getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "command: exec /nonexistent/check: No such file or directory");
}

TEST_F(ProcessProberTest, ACommandPastItsTimeoutIsKilledWithWhatItStarted) {
  CheckInfo c = command("sleep 30 & echo $! > " + dir_ + "/child; exec sleep 30");
  c.timeoutSec = 0.5;
  auto r = probe(c, getpid());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "timed out after 0.5 s");
  std::ifstream in(dir_ + "/child");
  pid_t child = 0;
  ASSERT_TRUE(in >> child) << "the command did not start its child";
  for (int i = 0; i < 100 && !processGone(child); ++i) usleep(20000);
  EXPECT_TRUE(processGone(child)) << "the command's background child " << child << " survived";
}

TEST_F(ProcessProberTest, ProbesRunInTheTasksNamespaces) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  int s = listenOn(0);  // a port free in our namespace: the task uses the same number
  uint16_t port = portOf(s);
  close(s);
  startNamespacedTask(port);
  auto r = probe(http(port), task_);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_TRUE(probe(tcp(port), task_).passed);
  EXPECT_FALSE(probe(tcp(port), getpid()).passed) << "nothing listens in our namespace";
  CheckInfo c = command("test -f " + dir_ +
                        "/ns/marker && test \"$(cat /proc/sys/kernel/hostname)\" = probe-ns");
  r = probe(c, task_);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_FALSE(probe(c, getpid()).passed) << "the marker is only in the task's mount namespace";
}

}  // namespace
}  // namespace agora::agent
