#pragma once
// Remembers peers that keep sending frames no honest peer sends (ones that
// would unpack past their protocol's limit) and turns them away for a while
// before any decoding. Bounded: past kMaxPeers tracked, the oldest entry is
// forgotten. Owned by one event loop; not thread-safe.

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace agora {

class PeerStrikes {
 public:
  struct Options {
    size_t strikes = 5;              // within `window`, to be turned away
    Duration window = seconds(60);
    Duration banFor = seconds(300);
  };
  static constexpr size_t kMaxPeers = 4096;

  explicit PeerStrikes(Options options) : options_(options) {}
  PeerStrikes() : PeerStrikes(Options{}) {}

  // True while `peer` is turned away.
  bool banned(const std::string& peer, TimePoint now) const;
  // Counts one bad frame; true when this one got the peer turned away.
  bool strike(const std::string& peer, TimePoint now);
  size_t tracked() const { return entries_.size(); }

 private:
  struct Entry {
    TimePoint windowStart;
    size_t count = 0;
    TimePoint bannedUntil;
    std::list<std::string>::iterator age;
  };
  Options options_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // oldest first
};

}  // namespace agora
