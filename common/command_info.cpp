#include "common/command_info.hpp"

namespace agora {

void toCapnp(const CommandInfo& in, schema::CommandInfo::Builder out) {
  out.setShell(in.shell);
  out.setValue(in.value);
  auto args = out.initArguments(static_cast<unsigned>(in.arguments.size()));
  for (unsigned i = 0; i < in.arguments.size(); ++i) args.set(i, in.arguments[i]);
  auto env = out.initEnvironment(static_cast<unsigned>(in.environment.size()));
  for (unsigned i = 0; i < in.environment.size(); ++i) {
    env[i].setName(in.environment[i].first);
    env[i].setValue(in.environment[i].second);
  }
  out.setUser(in.user);
}

CommandInfo fromCapnp(schema::CommandInfo::Reader in) {
  CommandInfo out;
  out.shell = in.getShell();
  out.value = in.getValue();
  for (auto a : in.getArguments()) out.arguments.emplace_back(a);
  for (auto e : in.getEnvironment()) out.environment.emplace_back(e.getName(), e.getValue());
  out.user = in.getUser();
  return out;
}

}  // namespace agora
