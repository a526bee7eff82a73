#pragma once
// Small files that must survive a crash at any instant: written atomically
// (temporary file, rename) and read back only if intact. How far a write is
// flushed is the caller's choice (Durability):
//   - kHostCrash: fsync of the file and of its directory, so the file
//     survives a power loss or kernel crash;
//   - kProcessCrash: no fsync. The page cache keeps the file across the
//     writer's crash (kill -9 included) but not across a host crash. For state
//     that cannot outlive the boot anyway (an agent's containers and their
//     updates): after a host crash the boot ID changes and such files are
//     discarded unread, so a torn one never matters and a launch does not wait
//     on the disk. Layout (all integers little-endian):
//   bytes 0-3    magic "AGCK"
//   bytes 4-7    format version (1)
//   bytes 8-11   payload length
//   bytes 12-15  CRC32C of the payload
//   bytes 16-    payload (typically a packed Cap'n Proto message, schemas/checkpoint.capnp)
// A reader sees either the old or the new content, never a mix; a torn or
// corrupted file is reported with its path and what is wrong.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace agora {

// CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB.
uint32_t crc32c(std::string_view data);

// Creates directory `path` and its missing parents with `mode`; fine if it
// exists as a directory.
Status makeDirs(const std::string& path, unsigned mode = 0755);

// The whole content of `path`; ErrorCode::kNotFound when it does not exist.
Result<std::string> readWholeFile(const std::string& path);

// Replaces `path` atomically with `text` as is, mode 0600 (secrets, keys),
// synced before it replaces the old file.
Status writePrivateFile(const std::string& path, std::string_view text);

enum class Durability { kHostCrash, kProcessCrash };

// Replaces `path` atomically with a checksummed `payload` (mode 0600).
Status writeCheckpointFile(const std::string& path, std::string_view payload,
                           Durability durability = Durability::kHostCrash);

// The payload of `path`. ErrorCode::kNotFound when the file does not exist;
// ErrorCode::kIo (message names the path) when it is truncated or corrupt.
Result<std::string> readCheckpointFile(const std::string& path);

// Removes `path` if present; with kHostCrash also fsyncs its directory.
Status removeCheckpointFile(const std::string& path,
                           Durability durability = Durability::kHostCrash);

}  // namespace agora
