// `backsight serve` with `postgres: [{dsn, interval}]` against a real PostgreSQL 15
// (pg_scratch.sh): an unchanged workload sends no alert; after an index is dropped the regressed
// statement arrives at Alertmanager as BacksightQueryRegression with its plan change, and the
// per-fingerprint series are scored by the engine (/metrics). With incidents on, the regression
// is a `database` member of an incident and its alert is folded into the BacksightIncident one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "backsight/db/connection.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr char kInitdb[] = "/usr/lib/postgresql/15/bin/initdb";
// Calls per workload run: above the rule's minimum of 10 per judged interval.
constexpr int kCallsPerRun = 40;
// Watch interval of the test server, and how long a test waits for a snapshot to pass.
constexpr int kIntervalMs = 1000;
constexpr int kSnapshotWaitMs = 2 * kIntervalMs + 500;

std::string LastLine(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string line, last;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) {
    line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return pclose(p) == 0 ? last : "";
}

class PgWatchServe : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kInitdb) || !std::filesystem::exists(BACKSIGHT_PG_SCRATCH)) {
      GTEST_SKIP() << "PostgreSQL 15 (" << kInitdb << ") or " << BACKSIGHT_PG_SCRATCH
                   << " missing: apt-get install postgresql-15";
    }
    pg_dir_ = "/tmp/bs-pgwatch-" + std::to_string(getpid());
    uri_ = LastLine(std::string(BACKSIGHT_PG_SCRATCH) + " start " + pg_dir_ + " --schema " +
                    BACKSIGHT_DB_SCHEMA + " 2>" + pg_dir_ + ".log");
    ASSERT_FALSE(uri_.empty()) << "pg_scratch.sh failed; see " << pg_dir_ << ".log";
    ASSERT_TRUE(db::Connection::Open(uri_, &app_).ok());
    ASSERT_TRUE(app_->Query("CREATE INDEX orders_user_id ON orders (user_id)").ok());
  }
  void TearDown() override {
    app_.reset();
    if (!uri_.empty()) {
      (void)std::system(
          (std::string(BACKSIGHT_PG_SCRATCH) + " stop " + pg_dir_ + " --rm 2>/dev/null").c_str());
      std::filesystem::remove(pg_dir_ + ".log");
    }
  }
  void RunWorkload() {
    for (int i = 0; i < kCallsPerRun; ++i) {
      ASSERT_TRUE(app_->Query("SELECT sum(amount) FROM orders WHERE user_id = " +
                              std::to_string(1 + i * 977))
                      .ok());
    }
  }
  static void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

  std::string pg_dir_, uri_;
  std::unique_ptr<db::Connection> app_;
  TempDir dir_;
};

