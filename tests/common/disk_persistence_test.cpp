// Persistent volumes in Resources: distinct by their persistence, never
// split, plain reserved disk once their persistence is dropped, and carried
// through Cap'n Proto.

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "common/resources.hpp"
#include "tests/common/resource_helpers.hpp"

namespace agora {
namespace {

using agora::testing::capnpRoundTrip;
using agora::testing::res;

Resources volume(const std::string& disk, const std::string& id, const std::string& path,
                 bool readOnly = false) {
  return agora::testing::volume(disk, id, path, readOnly, "ops");
}

TEST(DiskPersistenceTest, VolumesAreDistinctAndNeverSplit) {
  Resources v1 = volume("disk(eng):100", "v1", "data");
  Resources v2 = volume("disk(eng):100", "v2", "data");
  EXPECT_EQ(v1.toString(), "disk(eng)[v1:data:rw]:100");
  Resources all = res("disk(eng):50") + v1 + v2;
  EXPECT_TRUE(all.contains(v1));
  EXPECT_TRUE(all.contains(v2));
  EXPECT_FALSE(all.contains(res("disk(eng):100")));  // a volume's disk is not plain disk
  EXPECT_FALSE(all.contains(volume("disk(eng):50", "v1", "data")));  // never a part of it
  EXPECT_FALSE(all.contains(volume("disk(eng):100", "v1", "other")));
  EXPECT_EQ((all - v1).toString(), "disk(eng):50;disk(eng)[v2:data:rw]:100");
  EXPECT_EQ(all.volumes(), v1 + v2);
  EXPECT_EQ(all.withoutPersistence().toString(), "disk(eng):250");
  EXPECT_EQ(all.flatten().toString(), "disk:250");
  EXPECT_DOUBLE_EQ(all.scalar("disk"), 250);
  ASSERT_EQ(all.byReservation().size(), 1u);  // one reservation, volumes included
  EXPECT_EQ(all.byReservation()[0].second, all);
  auto list = all.volumeList();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].disk.id, "v1");
  EXPECT_EQ(list[0].reservation.role, "eng");
  EXPECT_EQ(list[0].resources, v1);
}

TEST(DiskPersistenceTest, OnlyReservedDiskOfOneReservationBecomesAVolume) {
  DiskPersistence disk{"v1", "", "data", false};
  EXPECT_FALSE(res("disk:10").toVolume(disk).has_value());
  EXPECT_FALSE(res("cpus(eng):1").toVolume(disk).has_value());
  EXPECT_FALSE(res("disk(eng):1;disk(ops):1").toVolume(disk).has_value());
  EXPECT_FALSE(res("disk(eng):1;mem(eng):1").toVolume(disk).has_value());
  for (const char* id : {"", ".", "..", "a/b", "a b", "\xc3\xa9"}) {
    EXPECT_FALSE(res("disk(eng):1").toVolume({id, "", "data", false}).has_value()) << id;
  }
  EXPECT_TRUE(res("disk(eng,dynamic:ops):1").toVolume(disk).has_value());
}

TEST(DiskPersistenceTest, WireFormKeepsThePersistence) {
  Resources r = res("cpus:1;disk(eng,dynamic:p):5") + volume("disk(eng):100", "v1", "/srv", true);
  EXPECT_EQ(capnpRoundTrip(r), r);
  EXPECT_EQ(capnpRoundTrip(r).volumeList().at(0).disk, (DiskPersistence{"v1", "ops", "/srv", true}));
}

TEST(DiskPersistenceTest, WireFormRefusesAVolumeThatIsNotReservedDisk) {
  for (const char* name : {"cpus", "disk"}) {
    capnp::MallocMessageBuilder holder;
    auto list = holder.initRoot<capnp::AnyPointer>().initAs<capnp::List<schema::Resource>>(1);
    list[0].setName(name);
    list[0].setScalar(1);
    if (std::string(name) == "cpus") list[0].setRole("eng");
    list[0].initDisk().initPersistence().setId("v1");
    auto parsed = Resources::fromCapnp(list.asReader());
    ASSERT_FALSE(parsed.has_value()) << name;
    EXPECT_NE(parsed.error().message.find("only reserved disk"), std::string::npos)
        << parsed.error().message;
  }
}

}  // namespace
}  // namespace agora
