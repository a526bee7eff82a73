#pragma once
// The service framework's HTTP API (on the runtime's, kit/api.hpp):
//
//   POST   /v1/apps[?env=NAME]  a spec (YAML or JSON: one app or `apps: [...]`):
//                               new or changed apps become their next version,
//                               kept before the answer {"applied": [{id, version}]}
//   GET    /v1/apps             [{id, version, instances, running}]
//   GET    /v1/apps/ID          the current version's spec, version, its tasks
//   GET    /v1/apps/ID/versions the kept versions
//   DELETE /v1/apps/ID          forgets the app; its tasks are killed
//
// Errors are {"error": ...}: 400 with file:line:column for a bad spec, 404
// for an unknown app, 503 while this instance does not lead yet.

#include "frameworks/kit/runtime.hpp"
#include "frameworks/service/app_registry.hpp"
#include "frameworks/service/service_framework.hpp"

namespace agora::service {

// REQUIRES: before the runtime starts; every argument outlives the runtime.
void installServiceApi(kit::Runtime& runtime, ServiceFramework& framework);

}  // namespace agora::service
