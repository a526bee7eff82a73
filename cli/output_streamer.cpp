#include "cli/output_streamer.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>

namespace agora::cli {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
// After the task ended, how long to wait for the master to show its sandbox.
constexpr auto kLocateGrace = std::chrono::seconds(3);

void writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;  // stdout closed: nothing useful left to do
    done += static_cast<size_t>(n);
  }
}

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

bool OutputStreamer::locate() {
  if (stdout_) return true;
  auto task = master_.task(taskId_);
  if (!task) return false;
  std::string sandbox = task->value("sandbox", "");
  std::string agentUrl = task->value("agent_url", "");
  if (agentUrl.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    agentUrl = offerAgentUrl_.value_or("");
  }
  if (sandbox.empty() || agentUrl.empty()) return false;
  stdout_ = std::make_unique<SandboxFile>(agentUrl, sandbox + "/stdout");
  stderr_ = std::make_unique<SandboxFile>(agentUrl, sandbox + "/stderr");
  return true;
}

void OutputStreamer::pump(bool drain) {
  for (auto [file, fd] : {std::pair{stdout_.get(), 1}, std::pair{stderr_.get(), 2}}) {
    // While the task runs, read in bounded bites so both streams keep moving.
    auto data = file->readAll(drain ? (64u << 20) : (4u << 20));
    if (data) {
      writeAll(fd, *data);
    } else if (data.error().code != ErrorCode::kNotFound) {
      warnOnce(data.error().message);
    }
  }
}

void OutputStreamer::run() {
  std::optional<std::chrono::steady_clock::time_point> finishedAt;
  while (true) {
    bool launched, finishing;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, kPollInterval);
      launched = offerAgentUrl_.has_value();
      finishing = finishing_;
    }
    if (finishing && !finishedAt) finishedAt = std::chrono::steady_clock::now();
    if (!launched && !finishing) continue;
    if (!locate()) {
      if (finishing &&
          (!launched || std::chrono::steady_clock::now() - *finishedAt > kLocateGrace)) {
        if (launched) warnOnce("the master shows no sandbox for task " + taskId_);
        return;
      }
      continue;
    }
    pump(/*drain=*/finishing);
    if (finishing) return;
  }
}

}  // namespace agora::cli
