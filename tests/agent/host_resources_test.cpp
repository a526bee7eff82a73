// The agent's --resources flag: detected defaults, overrides and static
// reservations.

#include "agent/host_resources.hpp"

#include <gtest/gtest.h>

namespace agora::agent {
namespace {

TEST(HostResourcesTest, StaticReservationsReplaceTheDetectedAmounts) {
  auto r = hostResources("/tmp",
                         "cpus(eng):2;mem(eng):1024;cpus:6;mem:8192;ports(eng):[31000-31100]");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->scalar("cpus"), 8);
  EXPECT_DOUBLE_EQ(r->unreservedScalar("mem"), 8192);
  EXPECT_EQ(r->reservedFor("eng").toString(),
            "cpus(eng):2;mem(eng):1024;ports(eng):[31000-31100]");
  // The given ports (reserved or not) replace the default range.
  EXPECT_EQ(r->rangeCount("ports"), 101u);
  EXPECT_GT(r->unreservedScalar("disk"), 0);  // still detected
}

TEST(HostResourcesTest, RefusesInvalidRolesAndDynamicReservations) {
  auto bad = hostResources("/tmp", "cpus(eng/../x):1");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("--resources"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("invalid role 'eng/../x'"), std::string::npos)
      << bad.error().message;
  auto dynamic = hostResources("/tmp", "cpus(eng,dynamic):1");
  ASSERT_FALSE(dynamic.has_value());
  EXPECT_NE(dynamic.error().message.find("only statically"), std::string::npos);
}

}  // namespace
}  // namespace agora::agent
