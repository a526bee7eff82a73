#include "common/sse.hpp"

#include <gtest/gtest.h>

namespace agora::http {
namespace {

TEST(SseParserTest, EventsSplitAnywhereComeOutWholeAndCommentsAreDropped) {
  std::string body =
      ": keepalive\n\nid: s:1\ndata: {\"a\":1}\n\nid: s:2\ndata: line one\ndata: line two\n\n"
      "id:s:3\ndata:{}\n\n";
  // Fed a byte at a time, and in one piece: the same events.
  SseParser bytewise;
  std::vector<SseParser::Message> got;
  for (char c : body) {
    for (auto& m : bytewise.feed(std::string_view(&c, 1))) got.push_back(m);
  }
  SseParser whole;
  auto all = whole.feed(body);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(got[0].id, "s:1");
  EXPECT_EQ(got[0].data, "{\"a\":1}");
  EXPECT_EQ(got[1].data, "line one\nline two");
  EXPECT_EQ(got[2].id, "s:3");
  EXPECT_EQ(got[2].data, "{}");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(all[i].data, got[i].data);
  // An unfinished event waits for its end.
  EXPECT_TRUE(whole.feed("id: s:4\ndata: {\"b\"").empty());
  auto rest = whole.feed(":2}\n\n");
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].data, "{\"b\":2}");
}

TEST(SseParserTest, KeepsTheEventType) {
  SseParser parser;
  auto got = parser.feed("event: app_changed\nid: 7\ndata: {}\n\nid: 8\ndata: x\n\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event, "app_changed");
  EXPECT_EQ(got[0].id, "7");
  EXPECT_EQ(got[1].event, "");
}

}  // namespace
}  // namespace agora::http
