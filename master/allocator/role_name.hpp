#pragma once
// Role names live in common/ (agents validate reserved resources too).

#include "common/role_name.hpp"

namespace agora::master {

using agora::kDefaultRole;
using agora::roleAncestry;
using agora::validateRoleName;

}  // namespace agora::master
