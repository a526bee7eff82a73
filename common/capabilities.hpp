#pragma once
// Linux capability names as tasks spell them (ContainerInfo.capAdd/capDrop):
// "SYS_ADMIN" or "CAP_SYS_ADMIN", any case, or "ALL". Names and numbers come
// from libcap, so a name is known when libcap knows it; whether the running
// kernel has it is the agent's question (see kernelLastCapability()).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace agora {

// A bit per capability number (bit N is capability N).
using CapabilitySet = uint64_t;

constexpr const char* kAllCapabilities = "ALL";

// The capability's number. kInvalidArgument naming it when unknown.
Result<int> parseCapability(const std::string& name);

// "SYS_ADMIN" for 21; "CAP_<N>" for a number libcap has no name for.
std::string capabilityName(int capability);

// "CHOWN,KILL,..." in number order.
std::string capabilityNames(CapabilitySet set);

// Docker's default capability set: CHOWN, DAC_OVERRIDE, FSETID, FOWNER,
// MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE,
// SYS_CHROOT, KILL, AUDIT_WRITE.
CapabilitySet defaultCapabilities();

// Every name parses (or is "ALL") and no name is both added and dropped.
// Errors name the field: "capAdd: unknown capability 'FOO'".
Status validateCapabilityChanges(const std::vector<std::string>& add,
                                 const std::vector<std::string>& drop);

// (drop has ALL ? none : defaults) + add - drop, where ALL in add means
// every capability up to `lastCapability`. REQUIRES: the lists validate.
Result<CapabilitySet> resolveCapabilities(const std::vector<std::string>& add,
                                          const std::vector<std::string>& drop,
                                          int lastCapability);

}  // namespace agora
