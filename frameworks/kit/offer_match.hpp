#pragma once
// Which of an offer's resources a task takes: plain amounts, and named ports.
//
// Plain amounts:
// An offer to role R holds R's reservations next to unreserved resources;
// a reservation already counts toward R's quota, so the task takes reserved
// resources first and unreserved ones only for the rest (as Mesos's
// Resources::find). Persistent volumes are never taken as plain disk.

#include <optional>
#include <string>
#include <vector>

#include "common/model.hpp"
#include "common/resources.hpp"

namespace agora::kit {

// The resources of `offered` to launch a task that asks for `wanted`; nullopt
// when they do not fit. A `wanted` that names reservations itself is taken
// as given.
std::optional<Resources> fitToOffer(const Resources& offered, const Resources& wanted);

// The variable a named port reaches its task in: PORT_ + the name
// upper-cased ("http" -> PORT_HTTP).
std::string portVariable(const std::string& name);

// Host ports for a task's named ports: the lowest free ones of `offered`
// (unreserved), one per name, as resources to add to the task and its
// environment ($PORT_<NAME> and, in order, $PORT0, $PORT1, ... as Marathon
// gives them). nullopt when the offer has too few.
struct NamedPorts {
  Resources resources;
  KeyValues environment;
};
std::optional<NamedPorts> takeNamedPorts(const Resources& offered,
                                         const std::vector<std::string>& names);

}  // namespace agora::kit
