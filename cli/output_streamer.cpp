#include "cli/output_streamer.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/output.hpp"

namespace agora::cli {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
// After the task ended, how long to wait for the master to show its sandbox.
constexpr auto kLocateGrace = std::chrono::seconds(3);
// While it runs, how long the sandbox may stay unknown before we say so.
constexpr auto kLocateWarnAfter = std::chrono::seconds(3);
// Failed reads in a row before we say so (one can be a blip).
constexpr int kWarnAfterFailures = 3;
// After the task ended, how long reads may keep failing before we give up.
constexpr auto kDrainRetry = std::chrono::seconds(15);
// While the task runs, bytes per stream per poll, so both streams keep moving.
constexpr int64_t kRunningBite = 4 << 20;

}  // namespace

OutputStreamer::OutputStreamer(MasterClient master, std::string taskId)
    : master_(std::move(master)), taskId_(std::move(taskId)) {
  thread_ = std::thread([this] { run(); });
}

OutputStreamer::~OutputStreamer() {
  finish();
  join();
}

void OutputStreamer::launched(std::string agentUrl) {
  std::lock_guard<std::mutex> lock(mutex_);
  offerAgentUrl_ = std::move(agentUrl);
  wake_.notify_all();
}

void OutputStreamer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  finishing_ = true;
  wake_.notify_all();
}

void OutputStreamer::join() {
  if (thread_.joinable()) thread_.join();
}

void OutputStreamer::warnOnce(const std::string& message) {
  if (warned_) return;
  warned_ = true;
  std::cerr << "agora: cannot stream the task's output: " << message << std::endl;
}

void OutputStreamer::readFailed(const std::string& message) {
  if (++failuresInARow_ < kWarnAfterFailures || outageWarned_) return;
  outageWarned_ = true;
  std::cerr << "agora: cannot read the output of task " << taskId_ << " from the agent at "
            << stdout_->agentBase() << " (" << failuresInARow_
            << " tries): " << message << "; still trying" << std::endl;
}

bool OutputStreamer::locate(std::string* why) {
  if (stdout_) return true;
  auto task = master_.task(taskId_);
  if (!task) {
    *why = task.error().message;
    return false;
  }
  std::string sandbox = task->value("sandbox", "");
  std::string agentUrl = task->value("agent_url", "");
  if (agentUrl.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    agentUrl = offerAgentUrl_.value_or("");
  }
  if (sandbox.empty()) {
    *why = "the master shows no sandbox for it (state " + task->value("state", "?") + ")";
    return false;
  }
  if (agentUrl.empty()) {
    *why = "its agent has no HTTP API (started without --http?)";
    return false;
  }
  sandbox_ = sandbox;
  stdout_ = std::make_unique<SandboxFile>(agentUrl, sandbox + "/stdout");
  stderr_ = std::make_unique<SandboxFile>(agentUrl, sandbox + "/stderr");
  return true;
}

bool OutputStreamer::pump(bool drain) {
  bool ok = true;
  for (auto [file, fd] : {std::pair{stdout_.get(), 1}, std::pair{stderr_.get(), 2}}) {
    int out = fd;
    auto read = file->readAvailable([out](const std::string& data) { writeAll(out, data); },
                                    drain ? INT64_MAX : kRunningBite);
    if (!read && read.error().code != ErrorCode::kNotFound) {
      readFailed(read.error().message);
      ok = false;
    }
  }
  if (ok) {
    if (outageWarned_) std::cerr << "agora: reading the task's output again" << std::endl;
    failuresInARow_ = 0;
    outageWarned_ = false;
  }
  return ok;
}

void OutputStreamer::drain() {
  auto failingSince = std::chrono::steady_clock::now();
  while (!pump(/*drain=*/true)) {
    if (std::chrono::steady_clock::now() - failingSince > kDrainRetry) {
      std::cerr << "agora: output cut: printed " << stdout_->offset() << " bytes of stdout and "
                << stderr_->offset() << " of stderr; the full output is in " << sandbox_
                << "/stdout and /stderr on the agent at " << stdout_->agentBase()
                << " (agora logs " << taskId_ << ")" << std::endl;
      return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void OutputStreamer::run() {
  std::optional<std::chrono::steady_clock::time_point> finishedAt, launchedAt;
  bool locateWarned = false;
  while (true) {
    bool launched, finishing;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, kPollInterval);
      launched = offerAgentUrl_.has_value();
      finishing = finishing_;
    }
    auto now = std::chrono::steady_clock::now();
    if (finishing && !finishedAt) finishedAt = now;
    if (launched && !launchedAt) launchedAt = now;
    if (!launched && !finishing) continue;
    std::string why;
    if (!locate(&why)) {
      if (finishing && (!launched || now - *finishedAt > kLocateGrace)) {
        if (launched) warnOnce("task " + taskId_ + ": " + why);
        return;
      }
      if (launched && !locateWarned && now - *launchedAt > kLocateWarnAfter) {
        locateWarned = true;
        std::cerr << "agora: cannot read the output of task " << taskId_ << " yet: " << why
                  << "; still trying" << std::endl;
      }
      continue;
    }
    if (finishing) return drain();
    pump(/*drain=*/false);
  }
}

}  // namespace agora::cli
