// DirRemover on real directories: a discarded tree leaves its place at once
// and is gone once the remover finishes; leftovers in the trash are removed
// by the next remover; a missing path is nothing; a tree on another
// filesystem than the trash is removed in place.

#include "agent/dir_remover.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class DirRemoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "agora-remover-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A tree of `files` files under DIR/NAME.
  std::string makeTree(const std::string& base, const std::string& name, int files) {
    std::string root = base + "/" + name;
    fs::create_directories(root + "/a/b");
    for (int i = 0; i < files; ++i) std::ofstream(root + "/a/b/f" + std::to_string(i)) << i;
    return root;
  }
  size_t entries(const std::string& path) {
    std::error_code ec;
    return static_cast<size_t>(std::distance(fs::directory_iterator(path, ec), {}));
  }

  std::string dir_;
};

TEST_F(DirRemoverTest, ADiscardedTreeLeavesAtOnceAndIsGoneWhenTheRemoverFinishes) {
  std::string trash = dir_ + "/trash";
  {
    DirRemover remover(trash);
    for (int i = 0; i < 20; ++i) {
      std::string tree = makeTree(dir_, "tree" + std::to_string(i), 50);
      remover.discard(tree);
      EXPECT_FALSE(fs::exists(tree)) << "still in place: " << tree;
    }
  }
  EXPECT_EQ(entries(trash), 0u) << "the remover finished with trees left in its trash";
}

TEST_F(DirRemoverTest, TreesLeftInTheTrashAreRemovedByTheNextRemover) {
  std::string trash = dir_ + "/trash";
  makeTree(trash, "left-by-a-crash", 10);
  { DirRemover remover(trash); }
  EXPECT_EQ(entries(trash), 0u);
}

TEST_F(DirRemoverTest, AMissingPathIsNothingToDo) {
  DirRemover remover(dir_ + "/trash");
  remover.discard(dir_ + "/never-was");
  EXPECT_EQ(remover.pending(), 0u);
}

TEST_F(DirRemoverTest, ATreeOnAnotherFilesystemIsRemovedInPlace) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  std::string other = "/dev/shm/agora-remover-XXXXXX";
  ASSERT_NE(mkdtemp(other.data()), nullptr);
  DirRemover remover(dir_ + "/trash");
  std::string tree = makeTree(other, "tree", 5);
  remover.discard(tree);
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_EQ(remover.pending(), 0u);
  fs::remove_all(other);
}

}  // namespace
}  // namespace agora::agent
