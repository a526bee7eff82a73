#include "agent/cgroups/cgroups_detect.hpp"

#include <map>
#include <sstream>

#include "agent/cgroups/cgroupfs.hpp"
#include "agent/cgroups/cgroups_v1.hpp"
#include "agent/cgroups/cgroups_v2.hpp"

namespace agora::agent::cgroups {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

struct Mounts {
  std::map<std::string, std::string> v1;  // controller -> mount point
  std::string v2;                         // cgroup2 mount point, if any
};

Mounts parseMounts(const std::string& text) {
  Mounts m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target, type, options;
    if (!(fields >> source >> target >> type >> options)) continue;
    if (type == "cgroup2") {
      if (m.v2.empty()) m.v2 = target;
    } else if (type == "cgroup") {
      for (const auto& option : split(options, ',')) {
        if (!m.v1.count(option)) m.v1[option] = target;
      }
    }
  }
  return m;
}

// "/proc/self/cgroup": controller -> path; the v2 entry is keyed "".
std::map<std::string, std::string> parseSelfCgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string path = line.substr(second + 1);
    if (path == "/") path.clear();
    std::string controllers = line.substr(first + 1, second - first - 1);
    if (controllers.empty()) out[""] = path;
    for (const auto& c : split(controllers, ',')) out[c] = path;
  }
  return out;
}

bool offersV2Controllers(const std::string& root) {
  auto text = readFile(root + "/cgroup.controllers");
  if (!text) return false;
  std::istringstream in(*text);
  std::string word;
  int found = 0;
  while (in >> word) found += word == "cpu" || word == "memory" || word == "pids";
  return found == 3;
}

}  // namespace

Result<std::unique_ptr<Cgroups>> detectCgroups(const CgroupsProbe& probe) {
  auto mountsText = readFile(probe.mountsFile);
  if (!mountsText) return makeError(mountsText.error());
  auto selfText = readFile(probe.selfCgroupFile);
  if (!selfText) return makeError(selfText.error());
  Mounts mounts = parseMounts(*mountsText);
  auto self = parseSelfCgroup(*selfText);

  if (!mounts.v2.empty() && self.count("")) {
    std::string own = self[""];
    // An agent started from the leaf an earlier one moved into (e.g. by a
    // process it left there) uses the same root, to find its containers.
    std::string leaf = std::string("/") + CgroupsV2::kAgentLeaf;
    if (own.size() >= leaf.size() &&
        own.compare(own.size() - leaf.size(), leaf.size(), leaf) == 0) {
      own.resize(own.size() - leaf.size());
    }
    std::string root = mounts.v2 + own;
    if (offersV2Controllers(root)) {
      return std::unique_ptr<Cgroups>(std::make_unique<CgroupsV2>(root));
    }
  }
  std::map<std::string, std::string> roots;
  std::string missing;
  for (const auto& c : CgroupsV1::requiredControllers()) {
    auto mount = mounts.v1.find(c);
    if (mount == mounts.v1.end()) {
      missing += " " + c;
      continue;
    }
    std::string root = mount->second + self[c];
    // Inside a cgroup namespace the listed path may not exist under the mount.
    if (!pathExists(root)) root = mount->second;
    roots[c] = root;
  }
  if (!missing.empty()) {
    return makeError(ErrorCode::kUnavailable,
                     "cgroups unavailable: no cgroup2 mount with cpu, memory and pids, and no "
                     "cgroup v1 hierarchy for" +
                         missing);
  }
  return std::unique_ptr<Cgroups>(std::make_unique<CgroupsV1>(std::move(roots)));
}

}  // namespace agora::agent::cgroups
