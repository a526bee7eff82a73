#include "master/core/master_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model.hpp"

namespace agora::master::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MasterMetricsTest : public ::testing::Test {
 protected:
  Metrics registry_;
  MasterMetrics metrics_{registry_};
};

TEST_F(MasterMetricsTest, CountsMessagesByProtocolAndType) {
  metrics_.messageIn("agora.agent.v1", "pong");
  metrics_.messageIn("agora.agent.v1", "pong");
  metrics_.messageIn("agora.scheduler.v1", "subscribe");
  metrics_.messageOut("agora.agent.v1", "ping");
  EXPECT_EQ(metrics_.messagesInCount("agora.agent.v1", "pong"), 2u);
  EXPECT_EQ(metrics_.messagesInCount("agora.scheduler.v1", "subscribe"), 1u);
  EXPECT_EQ(metrics_.messagesInCount("agora.scheduler.v1", "pong"), 0u);
  EXPECT_EQ(metrics_.messagesInCount("other", "pong"), 0u);
  std::string text = registry_.serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE agora_messages_in_total counter"));
  EXPECT_THAT(text,
              HasSubstr(R"(agora_messages_in_total{protocol="agora.agent.v1",type="pong"} 2)"));
  EXPECT_THAT(text,
              HasSubstr(R"(agora_messages_out_total{protocol="agora.agent.v1",type="ping"} 1)"));
}

TEST_F(MasterMetricsTest, CountsRejectionsByReasonAndExportsFrameReasonsAtZero) {
  EXPECT_THAT(registry_.serialize(),
              HasSubstr(R"(agora_messages_rejected_total{reason="malformed"} 0)"));
  metrics_.rejected("malformed");
  metrics_.rejected("not_subscribed");
  metrics_.rejected("not_subscribed");
  EXPECT_EQ(metrics_.rejectedCount("malformed"), 1u);
  EXPECT_EQ(metrics_.rejectedCount("not_subscribed"), 2u);
  EXPECT_EQ(metrics_.rejectedCount("oversized"), 0u);
  EXPECT_EQ(metrics_.rejectedTotal(), 3u);
  EXPECT_THAT(metrics_.serialize(),
              HasSubstr(R"(agora_messages_rejected_total{reason="not_subscribed"} 2)"));
}

TEST_F(MasterMetricsTest, CountsOffers) {
  metrics_.offersSent(3);
  metrics_.offersDeclined();
  metrics_.offersAccepted(2);
  metrics_.offersRescinded("timeout");
  metrics_.offersRescinded("agent_unreachable", 2);
  const MasterMetrics& view = metrics_;  // the getters are the const overloads
  EXPECT_EQ(view.offersSent(), 3u);
  EXPECT_EQ(view.offersDeclined(), 1u);
  EXPECT_EQ(view.offersAccepted(), 2u);
  EXPECT_EQ(view.offersRescinded(), 3u);
  EXPECT_EQ(view.offersRescinded("timeout"), 1u);
  std::string text = registry_.serialize();
  EXPECT_THAT(text, HasSubstr("agora_master_offers_sent_total 3"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_offers_rescinded_total{reason="timeout"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(agora_master_offers_rescinded_total{reason="framework_resubscribed"} 0)"));
}

TEST_F(MasterMetricsTest, GaugesFollowStateAndDropToZero) {
  MasterMetrics::GaugeCounts counts;
  counts.agentsByStatus = {{"REGISTERED", 1}, {"UNREACHABLE", 1}};
  counts.frameworksByStatus = {{"connected", 1}};
  counts.tasksByState = {{"TASK_RUNNING", 1}};
  counts.offersOutstanding = 1;
  metrics_.updateGauges(counts, 12.5);
  std::string text = registry_.serialize();
  EXPECT_THAT(text, HasSubstr(R"(agora_master_agents{status="REGISTERED"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_agents{status="UNREACHABLE"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_frameworks{status="connected"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_frameworks{status="disconnected"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_tasks{state="TASK_RUNNING"} 1)"));
  EXPECT_THAT(text, HasSubstr("agora_master_offers_outstanding 1"));
  EXPECT_THAT(text, HasSubstr("agora_master_event_loop_lag_seconds 0.0125"));

  metrics_.updateGauges(MasterMetrics::GaugeCounts{}, 0);
  text = registry_.serialize();
  EXPECT_THAT(text, HasSubstr(R"(agora_master_agents{status="REGISTERED"} 0)"));
  EXPECT_THAT(text, HasSubstr(R"(agora_master_tasks{state="TASK_RUNNING"} 0)"));
  EXPECT_THAT(text, Not(HasSubstr(R"(agora_master_tasks{state="TASK_RUNNING"} 1)")));
  EXPECT_THAT(text, HasSubstr("agora_master_offers_outstanding 0"));
}

}  // namespace
}  // namespace agora::master::testing
