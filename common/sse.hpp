#pragma once
// Server-sent events (text/event-stream) as a client reads them: feed()
// takes the body in whatever chunks it arrives and returns each complete
// event's id, type and data (multi-line data joined with '\n'; comments and
// other fields dropped).

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace agora::http {

class SseParser {
 public:
  struct Message {
    std::string id;
    std::string data;
    std::string event = {};  // its `event:` type; "" when it names none ("message")
  };
  std::vector<Message> feed(std::string_view chunk);

 private:
  std::string pending_;
};

// One server-sent event as written on the wire: "event: TYPE" (when
// `type` is not empty), "id: ID", "data: DATA" and a blank line. REQUIRES:
// data is one line (e.g. compact JSON).
std::string sseFrame(const std::string& type, const std::string& id, const std::string& data);

// The names of an event stream's `?types=a,b` filter (empty names
// dropped; none: every type).
std::set<std::string> parseEventTypes(const std::string& text);

}  // namespace agora::http
