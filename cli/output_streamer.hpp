#pragma once
// Streams a task's stdout and stderr to this process's stdout and stderr while
// it runs, by polling its agent's files API on a thread of its own (HTTP calls
// block; the driver's loop must not). The sandbox comes from the master's
// /api/v1/tasks entry ("sandbox", "agent_url"). Every byte is printed as the
// agent stored it, however much there is; when reads keep failing it says so
// on stderr (naming the agent and the error) and keeps trying, and if output
// is still missing once the task ended it says how much was printed and where
// the full output is.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cli/master_client.hpp"
#include "cli/sandbox_file.hpp"

namespace agora::cli {

class OutputStreamer {
 public:
  OutputStreamer(MasterClient master, std::string taskId);
  ~OutputStreamer();  // finish() + join()
  OutputStreamer(const OutputStreamer&) = delete;
  OutputStreamer& operator=(const OutputStreamer&) = delete;

  // Thread-safe. The task was launched on the agent at agentUrl (from its
  // offer; the master's entry wins when it has one): start following it.
  void launched(std::string agentUrl);
  // Thread-safe. The task is terminal: print what is left, then stop.
  void finish();
  // Waits for the thread; returns once everything was printed.
  void join();

 private:
  void run();
  // Sandbox + agent from the master; true once known. Otherwise `why` says
  // what is missing.
  bool locate(std::string* why);
  // Prints what is new on both streams (all of it when `drain`); false when
  // a read failed (counted, and warned about after a few in a row).
  bool pump(bool drain);
  void drain();
  void readFailed(const std::string& message);
  void warnOnce(const std::string& message);

  MasterClient master_;
  std::string taskId_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::string> offerAgentUrl_;  // guarded by mutex_
  bool finishing_ = false;                    // guarded by mutex_
  // Owned by the streaming thread.
  std::unique_ptr<SandboxFile> stdout_, stderr_;
  std::string sandbox_;
  bool warned_ = false;
  int failuresInARow_ = 0;
  bool outageWarned_ = false;
};

}  // namespace agora::cli
