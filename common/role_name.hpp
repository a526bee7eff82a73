#pragma once
// Role names. Hierarchical with '/' ("eng/web"); validated like Mesos: not
// empty, no leading or trailing '/', no empty, "." or ".." component, no
// whitespace or control characters, and '*' only as the whole default role.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace agora {

inline constexpr std::string_view kDefaultRole = "*";

Status validateRoleName(std::string_view role);
// "eng/web/x" -> {"eng", "eng/web", "eng/web/x"}. REQUIRES: a valid name.
std::vector<std::string> roleAncestry(std::string_view role);

}  // namespace agora
