#pragma once
// The chaos frameworks' append-only journal: one line per event, each written
// with a single write() and fsync'd before the framework acts on it, so a
// SIGKILLed framework loses at most the event it was writing (a torn last line
// is ignored on reading). A restarted framework replays it to recover its
// framework ID and tasks; the checker reads it as the record of what the
// framework was told and what it acknowledged.
//
// Line format (tab-separated), each line led by the time it was written in
// milliseconds of CLOCK_MONOTONIC (monotonicMs(), shared by every process on
// the host, so the checker can order journal lines against the fault
// driver's faults):
//   start     <pid>
//   subscribed <frameworkId>          (each SUBSCRIBED, also after a failover)
//   launch    <taskId> <agentId>
//   kill      <taskId>
//   update    <taskId> <TASK_STATE> <uuidHex|-> <containerId|-> <REASON> <source>
//   ack       <taskId> <uuidHex>
//   error     <message>               (the master refused the framework)

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora::chaos {

struct JournalEvent {
  std::string kind;
  std::vector<std::string> fields;
  int64_t atMs = -1;  // monotonicMs() when it was written; -1 when unknown
  const std::string& field(size_t i) const;  // "" when absent
};

// Milliseconds of CLOCK_MONOTONIC: one time line for the whole host.
int64_t monotonicMs();

class Journal {
 public:
  // Opens `path` for appending (creating it).
  static Result<Journal> open(const std::string& path);
  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&&) = delete;
  ~Journal();

  // Appends one event and fsyncs. Fields must not contain tabs or newlines
  // (they are replaced by spaces).
  Status append(const std::string& kind, const std::vector<std::string>& fields);

 private:
  explicit Journal(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Every complete line of the journal at `path`; empty when it does not exist.
std::vector<JournalEvent> readJournal(const std::string& path);

std::string hexUuid(const std::string& raw);  // "" for an empty uuid

}  // namespace agora::chaos
