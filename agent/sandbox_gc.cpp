#include "agent/sandbox_gc.hpp"

#include <glog/logging.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace agora::agent {

namespace fs = std::filesystem;

namespace {

Duration defaultInterval(Duration delay) {
  return std::clamp<Duration>(delay / 4, std::chrono::milliseconds(100), std::chrono::seconds(60));
}

// The subdirectories of `dir` (no symlinks followed), empty when unreadable.
std::vector<fs::path> subdirectories(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code typeError;
    if (it->is_directory(typeError) && !it->is_symlink(typeError)) out.push_back(it->path());
  }
  return out;
}

}  // namespace

Result<double> filesystemUsedFraction(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    return makeError(ErrorCode::kIo, "statvfs " + path + ": " + std::strerror(errno));
  }
  // As df's Use%: blocks in use against those plus what is still available
  // (blocks reserved for root, or a thinly provisioned device's slack, are
  // neither).
  double used = static_cast<double>(st.f_blocks - st.f_bfree);
  double usable = used + static_cast<double>(st.f_bavail);
  if (usable <= 0) return 0.0;
  return std::clamp(used / usable, 0.0, 1.0);
}

SandboxGc::SandboxGc(EventLoop& loop, Options options, DiskUsage usage)
    : loop_(loop),
      options_(std::move(options)),
      usage_(std::move(usage)),
      remover_(options_.trash) {
  if (!usage_) usage_ = [root = options_.sandboxesRoot] { return filesystemUsedFraction(root); };
  Duration interval = options_.interval > Duration::zero() ? options_.interval
                                                           : defaultInterval(options_.delay);
  timer_ = loop_.addPeriodic(interval, [this] { collect(); });
}

SandboxGc::~SandboxGc() { loop_.cancelTimer(timer_); }

void SandboxGc::schedule(const std::string& sandbox, double endedWallSec) {
  if (sandbox.empty()) return;
  if (auto it = due_.find(sandbox); it != due_.end()) byTime_.erase(it->second);
  due_[sandbox] = byTime_.emplace(endedWallSec, sandbox);
  collect();
}

void SandboxGc::scheduleLeftovers(const std::set<std::string>& owned) {
  size_t found = 0;
  for (const auto& framework : subdirectories(options_.sandboxesRoot)) {
    for (const auto& task : subdirectories(framework)) {
      for (const auto& container : subdirectories(task)) {
        std::string path = container.string();
        if (owned.count(path) || due_.count(path)) continue;
        struct stat st {};
        if (lstat(path.c_str(), &st) != 0) continue;
        due_[path] = byTime_.emplace(static_cast<double>(st.st_mtim.tv_sec), path);
        ++found;
      }
    }
  }
  if (found > 0) {
    LOG(INFO) << "scheduled " << found << " sandboxes of earlier tasks for removal";
  }
}

Duration SandboxGc::effectiveDelay(double usedFraction) const {
  double usable = 1.0 - options_.diskHeadroom;
  double factor = usable > 0 ? std::clamp(1.0 - usedFraction / usable, 0.0, 1.0) : 0.0;
  return std::chrono::duration_cast<Duration>(options_.delay * factor);
}

size_t SandboxGc::collect() {
  if (due_.empty()) return 0;
  auto used = usage_();
  if (!used) VLOG(1) << "sandbox removal without the disk's use: " << used.error().message;
  Duration delay = effectiveDelay(used ? *used : 0.0);
  double now = loop_.clock().wallSeconds();
  double limit = toSeconds(delay);
  size_t removed = 0;
  while (!byTime_.empty() && now - byTime_.begin()->first >= limit) {
    std::string sandbox = std::move(byTime_.begin()->second);
    byTime_.erase(byTime_.begin());
    due_.erase(sandbox);
    VLOG(1) << "removing sandbox " << sandbox;
    remover_.discard(sandbox);
    removeEmptyParents(sandbox);
    ++removed;
  }
  if (removed > 0 && delay < options_.delay) {
    LOG(INFO) << "removed " << removed << " sandboxes early: the disk is "
              << static_cast<int>(*used * 100) << "% used, so sandboxes are kept "
              << toSeconds(delay) << " s instead of " << toSeconds(options_.delay) << " s";
  }
  return removed;
}

void SandboxGc::removeEmptyParents(const std::string& sandbox) const {
  // ROOT/FRAMEWORK/TASK/CONTAINER: the task's directory, then the
  // framework's, when nothing else is left in them (rmdir refuses otherwise).
  fs::path dir = fs::path(sandbox).parent_path();
  for (int level = 0; level < 2 && dir.string().size() > options_.sandboxesRoot.size(); ++level) {
    if (rmdir(dir.c_str()) != 0) return;
    dir = dir.parent_path();
  }
}

}  // namespace agora::agent
