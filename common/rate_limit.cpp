#include "common/rate_limit.hpp"

#include <algorithm>
#include <chrono>

namespace agora {

double RateLimiter::tokensAt(const Bucket& bucket, TimePoint now) const {
  double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  return std::min(limit_.burst, bucket.tokens + std::max(0.0, elapsed) * limit_.perSecond);
}

bool RateLimiter::tryTake(const std::string& key, TimePoint now) {
  if (limit_.unlimited()) return true;
  if (buckets_.size() > pruneAbove_) {
    std::erase_if(buckets_,
                  [&](const auto& entry) { return tokensAt(entry.second, now) >= limit_.burst; });
    // Amortized: the next scan waits until the map doubles again.
    pruneAbove_ = std::max(kPruneAbove, 2 * buckets_.size());
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{limit_.burst, now});
  Bucket& bucket = it->second;
  double tokens = fresh ? bucket.tokens : tokensAt(bucket, now);
  bucket.updated = now;
  if (tokens < 1.0) {
    bucket.tokens = tokens;
    return false;
  }
  bucket.tokens = tokens - 1.0;
  return true;
}

double RateLimiter::secondsUntilNext(const std::string& key, TimePoint now) const {
  if (limit_.unlimited()) return 0;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  double tokens = tokensAt(it->second, now);
  return tokens >= 1.0 ? 0 : (1.0 - tokens) / limit_.perSecond;
}

}  // namespace agora
