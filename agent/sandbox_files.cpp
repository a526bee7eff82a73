#include "agent/sandbox_files.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <prometheus/counter.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <vector>

#include "agent/executor/volume_mounts.hpp"
#include "common/fd.hpp"
#include "common/task_secret.hpp"

namespace agora::agent {

namespace {

// A sandbox is WORK_DIR/sandboxes/FRAMEWORK/TASK/CONTAINER.
constexpr size_t kSandboxDepth = 3;

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

int openBeneathNoLinks(int dir, const std::string& rel, bool tryOpenat2) {
  if (tryOpenat2) {
    open_how how = {};
    // Not O_NOFOLLOW: with O_PATH it would open a trailing symlink itself
    // rather than fail with ELOOP.
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return static_cast<int>(fd);
  }
  // Kernels before 5.6 (or a seccomp filter refusing openat2): one
  // component at a time, each with O_NOFOLLOW.
  return openBeneath(dir, rel.c_str(), false, true, static_cast<uid_t>(-1), 0);
}

namespace {

// The user's name, or its uid as text where it has none.
std::string userName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return pw.pw_name;
  }
  return std::to_string(uid);
}

// Whether the user owning the sandbox (`owner`) could read `file` itself.
bool taskUserMayRead(const struct stat& file, const struct stat& owner) {
  if (owner.st_uid == 0) return true;  // root's task reads anything
  if (file.st_uid == owner.st_uid) return (file.st_mode & S_IRUSR) != 0;
  std::vector<gid_t> groups = {owner.st_gid};
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(owner.st_uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    int count = 64;
    groups.resize(static_cast<size_t>(count) + 1);
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data() + 1, &count) < 0) {
      groups.resize(static_cast<size_t>(count) + 1);
      getgrouplist(pw.pw_name, pw.pw_gid, groups.data() + 1, &count);
    }
    groups.resize(static_cast<size_t>(std::max(count, 0)) + 1);
  }
  if (std::find(groups.begin(), groups.end(), file.st_gid) != groups.end()) {
    return (file.st_mode & S_IRGRP) != 0;
  }
  return (file.st_mode & S_IROTH) != 0;
}

}  // namespace

SandboxFiles::SandboxFiles(std::string sandboxesRoot, prometheus::Counter* refused)
    : root_(std::move(sandboxesRoot)), refused_(refused) {
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

Error SandboxFiles::refuse(const std::string& why) const {
  if (refused_ != nullptr) refused_->Increment();
  return Error{ErrorCode::kPermissionDenied, why};
}

Result<int> SandboxFiles::open(const std::string& path, const SandboxAuthorizer& authorize) const {
  if (path.empty() || path[0] != '/') {
    return makeError(ErrorCode::kInvalidArgument, "path must be absolute");
  }
  std::string realRoot = realPathOr(root_);
  const std::string& prefix = isUnder(path, root_) ? root_ : realRoot;
  if (hasDotDot(path) || !isUnder(path, prefix)) {
    return makeError(refuse("only files in task sandboxes can be read"));
  }
  // FRAMEWORK/TASK/CONTAINER, then the file in that sandbox ("a//b" and
  // "a/./b" are a/b: the sandbox is always the first three names).
  std::vector<std::string> names;
  for (size_t start = prefix.size() + 1; start <= path.size();) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string name = path.substr(start, end - start);
    if (!name.empty() && name != ".") names.push_back(std::move(name));
    start = end + 1;
  }
  if (names.size() <= kSandboxDepth) {
    return makeError(ErrorCode::kInvalidArgument, "not a file in a task sandbox");
  }
  if (names[kSandboxDepth] == kSandboxSecretsDir) {
    return makeError(refuse("a task's secrets are not served"));
  }
  std::string sandboxRel, fileRel;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string& to = i < kSandboxDepth ? sandboxRel : fileRel;
    to += (to.empty() ? "" : "/") + names[i];
  }
  Fd root{::open(prefix.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (root.fd < 0) return makeError(errnoError("open " + prefix, errno));
  Fd sandbox{openBeneathNoLinks(root.fd, sandboxRel)};
  Fd file{sandbox.fd < 0 ? -1 : openBeneathNoLinks(sandbox.fd, fileRel)};
  if (file.fd < 0) {
    if (errno == ENOENT) return makeError(ErrorCode::kNotFound, "no such file");
    if (errno == ELOOP || errno == EXDEV) {
      return makeError(refuse("the path has a symbolic link or leaves the task sandbox"));
    }
    return makeError(errnoError("open", errno));
  }
  struct stat owner, st;
  if (fstat(sandbox.fd, &owner) != 0 || fstat(file.fd, &st) != 0) {
    return makeError(errnoError("stat", errno));
  }
  if (!S_ISREG(st.st_mode)) return makeError(ErrorCode::kInvalidArgument, "not a regular file");
  if (authorize) {
    if (Status allowed = authorize(userName(owner.st_uid)); !allowed) {
      return makeError(allowed.error());
    }
  }
  if (!taskUserMayRead(st, owner)) {
    return makeError(refuse("the task's user may not read this file"));
  }
  // Reopened for reading through the descriptor: the same inode, whatever
  // the path names now.
  std::string self = "/proc/self/fd/" + std::to_string(file.fd);
  int fd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return makeError(errnoError("open", errno));
  return fd;
}

Result<FileChunk> SandboxFiles::read(const std::string& path, int64_t offset, int64_t length,
                                     const SandboxAuthorizer& authorize) const {
  if (offset < -1) return makeError(ErrorCode::kInvalidArgument, "offset must be >= -1");
  if (length < -1) return makeError(ErrorCode::kInvalidArgument, "length must be >= -1");
  if (length == -1 || length > kMaxLength) length = kMaxLength;
  auto opened = open(path, authorize);
  if (!opened) return makeError(opened.error());
  Fd fd{*opened};
  struct stat st;
  if (fstat(fd.fd, &st) != 0) return makeError(errnoError("stat", errno));
  FileChunk chunk;
  if (offset == -1) {
    chunk.offset = st.st_size;
    return chunk;
  }
  chunk.offset = offset;
  int64_t available = std::max<int64_t>(0, st.st_size - offset);
  chunk.data.resize(static_cast<size_t>(std::min(length, available)));
  size_t done = 0;
  while (done < chunk.data.size()) {
    ssize_t n = pread(fd.fd, chunk.data.data() + done, chunk.data.size() - done,
                      static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // truncated meanwhile: serve what we have
    done += static_cast<size_t>(n);
  }
  chunk.data.resize(done);
  return chunk;
}

}  // namespace agora::agent
