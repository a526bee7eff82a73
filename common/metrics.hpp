#pragma once
// Prometheus metrics for one daemon: a thin layer over prometheus-cpp core
// (no civetweb Exposer: /metrics is served by our own HttpServer).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/http_server.hpp"

namespace agora {

// Thread-safe. Returned families and metrics stay valid as long as this object.
class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry();
  // Prometheus text exposition format (version 0.0.4).
  std::string serialize() const;

  // Families are created once and cached by name; `help` of later calls is ignored.
  // REQUIRES: `name` is a valid metric name not used by a family of another type
  // (prometheus-cpp throws otherwise: a programming error).
  prometheus::Family<prometheus::Counter>& counterFamily(const std::string& name,
                                                         const std::string& help);
  prometheus::Family<prometheus::Gauge>& gaugeFamily(const std::string& name,
                                                     const std::string& help);
  // The same name and labels always return the same metric.
  prometheus::Counter& counter(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels = {});
  prometheus::Gauge& gauge(const std::string& name, const std::string& help,
                           const std::map<std::string, std::string>& labels = {});

  // Registers GET /metrics (text/plain; version=0.0.4). The route shares the
  // registry, so it stays valid even if this object is destroyed first.
  // REQUIRES: server not started yet.
  void serveOn(http::HttpServer& server);

 private:
  // Shared with the /metrics route of every server this was served on.
  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex mutex_;  // guards the two caches
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counterFamilies_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gaugeFamilies_;
};

}  // namespace agora
