#include "common/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace agora {

namespace {

constexpr const char* kExpositionContentType = "text/plain; version=0.0.4";

std::string serializeRegistry(const prometheus::Registry& registry) {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry.Collect());
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

prometheus::Registry& Metrics::registry() { return *registry_; }

std::string Metrics::serialize() const { return serializeRegistry(*registry_); }

prometheus::Family<prometheus::Counter>& Metrics::counterFamily(const std::string& name,
                                                                const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& family = counterFamilies_[name];
  if (family == nullptr)
    family = &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
  return *family;
}

prometheus::Family<prometheus::Gauge>& Metrics::gaugeFamily(const std::string& name,
                                                            const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& family = gaugeFamilies_[name];
  if (family == nullptr)
    family = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
  return *family;
}

prometheus::Counter& Metrics::counter(const std::string& name, const std::string& help,
                                      const std::map<std::string, std::string>& labels) {
  // Family::Add is itself thread-safe and returns the existing metric for known labels.
  return counterFamily(name, help).Add(labels);
}

prometheus::Gauge& Metrics::gauge(const std::string& name, const std::string& help,
                                  const std::map<std::string, std::string>& labels) {
  return gaugeFamily(name, help).Add(labels);
}

void Metrics::serveOn(http::HttpServer& server) {
  server.route("GET", "/metrics", [registry = registry_](const http::Request&) {
    http::Response response;
    response.contentType = kExpositionContentType;
    response.body = serializeRegistry(*registry);
    return response;
  });
}

}  // namespace agora
