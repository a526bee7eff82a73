#include "common/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace agora {

namespace {

constexpr char kMagic[4] = {'A', 'G', 'C', 'K'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 16;
constexpr uint32_t kMaxPayload = 256u << 20;

std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t getU32(const std::string& in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status syncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return makeError(errnoError("open directory " + dir, errno));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return makeError(errnoError("fsync directory " + dir, err));
  return {};
}

Status writeAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(errnoError("write " + path, errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

Error corrupt(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kIo, "checkpoint " + path + " is corrupt: " + what};
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = makeTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

Status writeCheckpointFile(const std::string& path, std::string_view payload,
                           Durability durability) {
  const bool sync = durability == Durability::kHostCrash;
  if (payload.size() > kMaxPayload) {
    return makeError(ErrorCode::kInvalidArgument, "checkpoint " + path + " would be too large");
  }
  std::string bytes(kMagic, sizeof(kMagic));
  putU32(bytes, kVersion);
  putU32(bytes, static_cast<uint32_t>(payload.size()));
  putU32(bytes, crc32c(payload));
  bytes.append(payload);
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return makeError(errnoError("open " + tmp, errno));
  Status written = writeAll(fd, bytes, tmp);
  if (written && sync && fsync(fd) != 0) written = makeError(errnoError("fsync " + tmp, errno));
  if (close(fd) != 0 && written) written = makeError(errnoError("close " + tmp, errno));
  if (!written) {
    unlink(tmp.c_str());
    return written;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return makeError(errnoError("rename " + tmp + " to " + path, err));
  }
  return sync ? syncDir(dirOf(path)) : Status{};
}

Result<std::string> readWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    Error e = errnoError("open " + path, err);
    if (err == ENOENT) e.code = ErrorCode::kNotFound;
    return makeError(e);
  }
  // Read straight into the string, sized from fstat (a big stack buffer
  // would cost a short-lived process its page faults), growing if the file
  // does meanwhile.
  struct stat st {};
  size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  // (/proc files say 0.)
  std::string bytes(std::max<size_t>(size + 1, 4096), '\0');
  size_t got = 0;
  for (;;) {
    if (got == bytes.size()) bytes.resize(bytes.size() * 2);
    ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return makeError(errnoError("read " + path, err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(got);
  return bytes;
}

Result<std::string> readCheckpointFile(const std::string& path) {
  auto read = readWholeFile(path);
  if (!read) return makeError(read.error());
  const std::string& bytes = *read;
  if (bytes.size() < kHeaderSize) {
    return makeError(corrupt(path, "truncated header (" + std::to_string(bytes.size()) + " of " +
                                       std::to_string(kHeaderSize) + " bytes)"));
  }
  if (bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    return makeError(corrupt(path, "bad magic (not an Agora checkpoint file)"));
  }
  if (uint32_t version = getU32(bytes, 4); version != kVersion) {
    return makeError(corrupt(path, "unsupported format version " + std::to_string(version)));
  }
  uint32_t length = getU32(bytes, 8);
  size_t actual = bytes.size() - kHeaderSize;
  if (actual != length) {
    return makeError(corrupt(path, (actual < length ? "truncated" : "trailing bytes") +
                                       std::string(": header says ") + std::to_string(length) +
                                       " payload bytes, file has " + std::to_string(actual)));
  }
  std::string payload = bytes.substr(kHeaderSize);
  if (crc32c(payload) != getU32(bytes, 12)) {
    return makeError(corrupt(path, "checksum mismatch (CRC32C)"));
  }
  return payload;
}

Status removeCheckpointFile(const std::string& path, Durability durability) {
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return makeError(errnoError("unlink " + path, errno));
  }
  return durability == Durability::kHostCrash ? syncDir(dirOf(path)) : Status{};
}

Status makeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return makeError(ErrorCode::kInvalidArgument, "empty path");
  // The directory itself first: on a launch's path its parents exist, and
  // one mkdir beats one per component.
  bool created = mkdir(path.c_str(), mode) == 0;
  if (!created && errno == ENOENT) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0)
      return makeError(errnoError("mkdir " + path, ENOENT));
    if (Status parent = makeDirs(path.substr(0, slash), mode); !parent) return parent;
    created = mkdir(path.c_str(), mode) == 0;
  }
  if (created) return {};
  if (errno != EEXIST) return makeError(errnoError("mkdir " + path, errno));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return makeError(errnoError("stat " + path, errno));
  if (!S_ISDIR(st.st_mode))
    return makeError(ErrorCode::kAlreadyExists, path + " is not a directory");
  return {};
}

Status writePrivateFile(const std::string& path, std::string_view text) {
  std::string temp = path + ".tmp";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return makeError(errnoError("create " + temp, errno));
  bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  close(fd);
  if (!written || rename(temp.c_str(), path.c_str()) != 0) {
    unlink(temp.c_str());
    return makeError(ErrorCode::kIo, "cannot write " + path);
  }
  return {};
}

}  // namespace agora
