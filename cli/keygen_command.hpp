#pragma once
// `agora keygen PREFIX`: a CurveZMQ key pair in PREFIX.key (owner-only) and
// PREFIX.pub, for a master, an agent or a framework principal
// (common/curve.hpp). Refuses to overwrite either file.

#include <string>
#include <vector>

namespace agora::cli {

int keygenCommand(const std::vector<std::string>& args);

}  // namespace agora::cli
