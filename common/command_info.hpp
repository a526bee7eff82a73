#pragma once
// A command to run (schemas/common.capnp CommandInfo): a task's, or a
// command check's. Its plain form and Cap'n Proto conversions.

#include <string>
#include <utility>
#include <vector>

#include "schemas/common.capnp.h"

namespace agora {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct CommandInfo {
  bool shell = true;
  std::string value;  // shell: the line; else argv[0] when `arguments` is empty
  std::vector<std::string> arguments;
  KeyValues environment;
  std::string user;  // empty: the agent's (a command check runs as its task does)
};

void toCapnp(const CommandInfo& in, schema::CommandInfo::Builder out);
// May throw kj::Exception on corrupt input: call inside catchDecode().
CommandInfo fromCapnp(schema::CommandInfo::Reader in);

}  // namespace agora
