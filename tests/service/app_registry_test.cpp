#include "frameworks/service/app_registry.hpp"

#include <gtest/gtest.h>

#include "frameworks/kit/memory_store.hpp"

namespace agora::service {
namespace {

AppSpec app(const std::string& id, int64_t instances, const std::string& cmd = "sleep 100") {
  auto apps = parseApps(
      "{id: " + id + ", instances: " + std::to_string(instances) + ", cmd: '" + cmd + "'}", "test");
  EXPECT_TRUE(apps) << apps.error().message;
  return apps->front();
}

TEST(AppRegistryTest, NewAndChangedAppsGetTheirNextVersionUnchangedOnesDoNot) {
  kit::MemoryStore store;
  auto registry = AppRegistry::load(store);
  ASSERT_TRUE(registry);
  AppSpec web = app("/shop/web", 3);
  web.dependencies = {"/shop/db"};
  auto first = registry->apply({web, app("/shop/db", 1)}, 100);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ(first->at(0).version, 1);

  auto again = registry->apply({web, app("/shop/db", 2)}, 200);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);  // only the changed one
  EXPECT_EQ(again->at(0).spec.id, "/shop/db");
  EXPECT_EQ(again->at(0).version, 2);
  EXPECT_EQ(registry->current("/shop/db")->spec.instances, 2);
  EXPECT_EQ(registry->current("/shop/web")->version, 1);

  auto history = registry->history("/shop/db");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(history->at(0).spec.instances, 1);
  EXPECT_EQ(history->at(1).created, 200);

  // A restarted framework reads the same.
  auto reloaded = AppRegistry::load(store);
  ASSERT_TRUE(reloaded);
  ASSERT_EQ(reloaded->apps().size(), 2u);
  EXPECT_EQ(reloaded->current("/shop/db")->version, 2);
  EXPECT_EQ(reloaded->current("/shop/web")->spec.cmd, "sleep 100");
  EXPECT_EQ(reloaded->current("/shop/web")->spec.dependencies,
            (std::vector<std::string>{"/shop/db"}));
}

TEST(AppRegistryTest, KeepsTheLastVersionsOnly) {
  kit::MemoryStore store;
  auto registry = AppRegistry::load(store);
  for (int64_t n = 1; n <= AppRegistry::kMaxVersions + 5; ++n) {
    ASSERT_TRUE(registry->apply({app("/web", n)}, static_cast<double>(n)));
  }
  auto history = registry->history("/web");
  ASSERT_EQ(history->size(), static_cast<size_t>(AppRegistry::kMaxVersions));
  EXPECT_EQ(history->front().version, 6);
  EXPECT_EQ(history->back().version, AppRegistry::kMaxVersions + 5);
}

TEST(AppRegistryTest, RemoveForgetsTheAppAndItsHistory) {
  kit::MemoryStore store;
  auto registry = AppRegistry::load(store);
  ASSERT_TRUE(registry->apply({app("/web", 1)}, 1));
  ASSERT_TRUE(registry->apply({app("/web", 2)}, 2));
  EXPECT_EQ(registry->remove("/nope").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(registry->remove("/web"));
  EXPECT_EQ(registry->current("/web"), nullptr);
  EXPECT_TRUE(store.list("")->empty());
  auto again = registry->apply({app("/web", 1)}, 3);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at(0).version, 1);
}

TEST(AppRegistryTest, AStaleWriterIsRefusedAndWritesNothing) {
  kit::MemoryStore store;
  auto a = AppRegistry::load(store);
  ASSERT_TRUE(a->apply({app("/web", 1)}, 1));
  auto b = AppRegistry::load(store);
  ASSERT_TRUE(b->apply({app("/web", 2)}, 2));
  auto stale = a->apply({app("/web", 5), app("/db", 1)}, 3);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  auto reread = AppRegistry::load(store);
  EXPECT_EQ(reread->current("/web")->spec.instances, 2);
  EXPECT_EQ(reread->current("/db"), nullptr);  // all or none
}

TEST(AppRegistryTest, ACorruptRecordIsNamed) {
  kit::MemoryStore store;
  ASSERT_TRUE(store.put("apps/web", "{\"version\": 1}"));
  auto registry = AppRegistry::load(store);
  ASSERT_FALSE(registry);
  EXPECT_EQ(registry.error().code, ErrorCode::kProtocol);
  EXPECT_NE(registry.error().message.find("apps/web"), std::string::npos);
}

}  // namespace
}  // namespace agora::service
