#pragma once
// Specs (apps, jobs, schedules) from YAML or JSON (which YAML reads) into a
// framework's own structs, with errors a person can act on: the file, line
// and column, the field's path and what was expected —
//
//   web.yaml:4:12: health_checks[0].interval: expected a duration like 10s,
//   5m or 1h30m, got 'often'
//
// One syntax for every framework: durations as every flag takes them
// (common/duration.hpp), sizes in MB ("512", "512M", "2G"), resources as
// "cpus:1;mem:512". Unknown fields are errors (a typo must not be ignored).
//
//   auto spec = SpecNode::load("web.yaml");
//   if (Status s = spec->only({"id", "instances", "cmd"}); !s) ...
//   auto id = spec->get<std::string>("id");               // required
//   auto instances = spec->getOr<int64_t>("instances", 1);

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/resources.hpp"
#include "common/result.hpp"

namespace agora::kit {

// A size in MB ("512", "512M", "1.5G", "1T"; K/M/G/T are powers of 1024).
struct SizeMb {
  double value = 0;
};

class SpecNode {
 public:
  // `source` names the text in errors (a file name, "request body").
  static Result<SpecNode> parse(const std::string& text, const std::string& source);
  // Reads and parses a file (at most 4 MiB).
  static Result<SpecNode> load(const std::string& path);

  bool isMap() const { return node_.IsMap(); }
  bool isList() const { return node_.IsSequence(); }
  bool isNull() const { return !node_.IsDefined() || node_.IsNull(); }
  bool has(const std::string& key) const;
  // "" for the document itself, "health_checks[0].http".
  const std::string& path() const { return path_; }

  // A map's field, a list's items, a map's entries (in document order).
  // REQUIRES for child: has(key).
  SpecNode child(const std::string& key) const;
  Result<std::vector<SpecNode>> items() const;
  Result<std::vector<std::pair<std::string, SpecNode>>> entries() const;

  // Refuses a map with keys outside `allowed` (naming the first, with the
  // allowed ones) or a key given twice, or a node that is not a map.
  Status only(const std::vector<std::string>& allowed) const;

  // This node as T: std::string, bool, int64_t, double, Duration, SizeMb,
  // Resources, std::vector<std::string>.
  template <class T>
  Result<T> as() const;
  // A required field.
  template <class T>
  Result<T> get(const std::string& key) const {
    if (!has(key)) return makeError(missing(key));
    return child(key).as<T>();
  }
  // An optional field (absent or null: `fallback`).
  template <class T>
  Result<T> getOr(const std::string& key, T fallback) const {
    if (!has(key) || child(key).isNull()) return fallback;
    return child(key).as<T>();
  }

  // "SOURCE:LINE:COL: PATH: what" for this node.
  Error error(const std::string& what) const;

 private:
  SpecNode(YAML::Node node, std::string source, std::string path)
      : node_(std::move(node)), source_(std::move(source)), path_(std::move(path)) {}
  Error missing(const std::string& key) const;
  Error expected(const std::string& what) const;
  std::string fieldPath(const std::string& key) const;

  YAML::Node node_;
  std::string source_;
  std::string path_;
};

template <>
Result<std::string> SpecNode::as<std::string>() const;
template <>
Result<bool> SpecNode::as<bool>() const;
template <>
Result<int64_t> SpecNode::as<int64_t>() const;
template <>
Result<double> SpecNode::as<double>() const;
template <>
Result<Duration> SpecNode::as<Duration>() const;
template <>
Result<SizeMb> SpecNode::as<SizeMb>() const;
template <>
Result<Resources> SpecNode::as<Resources>() const;
template <>
Result<std::vector<std::string>> SpecNode::as<std::vector<std::string>>() const;

}  // namespace agora::kit
