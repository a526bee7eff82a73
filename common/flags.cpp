#include "common/flags.hpp"

#include <charconv>
#include <iostream>

namespace agora {

Result<bool> parseFlags(int argc, char** argv, const std::string& usage,
                        po::options_description& options, po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << options << std::endl;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return makeError(ErrorCode::kInvalidArgument, e.what());
  }
  return true;
}

Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return makeError(ErrorCode::kInvalidArgument, "'" + address + "' is not HOST:PORT");
  }
  unsigned port = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port > 65535) {
    return makeError(ErrorCode::kInvalidArgument, "'" + address + "' has an invalid port");
  }
  return std::make_pair(address.substr(0, colon), static_cast<uint16_t>(port));
}

}  // namespace agora
