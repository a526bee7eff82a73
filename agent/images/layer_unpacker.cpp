#include "agent/images/layer_unpacker.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "agent/images/digest.hpp"

namespace agora::agent::images {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// libarchive pulls the file through this reader, which hashes what it hands out.
struct HashingReader {
  int fd = -1;
  Sha256 sha;
  std::vector<char> buffer = std::vector<char>(1 << 16);
};

la_ssize_t readCallback(archive* a, void* context, const void** out) {
  auto* reader = static_cast<HashingReader*>(context);
  ssize_t n;
  do {
    n = ::read(reader->fd, reader->buffer.data(), reader->buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    archive_set_error(a, errno, "read: %s", std::strerror(errno));
    return -1;
  }
  reader->sha.update(reader->buffer.data(), static_cast<size_t>(n));
  *out = reader->buffer.data();
  return n;
}

Error contentError(const std::string& what) { return Error{ErrorCode::kProtocol, what}; }

std::string archiveMessage(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

// Fails when an existing proper prefix of `rel` under `dest` is a symlink
// (writing the entry would follow it) or not a directory.
Status checkParents(const std::string& dest, const std::string& rel, const std::string& entry) {
  size_t pos = 0;
  while ((pos = rel.find('/', pos)) != std::string::npos) {
    std::string prefix = rel.substr(0, pos++);
    struct stat st;
    if (::lstat((dest + "/" + prefix).c_str(), &st) != 0) return {};
    if (S_ISLNK(st.st_mode)) {
      return makeError(contentError("entry '" + entry + "' would be written through symlink '" +
                                    prefix + "'"));
    }
    if (!S_ISDIR(st.st_mode)) {
      return makeError(contentError("entry '" + entry + "': '" + prefix + "' is not a directory"));
    }
  }
  return {};
}

// Creates the directories of `rel` (a directory path) that are missing.
Status makeParents(const std::string& dest, const std::string& rel, const std::string& entry) {
  if (rel.empty()) return {};
  if (auto ok = checkParents(dest, rel + "/", entry); !ok) return ok;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = rel.find('/', pos + 1);
    std::string path = dest + "/" + rel.substr(0, pos);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return makeError(errnoError("entry '" + entry + "': mkdir " + path, errno));
    }
  }
  return {};
}

std::pair<std::string, std::string> splitParent(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

Status writeWhiteout(const std::string& dest, const std::string& rel, const std::string& entry) {
  auto [parent, base] = splitParent(rel);
  if (auto ok = makeParents(dest, parent, entry); !ok) return ok;
  std::string dir = parent.empty() ? dest : dest + "/" + parent;
  if (base == kOpaqueMarker) {
    if (::setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return makeError(errnoError("opaque whiteout '" + entry + "': setxattr " + dir, errno));
    }
    return {};
  }
  std::string hidden = base.substr(kWhiteoutPrefix.size());
  if (hidden.empty() || hidden == "." || hidden == "..") {
    return makeError(contentError("bad whiteout entry '" + entry + "'"));
  }
  std::string path = dir + "/" + hidden;
  if (::mknod(path.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) {
    return makeError(errnoError("whiteout '" + entry + "': mknod " + path, errno));
  }
  return {};
}

void dropTrustedXattrs(archive_entry* entry) {
  std::vector<std::pair<std::string, std::string>> kept;
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(entry);
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (std::string_view(name).starts_with("trusted.")) continue;
    kept.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  archive_entry_xattr_clear(entry);
  for (const auto& [n, v] : kept) archive_entry_xattr_add_entry(entry, n.c_str(), v.data(), v.size());
}

Status copyData(archive* in, archive* out, const std::string& entry) {
  const void* block;
  size_t size;
  la_int64_t offset;
  while (true) {
    int r = archive_read_data_block(in, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) {
      return makeError(contentError("corrupt or truncated archive at entry '" + entry +
                                    "': " + archiveMessage(in)));
    }
    if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN) {
      return makeError(ErrorCode::kIo, "entry '" + entry + "': " + archiveMessage(out));
    }
  }
}

// Validates one entry and rewrites its names to absolute paths under `dest`.
// Returns false when the entry is to be skipped (handled or ignored).
Result<bool> prepareEntry(archive_entry* entry, const std::string& dest,
                          const UnpackOptions& options) {
  const char* rawName = archive_entry_pathname(entry);
  std::string name = rawName ? rawName : "";
  auto rel = normalizeEntryName(name);
  if (!rel) return makeError(rel.error());
  if (rel->empty()) return false;  // the layer root itself
  if (auto ok = checkParents(dest, *rel, name); !ok) return makeError(ok.error());
  auto [parent, base] = splitParent(*rel);
  if (options.convertWhiteouts && base.starts_with(kWhiteoutPrefix)) {
    if (auto ok = writeWhiteout(dest, *rel, name); !ok) return makeError(ok.error());
    return false;
  }
  mode_t type = archive_entry_filetype(entry);
  if (type == AE_IFCHR || type == AE_IFBLK) {
    return makeError(contentError("device node '" + name + "' (" +
                                  std::to_string(archive_entry_rdevmajor(entry)) + ":" +
                                  std::to_string(archive_entry_rdevminor(entry)) +
                                  ") is not allowed in a layer"));
  }
  if (type == AE_IFSOCK) return false;
  if (const char* rawLink = archive_entry_hardlink(entry)) {
    auto link = normalizeEntryName(rawLink);
    if (!link || link->empty()) {
      return makeError(contentError("hard link '" + name + "' -> '" + rawLink +
                                    "' points outside the layer"));
    }
    if (auto ok = checkParents(dest, *link, name); !ok) return makeError(ok.error());
    archive_entry_set_hardlink(entry, (dest + "/" + *link).c_str());
  }
  archive_entry_set_pathname(entry, (dest + "/" + *rel).c_str());
  dropTrustedXattrs(entry);
  return true;
}

Status extractAll(archive* in, archive* out, const std::string& dest,
                  const UnpackOptions& options) {
  archive_entry* entry;
  while (true) {
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) {
      return makeError(contentError("corrupt or truncated archive: " + archiveMessage(in)));
    }
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    auto keep = prepareEntry(entry, dest, options);
    if (!keep) return makeError(keep.error());
    if (!*keep) continue;
    if (archive_write_header(out, entry) < ARCHIVE_WARN) {
      return makeError(ErrorCode::kIo, "entry '" + name + "': " + archiveMessage(out));
    }
    if (archive_entry_size(entry) > 0) {
      if (auto ok = copyData(in, out, name); !ok) return ok;
    }
    if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
      return makeError(ErrorCode::kIo, "entry '" + name + "': " + archiveMessage(out));
    }
  }
}

}  // namespace

