#include <gtest/gtest.h>

#include <thread>

#include "master/snapshot.hpp"

namespace agora::master {
namespace {

std::shared_ptr<const Snapshot> snapshotWithState(const std::string& body) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->agentsBody = body;
  return snapshot;
}

TEST(SnapshotCellTest, RendersOnlyWhenAReaderAsksAfterAChange) {
  SnapshotCell cell;
  int renders = 0;
  cell.setRenderRequest([&] {
    ++renders;
    uint64_t generation = cell.generation();
    cell.publish(snapshotWithState("v" + std::to_string(generation)), generation);
  });
  EXPECT_TRUE(cell.stale());
  EXPECT_EQ(cell.get()->agentsBody, "v1");
  EXPECT_EQ(cell.get()->agentsBody, "v1");  // unchanged: no second render
  EXPECT_EQ(renders, 1);
  cell.markChanged();
  cell.markChanged();
  EXPECT_EQ(renders, 1);  // changes alone render nothing
  EXPECT_EQ(cell.get()->agentsBody, "v3");
  EXPECT_EQ(renders, 2);
}

TEST(SnapshotCellTest, ReaderWaitsForTheLoopThreadToRender) {
  SnapshotCell cell;
  std::thread loop;
  cell.setRenderRequest([&] {
    loop = std::thread([&] {
      uint64_t generation = cell.generation();
      cell.publish(snapshotWithState("fresh"), generation);
    });
  });
  EXPECT_EQ(cell.get(std::chrono::seconds(30))->agentsBody, "fresh");
  loop.join();
}

TEST(SnapshotCellTest, ABusyLoopYieldsTheLatestSnapshotAfterTheTimeout) {
  SnapshotCell cell;
  cell.publish(snapshotWithState("old"), cell.generation());
  cell.markChanged();
  cell.setRenderRequest([] {});  // the loop never gets to it
  EXPECT_EQ(cell.get(std::chrono::milliseconds(1))->agentsBody, "old");
}

}  // namespace
}  // namespace agora::master
