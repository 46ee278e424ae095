// The regression watch against a real PostgreSQL 15 (pg_stat_statements): a workload runs, an
// index is dropped, the workload runs again, and the watch names the regressed fingerprint at
// the next snapshot with its plan change; an unchanged workload is named nowhere.
#include "backsight/db/query_watcher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "backsight/db/connection.h"
#include "pg_test_util.h"

namespace backsight::db {
namespace {

// Calls per workload run: above RegressionRule::min_calls so every interval is judged.
constexpr int kCallsPerRun = 30;

class QueryWatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { uri_ = TestPgUri(&dir_); }
  static void TearDownTestSuite() { StopTestPg(dir_, uri_); }
  void SetUp() override {
    if (!std::filesystem::exists(kInitdb) || !std::filesystem::exists(BACKSIGHT_PG_SCRATCH)) {
      GTEST_SKIP() << "PostgreSQL 15 (" << kInitdb << ") or " << BACKSIGHT_PG_SCRATCH
                   << " missing: apt-get install postgresql-15";
    }
    ASSERT_FALSE(uri_.empty()) << "pg_scratch.sh could not start PostgreSQL; see " << dir_
                               << ".log";
    // A database of its own, so the advisor tests' tables and indexes stay as they expect.
    std::unique_ptr<Connection> admin;
    ASSERT_TRUE(Connection::Open(uri_, &admin).ok());
    ASSERT_TRUE(admin->Query("DROP DATABASE IF EXISTS watchdb").ok());
    ASSERT_TRUE(admin->Query("CREATE DATABASE watchdb").ok());
    const std::string uri = uri_.substr(0, uri_.rfind('/')) + "/watchdb";
    ASSERT_TRUE(Connection::Open(uri, &app_).ok());
    Status st = app_->Query(
        "CREATE EXTENSION pg_stat_statements;"
        "CREATE TABLE w_orders (id int PRIMARY KEY, user_id int NOT NULL, amount int NOT NULL);"
        "INSERT INTO w_orders SELECT g, 1 + (g * 7919) % 100000, g % 1000"
        "  FROM generate_series(1, 200000) g;"
        "CREATE INDEX w_orders_user_id ON w_orders (user_id)");
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(app_->Query("VACUUM ANALYZE w_orders").ok());
    ASSERT_TRUE(Connection::Open(uri, &watch_conn_).ok());
    st = QueryWatcher::Start(watch_conn_.get(), RegressionRule{}, &watcher_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // The application's workload: one statement, kCallsPerRun different constants.
  void RunWorkload() {
    for (int i = 0; i < kCallsPerRun; ++i) {
      ASSERT_TRUE(app_->Query("SELECT sum(amount) FROM w_orders WHERE user_id = " +
                              std::to_string(1 + i * 997))
                      .ok());
    }
  }

  WatchStep Step() {
    WatchStep s;
    Status st = watcher_->Step(&s);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }

  static std::string dir_, uri_;
  std::unique_ptr<Connection> app_, watch_conn_;
  std::unique_ptr<QueryWatcher> watcher_;
};
std::string QueryWatcherTest::dir_;
std::string QueryWatcherTest::uri_;

TEST_F(QueryWatcherTest, DroppedIndexNamedAtTheNextSnapshotWithItsPlanChange) {
  EXPECT_TRUE(Step().findings.empty());  // starting point
  RunWorkload();
  WatchStep s1 = Step();
  EXPECT_TRUE(s1.findings.empty());
  bool seen = false;
  for (const auto& s : s1.samples) {
    if (s.calls == kCallsPerRun) seen = true;  // the workload's fingerprint, one series
  }
  EXPECT_TRUE(seen);
  RunWorkload();  // unchanged: nothing named
  WatchStep s2 = Step();
  for (const auto& f : s2.findings) ADD_FAILURE() << "unchanged workload named: " << f.statement;

  ASSERT_TRUE(app_->Query("DROP INDEX w_orders_user_id").ok());
  RunWorkload();
  WatchStep s3 = Step();
  ASSERT_EQ(s3.findings.size(), 1u);
  const WatchFinding& f = s3.findings[0];
  EXPECT_EQ(f.statement, "SELECT sum(amount) FROM w_orders WHERE user_id = $1");
  EXPECT_TRUE(f.regression.first);
  EXPECT_GE(f.regression.factor, RegressionRule{}.min_factor);
  EXPECT_EQ(f.regression.since, s2.snapshot.taken_at);
  EXPECT_TRUE(f.plan_changed()) << f.plan_before << " / " << f.plan_after;
  EXPECT_NE(f.plan_before.find("[w_orders_user_id]"), std::string::npos) << f.plan_before;
  EXPECT_NE(f.plan_after.find("Seq Scan"), std::string::npos) << f.plan_after;
}

TEST_F(QueryWatcherTest, MissingExtensionIsNamed) {
  std::unique_ptr<Connection> other;
  const std::string uri = uri_.substr(0, uri_.rfind('/')) + "/postgres";
  ASSERT_TRUE(Connection::Open(uri, &other).ok());
  std::unique_ptr<QueryWatcher> w;
  Status st = QueryWatcher::Start(other.get(), RegressionRule{}, &w);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("CREATE EXTENSION pg_stat_statements"), std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace backsight::db
