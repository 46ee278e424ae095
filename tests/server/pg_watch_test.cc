#include "backsight/server/pg_watch.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace backsight::server {
namespace {

// The fingerprint label is the statement fingerprint as 16 zero-padded lowercase hex digits, the
// form the HTTP API takes back (`?fingerprint=`), in both the series and the alerts.
TEST(PgWatchTest, SeriesCarryTheFingerprintIn16HexDigits) {
  db::WatchStep step;
  db::StatementSample s;
  s.fingerprint = 0xabcULL;
  s.at = 1'700'000'000'000'000'000LL;
  s.mean_ms = 250;
  s.calls_per_second = 4;
  s.rows_per_call = 2;
  s.blocks_read_per_call = 1;
  step.samples.push_back(s);
  const std::vector<TimeSeries> series = PgWatchSeries(step, "shop");
  ASSERT_EQ(series.size(), 4u);
  for (const TimeSeries& ts : series) {
    EXPECT_EQ(GetLabel(ts.labels, "fingerprint"), "0000000000000abc");
    EXPECT_EQ(GetLabel(ts.labels, "database"), "shop");
  }
  EXPECT_EQ(GetLabel(series[0].labels, "__name__"), "backsight_pg_statement_mean_seconds");
  EXPECT_DOUBLE_EQ(series[0].samples[0].value, 0.25);
}

TEST(PgWatchTest, RegressionAlertCarriesTheFingerprintIn16HexDigits) {
  db::WatchFinding f;
  f.regression.fingerprint = 0xFEDCBA9876543210ULL;
  f.regression.factor = 3;
  f.statement = "SELECT 1";
  const nlohmann::json alerts =
      nlohmann::json::parse(RegressionAlertsJson({f}, "shop", 0, "http://x"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["labels"]["fingerprint"], "fedcba9876543210");
  EXPECT_EQ(alerts[0]["labels"]["alertname"], "BacksightQueryRegression");
}

}  // namespace
}  // namespace backsight::server