Result<std::string> normalizeEntryName(const std::string& name) {
  if (name.starts_with('/')) return makeError(contentError("entry '" + name + "' is an absolute path"));
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string_view part(name.data() + start, end - start);
    if (part == "..") {
      return makeError(contentError("entry '" + name + "' escapes the layer ('..' component)"));
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(part);
    }
    start = end + 1;
  }
  return out;
}

Result<std::string> resolveInside(const std::string& root, const std::string& relative) {
  auto rel = normalizeEntryName(relative);
  if (!rel) return makeError(rel.error());
  std::string path = root + "/" + *rel;
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return makeError(errnoError(path, errno));
  std::string out = resolved;
  if (out != root && !out.starts_with(root + "/")) {
    return makeError(ErrorCode::kProtocol, "'" + relative + "' resolves outside " + root);
  }
  return out;
}

Result<std::string> uncompressedDigest(const std::string& archivePath) {
  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  if (!in) return makeError(ErrorCode::kInternal, "libarchive: out of memory");
  archive_read_support_filter_all(in.get());
  archive_read_support_format_raw(in.get());
  archive_entry* entry;
  if (archive_read_open_filename(in.get(), archivePath.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(in.get(), &entry) < ARCHIVE_WARN) {
    return makeError(contentError("cannot decompress " + archivePath + ": " + archiveMessage(in.get())));
  }
  Sha256 sha;
  std::vector<char> buffer(1 << 16);
  while (true) {
    la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      return makeError(contentError("cannot decompress " + archivePath + ": " + archiveMessage(in.get())));
    }
    sha.update(buffer.data(), static_cast<size_t>(n));
  }
  return sha.finish();
}

Result<std::string> unpackLayer(const std::string& archivePath, const std::string& dest,
                                const UnpackOptions& options) {
  HashingReader reader;
  reader.fd = ::open(archivePath.c_str(), O_RDONLY | O_CLOEXEC);
  if (reader.fd < 0) return makeError(errnoError("open " + archivePath, errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{reader.fd};

  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  std::unique_ptr<archive, WriteFree> out(archive_write_disk_new());
  if (!in || !out) return makeError(ErrorCode::kInternal, "libarchive: out of memory");
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_empty(in.get());
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (options.restoreOwners) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out.get(), flags);
  if (archive_read_open(in.get(), &reader, nullptr, readCallback, nullptr) != ARCHIVE_OK) {
    return makeError(contentError("corrupt archive: " + archiveMessage(in.get())));
  }
  if (auto ok = extractAll(in.get(), out.get(), dest, options); !ok) return makeError(ok.error());
  if (archive_write_close(out.get()) < ARCHIVE_WARN) {
    return makeError(ErrorCode::kIo, "finishing " + dest + ": " + archiveMessage(out.get()));
  }
  // Hash what libarchive did not need (tar padding after the end marker).
  while (true) {
    ssize_t n = ::read(reader.fd, reader.buffer.data(), reader.buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(errnoError("read " + archivePath, errno));
    if (n == 0) break;
    reader.sha.update(reader.buffer.data(), static_cast<size_t>(n));
  }
  return reader.sha.finish();
}

}  // namespace agora::agent::images
