#include "cli/service_command.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/framework_client.hpp"
#include "cli/output.hpp"
#include "cli/table.hpp"
#include "common/duration.hpp"
#include "common/http_client.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

const char* kUsage =
    "Usage: agora service SUBCOMMAND [ARGS] [--service HOST:PORT] [-o json]\n"
    "\n"
    "  apply -f FILE [--env E] [--detach]   apply an app spec (YAML/JSON, one app or `apps:`);\n"
    "                                        shows each deployment's progress and exits 0 when\n"
    "                                        they succeed, 1 with the reason when rolled back\n"
    "  list                                  apps: version, instances, healthy, deployment\n"
    "  status ID                             an app: its deployment and instances\n"
    "  scale ID N                            run N instances (nothing restarts)\n"
    "  restart ID                            replace every instance, min_health kept\n"
    "  rollback ID [--to VERSION]            deploy an earlier version again\n"
    "  promote ID                            promote the canaries of the running deployment\n"
    "  delete ID                             remove the app and kill its instances\n"
    "  history ID                            the app's kept versions\n"
    "  why ID                                why instances are missing, in words\n"
    "  deployments                           the latest deployment of each app\n"
    "\n"
    "The service framework is found through the master (its advertised API) unless\n"
    "--service HOST:PORT or AGORA_SERVICE says where. scale, restart and rollback wait\n"
    "for their deployment like apply unless --detach.";

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

std::string verdict(const json& v) { return v.is_boolean() ? (v.get<bool>() ? "yes" : "no") : "-"; }

// "v1 -> v2", or "new, v1" for a first deployment.
std::string versions(const json& d) {
  if (d.value("from_version", int64_t{0}) == 0) return "new, v" + text(d["to_version"]);
  return "v" + text(d["from_version"]) + " -> v" + text(d["to_version"]);
}

std::string progressLine(const std::string& app, const json& status) {
  const json& d = status["deployment"];
  const json& c = status["counts"];
  std::ostringstream out;
  out << app << ": deployment " << text(d["id"]) << " (" << versions(d)
      << (d.value("rollback", false) ? ", rollback" : "") << ") " << d.value("outcome", "") << ": "
      << d.value("status", "") << "  [new " << text(c["new"]) << ", healthy " << text(c["healthy"])
      << ", old " << text(c["old"]) << "]";
  return out.str();
}

