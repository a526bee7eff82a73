#pragma once
// Resource vectors: named scalars (cpus, mem in MB, disk in MB, gpus) and
// named range sets (ports). Scalars are fixed-point with three decimals, so
// repeated add/subtract never drifts (Mesos learned this the hard way).
// Text form: "cpus:4;mem:8192;ports:[31000-32000,33000-33010]".

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "schemas/common.capnp.h"

namespace agora {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // inclusive
  bool operator==(const Range&) const = default;
};

class Resources {
 public:
  // Largest scalar accepted (in units, e.g. MB): 2^40.
  static constexpr double kMaxScalar = 1099511627776.0;

  Resources() = default;
  static Result<Resources> parse(std::string_view text);
  static Result<Resources> fromCapnp(capnp::List<schema::Resource>::Reader list);

  std::string toString() const;
  // REQUIRES: builder has size() == count().
  void toCapnp(capnp::List<schema::Resource>::Builder builder) const;
  unsigned count() const { return static_cast<unsigned>(scalars_.size() + ranges_.size()); }

  // Scalar value in units (0 when absent).
  double scalar(const std::string& name) const;
  const std::vector<Range>& ranges(const std::string& name) const;
  Status setScalar(const std::string& name, double value);
  Status addRange(const std::string& name, Range range);

  bool empty() const { return scalars_.empty() && ranges_.empty(); }
  // True when every resource in `other` is available here.
  bool contains(const Resources& other) const;
  Resources& operator+=(const Resources& other);
  // REQUIRES: contains(other) — otherwise clamps at zero / drops missing ranges.
  Resources& operator-=(const Resources& other);
  Resources operator+(const Resources& other) const;
  Resources operator-(const Resources& other) const;
  bool operator==(const Resources& other) const = default;

  // Names of scalars with a non-zero amount, canonical order (cpus, gpus, mem, disk, others).
  std::vector<std::string> scalarNames() const;
  std::vector<std::string> rangeNames() const;
  uint64_t rangeCount(const std::string& name) const;

 private:
  std::map<std::string, int64_t> scalars_;             // thousandths; zero entries removed
  std::map<std::string, std::vector<Range>> ranges_;   // sorted, merged, non-empty
};

// Normalises ranges: sorted, overlapping or adjacent ones merged.
std::vector<Range> coalesce(std::vector<Range> ranges);
bool isValidResourceName(std::string_view name);

}  // namespace agora
