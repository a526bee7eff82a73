#include "tests/chaos/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace agora::chaos {

const std::string& JournalEvent::field(size_t i) const {
  static const std::string kEmpty;
  return i < fields.size() ? fields[i] : kEmpty;
}

int64_t monotonicMs() {
  // steady_clock is CLOCK_MONOTONIC on Linux: the same clock in every process.
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<Journal> Journal::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return makeError(ErrorCode::kIo, "open " + path + ": " + std::strerror(errno));
  }
  return Journal(fd);
}

Journal::Journal(Journal&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

Journal::~Journal() {
  if (fd_ >= 0) close(fd_);
}

Status Journal::append(const std::string& kind, const std::vector<std::string>& fields) {
  std::string line = std::to_string(monotonicMs()) + '\t' + kind;
  for (std::string field : fields) {
    for (char& c : field) {
      if (c == '\t' || c == '\n') c = ' ';
    }
    line += '\t';
    line += field.empty() ? "-" : field;
  }
  line += '\n';
  ssize_t n = write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    return makeError(ErrorCode::kIo, std::string("journal write: ") + std::strerror(errno));
  }
  if (fsync(fd_) != 0) {
    return makeError(ErrorCode::kIo, std::string("journal fsync: ") + std::strerror(errno));
  }
  return {};
}

std::vector<JournalEvent> readJournal(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  std::vector<JournalEvent> events;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos;
       start = end + 1, end = text.find('\n', start)) {
    std::string line = text.substr(start, end - start);
    JournalEvent event;
    size_t pos = 0;
    size_t first = line.find('\t');
    if (first != std::string::npos && first > 0 &&
        line.find_first_not_of("0123456789") == first) {
      event.atMs = std::stoll(line.substr(0, first));
      pos = first + 1;
    }
    for (size_t tab = line.find('\t', pos); ; tab = line.find('\t', pos)) {
      std::string part = line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos);
      if (event.kind.empty()) {
        event.kind = part;
      } else {
        event.fields.push_back(part == "-" ? "" : part);
      }
      if (tab == std::string::npos) break;
      pos = tab + 1;
    }
    if (!event.kind.empty()) events.push_back(std::move(event));
  }
  return events;  // text after the last newline is a torn write: ignored
}

std::string hexUuid(const std::string& raw) {
  if (raw.empty()) return "";
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

}  // namespace agora::chaos
