#include "frameworks/kit/spec.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.hpp"

namespace agora::kit {

namespace {

constexpr size_t kMaxSpecBytes = size_t{4} << 20;

std::string location(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string shown(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

// The whole of `text` as a finite number.
std::optional<double> finiteNumber(const std::string& text) {
  size_t used = 0;
  try {
    double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

Result<SpecNode> SpecNode::parse(const std::string& text, const std::string& source) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsDefined() || root.IsNull()) {
      return makeError(ErrorCode::kInvalidArgument, source + ": empty spec");
    }
    return SpecNode(root, source, "");
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::kInvalidArgument, location(source, e.mark) + ": " + e.msg);
  }
}

Result<SpecNode> SpecNode::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorCode::kNotFound, "cannot read " + path);
  std::string text;
  text.resize(kMaxSpecBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSpecBytes) {
    return makeError(ErrorCode::kInvalidArgument, path + ": larger than 4 MiB");
  }
  return parse(text, path);
}

bool SpecNode::has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined(); }

std::string SpecNode::fieldPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

SpecNode SpecNode::child(const std::string& key) const {
  return SpecNode(node_[key], source_, fieldPath(key));
}

Result<std::vector<SpecNode>> SpecNode::items() const {
  if (isNull()) return std::vector<SpecNode>();
  if (!node_.IsSequence()) return makeError(expected("a list"));
  std::vector<SpecNode> out;
  for (size_t i = 0; i < node_.size(); ++i) {
    out.push_back(SpecNode(node_[i], source_, path_ + "[" + std::to_string(i) + "]"));
  }
  return out;
}

Result<std::vector<std::pair<std::string, SpecNode>>> SpecNode::entries() const {
  if (isNull()) return std::vector<std::pair<std::string, SpecNode>>();
  if (!node_.IsMap()) return makeError(expected("a map"));
  std::vector<std::pair<std::string, SpecNode>> out;
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) {
      return makeError(SpecNode(entry.first, source_, path_).expected("a text key"));
    }
    std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) {
      return makeError(SpecNode(entry.first, source_, fieldPath(key)).error("given twice"));
    }
    out.emplace_back(key, SpecNode(entry.second, source_, fieldPath(key)));
  }
  return out;
}

Status SpecNode::only(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) return makeError(expected("a map"));
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (!seen.insert(key).second) {
      // YAML readers keep one of the two silently: which one was meant?
      return makeError(SpecNode(entry.first, source_, fieldPath(key)).error("given twice"));
    }
    bool known = false;
    for (const std::string& name : allowed) known = known || name == key;
    if (known) continue;
    std::string list;
    for (const std::string& name : allowed) list += (list.empty() ? "" : ", ") + name;
    SpecNode at(entry.first, source_, fieldPath(key));
    return makeError(at.error("unknown field (known here: " + list + ")"));
  }
  return {};
}

Error SpecNode::error(const std::string& what) const {
  std::string where = location(source_, node_.Mark());
  return Error{ErrorCode::kInvalidArgument,
               where + ": " + (path_.empty() ? std::string() : path_ + ": ") + what};
}

Error SpecNode::missing(const std::string& key) const {
  return error("missing required field '" + key + "'");
}

Error SpecNode::expected(const std::string& what) const {
  return error("expected " + what + ", got " + shown(node_));
}

template <>
Result<std::string> SpecNode::as<std::string>() const {
  if (!node_.IsScalar()) return makeError(expected("text"));
  return node_.Scalar();
}

template <>
Result<bool> SpecNode::as<bool>() const {
  bool value = false;
  if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, value)) {
    return makeError(expected("true or false"));
  }
  return value;
}

template <>
Result<int64_t> SpecNode::as<int64_t>() const {
  if (node_.IsScalar()) {
    const std::string& text = node_.Scalar();
    size_t used = 0;
    try {
      long long value = std::stoll(text, &used);
      if (used == text.size()) return static_cast<int64_t>(value);
    } catch (const std::exception&) {
    }
  }
  return makeError(expected("a whole number"));
}

template <>
Result<double> SpecNode::as<double>() const {
  if (node_.IsScalar()) {
    if (auto value = finiteNumber(node_.Scalar())) return *value;
  }
  return makeError(expected("a number"));
}

template <>
Result<Duration> SpecNode::as<Duration>() const {
  if (node_.IsScalar()) {
    if (auto parsed = parseDuration(node_.Scalar())) return *parsed;
  }
  return makeError(expected("a duration like 10s, 5m or 1h30m"));
}

template <>
Result<SizeMb> SpecNode::as<SizeMb>() const {
  if (node_.IsScalar()) {
    std::string text = node_.Scalar();
    double scale = 1;  // MB; K/M/G/T are powers of 1024
    const std::string units = "KMGT";
    if (size_t unit = units.find(text.empty() ? ' ' : text.back()); unit != std::string::npos) {
      scale = std::pow(1024.0, static_cast<double>(unit) - 1);
      text.pop_back();
    }
    auto value = finiteNumber(text);
    if (value && *value >= 0) return SizeMb{*value * scale};
  }
  return makeError(expected("a size in MB like 512, 512M or 2G"));
}

template <>
Result<Resources> SpecNode::as<Resources>() const {
  if (!node_.IsScalar()) return makeError(expected("resources like 'cpus:1;mem:512'"));
  auto parsed = Resources::parse(node_.Scalar());
  if (!parsed) return makeError(error(parsed.error().message));
  return *parsed;
}

template <>
Result<std::vector<std::string>> SpecNode::as<std::vector<std::string>>() const {
  auto list = items();
  if (!list) return makeError(list.error());
  std::vector<std::string> out;
  for (const SpecNode& item : *list) {
    auto text = item.as<std::string>();
    if (!text) return makeError(text.error());
    out.push_back(std::move(*text));
  }
  return out;
}

}  // namespace agora::kit
