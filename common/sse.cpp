#include "common/sse.hpp"

#include <sstream>

namespace agora::http {

std::vector<SseParser::Message> SseParser::feed(std::string_view chunk) {
  pending_.append(chunk);
  std::vector<Message> out;
  size_t start = 0;
  while (true) {
    size_t end = pending_.find("\n\n", start);
    if (end == std::string::npos) break;
    Message message;
    size_t line = start;
    while (line < end) {
      size_t eol = pending_.find('\n', line);
      if (eol == std::string::npos || eol > end) eol = end;
      std::string_view text(pending_.data() + line, eol - line);
      if (text.rfind("id:", 0) == 0) {
        text.remove_prefix(3);
        if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
        message.id = text;
      } else if (text.rfind("event:", 0) == 0) {
        text.remove_prefix(6);
        if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
        message.event = text;
      } else if (text.rfind("data:", 0) == 0) {
        text.remove_prefix(5);
        if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
        if (!message.data.empty()) message.data += '\n';
        message.data += text;
      }
      line = eol + 1;
    }
    if (!message.data.empty()) out.push_back(std::move(message));
    start = end + 2;
  }
  pending_.erase(0, start);
  return out;
}

std::string sseFrame(const std::string& type, const std::string& id, const std::string& data) {
  std::string frame;
  frame.reserve(type.size() + id.size() + data.size() + 24);
  if (!type.empty()) {
    frame += "event: ";
    frame += type;
    frame += '\n';
  }
  frame += "id: ";
  frame += id;
  frame += "\ndata: ";
  frame += data;
  frame += "\n\n";
  return frame;
}

std::set<std::string> parseEventTypes(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

}  // namespace agora::http
