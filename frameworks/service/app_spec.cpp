#include "frameworks/service/app_spec.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <set>

#include "common/duration.hpp"

namespace agora::service {

namespace {

using kit::SpecNode;

Duration hours(double h) { return seconds(h * 3600); }

// Reads an optional field into `out` when it is given.
template <class T>
Status read(const SpecNode& node, const std::string& key, T& out) {
  if (!node.has(key) || node.child(key).isNull()) return {};
  auto value = node.child(key).as<T>();
  if (!value) return makeError(value.error());
  out = *value;
  return {};
}

// A number given in `key` outside [low, high].
Status within(const SpecNode& node, const std::string& key, double value, double low, double high,
              const std::string& what = "") {
  if (value >= low && value <= high) return {};
  SpecNode at = node.has(key) ? node.child(key) : node;
  char range[96];
  std::snprintf(range, sizeof(range), "between %g and %g", low, high);
  return makeError(at.error("must be " + (what.empty() ? std::string(range) : what)));
}

Status durationWithin(const SpecNode& node, const std::string& key, Duration value, Duration low,
                      Duration high) {
  return within(node, key, toSeconds(value), toSeconds(low), toSeconds(high),
                "between " + formatDuration(low) + " and " + formatDuration(high));
}

bool isEnvName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool isPortName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return true;
}

Status readMap(const SpecNode& node, const std::string& key, KeyValues& out, bool envNames) {
  if (!node.has(key)) return {};
  auto entries = node.child(key).entries();
  if (!entries) return makeError(entries.error());
  for (const auto& [name, value] : *entries) {
    if (envNames && !isEnvName(name)) {
      return makeError(value.error("'" + name + "' is not a variable name (letters, digits, _)"));
    }
    auto text = value.as<std::string>();
    if (!text) return makeError(text.error());
    out.emplace_back(name, *text);
  }
  return {};
}

Result<std::string> portOf(const SpecNode& node, const AppSpec& app) {
  auto port = node.get<std::string>("port");
  if (!port) return port;
  for (const PortSpec& p : app.ports) {
    if (p.name == *port) return port;
  }
  return makeError(node.child("port").error("'" + *port + "' is not one of the app's ports"));
}

Status readHttp(const SpecNode& node, const AppSpec& app, std::string& port, std::string& path) {
  if (Status s = node.only({"port", "path"}); !s) return s;
  auto named = portOf(node, app);
  if (!named) return makeError(named.error());
  port = *named;
  if (Status s = read(node, "path", path); !s) return s;
  if (path.empty() || path[0] != '/')
    return makeError(node.child("path").error("must start with /"));
  return {};
}

// A health check, or (`readiness`) a readiness check: no grace or
// max_failures, every second by default.
Result<HealthCheck> parseHealthCheck(const SpecNode& node, const AppSpec& app,
                                     bool readiness = false) {
  Status known =
      readiness
          ? node.only({"http", "tcp", "command", "interval", "timeout"})
          : node.only({"http", "tcp", "command", "grace", "interval", "timeout", "max_failures"});
  if (!known) return makeError(known.error());
  HealthCheck check;
  if (readiness) {
    check.grace = Duration::zero();
    check.interval = seconds(1);
    check.timeout = seconds(1);
    check.maxFailures = 1;
  }
  int kinds = node.has("http") + node.has("tcp") + node.has("command");
  if (kinds != 1) return makeError(node.error("needs exactly one of http, tcp or command"));
  if (node.has("http")) {
    if (Status s = readHttp(node.child("http"), app, check.port, check.path); !s) {
      return makeError(s.error());
    }
  } else if (node.has("tcp")) {
    SpecNode tcp = node.child("tcp");
    if (Status s = tcp.only({"port"}); !s) return makeError(s.error());
    auto port = portOf(tcp, app);
    if (!port) return makeError(port.error());
    check.kind = HealthCheck::Kind::kTcp;
    check.port = *port;
  } else {
    check.kind = HealthCheck::Kind::kCommand;
    auto command = node.get<std::string>("command");
    if (!command) return makeError(command.error());
    if (command->empty()) return makeError(node.child("command").error("must not be empty"));
    check.command = *command;
  }
  if (Status s = read(node, "interval", check.interval); !s) return makeError(s.error());
  if (!node.has("timeout")) check.timeout = std::min(check.timeout, check.interval);
  for (Status s :
       {read(node, "grace", check.grace), read(node, "interval", check.interval),
        read(node, "timeout", check.timeout), read(node, "max_failures", check.maxFailures),
        durationWithin(node, "grace", check.grace, Duration::zero(), hours(1)),
        durationWithin(node, "interval", check.interval, millis(100), hours(1)),
        durationWithin(node, "timeout", check.timeout, millis(10), check.interval),
        within(node, "max_failures", static_cast<double>(check.maxFailures), 1, 1000)}) {
    if (!s) return makeError(s.error());
  }
  return check;
}

Status parseRuntime(const SpecNode& node, AppSpec& app) {
  if (Status s = read(node, "cmd", app.cmd); !s) return s;
  if (Status s = read(node, "args", app.args); !s) return s;
  if (Status s = read(node, "image", app.image); !s) return s;
  if (!app.cmd.empty() && !app.args.empty()) {
    return makeError(node.child("args").error("give cmd or args, not both"));
  }
  if (app.cmd.empty() && app.args.empty() && app.image.empty()) {
    return makeError(node.error("needs something to run: cmd, args or image"));
  }
  if (Status s = readMap(node, "env", app.env, /*envNames=*/true); !s) return s;
  if (Status s = readMap(node, "labels", app.labels, /*envNames=*/false); !s) return s;
  return read(node, "user", app.user);
}

Status parseResources(const SpecNode& node, AppSpec& app) {
  kit::SizeMb mem{app.memMb}, disk{app.diskMb};
  for (Status s : {read(node, "instances", app.instances), read(node, "cpus", app.cpus),
                   read(node, "mem", mem), read(node, "disk", disk)}) {
    if (!s) return s;
  }
  app.memMb = mem.value;
  app.diskMb = disk.value;
  for (Status s : {within(node, "instances", static_cast<double>(app.instances), 0,
                          static_cast<double>(kMaxInstances)),
                   within(node, "cpus", app.cpus, 0.001, kMaxCpus),
                   within(node, "mem", app.memMb, 1, kMaxMemMb),
                   within(node, "disk", app.diskMb, 0, kMaxMemMb)}) {
    if (!s) return s;
  }
  if (!node.has("ports")) return {};
  auto ports = node.child("ports").items();
  if (!ports) return makeError(ports.error());
  std::set<std::string> names;
  for (const SpecNode& item : *ports) {
    if (Status s = item.only({"name"}); !s) return s;
    auto name = item.get<std::string>("name");
    if (!name) return makeError(name.error());
    if (!isPortName(*name)) {
      return makeError(item.child("name").error("lower-case letters, digits and '-', at most 63"));
    }
    if (!names.insert(*name).second) return makeError(item.child("name").error("named twice"));
    app.ports.push_back(PortSpec{*name});
  }
  return {};
}

Status parseHealth(const SpecNode& node, AppSpec& app) {
  if (node.has("health_checks")) {
    auto checks = node.child("health_checks").items();
    if (!checks) return makeError(checks.error());
    if (checks->size() > 1) {
      return makeError((*checks)[1].error(
          "one health check per app (the executor runs one beside each instance)"));
    }
    for (const SpecNode& item : *checks) {
      auto check = parseHealthCheck(item, app);
      if (!check) return makeError(check.error());
      app.healthChecks.push_back(*check);
    }
  }
  if (!node.has("readiness")) return {};
  auto readiness = parseHealthCheck(node.child("readiness"), app, /*readiness=*/true);
  if (!readiness) return makeError(readiness.error());
  app.readiness = *readiness;
  return {};
}

Status parsePlacement(const SpecNode& node, AppSpec& app) {
  if (node.has("constraints")) {
    auto items = node.child("constraints").items();
    if (!items) return makeError(items.error());
    for (const SpecNode& item : *items) {
      auto parts = item.as<std::vector<std::string>>();
      if (!parts) return makeError(parts.error());
      auto constraint = kit::parseConstraint(*parts);
      if (!constraint) return makeError(item.error(constraint.error().message));
      app.constraints.push_back(*constraint);
    }
  }
  if (Status s = read(node, "dependencies", app.dependencies); !s) return s;
  for (const std::string& dependency : app.dependencies) {
    SpecNode at = node.child("dependencies");
    if (Status s = validateAppId(dependency); !s) return makeError(at.error(s.error().message));
    if (dependency == app.id) return makeError(at.error("an app cannot depend on itself"));
  }
  return {};
}

Status parseDeployment(const SpecNode& node, AppSpec& app) {
  if (node.has("upgrade")) {
    SpecNode u = node.child("upgrade");
    for (Status s :
         {u.only({"min_health", "max_surge", "progress_deadline", "max_failures", "auto_rollback"}),
          read(u, "min_health", app.upgrade.minHealth), read(u, "max_surge", app.upgrade.maxSurge),
          read(u, "progress_deadline", app.upgrade.progressDeadline),
          read(u, "max_failures", app.upgrade.maxFailures),
          read(u, "auto_rollback", app.upgrade.autoRollback),
          durationWithin(u, "progress_deadline", app.upgrade.progressDeadline, seconds(1),
                         hours(24 * 7)),
          within(u, "max_failures", static_cast<double>(app.upgrade.maxFailures), 0, 1000),
          within(u, "min_health", app.upgrade.minHealth, 0, 1),
          within(u, "max_surge", static_cast<double>(app.upgrade.maxSurge), 0,
                 static_cast<double>(kMaxInstances))}) {
      if (!s) return s;
    }
    if (app.upgrade.minHealth >= 1.0 && app.upgrade.maxSurge == 0 && app.instances > 0) {
      return makeError(
          u.error("min_health 1 with max_surge 0 leaves no room to replace an instance: lower "
                  "min_health or allow a surge"));
    }
  }
  if (node.has("canary")) {
    SpecNode c = node.child("canary");
    Canary canary;
    Duration promote{};
    for (Status s :
         {c.only({"instances", "auto_promote_after", "promote_deadline"}),
          read(c, "instances", canary.instances), read(c, "auto_promote_after", promote),
          read(c, "promote_deadline", canary.promoteDeadline),
          durationWithin(c, "promote_deadline", canary.promoteDeadline, seconds(1), hours(24 * 30)),
          within(c, "instances", static_cast<double>(canary.instances), 1,
                 static_cast<double>(std::max<int64_t>(app.instances, 1)),
                 "between 1 and the app's instances")}) {
      if (!s) return s;
    }
    if (c.has("auto_promote_after")) canary.autoPromoteAfter = promote;
    app.canary = canary;
  }
  if (node.has("backoff")) {
    SpecNode b = node.child("backoff");
    for (Status s : {b.only({"initial", "factor", "max"}), read(b, "initial", app.backoff.initial),
                     read(b, "factor", app.backoff.factor), read(b, "max", app.backoff.max),
                     durationWithin(b, "initial", app.backoff.initial, millis(10), hours(1)),
                     within(b, "factor", app.backoff.factor, 1, 10),
                     durationWithin(b, "max", app.backoff.max, app.backoff.initial, hours(24))}) {
      if (!s) return s;
    }
  }
  for (Status s : {read(node, "kill_grace", app.killGrace),
                   durationWithin(node, "kill_grace", app.killGrace, Duration::zero(), hours(1)),
                   read(node, "unreachable_grace", app.unreachableGrace),
                   durationWithin(node, "unreachable_grace", app.unreachableGrace, Duration::zero(),
                                  hours(24 * 7))}) {
    if (!s) return s;
  }
  return {};
}

Status parseExtras(const SpecNode& node, AppSpec& app) {
  if (node.has("autoscale")) {
    SpecNode a = node.child("autoscale");
    Autoscale scale;
    for (Status s :
         {a.only({"min", "max", "target_cpu", "interval", "scale_down_window"}),
          read(a, "min", scale.min), read(a, "max", scale.max),
          read(a, "target_cpu", scale.targetCpu), read(a, "interval", scale.interval),
          read(a, "scale_down_window", scale.scaleDownWindow),
          within(a, "interval", toSeconds(scale.interval), 0.5, 3600),
          within(a, "scale_down_window", toSeconds(scale.scaleDownWindow), 0, 86400),
          within(a, "min", static_cast<double>(scale.min), 1, static_cast<double>(kMaxInstances)),
          within(a, "max", static_cast<double>(scale.max), static_cast<double>(scale.min),
                 static_cast<double>(kMaxInstances), "at least min"),
          within(a, "target_cpu", scale.targetCpu, 0.01, 1)}) {
      if (!s) return s;
    }
    app.autoscale = scale;
  }
  if (node.has("secrets")) {
    auto entries = node.child("secrets").entries();
    if (!entries) return makeError(entries.error());
    for (const auto& [name, ref] : *entries) {
      SecretRef secret{name, "", ""};
      for (Status s : {ref.only({"env", "file"}), read(ref, "env", secret.env),
                       read(ref, "file", secret.file)}) {
        if (!s) return s;
      }
      // The master's rule for a task's secrets (common/task_secret.hpp).
      if (Status s = validateSecrets({TaskSecret{name, "", secret.env, secret.file}}); !s) {
        return makeError(ref.error(s.error().message));
      }
      app.secrets.push_back(secret);
    }
    std::vector<TaskSecret> all;
    for (const SecretRef& ref : app.secrets)
      all.push_back(TaskSecret{ref.name, "", ref.env, ref.file});
    if (Status s = validateSecrets(all); !s) {
      return makeError(node.child("secrets").error(s.error().message));
    }
  }
  if (!node.has("environments")) return {};
  auto environments = node.child("environments").entries();
  if (!environments) return makeError(environments.error());
  for (const auto& [name, overlay] : *environments) {
    Overlay out;
    if (Status s = overlay.only({"instances", "env"}); !s) return s;
    if (overlay.has("instances")) {
      int64_t instances = 0;
      for (Status s : {read(overlay, "instances", instances),
                       within(overlay, "instances", static_cast<double>(instances), 0,
                              static_cast<double>(kMaxInstances))}) {
        if (!s) return s;
      }
      out.instances = instances;
    }
    if (Status s = readMap(overlay, "env", out.env, /*envNames=*/true); !s) return s;
    app.environments[name] = out;
  }
  return {};
}

Result<AppSpec> parseApp(const SpecNode& node) {
  if (Status s = node.only({"id",
                            "instances",
                            "cpus",
                            "mem",
                            "disk",
                            "cmd",
                            "args",
                            "image",
                            "env",
                            "labels",
                            "user",
                            "ports",
                            "health_checks",
                            "readiness",
                            "constraints",
                            "upgrade",
                            "canary",
                            "dependencies",
                            "backoff",
                            "kill_grace",
                            "unreachable_grace",
                            "autoscale",
                            "secrets",
                            "environments"});
      !s) {
    return makeError(s.error());
  }
  AppSpec app;
  auto id = node.get<std::string>("id");
  if (!id) return makeError(id.error());
  if (Status s = validateAppId(*id); !s)
    return makeError(node.child("id").error(s.error().message));
  app.id = *id;
  for (auto part :
       {parseResources, parseRuntime, parseHealth, parsePlacement, parseDeployment, parseExtras}) {
    if (Status s = part(node, app); !s) return makeError(s.error());
  }
  return app;
}

// Unique ids, dependencies that exist, no cycle.
Status validateTogether(const std::vector<std::pair<AppSpec, SpecNode>>& apps,
                        const std::vector<std::string>& known) {
  std::map<std::string, const AppSpec*> byId;
  for (const auto& [app, node] : apps) {
    if (!byId.emplace(app.id, &app).second) {
      return makeError(node.child("id").error("app " + app.id + " is in this file twice"));
    }
  }
  std::set<std::string> existing(known.begin(), known.end());
  for (const auto& [app, node] : apps) {
    for (const std::string& dependency : app.dependencies) {
      if (byId.count(dependency) == 0 && existing.count(dependency) == 0) {
        return makeError(node.child("dependencies")
                             .error("dependency " + dependency +
                                    " is neither in this file nor an app the framework runs"));
      }
    }
  }
  // Depth-first: a dependency met again while on the path closes a cycle.
  std::map<std::string, int> state;  // 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<std::optional<std::string>(const std::string&)> visit =
      [&](const std::string& id) -> std::optional<std::string> {
    if (state[id] == 2 || byId.count(id) == 0) return std::nullopt;
    if (state[id] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), id);
      for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
      return cycle + id;
    }
    state[id] = 1;
    path.push_back(id);
    for (const std::string& next : byId[id]->dependencies) {
      if (auto cycle = visit(next)) return cycle;
    }
    path.pop_back();
    state[id] = 2;
    return std::nullopt;
  };
  for (const auto& [app, node] : apps) {
    if (auto cycle = visit(app.id)) {
      return makeError(node.child("dependencies").error("dependencies form a cycle: " + *cycle));
    }
  }
  return {};
}

}  // namespace

