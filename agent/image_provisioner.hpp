#pragma once
// The agent's access to its ImageStore (agent/images/image_store.hpp). The
// store blocks on the network and the disk, so it lives on a worker thread of
// its own: the loop posts jobs there (FIFO, one at a time) and gets results
// posted back. A launch pulls and acquires in one job so a gc cannot slip in
// between; the images of recovered containers are acquired (in memory)
// before any gc runs because recovery comes first in the queue.
// Launches of a reference whose pull is queued but not started yet join that
// pull (each still acquires the image): a burst of launches of one image
// costs one pull, not one each, and every launch is served by a pull that
// started after it asked. With PullPolicy::kIfNotPresent a launch whose
// reference a pull already resolved takes that image on the loop thread: no
// pull, no round trip through the worker (its hold is queued there, ahead of
// any later gc; a gc forgets every resolved reference when it is queued).
//
// Thread: every method on the agent's loop thread; callbacks run there too,
// and never after the provisioner is destroyed.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/images/image_store.hpp"
#include "agent/images/pull_policy.hpp"
#include "common/event_loop.hpp"
#include "common/lifetime.hpp"
#include "common/result.hpp"

namespace agora::agent {

class ImageProvisioner {
 public:
  using Provisioned = std::function<void(Result<images::Image>)>;

  // Opens (creates) the store in `storeDir`; gcInterval > 0 removes images no
  // container holds that often.
  static Result<std::unique_ptr<ImageProvisioner>> create(EventLoop& loop,
                                                          const std::string& storeDir,
                                                          Duration gcInterval = Duration::zero());
  // Waits for the job in progress; queued jobs and their callbacks are dropped.
  ~ImageProvisioner();
  ImageProvisioner(const ImageProvisioner&) = delete;
  ImageProvisioner& operator=(const ImageProvisioner&) = delete;

  // Pulls `reference` (if the store lacks it; with kIfNotPresent only if no
  // pull resolved it since the last gc) and holds it for one container.
  // `done` runs later on the loop thread, never within this call.
  void provision(const std::string& reference, images::PullPolicy policy, Provisioned done);
  // Holds an image the store already has (a recovered container, a reused
  // resolution).
  void acquire(const std::string& imageId);
  void release(const std::string& imageId);
  void gc(std::function<void(images::GcResult)> done = nullptr);

  // Test view; blocks the caller until the worker is idle.
  int imageUsers(const std::string& imageId);
  // Pulls started so far (any thread).
  uint64_t pulls() const { return pulls_; }
  // Launches served from a reference resolved before (loop thread).
  uint64_t reused() const { return reused_; }

 private:
  ImageProvisioner(EventLoop& loop, std::unique_ptr<images::ImageStore> store);
  void enqueue(std::function<void()> job);
  // Runs `result` on the loop thread if this provisioner still exists.
  void postBack(std::function<void()> result);
  void workerMain();

  EventLoop& loop_;
  std::unique_ptr<images::ImageStore> store_;  // worker thread only
  std::optional<EventLoop::TimerId> gcTimer_;
  // Shared with callbacks posted to the loop: false once destroyed.
  LifetimeGuard lifetime_;

  std::mutex mutex_;  // guards queue_ and stopping_ (worker <-> loop)
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  // Launches waiting for a queued pull, by reference.
  std::map<std::string, std::vector<Provisioned>> waiting_;
  bool stopping_ = false;
  std::atomic<uint64_t> pulls_{0};
  // Loop thread: what pulls resolved each reference to since the last gc.
  std::map<std::string, images::Image> resolved_;
  uint64_t reused_ = 0;
  std::thread worker_;
};

}  // namespace agora::agent
