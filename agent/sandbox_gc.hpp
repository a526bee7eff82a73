#pragma once
// Removes the sandboxes of tasks the agent is done with, as Mesos's
// --gc_delay and --gc_disk_headroom do: a sandbox goes `delay` after its task
// was forgotten, and sooner as the work dir's filesystem fills, the delay
// shrinking to delay * max(0, 1 - used / (1 - headroom)) where `used` is the
// filesystem's used fraction: the whole delay on an empty disk, half of it
// at 45% used, and at once from 90% used with the default 0.1 headroom.
//
// The schedule survives restarts without a file of its own: a sandbox on
// disk that no live or recovered task owns (scheduleLeftovers) is aged from
// its directory's modification time, the last time its task wrote a file
// there. Removal is off the loop (DirRemover); emptied framework and task
// directories go with their last sandbox.
//
// Thread: the loop's.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "agent/dir_remover.hpp"
#include "common/event_loop.hpp"
#include "common/result.hpp"

namespace agora::agent {

class SandboxGc {
 public:
  struct Options {
    std::string sandboxesRoot;  // WORK_DIR/sandboxes
    std::string trash;          // on the same filesystem
    Duration delay = std::chrono::hours(24 * 7);
    double diskHeadroom = 0.1;
    // How often due sandboxes are looked for and the disk is measured; zero:
    // delay/4 within [100 ms, 60 s].
    Duration interval = Duration::zero();
  };
  // The used fraction (0..1) of the filesystem holding the sandboxes.
  using DiskUsage = std::function<Result<double>()>;

  // `usage` defaults to statvfs of the sandboxes root.
  SandboxGc(EventLoop& loop, Options options, DiskUsage usage = nullptr);
  ~SandboxGc();
  SandboxGc(const SandboxGc&) = delete;
  SandboxGc& operator=(const SandboxGc&) = delete;

  // Removes `sandbox` `delay` after `endedWallSec` (or sooner, see above);
  // what is due already, on a full disk say, goes now.
  void schedule(const std::string& sandbox, double endedWallSec);
  // Schedules every sandbox (ROOT/FRAMEWORK/TASK/CONTAINER) not in `owned`
  // and not scheduled yet, aged from its modification time.
  void scheduleLeftovers(const std::set<std::string>& owned);
  // Removes what is due now; returns how many sandboxes went.
  size_t collect();
  // The delay as the disk's current use shortens it.
  Duration effectiveDelay(double usedFraction) const;
  size_t scheduled() const { return due_.size(); }

 private:
  void removeEmptyParents(const std::string& sandbox) const;

  EventLoop& loop_;
  const Options options_;
  DiskUsage usage_;
  DirRemover remover_;
  // When each sandbox's task was forgotten (wall seconds), both ways: the
  // oldest first for collect(), by path to find one.
  std::multimap<double, std::string> byTime_;
  std::map<std::string, std::multimap<double, std::string>::iterator> due_;
  EventLoop::TimerId timer_ = 0;
};

// The used fraction of the filesystem holding `path`, as df's Use% shows it.
Result<double> filesystemUsedFraction(const std::string& path);

}  // namespace agora::agent
