#pragma once
// The apps the service framework runs and their versions, in its Store: an
// `apply` writes every new or changed app of a file as its next version in
// one transaction (all or none), before the API answers; unchanged apps keep
// theirs. The last kMaxVersions versions of each app stay for history and
// rollback.
//
// Records: "apps<ID>" holds the current version, "app-versions<ID>@<N>"
// (N zero-padded) each kept version; both as {"version", "created",
// "spec"} JSON (app_json.hpp). One thread: the framework's loop.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frameworks/kit/store.hpp"
#include "frameworks/service/app_spec.hpp"

namespace agora::service {

struct AppVersion {
  AppSpec spec;
  int64_t version = 0;
  double created = 0;  // wall-clock seconds
  // Bumped by restart(): instances of a lower count are replaced even
  // though the spec is the same.
  int64_t restarts = 0;
};

class AppRegistry {
 public:
  static constexpr int64_t kMaxVersions = 20;

  // Reads the current versions. kProtocol naming the record for one that
  // does not parse. REQUIRES: store outlives the registry.
  static Result<AppRegistry> load(kit::Store& store);

  // The versions it wrote (new or changed apps, in the order given).
  // kFailedPrecondition when another writer changed an app meanwhile.
  Result<std::vector<AppVersion>> apply(const std::vector<AppSpec>& apps, double now);
  // Writes the app's spec again as its next version with one more restart.
  // kNotFound for an unknown app.
  Result<AppVersion> restart(const std::string& id, double now);
  // Sets the current version's instance count in place (the autoscaler's
  // change: no new version, nothing restarts). kNotFound for an unknown app.
  Result<AppVersion> resize(const std::string& id, int64_t instances);
  // Writes a kept version (spec and restarts) again as the app's next
  // version: a rollback.
  Result<AppVersion> revert(const AppVersion& to, double now);
  // Forgets the app and its history. kNotFound for an unknown app.
  Status remove(const std::string& id);

  const AppVersion* current(const std::string& id) const;
  const std::map<std::string, AppVersion>& apps() const { return current_; }
  // The kept versions of an app, oldest first.
  Result<std::vector<AppVersion>> history(const std::string& id) const;

 private:
  explicit AppRegistry(kit::Store& store) : store_(&store) {}
  static std::string currentKey(const std::string& id) { return "apps" + id; }
  static std::string versionKey(const std::string& id, int64_t version);
  static std::string encode(const AppVersion& version);
  static Result<AppVersion> decode(const kit::Record& record);
  // Writes each as the current and a kept version of its app, all or none.
  Result<std::vector<AppVersion>> write(std::vector<AppVersion> versions);

  kit::Store* store_;
  std::map<std::string, AppVersion> current_;
  std::map<std::string, uint64_t> recordVersions_;  // the store's, of each current record
};

}  // namespace agora::service
