// The framework's secret store: values kept durably by name, listed without
// them, validated like a task's secrets.

#include "frameworks/kit/secrets.hpp"

#include <gtest/gtest.h>

#include "common/task_secret.hpp"
#include "frameworks/kit/memory_store.hpp"

namespace agora::kit {
namespace {

TEST(SecretStoreTest, KeepsBytesByNameAndListsOnlyWhatTheyAre) {
  MemoryStore store;
  SecretStore secrets(store);
  EXPECT_EQ(secrets.find("db-pass"), nullptr);
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(secrets.set("db-pass", "hunter2", 100));
  ASSERT_TRUE(secrets.set("tls.key", binary, 101));
  ASSERT_TRUE(secrets.set("db-pass", "hunter3", 102));
  ASSERT_NE(secrets.find("db-pass"), nullptr);
  EXPECT_EQ(*secrets.find("db-pass"), "hunter3");
  auto listed = secrets.list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "db-pass");
  EXPECT_EQ((*listed)[0].version, 2u);
  EXPECT_EQ((*listed)[0].updated, 102);
  EXPECT_EQ((*listed)[0].bytes, 7u);
  EXPECT_EQ((*listed)[1].bytes, 4u);

  // Another instance (a restart, a new leader) reads what was stored.
  SecretStore again(store);
  ASSERT_NE(again.find("tls.key"), nullptr);
  EXPECT_EQ(*again.find("tls.key"), binary);
  EXPECT_EQ(again.list()->at(0).version, 2u);
  auto erased = again.erase("db-pass");
  ASSERT_TRUE(erased);
  EXPECT_TRUE(*erased);
  EXPECT_FALSE(*again.erase("db-pass"));
  EXPECT_EQ(again.find("db-pass"), nullptr);
  EXPECT_EQ(SecretStore(store).list()->size(), 1u);
}

TEST(SecretStoreTest, RefusesBadNamesAndOversizedValuesWithoutWriting) {
  MemoryStore store;
  SecretStore secrets(store);
  for (const std::string& name :
       std::vector<std::string>{"", "a b", "../x", "a/b", std::string(254, 'a')}) {
    auto s = secrets.set(name, "v", 1);
    ASSERT_FALSE(s) << name;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  auto big = secrets.set("big", std::string(kMaxSecretBytes + 1, 'x'), 1);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("64 KiB"), std::string::npos);
  EXPECT_TRUE(store.list(SecretStore::kPrefix)->empty());
}

TEST(SecretStoreTest, AnUnreadableRecordIsAnErrorNotAnEmptySecret) {
  MemoryStore store;
  ASSERT_TRUE(store.put(std::string(SecretStore::kPrefix) + "x", "not msgpack \xc1"));
  SecretStore secrets(store);
  EXPECT_EQ(secrets.find("x"), nullptr);
  auto listed = secrets.list();
  ASSERT_FALSE(listed);
  EXPECT_NE(listed.error().message.find("unreadable"), std::string::npos);
}

}  // namespace
}  // namespace agora::kit
