#pragma once
// The service framework's app spec: what `agora service apply -f FILE` sends
// and what the framework keeps, one version per change. YAML or JSON; the
// field names are the contract:
//
//   id: /shop/web                 # path-like; groups are the parent paths
//   instances: 3
//   cpus: 0.1
//   mem: 32                       # MB ("512", "1G")
//   disk: 0                       # MB
//   cmd: "busybox httpd -f -p $PORT_HTTP -h /srv"   # or args: [...]; image: ...
//   env: {GREETING: hello}
//   labels: {team: shop}
//   user: nobody
//   ports: [{name: http}]         # host ports from offers: $PORT_HTTP, $PORT0
//   health_checks:                # one, run by the executor beside each instance
//     - {http: {port: http, path: /}, grace: 5s, interval: 1s, timeout: 1s, max_failures: 3}
//       (or {tcp: {port: http}}, or {command: "test -f /tmp/ok"})
//   readiness: {http: {port: http, path: /ready}, interval: 1s, timeout: 1s}  # or tcp:, command:
//   constraints: [[hostname, UNIQUE]]
//   upgrade: {min_health: 1.0, max_surge: 1, progress_deadline: 10m, max_failures: 3,
//             auto_rollback: true}
//   canary: {instances: 1, auto_promote_after: 30s, promote_deadline: 24h}
//   dependencies: [/shop/db]
//   backoff: {initial: 1s, factor: 1.15, max: 300s}
//   kill_grace: 3s
//   unreachable_grace: 1m         # replace an unreachable agent's instance after
//   autoscale: {min: 2, max: 20, target_cpu: 0.6}
//   secrets: {DB_PASSWORD: {env: DB_PASSWORD}, TLS_KEY: {file: tls.key}}
//   environments: {prod: {instances: 10, env: {MODE: prod}}}
//
// A file holds one app, or a group: `apps: [ ... ]` (each with its own id).
// Every refusal names the file, line, column and field; nothing is half
// applied.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/model.hpp"
#include "common/result.hpp"
#include "frameworks/kit/constraints.hpp"
#include "frameworks/kit/spec.hpp"

namespace agora::service {

struct PortSpec {
  std::string name;  // lower-case letters, digits and '-'; $PORT_<NAME>
};

struct HealthCheck {
  enum class Kind { kHttp, kTcp, kCommand };
  Kind kind = Kind::kHttp;
  std::string port;  // kHttp, kTcp: a name from `ports`
  std::string path = "/";
  std::string command;
  Duration grace = seconds(5);  // failures in the first `grace` do not count
  Duration interval = seconds(10);
  Duration timeout = seconds(2);
  int64_t maxFailures = 3;  // consecutive failures that kill the instance
};

struct Upgrade {
  double minHealth = 1.0;  // of `instances`, healthy and ready throughout
  int64_t maxSurge = 1;    // instances above `instances` during a deployment
  // A deployment that makes no progress (one more new instance healthy and
  // ready) for this long is rolled back (Kubernetes' progressDeadlineSeconds).
  Duration progressDeadline = seconds(600);
  // New-version instances that may fail (exit, fail to launch, fail their
  // health check) before the deployment is rolled back.
  int64_t maxFailures = 3;
  bool autoRollback = true;  // false: such a deployment just fails, stopping where it is
};

struct Canary {
  int64_t instances = 1;
  std::optional<Duration> autoPromoteAfter;  // nullopt: promoted by hand
  // Canaries not promoted this long after they became healthy are rolled
  // back: a deployment never waits forever.
  Duration promoteDeadline = seconds(24 * 3600);
};

struct Backoff {
  Duration initial = seconds(1);
  double factor = 1.15;
  Duration max = seconds(300);
};

// autoscaler.hpp. While an app autoscales, its instance count is the
// autoscaler's (a new version keeps the current count within min..max).
struct Autoscale {
  int64_t min = 1;
  int64_t max = 1;
  double targetCpu = 0.6;                   // of the instance's cpus
  Duration interval = seconds(15);          // how often usage is sampled and decided on
  Duration scaleDownWindow = seconds(300);  // a scale-down must hold this long
};

// A secret the operator stored (`agora secret set NAME`), given to each
// instance as an environment variable or a file in its sandbox's secrets
// directory ($AGORA_SECRETS). Instances wait while it is not set.
struct SecretRef {
  std::string name;
  std::string env;   // the variable, or
  std::string file;  // a path relative to $AGORA_SECRETS
};

struct Overlay {
  std::optional<int64_t> instances;
  KeyValues env;
};

struct AppSpec {
  std::string id;
  int64_t instances = 1;
  double cpus = 0.1;
  double memMb = 32;
  double diskMb = 0;
  std::string cmd;                // run by a shell, or
  std::vector<std::string> args;  // run as given (with the image's entrypoint)
  std::string image;
  KeyValues env;
  KeyValues labels;
  std::string user;
  std::vector<PortSpec> ports;
  std::vector<HealthCheck> healthChecks;
  // A HealthCheck without grace that fails at once (max_failures 1): it
  // only gates traffic and deployments, it never kills.
  std::optional<HealthCheck> readiness;
  std::vector<kit::Constraint> constraints;
  Upgrade upgrade;
  std::optional<Canary> canary;
  std::vector<std::string> dependencies;
  Backoff backoff;
  Duration killGrace = seconds(3);
  // An instance whose agent is unreachable is replaced after this long; if
  // it comes back, one of the two is killed (the framework is partition
  // aware).
  Duration unreachableGrace = seconds(60);
  std::optional<Autoscale> autoscale;
  std::vector<SecretRef> secrets;
  std::map<std::string, Overlay> environments;

  // "/shop" for "/shop/web"; "/" for a top-level app.
  std::string group() const;
};

// Limits past which a number is refused as absurd.
constexpr int64_t kMaxInstances = 100000;
constexpr double kMaxCpus = 4096;
constexpr double kMaxMemMb = 64.0 * 1024 * 1024;  // 64 TiB

// One app, or the apps of a group file, validated each and together
// (unique ids, dependencies within the file or in `known`, no cycles).
Result<std::vector<AppSpec>> parseApps(const kit::SpecNode& document,
                                       const std::vector<std::string>& known = {});
Result<std::vector<AppSpec>> parseApps(const std::string& text, const std::string& source,
                                       const std::vector<std::string>& known = {});

// The app with the overlay of `environment` applied; kInvalidArgument
// naming the environments it has when it has no such one.
Result<AppSpec> withEnvironment(const AppSpec& app, const std::string& environment);

// `/a/b-1/c`: absolute, segments of lower-case letters, digits, '-' and '.'.
Status validateAppId(const std::string& id);

}  // namespace agora::service
