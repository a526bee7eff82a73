#pragma once
// Command-line flags on Boost.Program_options with a uniform --help.

#include <boost/program_options.hpp>
#include <string>

#include "common/result.hpp"

namespace agora {

namespace po = boost::program_options;

// Parses argv into `vm`. Returns false (after printing usage to stdout) when
// --help was given; an Error names the bad flag.
Result<bool> parseFlags(int argc, char** argv, const std::string& usage,
                        po::options_description& options, po::variables_map& vm);

// Splits "HOST:PORT"; an Error if malformed.
Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address);

}  // namespace agora
