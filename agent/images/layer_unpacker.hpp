#pragma once
// Safe extraction of image layer tars with libarchive.
//
// Contract: nothing is ever written outside `dest`. Entries whose names are
// absolute or contain '..', hard links whose targets are absolute or contain
// '..', entries that would be written through a symlink (one from this archive:
// a layer is unpacked alone into its own directory), and character or block
// devices other than whiteouts are rejected with an error naming the entry.
// Symlink entries themselves are kept whatever they point to: they are resolved
// inside the container's rootfs, not on the host.
//
// With `convertWhiteouts`, OCI whiteouts become overlayfs ones: `DIR/.wh.NAME`
// becomes a 0/0 character device DIR/NAME, and `DIR/.wh..wh..opq` sets the
// trusted.overlay.opaque=y xattr on DIR (both need CAP_SYS_ADMIN / CAP_MKNOD).
// Archive xattrs in the trusted.* namespace are dropped so a layer cannot
// forge overlayfs metadata.

#include <string>

#include "common/result.hpp"

namespace agora::agent::images {

struct UnpackOptions {
  bool convertWhiteouts = true;
  bool restoreOwners = true;  // numeric uid/gid from the archive (needs root)
};

// Unpacks the tar at `archivePath` (plain, gzip, zstd, xz or bzip2, detected
// from the content) into `dest`, an existing directory whose path contains no
// symlinks. Returns the sha256 digest of every byte of the file, read in the
// same pass, so the caller can verify it and discard `dest` on mismatch.
// Errors (kProtocol for bad content, kIo for the filesystem) name the entry;
// on error `dest` may be partially filled and must be discarded by the caller.
Result<std::string> unpackLayer(const std::string& archivePath, const std::string& dest,
                                const UnpackOptions& options);

// The sha256 digest of the archive's decompressed content (an image config's
// diff_id for a layer). kProtocol when it cannot be decompressed.
Result<std::string> uncompressedDigest(const std::string& archivePath);

// Lexically normalizes a relative entry name ("./a//b/" -> "a/b"; "." -> "").
// kProtocol when it is absolute or has a '..' component.
Result<std::string> normalizeEntryName(const std::string& name);

// `root`/`relative` after resolving symlinks, required to stay inside `root`
// (itself canonical). For reading members of an unpacked archive.
Result<std::string> resolveInside(const std::string& root, const std::string& relative);

}  // namespace agora::agent::images
