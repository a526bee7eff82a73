#pragma once
// An app spec as JSON in the spec's own field names: what the service
// framework keeps for each version of an app and what its API shows. It is a
// valid spec again (parseApps reads it back to the same app), and it holds
// secrets only by reference, never their values.

#include <nlohmann/json.hpp>

#include "frameworks/service/app_spec.hpp"

namespace agora::service {

nlohmann::json appJson(const AppSpec& app);

}  // namespace agora::service
