#include "backsight/server/alerts.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backsight/server/metrics_writer.h"

namespace backsight::server {
namespace {

TEST(OutputLabelsTest, NameMovesToMetricLabel) {
  Labels in = {{"__name__", "http_requests"}, {"job", "api"}, {"metric", "x"}};
  Labels out = OutputLabels(in);
  EXPECT_EQ(GetLabel(out, "metric"), "http_requests");
  EXPECT_EQ(GetLabel(out, "exported_metric"), "x");
  EXPECT_EQ(GetLabel(out, "job"), "api");
  EXPECT_EQ(GetLabel(out, "__name__"), "");
}

TEST(AlertsJsonTest, AlertmanagerV2Shape) {
  AlertToSend a;
  a.labels = {{"__name__", "cpu"}, {"host", "a\"b"}};
  a.score = 3.5;
  a.value = 99;
  a.yhat = 10;
  a.yhat_lower = 5;
  a.yhat_upper = 15;
  a.starts_wall_ns = 1'700'000'000LL * kNanosPerSecond;
  a.ends_wall_ns = a.starts_wall_ns + 60 * kNanosPerSecond;
  a.fp = 0xabc;
  auto j = nlohmann::json::parse(AlertsToJson({a}, "http://h:1"));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "BacksightAnomaly");
  EXPECT_EQ(j[0]["labels"]["metric"], "cpu");
  EXPECT_EQ(j[0]["labels"]["host"], "a\"b");
  EXPECT_EQ(j[0]["startsAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j[0]["endsAt"], "2023-11-14T22:14:20Z");
  EXPECT_EQ(j[0]["annotations"]["anomaly_score"], "3.5");
  EXPECT_EQ(j[0]["annotations"]["yhat_lower"], "5");
  const std::string summary = j[0]["annotations"]["summary"];
  EXPECT_EQ(summary.find('\n'), std::string::npos);
  EXPECT_NE(summary.find("cpu"), std::string::npos);
  EXPECT_EQ(j[0]["generatorURL"], "http://h:1/api/v1/series/state?fingerprint=0000000000000abc");
}

}  // namespace
}  // namespace backsight::server