TEST_F(PgWatchServe, DroppedIndexBecomesABacksightQueryRegressionAlert) {
  AlertReceiver am;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"\"\nalerting:\n  alertmanager_url: "
      "http://127.0.0.1:" +
      std::to_string(am.port()) + "\npostgres:\n  - dsn: " + uri_ +
      "\n    interval: " + std::to_string(kIntervalMs) + "ms\n";
  ServeProcess s(dir_, yaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  Sleep(kSnapshotWaitMs);  // the watch's starting point
  RunWorkload();
  Sleep(kSnapshotWaitMs);
  RunWorkload();  // unchanged: no alert
  Sleep(kSnapshotWaitMs);
  EXPECT_TRUE(am.alerts().empty()) << am.alerts().dump();
  ASSERT_TRUE(app_->Query("DROP INDEX orders_user_id").ok());
  RunWorkload();
  nlohmann::json alert;
  WaitFor(
      [&] {
        for (const auto& a : am.alerts()) {
          if (a["labels"]["alertname"] == "BacksightQueryRegression") alert = a;
        }
        return alert.is_object();
      },
      3 * kSnapshotWaitMs);
  ASSERT_TRUE(alert.is_object()) << am.alerts().dump() << s.proc().log();
  EXPECT_EQ(alert["labels"]["database"], "bench");
  EXPECT_EQ(alert["labels"]["fingerprint"].get<std::string>().size(), 16u);
  EXPECT_EQ(alert["annotations"]["statement"], "SELECT sum(amount) FROM orders WHERE user_id = $1");
  EXPECT_NE(alert["annotations"]["plan_before"].get<std::string>().find("[orders_user_id]"),
            std::string::npos)
      << alert.dump();
  EXPECT_NE(alert["annotations"]["plan_after"].get<std::string>().find("Seq Scan"),
            std::string::npos)
      << alert.dump();
  EXPECT_GE(std::stod(alert["annotations"]["factor"].get<std::string>()), 2.0);
  // The per-fingerprint series went through the engine (warming up: listed, not yet on
  // /metrics).
  const std::string fp = alert["labels"]["fingerprint"];
  nlohmann::json series = nlohmann::json::parse(
      s.Get("/api/v1/series?metric=backsight_pg_statement_mean_seconds"), nullptr, false);
  ASSERT_TRUE(series.is_object());
  std::string series_fp;  // the engine's fingerprint of the label set
  for (const auto& e : series["series"]) {
    if (e["series"]["fingerprint"] == fp && e["series"]["database"] == "bench") {
      series_fp = e["fingerprint"];
    }
  }
  ASSERT_FALSE(series_fp.empty()) << series.dump();
  nlohmann::json state =
      nlohmann::json::parse(s.Get("/api/v1/series/state?fingerprint=" + series_fp), nullptr, false);
  EXPECT_GE(state.value("samples_accepted", 0), 3) << state.dump();
}

TEST_F(PgWatchServe, WithIncidentsTheRegressionIsAnIncidentMember) {
  AlertReceiver am;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"\"\nalerting:\n  alertmanager_url: "
      "http://127.0.0.1:" +
      std::to_string(am.port()) + "\n  for: 1s\npostgres:\n  - dsn: " + uri_ +
      "\n    interval: " + std::to_string(kIntervalMs) + "ms\nincidents:\n  enabled: true\n";
  ServeProcess s(dir_, yaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  Sleep(kSnapshotWaitMs);  // the same workload as above: the plan is known before the drop
  RunWorkload();
  Sleep(kSnapshotWaitMs);
  RunWorkload();
  Sleep(kSnapshotWaitMs);
  ASSERT_TRUE(app_->Query("DROP INDEX orders_user_id").ok());
  RunWorkload();
  nlohmann::json inc, member;
  WaitFor(
      [&] {
        inc = nlohmann::json::parse(s.Get("/api/v1/incidents/1"), nullptr, false);
        if (!inc.is_object() || !inc["data"].is_object()) return false;
        for (const auto& m : inc["data"]["members"]) {
          if (m["signal"] == "database") member = m;
        }
        // The plan change is in the evidence once a snapshot has planned the statement again.
        return member.is_object() &&
               member["evidence"].get<std::string>().find("Seq Scan") != std::string::npos;
      },
      3 * kSnapshotWaitMs);
  ASSERT_TRUE(member.is_object()) << inc.dump() << s.proc().log();
  EXPECT_EQ(member["service"], "bench");
  EXPECT_EQ(member["labels"]["database"], "bench");
  EXPECT_EQ(member["indicator"], "statement `SELECT sum(amount) FROM orders WHERE user_id = $1`");
  EXPECT_NE(member["evidence"].get<std::string>().find("Seq Scan"), std::string::npos)
      << member.dump();
  // One BacksightIncident alert naming the statement; no BacksightQueryRegression alert.
  nlohmann::json incident_alert;
  WaitFor(
      [&] {
        for (const auto& a : am.alerts()) {
          if (a["labels"]["alertname"] == "BacksightIncident") incident_alert = a;
        }
        return incident_alert.is_object();
      },
      10'000);
  ASSERT_TRUE(incident_alert.is_object()) << am.alerts().dump();
  EXPECT_EQ(incident_alert["labels"]["service"], "bench");
  EXPECT_NE(incident_alert["annotations"]["causes"].get<std::string>().find("mean "),
            std::string::npos)
      << incident_alert.dump();
  std::printf("db incident cause: %s\n",
              incident_alert["annotations"]["causes"].get<std::string>().c_str());
  for (const auto& a : am.alerts()) {
    EXPECT_NE(a["labels"]["alertname"], "BacksightQueryRegression") << a.dump();
  }
}

}  // namespace
}  // namespace backsight::testing
