#pragma once
// Server-sent events (text/event-stream) as a client reads them: feed()
// takes the body in whatever chunks it arrives and returns each complete
// event's id and data (multi-line data joined with '\n'; comments and
// other fields dropped).

#include <string>
#include <string_view>
#include <vector>

namespace agora::http {

class SseParser {
 public:
  struct Message {
    std::string id;
    std::string data;
  };
  std::vector<Message> feed(std::string_view chunk);

 private:
  std::string pending_;
};

}  // namespace agora::http
