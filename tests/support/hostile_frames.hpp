#pragma once
// Frames no honest peer sends, for tests of what the daemons do with them.

#include <algorithm>
#include <cstdint>
#include <string>

namespace agora::testing {

// A packed Cap'n Proto frame declaring one segment of `words` zero words:
// two bytes of frame stand for 256 words of segment, so 64 KiB declare 8M
// words (64 MiB) that a reader would allocate and zero-fill.
inline std::string zeroBomb(uint32_t words) {
  // Segment table word: 0 (one segment), then `words`, little-endian.
  uint8_t table[8] = {0, 0, 0, 0, static_cast<uint8_t>(words), static_cast<uint8_t>(words >> 8),
                      static_cast<uint8_t>(words >> 16), static_cast<uint8_t>(words >> 24)};
  uint8_t tag = 0;
  std::string nonZero;
  for (int i = 0; i < 8; ++i) {
    if (table[i] != 0) {
      tag = static_cast<uint8_t>(tag | (1u << i));
      nonZero.push_back(static_cast<char>(table[i]));
    }
  }
  std::string frame(1, static_cast<char>(tag));
  frame += nonZero;
  for (uint32_t left = words; left > 0;) {
    uint32_t run = std::min<uint32_t>(left, 256);  // a zero word, then up to 255 more
    frame.push_back('\0');
    frame.push_back(static_cast<char>(run - 1));
    left -= run;
  }
  return frame;
}

}  // namespace agora::testing
