#include "common/role_name.hpp"

#include <cctype>

namespace agora {

namespace {

Status invalid(std::string_view role, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument,
                   "invalid role '" + std::string(role) + "': " + why);
}

}  // namespace

Status validateRoleName(std::string_view role) {
  if (role.empty()) return invalid(role, "must not be empty");
  if (role.size() > 255) return invalid(role, "longer than 255 characters");
  if (role == kDefaultRole) return {};
  if (role.front() == '/' || role.back() == '/') {
    return invalid(role, "must not start or end with '/'");
  }
  size_t start = 0;
  while (start <= role.size()) {
    size_t slash = role.find('/', start);
    std::string_view part =
        role.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return invalid(role, "empty path component");
    if (part == "." || part == "..") return invalid(role, "'.' and '..' are not allowed");
    if (part.front() == '-') return invalid(role, "a component must not start with '-'");
    for (char c : part) {
      if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
        return invalid(role, "whitespace and control characters are not allowed");
      }
      if (c == '*') return invalid(role, "'*' is only allowed as the default role");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

std::vector<std::string> roleAncestry(std::string_view role) {
  std::vector<std::string> out;
  size_t slash = 0;
  while ((slash = role.find('/', slash)) != std::string_view::npos) {
    out.emplace_back(role.substr(0, slash));
    ++slash;
  }
  out.emplace_back(role);
  return out;
}

}  // namespace agora
