#pragma once
// A daemon's ACLs (common/acl.hpp), as loaded from its --acls file, and the
// one place decisions are made, counted and logged. reload() re-reads the
// file (on SIGHUP): a file that cannot be read or parsed leaves the rules in
// force and says why. Thread-safe: the loop thread and HTTP handler threads
// authorize while a reload swaps the rules.

#include <memory>
#include <string>

#include "common/acl.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/snapshot_cell.hpp"

namespace agora::acl {

class Authorizer {
 public:
  // `path` empty: the built-in rules (no rules, permissive; dangerous
  // actions denied). Metrics go to `metrics` under `prefix`
  // (PREFIX_acl_denials_total{action}, PREFIX_acl_reloads_total{result}).
  // kInvalidArgument / kNotFound for a file that does not load.
  static Result<std::unique_ptr<Authorizer>> create(const std::string& path, Metrics& metrics,
                                                    const std::string& prefix);
  // Built-in rules or `acls`, with metrics of its own (tests).
  explicit Authorizer(Acls acls = {});

  Decision authorize(Action action, const std::string& principal, const std::string& object) const;
  // authorize() as a Status: kPermissionDenied with denialMessage().
  Status require(Action action, const std::string& principal, const std::string& object) const;

  Status reload();
  // Replaces the rules (tests; what reload() does once the file parsed).
  void replace(Acls acls);
  std::shared_ptr<const Acls> current() const { return cell_.get(); }
  const std::string& path() const { return path_; }

 private:
  Authorizer(std::string path, Metrics& metrics, const std::string& prefix, Acls acls);

  std::string path_;
  std::unique_ptr<Metrics> ownMetrics_;  // when not given one
  Metrics& metrics_;
  std::string prefix_;
  SnapshotCell<Acls> cell_;
};

}  // namespace agora::acl
