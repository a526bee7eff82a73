#include "common/peer_strikes.hpp"

namespace agora {

bool PeerStrikes::banned(const std::string& peer, TimePoint now) const {
  auto it = entries_.find(peer);
  return it != entries_.end() && now < it->second.bannedUntil;
}

bool PeerStrikes::strike(const std::string& peer, TimePoint now) {
  auto it = entries_.find(peer);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxPeers) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(peer);
    it = entries_.emplace(peer, Entry{now, 0, TimePoint(), std::prev(order_.end())}).first;
  }
  Entry& entry = it->second;
  if (now - entry.windowStart > options_.window) {
    entry.windowStart = now;
    entry.count = 0;
  }
  if (++entry.count < options_.strikes) return false;
  entry.count = 0;
  entry.windowStart = now;
  entry.bannedUntil = now + options_.banFor;
  return true;
}

}  // namespace agora
