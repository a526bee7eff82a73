#include "common/capabilities.hpp"

#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace agora {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool isAll(const std::string& name) { return upper(name) == kAllCapabilities; }

bool contains(const std::vector<std::string>& names, const char* name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return upper(n) == name; });
}

}  // namespace

Result<int> parseCapability(const std::string& name) {
  std::string full = upper(name);
  if (full.rfind("CAP_", 0) != 0) full = "CAP_" + full;
  // libcap also accepts bare numbers; a task must say which capability it means.
  bool named = full.size() > 4 && std::all_of(full.begin() + 4, full.end(), [](char c) {
                 return std::isupper(static_cast<unsigned char>(c)) || c == '_';
               });
  cap_value_t value = 0;
  if (!named || cap_from_name(full.c_str(), &value) != 0 || value < 0 || value > 63) {
    return makeError(ErrorCode::kInvalidArgument, "unknown capability '" + name + "'");
  }
  return static_cast<int>(value);
}

std::string capabilityName(int capability) {
  char* raw = cap_to_name(static_cast<cap_value_t>(capability));
  std::string name = raw != nullptr ? raw : "";
  cap_free(raw);
  name = upper(name);
  if (name.rfind("CAP_", 0) == 0) name = name.substr(4);
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return "CAP_" + std::to_string(capability);
  }
  return name;
}

std::string capabilityNames(CapabilitySet set) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if ((set >> cap & 1) == 0) continue;
    if (!out.empty()) out += ",";
    out += capabilityName(cap);
  }
  return out;
}

CapabilitySet defaultCapabilities() {
  CapabilitySet set = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                  CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                  CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE}) {
    set |= CapabilitySet{1} << cap;
  }
  return set;
}

Status validateCapabilityChanges(const std::vector<std::string>& add,
                                 const std::vector<std::string>& drop) {
  std::set<int> added;
  for (const auto& name : add) {
    if (isAll(name)) continue;
    auto cap = parseCapability(name);
    if (!cap) return makeError(cap.error().withContext("capAdd"));
    added.insert(*cap);
  }
  for (const auto& name : drop) {
    if (isAll(name)) continue;
    auto cap = parseCapability(name);
    if (!cap) return makeError(cap.error().withContext("capDrop"));
    if (added.count(*cap)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "capability " + capabilityName(*cap) + " is both added and dropped");
    }
  }
  return {};
}

Result<CapabilitySet> resolveCapabilities(const std::vector<std::string>& add,
                                          const std::vector<std::string>& drop,
                                          int lastCapability) {
  if (Status s = validateCapabilityChanges(add, drop); !s) return makeError(s.error());
  CapabilitySet every = lastCapability >= 63 ? ~CapabilitySet{0}
                                             : (CapabilitySet{1} << (lastCapability + 1)) - 1;
  CapabilitySet set = contains(drop, kAllCapabilities) ? 0 : defaultCapabilities();
  if (contains(add, kAllCapabilities)) set = every;
  auto apply = [&](const std::vector<std::string>& names, bool adding) -> Status {
    for (const auto& name : names) {
      if (isAll(name)) continue;
      int cap = *parseCapability(name);
      if (cap > lastCapability) {
        return makeError(ErrorCode::kFailedPrecondition,
                         "capability " + capabilityName(cap) +
                             " is unknown to this kernel (its last is " +
                             capabilityName(lastCapability) + ")");
      }
      CapabilitySet bit = CapabilitySet{1} << cap;
      set = adding ? set | bit : set & ~bit;
    }
    return {};
  };
  if (Status s = apply(add, true); !s) return makeError(s.error());
  if (Status s = apply(drop, false); !s) return makeError(s.error());
  return set & every;
}

}  // namespace agora
