#include "cli/arguments.hpp"

#include <iostream>

namespace agora::cli {

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
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), out.vm);
    if (out.vm.count("help")) {
      std::cout << usage << "\n\n" << options << std::flush;
      out.help = true;
      return out;
    }
    po::notify(out.vm);
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
