#include "cli/events_command.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "cli/arguments.hpp"
#include "cli/master_client.hpp"
#include "cli/output.hpp"
#include "common/http_client.hpp"
#include "common/model.hpp"
#include "common/sse.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "Usage: agora events [-f] [--type TYPE[,TYPE]] [--framework ID] [--snapshot] [--recent]\n"
    "                    [-o json]\n\n"
    "The master's events: agents joining and leaving, frameworks subscribing and failing\n"
    "over, every task state change, offers, reservations, quota and weights.\n"
    "Without -f: the recent events the master holds. With -f: every event from now on until\n"
    "Ctrl-C; a dropped connection is resumed where it stopped. TYPE: agent, framework, task,\n"
    "offer, role, master. -o json prints each event's JSON on one line.";
constexpr auto kReconnectDelay = std::chrono::seconds(1);

std::string str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const json& v = object[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string clockTime(double wallSeconds) {
  std::time_t t = static_cast<std::time_t>(wallSeconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

std::string resourcesText(const json& resources) {
  std::string out;
  if (!resources.is_object()) return out;
  for (const auto& [name, value] : resources.items()) {
    if (!out.empty()) out += ";";
    out += name + ":" + (value.is_number() ? formatNumber(value.get<double>()) : value.dump());
  }
  return out;
}

std::string withReason(const json& object) {
  std::string reason = str(object, "reason");
  return reason.empty() ? "" : ": " + reason;
}

}  // namespace

Result<EventsRequest> parseEventsArgs(const std::vector<std::string>& args, GlobalOptions& global) {
  EventsRequest out;
  po::options_description options("Options");
  options.add_options()("follow,f", po::bool_switch(&out.follow), "follow new events until Ctrl-C")(
      "type", po::value<std::string>(&out.types), "only these types (comma list): agent, "
                                                   "framework, task, offer, role, master")(
      "framework", po::value<std::string>(&out.frameworkId), "only events of this framework")(
      "snapshot", po::bool_switch(&out.snapshot), "start with the cluster's state")(
      "recent", po::bool_switch(&out.recent), "with -f: start with the recent events")(
      "output,o", po::value<std::string>()->default_value("lines"), "lines or json");
  auto parsed = parseArgs(kUsage, args, options, global);
  if (!parsed) return makeError(parsed.error());
  if (parsed->help) {
    out.help = true;
    return out;
  }
  std::string format = parsed->vm["output"].as<std::string>();
  if (format != "lines" && format != "json") {
    return makeError(ErrorCode::kInvalidArgument, "-o: '" + format + "' is not lines or json");
  }
  out.json = format == "json";
  return out;
}

std::string eventsPath(const EventsRequest& request) {
  std::string from = request.snapshot                     ? "snapshot"
                     : (!request.follow || request.recent) ? "oldest"
                                                          : "now";
  std::string path = "/api/v1/events?from=" + from +
                     "&follow=" + (request.follow ? "true" : "false");
  if (!request.types.empty()) path += "&types=" + http::urlEncode(request.types);
  if (!request.frameworkId.empty()) path += "&framework_id=" + http::urlEncode(request.frameworkId);
  return path;
}

std::string describeEvent(const json& event) {
  std::string type = str(event, "type");
  std::string out = clockTime(event.value("time", 0.0)) + " " + type;
  out.resize(std::max<size_t>(out.size(), 32), ' ');
  if (type == "snapshot") {
    const json& state = event.contains("state") ? event["state"] : json::object();
    auto count = [&](const char* key) {
      return std::to_string(state.contains(key) && state[key].is_array() ? state[key].size() : 0);
    };
    return out + count("agents") + " agents, " + count("frameworks") + " frameworks, " +
           count("tasks") + " tasks";
  }
  if (event.contains("task")) {
    const json& t = event["task"];
    std::string reason = str(t, "reason");
    out += str(t, "id") + " " + str(t, "state");
    if (!reason.empty() && reason != "REASON_NONE") out += " (" + reason + ")";
    out += " on " + str(t, "agent_id") + ", framework " + str(t, "framework_id");
    if (!str(t, "message").empty()) out += ": " + str(t, "message");
    return out;
  }
  if (event.contains("agent")) {
    const json& a = event["agent"];
    return out + str(a, "id") + " (" + str(a, "hostname") + ")" + withReason(a);
  }
  if (event.contains("framework")) {
    const json& f = event["framework"];
    return out + str(f, "id") + " (" + str(f, "name") + ")" + withReason(f);
  }
  if (event.contains("offer")) {
    const json& o = event["offer"];
    if (type == "offer_sent") {
      return out + str(o, "id") + " to " + str(o, "framework_id") + " on " + str(o, "agent_id") +
             ": " + resourcesText(o["resources"]);
    }
    return out + str(o, "id") + withReason(o);
  }
  if (event.contains("role")) {
    const json& r = event["role"];
    if (r.contains("agent_id")) {
      return out + "agent " + str(r, "agent_id") + " reserved " + str(r, "reserved") +
             (str(r, "volumes").empty() ? "" : ", volumes " + str(r, "volumes"));
    }
    if (r.contains("weight")) return out + str(r, "name") + " weight " + str(r, "weight");
    return out + str(r, "name") + " quota " + (r.contains("quota") ? r["quota"].dump() : "");
  }
  if (event.contains("master")) return out + str(event["master"], "id") + " leading";
  return out;
}

int eventsCommand(const std::vector<std::string>& args, GlobalOptions global) {
  auto request = parseEventsArgs(args, global);
  if (!request) return fail(request.error());
  if (request->help) return 0;
  MasterClient master(global.master);
  std::string lastId;
  bool pretty = false;  // one event per line, always
  while (true) {
    http::SseParser parser;
    std::map<std::string, std::string> headers;
    if (!lastId.empty()) headers["Last-Event-ID"] = lastId;
    bool printed = false;
    Status streamed = master.stream(eventsPath(*request), headers, [&](std::string_view chunk) {
      for (auto& message : parser.feed(chunk)) {
        lastId = message.id;
        auto event = json::parse(message.data, nullptr, false);
        if (request->json || event.is_discarded()) {
          writeJson(std::cout, message.data, pretty);
        } else {
          if (!printed && str(event, "type") == "snapshot" && headers.count("Last-Event-ID")) {
            std::cerr << "agora: the master could not resume the stream (restarted or too far "
                         "behind); this is its state now"
                      << std::endl;
          }
          std::cout << describeEvent(event) << "\n";
        }
        printed = true;
      }
      std::cout.flush();
      return static_cast<bool>(std::cout);
    });
    if (!request->follow) return streamed ? 0 : fail(streamed.error());
    if (!std::cout) return 0;
    if (!streamed && streamed.error().code == ErrorCode::kInvalidArgument) {
      return fail(streamed.error());
    }
    std::cerr << "agora: event stream "
              << (streamed ? "ended" : "lost: " + streamed.error().message)
              << "; reconnecting" << std::endl;
    std::this_thread::sleep_for(kReconnectDelay);
  }
}

}  // namespace agora::cli
