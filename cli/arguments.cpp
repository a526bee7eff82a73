#include "cli/arguments.hpp"

#include <iostream>
#include <regex>
#include <set>

namespace agora::cli {

namespace {

// "-1", "-0.5", "-.5": a value, not a short option.
bool isNegativeNumber(const std::string& token) {
  static const std::regex kNumber(R"(-(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)");
  return std::regex_match(token, kNumber);
}

// Runs before Boost's own style parsers: a negative number becomes a
// positional value (Boost would read "-1" as the short option "1"). A
// negative number after an option that takes a value is already its value.
std::vector<po::option> negativeNumberAsValue(std::vector<std::string>& args) {
  if (args.empty() || !isNegativeNumber(args[0])) return {};
  po::option value;
  value.value.push_back(args[0]);
  value.original_tokens.push_back(args[0]);
  args.erase(args.begin());
  return {value};
}

// The options --help lists: all but those filled from positional arguments,
// which the usage line names (TASK_ID, ROLE...) instead of by their internal name.
po::options_description visibleOptions(const po::options_description& options,
                                       const po::positional_options_description* positional) {
  std::set<std::string> hidden;
  if (positional != nullptr) {
    unsigned count = positional->max_total_count();
    // An unlimited last name repeats: asking one past the named ones is enough.
    unsigned limit = std::min(count, 64u);
    for (unsigned i = 0; i < limit; ++i) hidden.insert(positional->name_for_position(i));
  }
  po::options_description visible("Options");  // every command names its options so
  for (const auto& option : options.options()) {
    if (!hidden.count(option->long_name())) visible.add(option);
  }
  return visible;
}

}  // namespace

Result<ParsedArgs> parseArgs(const std::string& usage, const std::vector<std::string>& args,
                             po::options_description& options, GlobalOptions& global,
                             const po::positional_options_description* positional,
                             bool withScheduler) {
  options.add_options()("help,h", "show this help")(
      "master", po::value<std::string>(),
      "the master's HTTP API, HOST:PORT (env AGORA_MASTER; default 127.0.0.1:5050)");
  if (withScheduler) {
    options.add_options()("scheduler-endpoint", po::value<std::string>(),
                          "the master's scheduler endpoint (env AGORA_SCHEDULER_ENDPOINT; "
                          "default tcp://127.0.0.1:5055)");
  }
  ParsedArgs out;
  try {
    po::command_line_parser parser(args);
    parser.options(options).extra_style_parser(negativeNumberAsValue);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), out.vm);
    if (out.vm.count("help")) {
      std::cout << usage << "\n\n" << visibleOptions(options, positional) << std::flush;
      out.help = true;
      return out;
    }
    po::notify(out.vm);
  } catch (const po::too_many_positional_options_error&) {
    return makeError(ErrorCode::kInvalidArgument, "too many arguments (see --help)");
  } catch (const po::error& e) {
    return makeError(ErrorCode::kInvalidArgument, std::string(e.what()) + " (see --help)");
  }
  if (out.vm.count("master")) global.master = out.vm["master"].as<std::string>();
  if (out.vm.count("scheduler-endpoint")) {
    global.schedulerEndpoint = out.vm["scheduler-endpoint"].as<std::string>();
    global.schedulerEndpointGiven = true;
  }
  return out;
}

int fail(const Error& error) {
  std::cerr << "agora: " << error.message << std::endl;
  return error.code == ErrorCode::kInvalidArgument ? kExitUsage : kExitError;
}

}  // namespace agora::cli
