#pragma once
// Subcommand argument parsing on Boost.Program_options, with a uniform --help
// and the shared --master / --scheduler-endpoint flags.

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "common/result.hpp"

namespace agora::cli {

namespace po = boost::program_options;

struct ParsedArgs {
  po::variables_map vm;
  bool help = false;  // usage was printed; the command should exit 0
};

// Adds --help, --master and (withScheduler) --scheduler-endpoint to `options`,
// parses `args` and applies those flags to `global`. An Error names the bad
// argument.
Result<ParsedArgs> parseArgs(const std::string& usage, const std::vector<std::string>& args,
                             po::options_description& options, GlobalOptions& global,
                             const po::positional_options_description* positional = nullptr,
                             bool withScheduler = false);

// Prints "agora: <message>" to stderr and returns kExitUsage (bad arguments)
// or kExitError.
int fail(const Error& error);

}  // namespace agora::cli
