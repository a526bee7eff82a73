#include "agent/executor/secret_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "common/fd.hpp"

namespace agora::agent {

namespace {

// DIR/NAME as a directory of ours (made 0700 when missing), never a link.
int openOwnDir(int dir, const std::string& name, uid_t uid, gid_t gid) {
  if (mkdirat(dir, name.c_str(), 0700) != 0 && errno != EEXIST) return -1;
  int fd = openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0500) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

Status writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(errnoError("write", errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

Status writeOne(int secretsDir, const TaskSecret& secret, uid_t uid, gid_t gid) {
  const std::string what = "secret '" + secret.name + "'";
  // Parent directories first, each opened beneath the one before.
  std::vector<std::string> parts;
  for (size_t start = 0; start <= secret.file.size();) {
    size_t end = std::min(secret.file.find('/', start), secret.file.size());
    parts.push_back(secret.file.substr(start, end - start));
    start = end + 1;
  }
  int dir = secretsDir;
  std::vector<Fd> opened;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd fd{openOwnDir(dir, parts[i], uid, gid)};
    if (fd.fd < 0) return makeError(errnoError(what + ": directory " + parts[i], errno));
    dir = fd.fd;
    opened.push_back(std::move(fd));
  }
  Fd file{openat(dir, parts.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                 0400)};
  if (file.fd < 0) return makeError(errnoError(what + ": create " + secret.file, errno));
  if (Status s = writeAll(file.fd, secret.value); !s) {
    return makeError(s.error().withContext(what));
  }
  if (fchown(file.fd, uid, gid) != 0 || fchmod(file.fd, 0400) != 0) {
    return makeError(errnoError(what + ": give " + secret.file + " to the task's user", errno));
  }
  return {};
}

}  // namespace

bool hasFileSecrets(const std::vector<TaskSecret>& secrets) {
  return std::any_of(secrets.begin(), secrets.end(),
                     [](const TaskSecret& s) { return !s.file.empty(); });
}

Status writeSecretFiles(const std::string& sandbox, const std::vector<TaskSecret>& secrets,
                        uid_t uid, gid_t gid) {
  if (!hasFileSecrets(secrets)) return {};
  Fd root{open(sandbox.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (root.fd < 0) return makeError(errnoError("open " + sandbox, errno));
  // Made by us as root first (0700): the task's user gets it once it is full.
  if (mkdirat(root.fd, kSandboxSecretsDir, 0700) != 0 && errno != EEXIST) {
    return makeError(errnoError("mkdir " + sandbox + "/" + kSandboxSecretsDir, errno));
  }
  Fd dir{openat(root.fd, kSandboxSecretsDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (dir.fd < 0) {
    return makeError(errnoError("open " + sandbox + "/" + kSandboxSecretsDir, errno));
  }
  for (const TaskSecret& secret : secrets) {
    if (secret.file.empty()) continue;
    if (Status s = writeOne(dir.fd, secret, uid, gid); !s) return s;
  }
  if (fchown(dir.fd, uid, gid) != 0 || fchmod(dir.fd, 0500) != 0) {
    return makeError(errnoError("give the secrets directory to the task's user", errno));
  }
  return {};
}

}  // namespace agora::agent
