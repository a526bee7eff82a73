#pragma once
// Token buckets by key (e.g. one per authenticated principal): each key may
// spend `burst` at once and earns `perSecond` back over time. Used to keep
// one principal's flood of registrations or subscriptions from reaching the
// registry. Time comes from the caller (a Clock's now()). Not thread-safe:
// owned by one component on its loop.

#include <cstddef>
#include <map>
#include <string>

#include "common/clock.hpp"

namespace agora {

struct RateLimit {
  double perSecond = 0;  // 0: unlimited
  double burst = 0;
  bool unlimited() const { return perSecond <= 0; }
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Takes one token from `key`'s bucket; false (nothing taken) when empty.
  bool tryTake(const std::string& key, TimePoint now);
  // Seconds until `key` has a token again (0 when it has one now).
  double secondsUntilNext(const std::string& key, TimePoint now) const;
  size_t trackedKeys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint updated{};
  };
  double tokensAt(const Bucket& bucket, TimePoint now) const;

  // Buckets full again are forgotten once there are this many keys, so a
  // stream of distinct keys cannot grow the map without bound.
  static constexpr size_t kPruneAbove = 4096;

  RateLimit limit_;
  std::map<std::string, Bucket> buckets_;
  size_t pruneAbove_ = kPruneAbove;
};

}  // namespace agora
