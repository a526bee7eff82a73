#pragma once
// Removes directory trees off the agent's loop. discard() renames a tree
// into a trash directory on the same filesystem (one cheap metadata
// operation) and a worker thread deletes it: a container that wrote
// gigabytes into its writable layer, or a filesystem where each deleted
// inode is slow (ext4 without a journal: about 0.2 ms each), does not stall
// the loop. Trees left in the trash by a crash are removed when the next
// remover starts. The destructor finishes every removal before it returns.
//
// Thread: discard() and pending() from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace agora::agent {

class DirRemover {
 public:
  // `trash`: created if missing; must be on the filesystem of what is
  // discarded (else discard() removes in place, on the caller's thread).
  explicit DirRemover(std::string trash);
  ~DirRemover();
  DirRemover(const DirRemover&) = delete;
  DirRemover& operator=(const DirRemover&) = delete;

  // Moves `path` out of the way and removes it in the background; a missing
  // path is nothing to do.
  void discard(const std::string& path);
  // Trees waiting for or under removal.
  size_t pending() const;

 private:
  void run();

  const std::string trash_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  size_t removing_ = 0;
  bool stopping_ = false;
  uint64_t next_ = 0;
  std::thread worker_;
};

}  // namespace agora::agent
