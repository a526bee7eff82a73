#pragma once
// What resources.cpp (the arithmetic) and resources_format.cpp (text and wire
// forms) share. Internal to common/: not for other libraries.

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/resources.hpp"

namespace agora::resources_detail {

// Scalars are kept in thousandths.
inline int64_t toFixed(double value) { return static_cast<int64_t>(std::llround(value * 1000.0)); }
inline double fromFixed(int64_t value) { return static_cast<double>(value) / 1000.0; }

// The names of `scalars` in canonical order: cpus, gpus, mem, disk, then the
// others by name.
std::vector<std::string> rankedNames(const std::map<std::string, int64_t>& scalars);
// Sorts names into that order (stable: equal ranks keep their order).
void sortByRank(std::vector<std::string>& names);

// kInvalidArgument naming the resource: a bad name, or a value out of range.
Status checkScalar(const std::string& name, double value);
Status checkRange(const std::string& name, Range range);

}  // namespace agora::resources_detail
