#include "agent/image_provisioner.hpp"

#include <glog/logging.h>

#include <future>

namespace agora::agent {

Result<std::unique_ptr<ImageProvisioner>> ImageProvisioner::create(EventLoop& loop,
                                                                   const std::string& storeDir,
                                                                   Duration gcInterval) {
  auto store = images::ImageStore::create(storeDir);
  if (!store) return makeError(store.error());
  std::unique_ptr<ImageProvisioner> provisioner(new ImageProvisioner(loop, std::move(*store)));
  if (gcInterval > Duration::zero()) {
    provisioner->gcTimer_ = loop.addPeriodic(gcInterval, [p = provisioner.get()] { p->gc(); });
  }
  return provisioner;
}

ImageProvisioner::ImageProvisioner(EventLoop& loop, std::unique_ptr<images::ImageStore> store)
    : loop_(loop), store_(std::move(store)) {
  worker_ = std::thread([this] { workerMain(); });
}

ImageProvisioner::~ImageProvisioner() {
  lifetime_.invalidate();
  if (gcTimer_) loop_.cancelTimer(*gcTimer_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
    waiting_.clear();
  }
  wake_.notify_one();
  worker_.join();
}

void ImageProvisioner::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void ImageProvisioner::postBack(std::function<void()> result) {
  loop_.post(lifetime_.wrap([result = std::move(result)] { result(); }));
}

void ImageProvisioner::workerMain() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

void ImageProvisioner::provision(const std::string& reference, images::PullPolicy policy,
                                 Provisioned done) {
  if (policy == images::PullPolicy::kIfNotPresent) {
    if (auto it = resolved_.find(reference); it != resolved_.end()) {
      ++reused_;
      acquire(it->second.id);  // queued ahead of any gc that could remove it
      loop_.post(lifetime_.wrap(
          [image = it->second, done = std::move(done)]() mutable { done(std::move(image)); }));
      return;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& waiters = waiting_[reference];
    waiters.push_back(std::move(done));
    if (waiters.size() > 1) return;  // joins the queued pull
  }
  enqueue([this, reference] {
    std::vector<Provisioned> waiters;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = waiting_.find(reference);
      if (it == waiting_.end()) return;
      waiters = std::move(it->second);
      waiting_.erase(it);
    }
    ++pulls_;
    auto pulled = store_->pull(reference);
    for (auto& done : waiters) {
      Result<images::Image> image = pulled;
      if (image) {
        if (Status held = store_->acquire(image->id); !held) image = makeError(held.error());
      }
      postBack([this, reference, done = std::move(done), image = std::move(image)]() mutable {
        if (image) resolved_.insert_or_assign(reference, *image);
        done(std::move(image));
      });
    }
  });
}

void ImageProvisioner::acquire(const std::string& imageId) {
  enqueue([this, imageId] {
    if (Status s = store_->acquire(imageId); !s) {
      LOG(WARNING) << "image store: cannot hold image " << imageId << ": " << s.error().message;
    }
  });
}

void ImageProvisioner::release(const std::string& imageId) {
  enqueue([this, imageId] { store_->release(imageId); });
}

void ImageProvisioner::gc(std::function<void(images::GcResult)> done) {
  resolved_.clear();  // the gc may remove what they name
  enqueue([this, done = std::move(done)] {
    images::GcResult result = store_->gc();
    if (result.imagesRemoved > 0 || result.layersRemoved > 0) {
      LOG(INFO) << "image gc removed " << result.imagesRemoved << " images and "
                << result.layersRemoved << " layers";
    }
    if (done) postBack([done, result] { done(result); });
  });
}

int ImageProvisioner::imageUsers(const std::string& imageId) {
  std::promise<int> users;
  enqueue([&] { users.set_value(store_->imageUsers(imageId)); });
  return users.get_future().get();
}

}  // namespace agora::agent
