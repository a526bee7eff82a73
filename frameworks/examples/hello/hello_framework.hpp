#pragma once
// The "hello" example framework, on the framework toolkit: runs N copies of a
// shell command, each placed under the given constraints, and is done when
// N have ended by themselves (finished or failed; failures are not retried).
// A task lost with its agent, or launched by an instance killed before the
// master heard of it, is replaced: the runtime's journal makes a kill -9 at
// any point end with exactly N tasks run to their end.

#include <string>
#include <vector>

#include "frameworks/kit/runtime.hpp"

namespace agora::hello {

class HelloFramework final : public kit::Framework {
 public:
  HelloFramework(int tasks, std::string command, std::vector<kit::Constraint> constraints)
      : total_(tasks), command_(std::move(command)), constraints_(std::move(constraints)) {}

  std::vector<kit::TaskGroup> pending(const kit::TaskJournal& journal) override;
  TaskInfo task(const kit::PlannedTask& planned) override;
  void changed(kit::Runtime& runtime, const kit::TaskEntry& task) override;
  void ready(kit::Runtime& runtime) override;

  bool done() const { return finished_ + failed_ == total_; }
  int finished() const { return finished_; }
  int failed() const { return failed_; }

 private:
  // Counts the journal's tasks; stops (and tears down) once all N ended.
  void tally(kit::Runtime& runtime);

  int total_, finished_ = 0, failed_ = 0;
  std::string command_;
  std::vector<kit::Constraint> constraints_;
};

}  // namespace agora::hello
