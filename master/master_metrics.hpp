#pragma once
// The master's counters. Updated and read on the loop thread only; the HTTP
// thread sees them through the snapshot, which carries their rendered
// Prometheus text (see render()).

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace agora::master {

class MasterMetrics {
 public:
  void messageIn(const std::string& protocol, const std::string& type) {
    messagesIn_[{protocol, type}]++;
  }
  void messageOut(const std::string& protocol, const std::string& type) {
    messagesOut_[{protocol, type}]++;
  }
  // reason: a short snake_case token such as "malformed" or "bad_version".
  void rejected(const std::string& reason) { rejected_[reason]++; }
  void offersSent(uint64_t n = 1) { offersSent_ += n; }
  void offersDeclined(uint64_t n = 1) { offersDeclined_ += n; }
  void offersAccepted(uint64_t n = 1) { offersAccepted_ += n; }
  void offersRescinded(uint64_t n = 1) { offersRescinded_ += n; }

  uint64_t rejectedCount(const std::string& reason) const;
  uint64_t rejectedTotal() const;
  uint64_t messagesInCount(const std::string& protocol, const std::string& type) const;
  uint64_t offersSent() const { return offersSent_; }
  uint64_t offersDeclined() const { return offersDeclined_; }
  uint64_t offersAccepted() const { return offersAccepted_; }
  uint64_t offersRescinded() const { return offersRescinded_; }

  // Prometheus text exposition of the counters.
  std::string render() const;

 private:
  using Labels = std::pair<std::string, std::string>;  // (protocol, type)
  std::map<Labels, uint64_t> messagesIn_;
  std::map<Labels, uint64_t> messagesOut_;
  std::map<std::string, uint64_t> rejected_;
  uint64_t offersSent_ = 0;
  uint64_t offersDeclined_ = 0;
  uint64_t offersAccepted_ = 0;
  uint64_t offersRescinded_ = 0;
};

// Appends "# HELP/# TYPE" headers for one metric family.
void appendFamilyHeader(std::string& out, const std::string& name, const std::string& type,
                        const std::string& help);
// Appends one sample line: name{k="v",...} value. Label values are escaped.
void appendSample(std::string& out, const std::string& name,
                  const std::map<std::string, std::string>& labels, double value);

}  // namespace agora::master
