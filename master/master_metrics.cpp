#include "master/master_metrics.hpp"

#include <cmath>
#include <cstdio>

namespace agora::master {

uint64_t MasterMetrics::rejectedCount(const std::string& reason) const {
  auto it = rejected_.find(reason);
  return it == rejected_.end() ? 0 : it->second;
}

uint64_t MasterMetrics::rejectedTotal() const {
  uint64_t total = 0;
  for (const auto& [reason, n] : rejected_) total += n;
  return total;
}

uint64_t MasterMetrics::messagesInCount(const std::string& protocol,
                                        const std::string& type) const {
  auto it = messagesIn_.find({protocol, type});
  return it == messagesIn_.end() ? 0 : it->second;
}

void appendFamilyHeader(std::string& out, const std::string& name, const std::string& type,
                        const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void appendSample(std::string& out, const std::string& name,
                  const std::map<std::string, std::string>& labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += "{";
    bool first = true;
    for (const auto& [key, raw] : labels) {
      out += (first ? "" : ",") + key + "=\"";
      for (char c : raw) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      out += "\"";
      first = false;
    }
    out += "}";
  }
  char buffer[64];
  if (std::floor(value) == value && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), " %.0f\n", value);
  } else {
    std::snprintf(buffer, sizeof(buffer), " %.6g\n", value);
  }
  out += buffer;
}

std::string MasterMetrics::render() const {
  std::string out;
  appendFamilyHeader(out, "agora_messages_in_total", "counter",
                     "Frames received and accepted, by protocol and message type.");
  for (const auto& [labels, n] : messagesIn_) {
    appendSample(out, "agora_messages_in_total",
                 {{"protocol", labels.first}, {"type", labels.second}}, static_cast<double>(n));
  }
  appendFamilyHeader(out, "agora_messages_out_total", "counter",
                     "Frames sent, by protocol and message type.");
  for (const auto& [labels, n] : messagesOut_) {
    appendSample(out, "agora_messages_out_total",
                 {{"protocol", labels.first}, {"type", labels.second}}, static_cast<double>(n));
  }
  appendFamilyHeader(out, "agora_messages_rejected_total", "counter",
                     "Frames dropped without being served, by reason.");
  for (const auto& [reason, n] : rejected_) {
    appendSample(out, "agora_messages_rejected_total", {{"reason", reason}},
                 static_cast<double>(n));
  }
  const std::pair<const char*, uint64_t> offers[] = {{"sent", offersSent_},
                                                     {"declined", offersDeclined_},
                                                     {"accepted", offersAccepted_},
                                                     {"rescinded", offersRescinded_}};
  for (const auto& [what, n] : offers) {
    std::string name = std::string("agora_master_offers_") + what + "_total";
    appendFamilyHeader(out, name, "counter", std::string("Offers ") + what + ".");
    appendSample(out, name, {}, static_cast<double>(n));
  }
  return out;
}

}  // namespace agora::master
