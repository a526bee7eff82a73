#pragma once
// Which of an offer's resources a task asking for plain amounts should take.
// An offer to role R holds R's reservations next to unreserved resources;
// a reservation already counts toward R's quota, so the task takes reserved
// resources first and unreserved ones only for the rest (as Mesos's
// Resources::find). Persistent volumes are never taken as plain disk.

#include <optional>

#include "common/resources.hpp"

namespace agora::cli {

// The resources of `offered` to launch a task that asks for `wanted`; nullopt
// when they do not fit. A `wanted` that names reservations itself is taken
// as given.
std::optional<Resources> fitToOffer(const Resources& offered, const Resources& wanted);

}  // namespace agora::cli
