#include "frameworks/service/app_registry.hpp"

#include <algorithm>
#include <cstdio>

#include "frameworks/service/app_json.hpp"

namespace agora::service {

std::string AppRegistry::versionKey(const std::string& id, int64_t version) {
  char number[24];
  std::snprintf(number, sizeof(number), "%010lld", static_cast<long long>(version));
  return "app-versions" + id + "@" + number;
}

std::string AppRegistry::encode(const AppVersion& version) {
  return nlohmann::json{{"version", version.version},
                        {"created", version.created},
                        {"restarts", version.restarts},
                        {"spec", appJson(version.spec)}}
      .dump();
}

Result<AppVersion> AppRegistry::decode(const kit::Record& record) {
  auto bad = [&](const std::string& why) {
    return makeError(ErrorCode::kProtocol, "app record '" + record.key + "': " + why);
  };
  nlohmann::json in = nlohmann::json::parse(record.value, nullptr, false);
  if (!in.is_object() || !in.contains("spec")) return bad("not an app version");
  AppVersion out;
  try {
    out.version = in.at("version").get<int64_t>();
    out.created = in.at("created").get<double>();
    out.restarts = in.value("restarts", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  // Its dependencies were checked when it was applied (they may be gone
  // since: the deployment waits for them then, the record stays readable).
  std::vector<std::string> dependencies;
  for (const auto& dependency : in["spec"].value("dependencies", nlohmann::json::array())) {
    if (dependency.is_string()) dependencies.push_back(dependency.get<std::string>());
  }
  auto apps = parseApps(in["spec"].dump(), record.key, dependencies);
  if (!apps) return bad(apps.error().message);
  out.spec = apps->front();
  return out;
}

Result<AppRegistry> AppRegistry::load(kit::Store& store) {
  AppRegistry registry(store);
  auto records = store.list("apps/");
  if (!records) return makeError(records.error());
  for (const kit::Record& record : *records) {
    auto version = decode(record);
    if (!version) return makeError(version.error());
    registry.recordVersions_[version->spec.id] = record.version;
    registry.current_[version->spec.id] = std::move(*version);
  }
  return registry;
}

Result<std::vector<AppVersion>> AppRegistry::apply(const std::vector<AppSpec>& apps, double now) {
  std::vector<AppVersion> next;
  for (AppSpec spec : apps) {
    const AppVersion* before = current(spec.id);
    if (spec.autoscale) {
      // The autoscaler's count stays (within the new bounds), as a
      // Deployment keeps an HPA's replicas.
      int64_t count =
          before != nullptr && before->spec.autoscale ? before->spec.instances : spec.instances;
      spec.instances = std::clamp(count, spec.autoscale->min, spec.autoscale->max);
    }
    if (before != nullptr && appJson(before->spec) == appJson(spec)) continue;  // unchanged
    next.push_back({spec, before == nullptr ? 1 : before->version + 1, now,
                    before == nullptr ? 0 : before->restarts});
  }
  return write(std::move(next));
}

Result<AppVersion> AppRegistry::restart(const std::string& id, double now) {
  const AppVersion* before = current(id);
  if (before == nullptr) return makeError(ErrorCode::kNotFound, "no app " + id);
  auto written = write({{before->spec, before->version + 1, now, before->restarts + 1}});
  if (!written) return makeError(written.error());
  return written->front();
}

Result<AppVersion> AppRegistry::resize(const std::string& id, int64_t instances) {
  const AppVersion* before = current(id);
  if (before == nullptr) return makeError(ErrorCode::kNotFound, "no app " + id);
  AppVersion next = *before;
  next.spec.instances = instances;
  auto done =
      store_->commit({kit::Write::put(currentKey(id), encode(next), recordVersions_.at(id))});
  if (!done) return makeError(done.error());
  recordVersions_[id] = done->front().version;
  current_[id] = next;
  return next;
}

Result<AppVersion> AppRegistry::revert(const AppVersion& to, double now) {
  const AppVersion* before = current(to.spec.id);
  if (before == nullptr) return makeError(ErrorCode::kNotFound, "no app " + to.spec.id);
  auto written = write({{to.spec, before->version + 1, now, to.restarts}});
  if (!written) return makeError(written.error());
  return written->front();
}

Result<std::vector<AppVersion>> AppRegistry::write(std::vector<AppVersion> versions) {
  std::vector<kit::Write> writes;
  std::vector<AppVersion> written;
  for (AppVersion& next : versions) {
    const AppSpec& spec = next.spec;
    const AppVersion* before = current(spec.id);
    std::string value = encode(next);
    uint64_t expected = before == nullptr ? 0 : recordVersions_.at(spec.id);
    writes.push_back(kit::Write::put(currentKey(spec.id), value, expected));
    writes.push_back(kit::Write::put(versionKey(spec.id, next.version), value, 0));
    if (next.version > kMaxVersions) {
      writes.push_back(kit::Write::erase(versionKey(spec.id, next.version - kMaxVersions)));
    }
    written.push_back(std::move(next));
  }
  if (writes.empty()) return written;
  auto done = store_->commit(writes);
  if (!done) return makeError(done.error());
  size_t record = 0;
  for (const AppVersion& version : written) {
    recordVersions_[version.spec.id] = (*done)[record].version;
    current_[version.spec.id] = version;
    record += 2 + (version.version > kMaxVersions ? 1 : 0);
  }
  return written;
}

Status AppRegistry::remove(const std::string& id) {
  if (current(id) == nullptr) return makeError(ErrorCode::kNotFound, "no app " + id);
  auto kept = store_->list("app-versions" + id + "@");
  if (!kept) return makeError(kept.error());
  std::vector<kit::Write> writes{kit::Write::erase(currentKey(id), recordVersions_.at(id))};
  for (const kit::Record& record : *kept) writes.push_back(kit::Write::erase(record.key));
  if (auto done = store_->commit(writes); !done) return makeError(done.error());
  current_.erase(id);
  recordVersions_.erase(id);
  return {};
}

const AppVersion* AppRegistry::current(const std::string& id) const {
  auto it = current_.find(id);
  return it == current_.end() ? nullptr : &it->second;
}

Result<std::vector<AppVersion>> AppRegistry::history(const std::string& id) const {
  auto records = store_->list("app-versions" + id + "@");
  if (!records) return makeError(records.error());
  std::vector<AppVersion> out;
  for (const kit::Record& record : *records) {
    auto version = decode(record);
    if (!version) return makeError(version.error());
    out.push_back(std::move(*version));
  }
  return out;
}

}  // namespace agora::service
