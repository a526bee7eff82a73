#include "master/allocator/sorter.hpp"

#include <cmath>

#include "master/allocator/drf_sorter.hpp"
#include "master/allocator/random_sorter.hpp"

namespace agora::master {

double RandomSorter::key(double /*dominantShare*/, double weight) {
  std::uniform_real_distribution<double> uniform(1e-12, 1.0);
  return -std::log(uniform(rng_)) / weight;
}

std::unique_ptr<Sorter> makeSorter(const std::string& name) {
  if (name == "drf") return std::make_unique<DrfSorter>();
  if (name == "random") return std::make_unique<RandomSorter>();
  return nullptr;
}

}  // namespace agora::master
