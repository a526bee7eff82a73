#pragma once
// Resources for tests, from text: a parse error fails the calling test (and
// gives empty resources) instead of throwing.

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <string>

#include "common/resources.hpp"

namespace agora::testing {

inline Resources res(const std::string& text) {
  auto parsed = Resources::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
  return parsed.value_or(Resources());
}

// `disk` (reserved disk of one reservation, e.g. "disk(eng):100") as the
// persistent volume `id` seen by tasks at `path`.
inline Resources volume(const std::string& disk, const std::string& id, const std::string& path,
                        bool readOnly = false, const std::string& principal = "") {
  auto made = res(disk).toVolume(DiskPersistence{id, principal, path, readOnly});
  EXPECT_TRUE(made.has_value()) << made.error().message;
  return made.value_or(Resources());
}

// `resources` through their wire form and back.
inline Resources capnpRoundTrip(const Resources& resources) {
  capnp::MallocMessageBuilder holder;
  auto list = holder.initRoot<capnp::AnyPointer>().initAs<capnp::List<schema::Resource>>(
      resources.count());
  resources.toCapnp(list);
  auto back = Resources::fromCapnp(list.asReader());
  EXPECT_TRUE(back.has_value()) << back.error().message;
  return back.value_or(Resources());
}

}  // namespace agora::testing