// Follows the deployments of `apps` (app -> deployment ID; 0: the one
// running now) until each ended: 0 when all succeeded, 1 when one was rolled
// back (once its rollback ended), failed or was superseded.
int follow(const FrameworkClient& service, std::vector<std::pair<std::string, int64_t>> apps,
           Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, std::string> shown;
  std::set<std::string> done;
  int code = 0;
  while (done.size() < apps.size()) {
    for (auto& [app, started] : apps) {
      if (done.count(app)) continue;
      auto status = service.call("GET", "/v1/apps" + app);
      if (!status) return fail(status.error());
      const json& d = (*status)["deployment"];
      if (!d.is_object()) {
        done.insert(app);
        continue;
      }
      std::string line = progressLine(app, *status);
      if (shown[app] != line) std::cout << line << std::endl;
      shown[app] = line;
      int64_t id = d.value("id", int64_t{0});
      if (started == 0) started = id;
      std::string outcome = d.value("outcome", "running");
      if (outcome == "running" || outcome == "rolled_back") continue;  // a rollback follows
      done.insert(app);
      bool rolledBack = id != started && d.value("rollback", false);
      if (outcome == "succeeded" && !rolledBack) continue;
      code = 1;
      std::cerr << "agora: " << app << ": "
                << (rolledBack ? "rolled back (rollback " + outcome + "): " : outcome + ": ")
                << d.value("status", "") << std::endl;
    }
    if (done.size() == apps.size()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "agora: deployments still running after " << formatDuration(timeout)
                << " (agora service status ID shows them)" << std::endl;
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return code;
}

void printStatus(const json& s) {
  std::cout << "app:        " << text(s["id"]) << "\nversion:    " << text(s["version"])
            << "\ninstances:  " << text(s["spec"]["instances"]) << " wanted, "
            << text(s["counts"]["healthy"]) << " healthy\n";
  if (s["deployment"].is_object()) {
    const json& d = s["deployment"];
    std::cout << "deployment: " << text(d["id"]) << " (" << versions(d) << ") "
              << d.value("outcome", "") << ": " << d.value("status", "") << "\n";
  }
  if (s["held"].is_string()) std::cout << "waiting:    " << s["held"].get<std::string>() << "\n";
  Table table({"TASK", "VERSION", "HOST", "STATE", "HEALTHY", "READY", "MESSAGE"});
  for (const auto& t : s.value("tasks", json::array())) {
    table.addRow({text(t["id"]), text(t["version"]), text(t["hostname"]), text(t["state"]),
                  verdict(t["healthy"]), verdict(t["ready"]), text(t["message"])});
  }
  std::cout << "\n" << table.render() << std::flush;
}

}  // namespace

int serviceCommand(const std::vector<std::string>& args, GlobalOptions global) {
  po::options_description options("Options");
  options.add_options()("subcommand", po::value<std::string>(), "what to do")(
      "id", po::value<std::string>(), "the app")("count", po::value<std::string>(), "instances")(
      "file,f", po::value<std::string>(), "apply: the spec file ('-' for stdin)")(
      "env", po::value<std::string>()->default_value(""), "apply: the environment overlay")(
      "to", po::value<int64_t>(), "rollback: the version")("detach", po::bool_switch(),
                                                           "do not wait for the deployment")(
      "timeout", po::value<std::string>()->default_value("15m"), "how long to wait for it")(
      "service", po::value<std::string>(), "the service framework's API, HOST:PORT")(
      "output,o", po::value<std::string>()->default_value("table"), "table or json");
  po::positional_options_description positional;
  positional.add("subcommand", 1).add("id", 1).add("count", 1);
  auto parsed = parseArgs(kUsage, args, options, global, &positional);
  if (!parsed) return fail(parsed.error());
  if (parsed->help) return 0;
  const po::variables_map& vm = parsed->vm;
  if (!vm.count("subcommand")) return fail(Error{ErrorCode::kInvalidArgument, "which subcommand?"});
  std::string sub = vm["subcommand"].as<std::string>();
  bool json = vm["output"].as<std::string>() == "json";
  auto timeout = parseDuration(vm["timeout"].as<std::string>());
  if (!timeout)
    return fail(Error{ErrorCode::kInvalidArgument, "--timeout: " + timeout.error().message});
  std::string address = vm.count("service") ? vm["service"].as<std::string>() : "";
  if (address.empty()) {
    if (const char* env = std::getenv("AGORA_SERVICE")) address = env;
  }
  auto service = FrameworkClient::connect(address, global);
  if (!service) return fail(service.error());
  auto needId = [&]() -> Result<std::string> {
    if (!vm.count("id")) return makeError(ErrorCode::kInvalidArgument, sub + ": which app (ID)?");
    std::string id = vm["id"].as<std::string>();
    return id.empty() || id[0] != '/' ? "/" + id : id;
  };
  auto show = [&](const Result<nlohmann::json>& body, auto table) {
    if (!body) return fail(body.error());
    if (json) {
      printJson(body->dump());
    } else {
      table(*body);
    }
    return 0;
  };
  bool wait = !vm["detach"].as<bool>() && !json;

  if (sub == "apply") {
    if (!vm.count("file")) return fail(Error{ErrorCode::kInvalidArgument, "apply needs -f FILE"});
    std::string file = vm["file"].as<std::string>();
    std::stringstream body;
    if (file == "-") {
      body << std::cin.rdbuf();
    } else {
      std::ifstream in(file);
      if (!in) return fail(Error{ErrorCode::kNotFound, "cannot read " + file});
      body << in.rdbuf();
    }
    std::string env = vm["env"].as<std::string>();
    auto applied = service->call(
        "POST", "/v1/apps" + (env.empty() ? "" : "?env=" + http::urlEncode(env)), body.str());
    if (!applied) return fail(applied.error());
    if (json) return printJson(applied->dump()), 0;
    std::vector<std::pair<std::string, int64_t>> deployments;
    for (const auto& a : (*applied)["applied"]) {
      std::cout << text(a["id"]) << ": version " << text(a["version"]) << std::endl;
      deployments.emplace_back(a["id"].get<std::string>(), a.value("deployment", int64_t{0}));
    }
    if (deployments.empty()) std::cout << "nothing changed" << std::endl;
    return wait ? follow(*service, deployments, *timeout) : 0;
  }
  if (sub == "list") {
    return show(service->call("GET", "/v1/apps"), [](const nlohmann::json& body) {
      Table table({"APP", "VERSION", "INSTANCES", "HEALTHY", "DEPLOYMENT"});
      for (const auto& a : body["apps"]) {
        const auto& d = a["deployment"];
        table.addRow({text(a["id"]), text(a["version"]), text(a["instances"]),
                      text(a["counts"]["healthy"]),
                      d.is_object() ? d.value("outcome", "") + ": " + d.value("status", "") : "-"});
      }
      std::cout << table.render() << std::flush;
    });
  }
  if (sub == "deployments") {
    return show(service->call("GET", "/v1/deployments"), [](const nlohmann::json& body) {
      Table table({"ID", "APP", "FROM", "TO", "OUTCOME", "STATUS"});
      for (const auto& d : body["deployments"]) {
        table.addRow({text(d["id"]), text(d["app"]), text(d["from_version"]), text(d["to_version"]),
                      text(d["outcome"]), text(d["status"])});
      }
      std::cout << table.render() << std::flush;
    });
  }
  auto id = needId();
  if (!id) return fail(id.error());
  if (sub == "status") return show(service->call("GET", "/v1/apps" + *id), printStatus);
  if (sub == "history") {
    return show(service->call("GET", "/v1/apps" + *id + "/versions"), [](const nlohmann::json& b) {
      Table table({"VERSION", "CREATED", "INSTANCES", "RUNS"});
      for (const auto& v : b["versions"]) {
        const auto& spec = v["spec"];
        std::string runs = spec.contains("cmd")     ? text(spec["cmd"])
                           : spec.contains("image") ? text(spec["image"])
                                                    : text(spec.value("args", nlohmann::json()));
        table.addRow({text(v["version"]), formatUtc(v.value("created", 0.0)),
                      text(spec["instances"]), runs});
      }
      std::cout << table.render() << std::flush;
    });
  }
  if (sub == "why") {
    return show(service->call("GET", "/v1/apps" + *id + "/why"), [](const nlohmann::json& b) {
      std::cout << text(b["id"]) << ": " << text(b["live"]) << " of " << text(b["instances"])
                << " instances live, " << text(b["pending"]) << " pending\n";
      if (b["reasons"].empty()) std::cout << "  nothing holds it back\n";
      for (const auto& r : b["reasons"]) std::cout << "  - " << text(r) << "\n";
      std::cout << std::flush;
    });
  }
  if (sub == "delete") {
    return show(service->call("DELETE", "/v1/apps" + *id), [&](const nlohmann::json&) {
      std::cout << *id << ": removed; its instances are being killed" << std::endl;
    });
  }
  std::string path;
  if (sub == "promote" || sub == "restart") {
    path = "/v1/apps" + *id + "/" + sub;
  } else if (sub == "rollback") {
    path = "/v1/apps" + *id + "/rollback" +
           (vm.count("to") ? "?to=" + std::to_string(vm["to"].as<int64_t>()) : "");
  } else if (sub == "scale") {
    if (!vm.count("count")) return fail(Error{ErrorCode::kInvalidArgument, "scale ID N"});
    path = "/v1/apps" + *id + "/scale?instances=" + http::urlEncode(vm["count"].as<std::string>());
  } else {
    return fail(Error{ErrorCode::kInvalidArgument, "unknown subcommand '" + sub + "'"});
  }
  auto done = service->call("POST", path);
  if (!done) return fail(done.error());
  if (json) return printJson(done->dump()), 0;
  if (sub == "promote") {
    std::cout << *id << ": canaries promoted" << std::endl;
    return wait ? follow(*service, {{*id, 0}}, *timeout) : 0;
  }
  std::cout << *id << ": version " << text((*done)["version"]) << std::endl;
  return wait ? follow(*service, {{*id, done->value("deployment", int64_t{0})}}, *timeout) : 0;
}

}  // namespace agora::cli
