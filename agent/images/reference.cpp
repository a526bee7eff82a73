#include "agent/images/reference.hpp"

#include <string_view>

#include "agent/images/digest.hpp"

namespace agora::agent::images {

namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component of a repository name: alphanumeric runs joined by '.',
// '_', '__' or a run of '-'.
bool validNameComponent(std::string_view s) {
  size_t i = 0;
  while (true) {
    size_t j = i;
    while (j < s.size() && isLowerAlnum(s[j])) ++j;
    if (j == i) return false;
    if (j == s.size()) return true;
    size_t k = j;
    if (s[k] == '.') {
      ++k;
    } else if (s[k] == '_') {
      k += (k + 1 < s.size() && s[k + 1] == '_') ? 2 : 1;
    } else if (s[k] == '-') {
      while (k < s.size() && s[k] == '-') ++k;
    } else {
      return false;
    }
    i = k;
  }
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool validTag(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

bool validHost(std::string_view s) {
  size_t colon = s.rfind(':');
  std::string_view name = s.substr(0, colon);
  if (name.empty()) return false;
  for (char c : name) {
    if (!isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '-') return false;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  int value = std::stoi(std::string(port));
  return value > 0 && value < 65536;
}

Result<ImageReference> parseRegistry(std::string_view rest, const auto& bad) {
  ImageReference ref;
  ref.transport = Transport::kRegistry;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (auto ok = validateDigest(ref.digest); !ok) return bad(ok.error().message);
    rest = rest.substr(0, at);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("expected docker://HOST[:PORT]/NAME[:TAG]");
  ref.host = std::string(rest.substr(0, slash));
  if (!validHost(ref.host)) return bad("bad registry host '" + ref.host + "'");
  std::string_view name = rest.substr(slash + 1);
  size_t lastSlash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && (lastSlash == std::string_view::npos || colon > lastSlash)) {
    ref.tag = std::string(name.substr(colon + 1));
    if (!validTag(ref.tag)) return bad("bad tag '" + ref.tag + "'");
    name = name.substr(0, colon);
  }
  if (name.empty()) return bad("missing repository name");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (!validNameComponent(part)) {
      return bad("bad repository name component '" + std::string(part) +
                 "' (lower-case letters, digits and single separators . _ -)");
    }
    start = end + 1;
  }
  ref.repository = std::string(name);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace

Result<ImageReference> parseImageReference(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kInvalidArgument, "bad image reference '" + text + "': " + why);
  };
  std::string_view s = text;
  if (s.starts_with("docker://")) return parseRegistry(s.substr(9), bad);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return bad("missing transport (oci:, oci-archive:, docker-archive: or docker://)");
  }
  std::string_view transport = s.substr(0, colon);
  ImageReference ref;
  if (transport == "oci") {
    ref.transport = Transport::kOciLayout;
  } else if (transport == "oci-archive") {
    ref.transport = Transport::kOciArchive;
  } else if (transport == "docker-archive") {
    ref.transport = Transport::kDockerArchive;
  } else {
    return bad("unknown transport '" + std::string(transport) +
               "' (oci:, oci-archive:, docker-archive: or docker://)");
  }
  std::string_view rest = s.substr(colon + 1);
  size_t pathEnd = rest.find(':');
  ref.path = std::string(rest.substr(0, pathEnd));
  if (ref.path.empty()) return bad("missing path");
  if (pathEnd != std::string_view::npos) {
    ref.tag = std::string(rest.substr(pathEnd + 1));
    if (ref.transport == Transport::kDockerArchive) {
      size_t tagColon = ref.tag.rfind(':');
      if (tagColon == std::string::npos || tagColon == 0 ||
          !validTag(std::string_view(ref.tag).substr(tagColon + 1))) {
        return bad("expected NAME:TAG after the archive path, got '" + ref.tag + "'");
      }
    } else if (ref.tag.empty() || ref.tag.find_first_of(" \t\n/") != std::string::npos) {
      return bad("bad tag '" + ref.tag + "'");
    }
  }
  return ref;
}

std::string ImageReference::toString() const {
  switch (transport) {
    case Transport::kOciLayout: return "oci:" + path + (tag.empty() ? "" : ":" + tag);
    case Transport::kOciArchive: return "oci-archive:" + path + (tag.empty() ? "" : ":" + tag);
    case Transport::kDockerArchive:
      return "docker-archive:" + path + (tag.empty() ? "" : ":" + tag);
    case Transport::kRegistry:
      return "docker://" + host + "/" + repository + (tag.empty() ? "" : ":" + tag) +
             (digest.empty() ? "" : "@" + digest);
  }
  return "";
}

}  // namespace agora::agent::images
