#include "agent/sandbox_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>

namespace agora::agent {

namespace {

bool hasDotDot(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

bool isUnder(const std::string& path, const std::string& root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

std::string realPathOr(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : path;
}

}  // namespace

SandboxFiles::SandboxFiles(std::string sandboxesRoot) : root_(std::move(sandboxesRoot)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<int64_t> parseInt64(const std::string* text, int64_t fallback) {
  if (text == nullptr) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'" + text->substr(0, 32) + "' is not an integer");
  }
  return value;
}

Result<std::string> SandboxFiles::resolve(const std::string& path) const {
  if (path.empty() || path[0] != '/') {
    return makeError(ErrorCode::kInvalidArgument, "path must be absolute");
  }
  std::string realRoot = realPathOr(root_);
  if (hasDotDot(path) || !(isUnder(path, root_) || isUnder(path, realRoot))) {
    return makeError(ErrorCode::kPermissionDenied, "only files in task sandboxes can be read");
  }
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return makeError(ErrorCode::kNotFound, "no such file");
    return makeError(errnoError("resolve path", errno));
  }
  std::string real(buf);
  if (!isUnder(real, realRoot)) {
    return makeError(ErrorCode::kPermissionDenied, "the path leads outside the task sandboxes");
  }
  return real;
}

Result<FileChunk> SandboxFiles::read(const std::string& path, int64_t offset,
                                     int64_t length) const {
  if (offset < -1) return makeError(ErrorCode::kInvalidArgument, "offset must be >= -1");
  if (length < -1) return makeError(ErrorCode::kInvalidArgument, "length must be >= -1");
  if (length == -1 || length > kMaxLength) length = kMaxLength;
  auto real = resolve(path);
  if (!real) return makeError(real.error());
  // O_NOFOLLOW: the last component was resolved above; refuse a swap to a symlink since.
  int fd = open(real->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return makeError(ErrorCode::kNotFound, "no such file");
    return makeError(errnoError("open", errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return makeError(ErrorCode::kInvalidArgument, "not a regular file");
  }
  FileChunk chunk;
  if (offset == -1) {
    chunk.offset = st.st_size;
    close(fd);
    return chunk;
  }
  chunk.offset = offset;
  int64_t available = std::max<int64_t>(0, st.st_size - offset);
  chunk.data.resize(static_cast<size_t>(std::min(length, available)));
  size_t done = 0;
  while (done < chunk.data.size()) {
    ssize_t n = pread(fd, chunk.data.data() + done, chunk.data.size() - done,
                      static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // truncated meanwhile: serve what we have
    done += static_cast<size_t>(n);
  }
  chunk.data.resize(done);
  close(fd);
  return chunk;
}

}  // namespace agora::agent
