#include "cli/keygen_command.hpp"

#include <filesystem>
#include <iostream>

#include "cli/arguments.hpp"
#include "common/curve.hpp"

namespace agora::cli {

namespace {

const char* kUsage =
    "Usage: agora keygen PREFIX\n"
    "Writes a CurveZMQ key pair: PREFIX.key (both keys; readable by you only) and PREFIX.pub\n"
    "(the public key, to give to the other side). A master's credentials directory holds\n"
    "agents/NAME.pub and frameworks/NAME.pub: NAME is the principal of that key.\n";

}  // namespace

int keygenCommand(const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string& prefix = args[0];
  std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  auto pair = generateCurveKeyPair();
  if (!pair) return fail(pair.error());
  if (Status written = writeCurveKeyPair(prefix, *pair); !written) return fail(written.error());
  std::cout << "wrote " << prefix << ".key and " << prefix << ".pub\npublic key: "
            << pair->publicKey << std::endl;
  return 0;
}

}  // namespace agora::cli
