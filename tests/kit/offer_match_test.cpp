#include "frameworks/kit/offer_match.hpp"

#include <gtest/gtest.h>

namespace agora::kit {
namespace {

Resources res(const std::string& text) { return *Resources::parse(text); }

TEST(OfferFitTest, TakesTheReservationFirstThenUnreserved) {
  Resources offer = res("cpus(eng):1;mem(eng):256;cpus:2;mem:1024");
  EXPECT_EQ(fitToOffer(offer, res("cpus:0.5;mem:128")), res("cpus(eng):0.5;mem(eng):128"));
  EXPECT_EQ(fitToOffer(offer, res("cpus:1.5;mem:512")),
            res("cpus(eng):1;mem(eng):256;cpus:0.5;mem:256"));
  EXPECT_EQ(fitToOffer(offer, res("cpus:3;mem:64")), res("cpus(eng):1;cpus:2;mem(eng):64"));
  EXPECT_EQ(fitToOffer(offer, res("cpus:3.5")), std::nullopt);
  // Only unreserved: as asked.
  EXPECT_EQ(fitToOffer(res("cpus:2;mem:64"), res("cpus:1;mem:64")), res("cpus:1;mem:64"));
}

TEST(OfferFitTest, LeavesVolumesAloneAndTakesExplicitReservationsAsGiven) {
  Resources plain = res("disk(eng):100");
  Resources volume = *plain.toVolume(DiskPersistence{"logs", "", "data", false});
  Resources offer = volume + res("cpus:1;disk:50");
  EXPECT_EQ(fitToOffer(offer, res("cpus:1;disk:50")), res("cpus:1;disk:50"));
  EXPECT_EQ(fitToOffer(offer, res("cpus:1;disk:60")), std::nullopt);
  EXPECT_EQ(fitToOffer(offer, volume), volume);
  EXPECT_EQ(fitToOffer(res("cpus:2"), res("cpus(eng):1")), std::nullopt);
}

TEST(OfferFitTest, PlacesRangesInOnePool) {
  Resources offer = res("ports(eng):[31000-31010];ports:[32000-32010];cpus:1");
  EXPECT_EQ(fitToOffer(offer, res("cpus:1;ports:[31005-31005]")),
            res("cpus:1;ports(eng):[31005-31005]"));
  EXPECT_EQ(fitToOffer(offer, res("ports:[32001-32002]")), res("ports:[32001-32002]"));
  EXPECT_EQ(fitToOffer(offer, res("ports:[31010-32000]")), std::nullopt);
}

TEST(NamedPortsTest, TheLowestFreePortsByNameAndByPosition) {
  auto ports = takeNamedPorts(res("cpus:1;ports:[31000-31000,31005-31010]"), {"http", "admin"});
  ASSERT_TRUE(ports);
  EXPECT_EQ(ports->resources, res("ports:[31000-31000,31005-31005]"));
  EXPECT_EQ(ports->environment, (KeyValues{{"PORT_HTTP", "31000"},
                                           {"PORT_ADMIN", "31005"},
                                           {"PORT0", "31000"},
                                           {"PORT1", "31005"}}));
  EXPECT_FALSE(takeNamedPorts(res("ports:[31000-31000]"), {"a", "b"}));
  EXPECT_FALSE(takeNamedPorts(res("ports(eng):[31000-31001]"), {"a"}));  // reserved: not plain
  EXPECT_EQ(portVariable("http"), "PORT_HTTP");
}

}  // namespace
}  // namespace agora::kit