std::string AppSpec::group() const {
  size_t slash = id.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : id.substr(0, slash);
}

Status validateAppId(const std::string& id) {
  if (id.size() < 2 || id[0] != '/' || id.back() == '/' || id.size() > 200) {
    return makeError(ErrorCode::kInvalidArgument,
                     "app id '" + id + "' must be a path like /shop/web (at most 200 characters)");
  }
  size_t start = 1;
  while (start <= id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string::npos) end = id.size();
    std::string segment = id.substr(start, end - start);
    bool ok = !segment.empty() && segment != "." && segment != "..";
    for (char c : segment) {
      ok = ok && (std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.');
    }
    if (!ok) {
      return makeError(ErrorCode::kInvalidArgument,
                       "app id '" + id + "': '" + segment +
                           "' is not a path segment (lower-case letters, digits, '-', '.')");
    }
    start = end + 1;
  }
  return {};
}

Result<std::vector<AppSpec>> parseApps(const SpecNode& document,
                                       const std::vector<std::string>& known) {
  std::vector<std::pair<AppSpec, SpecNode>> apps;
  if (document.has("apps")) {
    if (Status s = document.only({"apps"}); !s) return makeError(s.error());
    auto items = document.child("apps").items();
    if (!items) return makeError(items.error());
    if (items->empty()) return makeError(document.child("apps").error("no apps"));
    for (const SpecNode& item : *items) {
      auto app = parseApp(item);
      if (!app) return makeError(app.error());
      apps.emplace_back(std::move(*app), item);
    }
  } else {
    auto app = parseApp(document);
    if (!app) return makeError(app.error());
    apps.emplace_back(std::move(*app), document);
  }
  if (Status s = validateTogether(apps, known); !s) return makeError(s.error());
  std::vector<AppSpec> out;
  for (auto& [app, node] : apps) out.push_back(std::move(app));
  return out;
}

Result<std::vector<AppSpec>> parseApps(const std::string& text, const std::string& source,
                                       const std::vector<std::string>& known) {
  auto document = SpecNode::parse(text, source);
  if (!document) return makeError(document.error());
  return parseApps(*document, known);
}

Result<AppSpec> withEnvironment(const AppSpec& app, const std::string& environment) {
  auto it = app.environments.find(environment);
  if (it == app.environments.end()) {
    std::string names;
    for (const auto& [name, overlay] : app.environments)
      names += (names.empty() ? "" : ", ") + name;
    return makeError(ErrorCode::kInvalidArgument,
                     "app " + app.id + " has no environment '" + environment + "'" +
                         (names.empty() ? " (it has none)" : " (it has: " + names + ")"));
  }
  AppSpec out = app;
  if (it->second.instances) out.instances = *it->second.instances;
  for (const auto& [key, value] : it->second.env) {
    bool replaced = false;
    for (auto& pair : out.env) {
      if (pair.first == key) pair.second = value, replaced = true;
    }
    if (!replaced) out.env.emplace_back(key, value);
  }
  return out;
}

}  // namespace agora::service
