#include "tests/support/port_holders.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace agora::testing {

namespace {

namespace fs = std::filesystem;

const char* tcpStateName(unsigned state) {
  static const char* const kNames[] = {"?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV",
                                       "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",  "CLOSE",
                                       "CLOSE_WAIT", "LAST_ACK",   "LISTEN",     "CLOSING"};
  return state < std::size(kNames) ? kNames[state] : "?";
}

// "0100007F:BD2D" (IPv4) or 32 hex digits (IPv6, shown as is) -> printable.
std::string printable(const std::string& hexAddress, unsigned port) {
  if (hexAddress.size() == 8) {
    unsigned long raw = std::strtoul(hexAddress.c_str(), nullptr, 16);
    std::ostringstream out;
    // The kernel prints the address as a host-order (little-endian) word.
    out << (raw & 0xff) << '.' << ((raw >> 8) & 0xff) << '.' << ((raw >> 16) & 0xff) << '.'
        << ((raw >> 24) & 0xff) << ':' << port;
    return out.str();
  }
  return "[" + hexAddress + "]:" + std::to_string(port);
}

void parseTable(const std::string& text, uint16_t port, std::vector<PortSocket>& out) {
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, stateHex, queues, timer, retransmits, uid, timeout;
    uint64_t inode = 0;
    fields >> slot >> local >> remote >> stateHex >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    size_t colon = local.find(':');
    if (!fields || colon == std::string::npos) continue;
    unsigned localPort = static_cast<unsigned>(std::strtoul(local.c_str() + colon + 1, nullptr, 16));
    if (localPort != port) continue;
    unsigned state = static_cast<unsigned>(std::strtoul(stateHex.c_str(), nullptr, 16));
    out.push_back(PortSocket{tcpStateName(state), printable(local.substr(0, colon), localPort),
                             inode, {}});
  }
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// /proc/thread-self/net/* shows the calling thread's namespace: a thread of
// our own enters the other one, so the rest of the process stays put.
std::vector<std::string> readTables(const std::string& netnsPath) {
  std::vector<std::string> tables;
  auto readBoth = [&] {
    for (const char* name : {"tcp", "tcp6"}) {
      tables.push_back(readAll(std::string("/proc/thread-self/net/") + name));
    }
  };
  if (netnsPath.empty()) {
    readBoth();
    return tables;
  }
  std::thread reader([&] {
    int fd = open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (setns(fd, CLONE_NEWNET) == 0) readBoth();
    close(fd);
  });
  reader.join();
  return tables;
}

std::string commandLine(pid_t pid) {
  std::string raw = readAll("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw.empty() ? "?" : raw;
}

}  // namespace

std::vector<PortSocket> portSockets(uint16_t port, const std::string& netnsPath) {
  std::vector<PortSocket> sockets;
  for (const std::string& table : readTables(netnsPath)) parseTable(table, port, sockets);
  std::map<std::string, PortSocket*> byLink;  // "socket:[INODE]" -> socket
  for (PortSocket& s : sockets) {
    if (s.inode != 0) byLink["socket:[" + std::to_string(s.inode) + "]"] = &s;
  }
  if (byLink.empty()) return sockets;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    std::string name = proc.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fdError;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fdError)) {
      std::error_code linkError;
      auto target = fs::read_symlink(fd.path(), linkError);
      if (linkError) continue;
      auto it = byLink.find(target.string());
      if (it == byLink.end()) continue;
      pid_t pid = static_cast<pid_t>(std::stol(name));
      auto& holders = it->second->holders;
      if (holders.empty() || holders.back() != pid) holders.push_back(pid);
    }
  }
  return sockets;
}

std::string describePortHolders(uint16_t port, const std::string& netnsPath) {
  auto sockets = portSockets(port, netnsPath);
  std::string text = "port " + std::to_string(port) + ":";
  if (sockets.empty()) return text + " no socket is bound to it";
  for (const PortSocket& s : sockets) {
    text += "\n  " + s.state + " " + s.local;
    if (s.inode == 0) continue;
    text += " inode " + std::to_string(s.inode);
    if (s.holders.empty()) text += " held by no process";
    for (pid_t pid : s.holders) {
      text += "\n    held by pid " + std::to_string(pid) + " (" + commandLine(pid) + ")";
    }
  }
  return text;
}

}  // namespace agora::testing
