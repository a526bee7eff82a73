#include "frameworks/service/usage_source.hpp"

#include <glog/logging.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/http_client.hpp"

namespace agora::service {

namespace {

// The containers of one agent's answer, by task.
void parseContainers(const std::string& body, UsageByTask& out) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed["containers"].is_array()) return;
  for (const auto& c : parsed["containers"]) {
    if (!c.is_object() || !c.contains("usage") || !c["usage"].is_object()) continue;
    const auto& u = c["usage"];
    double at = u.value("sampled_at", 0.0);
    std::string task = c.value("task_id", "");
    if (at <= 0 || task.empty()) continue;
    out[task] =
        CpuSample{u.value("cpus_user_seconds", 0.0) + u.value("cpus_system_seconds", 0.0), at};
  }
}

class AgentUsageSource final : public UsageSource {
 public:
  explicit AgentUsageSource(EventLoop& loop) : loop_(loop), worker_([this] { run(); }) {}
  ~AgentUsageSource() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  void poll(std::vector<std::string> agentUrls, std::function<void(UsageByTask)> done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (busy_ || job_) return;
    job_ = Job{std::move(agentUrls), std::move(done)};
    wake_.notify_all();
  }

 private:
  struct Job {
    std::vector<std::string> urls;
    std::function<void(UsageByTask)> done;
  };

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || job_.has_value(); });
        if (stopping_) return;
        job = std::move(*job_);
        job_.reset();
        busy_ = true;
      }
      UsageByTask usage;
      for (const std::string& url : job.urls) {
        auto response =
            http::request("GET", url + "/api/v1/containers", "", std::chrono::seconds(2));
        if (!response || response->status != 200) {
          LOG_EVERY_N(WARNING, 20)
              << "cannot read container usage from " << url << ": "
              << (response ? "HTTP " + std::to_string(response->status) : response.error().message);
          continue;
        }
        parseContainers(response->body, usage);
      }
      {
        // Free before the answer reaches the loop: a poll it prompts is taken.
        std::lock_guard<std::mutex> lock(mutex_);
        busy_ = false;
      }
      loop_.post([done = std::move(job.done), usage = std::move(usage)]() mutable {
        done(std::move(usage));
      });
    }
  }

  EventLoop& loop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Job> job_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts once the members it uses exist
};

}  // namespace

std::unique_ptr<UsageSource> makeAgentUsageSource(EventLoop& loop) {
  return std::make_unique<AgentUsageSource>(loop);
}

}  // namespace agora::service
