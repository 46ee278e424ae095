// Integration tests of `backsight serve` durability: nothing acknowledged is lost on kill -9
// (write-ahead log), damaged entries are reported (log, /api/v1/status), a damaged database stops
// start-up with a recovery hint.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "backsight/store/state_store.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000LL * kNanosPerMilli;
constexpr int64_t kStep = 15 * kNanosPerSecond;
constexpr int kGauges = 4;
constexpr int kChunk = 40;  // samples per series per request

// kGauges gauges and one counter (scored as a per-second rate), samples [from, to).
std::vector<TimeSeries> Data(int from, int to) {
  std::vector<TimeSeries> out;
  for (int s = 0; s <= kGauges; ++s) {
    TimeSeries ts;
    const bool counter = s == kGauges;
    ts.labels = {{"__name__", counter ? "dur_requests_total" : "dur_metric"},
                 {"id", std::to_string(s)}};
    ts.kind = counter ? MetricKind::kCounter : MetricKind::kGauge;
    for (int i = from; i < to; ++i) {
      const double v = counter ? i * 12.0 + (i % 7) : 40 + 4 * std::sin(i * 0.15 + s) + (i % 3);
      ts.samples.push_back({kT0 + i * kStep, v + (i == 330 ? 50 : 0)});
    }
    out.push_back(std::move(ts));
  }
  return out;
}

std::string Config(const TempDir& dir, const std::string& state, const std::string& interval) {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file(state) +
         "\ncheckpoint_interval: " + interval + "\nworkers: 2\n";
}

bool WaitProcessed(const ServeProcess& s, double n) {
  return WaitFor([&] { return s.Metric("backsight_samples_processed_total") >= n; }, 30'000);
}

nlohmann::json Status(const ServeProcess& s) {
  return nlohmann::json::parse(s.Get("/api/v1/status"), nullptr, false);
}

// Sends [from, to) in chunks to every server given.
void Send(const std::vector<const ServeProcess*>& servers, int from, int to) {
  for (int i = from; i < to; i += kChunk) {
    for (const ServeProcess* s : servers) ASSERT_EQ(s->Write(Data(i, i + kChunk)), 204);
  }
}

// Every series' state JSON (episode fields aside: episodes do not survive a restart).
std::string States(const ServeProcess& s) {
  std::string out;
  for (const auto& ts : Data(0, 0)) {
    nlohmann::json j = s.State(ts.labels);
    if (!j.is_object()) return "missing " + LabelsToString(ts.labels);
    for (const char* k : {"in_anomaly", "anomaly_start", "anomaly_peak_score"}) j.erase(k);
    out += j.dump() + "\n";
  }
  return out;
}

// Sends the same continuation to both servers; after every chunk every series' state (scores,
// yhat and band, counts, last value) must be identical to the uninterrupted run's.
void ExpectSameContinuation(const ServeProcess& restarted, const ServeProcess& uninterrupted,
                            int from, int to, double processed_before) {
  for (int i = from; i < to; i += kChunk) {
    Send({&restarted, &uninterrupted}, i, i + kChunk);
    const double n = (kGauges + 1) * (i + kChunk - from) + processed_before;
    ASSERT_TRUE(WaitProcessed(restarted, n));
    ASSERT_TRUE(WaitFor(
        [&] {
          return uninterrupted.Metric("backsight_samples_processed_total") >=
                 (kGauges + 1) * (i + kChunk) - 1;  // the counter's first sample is not scored
        },
        30'000));
    ASSERT_EQ(States(restarted), States(uninterrupted)) << "after sample " << i + kChunk;
  }
}

void Kill9(ServeProcess& s) {
  s.proc().Signal(SIGKILL);
  ASSERT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
}

// kill -9 with nothing checkpointed: every acknowledged sample comes back from the log.
TEST(Durability, Kill9WithoutCheckpointLosesNothing) {
  TempDir dir;
  const int kSplit = 400, kEnd = 560;
  ServeProcess u(dir, Config(dir, "u", "1h"), "uninterrupted");
  ASSERT_TRUE(u.ok()) << u.proc().log();
  {
    ServeProcess k(dir, Config(dir, "k", "1h"), "first");
    ASSERT_TRUE(k.ok()) << k.proc().log();
    Send({&k, &u}, 0, kSplit);
    ASSERT_TRUE(WaitProcessed(k, (kGauges + 1) * kSplit - 1));
    EXPECT_EQ(k.Metric("backsight_checkpoints_total"), 0);
    EXPECT_GT(k.Metric("backsight_wal_size_bytes"), 0);
    Kill9(k);
  }
  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  ASSERT_TRUE(k.ok()) << k.proc().log();
  const nlohmann::json st = Status(k);
  ASSERT_TRUE(st.is_object()) << k.Get("/api/v1/status");
  const auto& d = st["data"];
  EXPECT_EQ(d["restore"]["series_restored"], 0);
  EXPECT_EQ(d["wal_replay"]["records"], kSplit / kChunk);
  EXPECT_EQ(d["wal_replay"]["samples"], (kGauges + 1) * kSplit);
  EXPECT_EQ(d["wal_replay"]["samples_skipped"], 0);
  EXPECT_EQ(d["wal_replay"]["records_corrupt"], 0);
  EXPECT_EQ(d["skipped"]["total"], 0);
  EXPECT_EQ(d["config"]["wal_dir"], dir.file("k") + "/wal");
  EXPECT_EQ(k.Metric("backsight_wal_replay_records"), kSplit / kChunk);
  EXPECT_NE(k.proc().log().find("replayed 10 WAL records"), std::string::npos) << k.proc().log();
  ASSERT_EQ(States(k), States(u));
  ExpectSameContinuation(k, u, kSplit, kEnd, (kGauges + 1) * kSplit - 1);
}

// Every series' state without its rejected count (see Kill9UnderSteadyWrite...).
std::string StatesWithoutRejected(const ServeProcess& s, uint64_t* rejected) {
  std::string out;
  *rejected = 0;
  for (const auto& ts : Data(0, 0)) {
    nlohmann::json j = s.State(ts.labels);
    if (!j.is_object()) return "missing " + LabelsToString(ts.labels);
    for (const char* k : {"in_anomaly", "anomaly_start", "anomaly_peak_score"}) j.erase(k);
    *rejected += j.value("samples_rejected", uint64_t{0});
    j.erase("samples_rejected");
    out += j.dump() + "\n";
  }
  return out;
}

// kill -9 while a client writes as fast as it can: every acknowledged request is in the detector
// state after the restart. The request in flight at the kill may or may not have reached the log;
// the client sends it again (as Prometheus retries an unanswered request), and samples the
// restarted server already holds are refused as duplicates, leaving the detector untouched.
// Compared with a server that never stopped, every series' scores, yhat, band, counts and last
// value are then bit-identical; only the rejected count may show that one resent request.
TEST(Durability, Kill9UnderSteadyWriteKeepsEveryAcknowledgedSample) {
  TempDir dir;
  constexpr int kPer = 4;         // samples per series per request
  constexpr int kMaxReq = 2'000;  // the writer's upper bound (it is killed long before)
  constexpr int kMore = 60;       // requests sent to both servers after the restart
  int acked = 0;                  // requests [0, acked) were answered 204
  {
    ServeProcess k(dir, Config(dir, "k", "1h"), "first");
    ASSERT_TRUE(k.ok()) << k.proc().log();
    std::atomic<int> done{0};
    std::thread writer([&] {
      for (int i = 0; i < kMaxReq; ++i) {
        if (k.Write(Data(i * kPer, (i + 1) * kPer)) != 204) return;
        done = i + 1;
      }
    });
    ASSERT_TRUE(WaitFor([&] { return done.load() >= 80; }, 30'000));
    k.proc().Signal(SIGKILL);  // while the writer is mid-stream
    writer.join();
    ASSERT_EQ(k.proc().Wait(20'000), 128 + SIGKILL);
    acked = done.load();
    ASSERT_LT(acked, kMaxReq) << "the writer finished before the kill";
  }
  ServeProcess u(dir, Config(dir, "u", "1h"), "uninterrupted");
  ASSERT_TRUE(u.ok()) << u.proc().log();
  for (int i = 0; i < acked; ++i) ASSERT_EQ(u.Write(Data(i * kPer, (i + 1) * kPer)), 204);
  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  ASSERT_TRUE(k.ok()) << k.proc().log();
  const nlohmann::json st = Status(k);
  ASSERT_TRUE(st.is_object());
  const int replayed = st["data"]["wal_replay"]["records"].get<int>();
  EXPECT_GE(replayed, acked) << "an acknowledged request is missing from the log";
  EXPECT_LE(replayed, acked + 1) << "more than the one request in flight was logged";
  for (int i = acked; i < acked + kMore; ++i) {
    ASSERT_EQ(k.Write(Data(i * kPer, (i + 1) * kPer)), 204);
    ASSERT_EQ(u.Write(Data(i * kPer, (i + 1) * kPer)), 204);
  }
  const int64_t last_ts = kT0 + ((acked + kMore) * kPer - 1) * kStep;
  auto caught_up = [&](const ServeProcess& s) {
    for (const auto& ts : Data(0, 0)) {
      nlohmann::json j = s.State(ts.labels);
      if (!j.is_object() || j.value("last_timestamp_ns", int64_t{0}) != last_ts) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return caught_up(k) && caught_up(u); }, 30'000));
  uint64_t rejected_k = 0, rejected_u = 0;
  EXPECT_EQ(StatesWithoutRejected(k, &rejected_k), StatesWithoutRejected(u, &rejected_u));
  EXPECT_EQ(rejected_u, 0u);
  // Only the resent in-flight request, if it had reached the log: kPer samples per series
  // (the counter's rate path counts none: its duplicate is dropped before the detector).
  EXPECT_LE(rejected_k, static_cast<uint64_t>((kGauges + 1) * kPer));
  EXPECT_EQ(rejected_k == 0, replayed == acked) << "rejected " << rejected_k;
  std::printf(
      "Kill9UnderSteadyWrite: killed after %d acknowledged requests, %d replayed, %llu "
      "resent samples refused as duplicates\n",
      acked, replayed, static_cast<unsigned long long>(rejected_k));
}

// A checkpoint in the middle: the log is truncated, the state comes from SQLite and the tail
// from the log.
TEST(Durability, CheckpointMidwayThenKill9RestoresStateAndReplaysTail) {
  TempDir dir;
  const int kCheckpoint = 240, kSplit = 400, kEnd = 520;
  ServeProcess u(dir, Config(dir, "u", "1h"), "uninterrupted");
  ASSERT_TRUE(u.ok()) << u.proc().log();
  {
    ServeProcess k(dir, Config(dir, "k", "1h"), "first");
    ASSERT_TRUE(k.ok()) << k.proc().log();
    Send({&k, &u}, 0, kCheckpoint);
    ASSERT_EQ(k.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
    EXPECT_EQ(k.Metric("backsight_wal_segments"), 1);  // older segments deleted
    Send({&k, &u}, kCheckpoint, kSplit);
    ASSERT_TRUE(WaitProcessed(k, (kGauges + 1) * kSplit - 1));
    Kill9(k);
  }
  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  ASSERT_TRUE(k.ok()) << k.proc().log();
  const auto d = Status(k)["data"];
  EXPECT_EQ(d["restore"]["series_restored"], kGauges + 1);
  EXPECT_EQ(d["wal_replay"]["records"], (kSplit - kCheckpoint) / kChunk);
  EXPECT_EQ(d["wal_replay"]["samples"], (kGauges + 1) * (kSplit - kCheckpoint));
  ASSERT_EQ(States(k), States(u));
  ExpectSameContinuation(k, u, kSplit, kEnd, (kGauges + 1) * (kSplit - kCheckpoint));
}

// A torn last record (the file cut by a few bytes): the rest replays, the torn record is reported
// by series and reason.
TEST(Durability, TornLastRecordIsReportedAndTheRestReplays) {
  TempDir dir;
  const int kSplit = 200;
  {
    ServeProcess k(dir, Config(dir, "k", "1h"), "first");
    ASSERT_TRUE(k.ok()) << k.proc().log();
    Send({&k}, 0, kSplit);
    ASSERT_TRUE(WaitProcessed(k, (kGauges + 1) * kSplit - 1));
    Kill9(k);
  }
  const std::string seg = dir.file("k") + "/wal/00000000";
  std::filesystem::resize_file(seg, std::filesystem::file_size(seg) - 5);
  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  ASSERT_TRUE(k.ok()) << k.proc().log();
  const auto d = Status(k)["data"];
  EXPECT_EQ(d["wal_replay"]["records"], kSplit / kChunk - 1);
  EXPECT_EQ(d["wal_replay"]["records_corrupt"], 1);
  ASSERT_EQ(d["skipped"]["total"], 1);
  const auto& e = d["skipped"]["entries"][0];
  EXPECT_EQ(e["kind"], "wal_record");
  // The torn record held all five series: three are named, the rest counted.
  EXPECT_NE(e["series"].get<std::string>().find("dur_metric{id="), std::string::npos) << e;
  EXPECT_NE(e["series"].get<std::string>().find(" and 1 more"), std::string::npos) << e;
  EXPECT_NE(e["reason"].get<std::string>().find("torn"), std::string::npos) << e;
  EXPECT_NE(k.proc().log().find("skipped wal_record of dur_metric{id="), std::string::npos)
      << k.proc().log();
  EXPECT_EQ(k.State(Data(0, 0)[1].labels)["samples_accepted"], kSplit - kChunk);
}

// Damaged detector state and event rows are skipped, each reported by series and reason.
TEST(Durability, DamagedStateAndEventRowsAreReported) {
  TempDir dir;
  {
    ServeProcess k(dir, Config(dir, "k", "1h"), "first");
    ASSERT_TRUE(k.ok()) << k.proc().log();
    Send({&k}, 0, 80);
    ASSERT_TRUE(WaitProcessed(k, (kGauges + 1) * 80 - 1));
    k.proc().Signal(SIGTERM);
    ASSERT_EQ(k.proc().Wait(20'000), 0) << k.proc().log();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("k/backsight.db").c_str(), &db), SQLITE_OK);
  // Damage the state of series id=2, plant an event row with undecodable labels.
  std::string labels;
  store::EncodeLabels(Data(0, 0)[2].labels, &labels);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE series SET state = x'01ff' WHERE labels = ?", -1, &stmt,
                               nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, labels.data(), static_cast<int>(labels.size()), SQLITE_STATIC);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO events(fp, labels, start_ns, end_ns, peak_score) "
                         "VALUES(3054, x'09', 1, 2, 3)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  ASSERT_TRUE(k.ok()) << k.proc().log();
  const auto d = Status(k)["data"];
  EXPECT_EQ(d["restore"]["series_restored"], kGauges);
  EXPECT_EQ(d["restore"]["series_skipped"], 1);
  ASSERT_EQ(d["skipped"]["total"], 2) << d;
  std::string all = d["skipped"]["entries"].dump();
  EXPECT_NE(all.find("\"kind\":\"series_state\""), std::string::npos) << all;
  EXPECT_NE(all.find("dur_metric{id=\\\"2\\\"}"), std::string::npos) << all;
  EXPECT_NE(all.find("detector state unreadable"), std::string::npos) << all;
  EXPECT_NE(all.find("\"kind\":\"event_row\""), std::string::npos) << all;
  EXPECT_NE(all.find("0000000000000bee"), std::string::npos) << all;
  const std::string log = k.proc().log();
  EXPECT_NE(log.find("skipped series_state of dur_metric{id=\"2\"}: detector state unreadable"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("skipped event_row of 0000000000000bee"), std::string::npos) << log;
  EXPECT_EQ(k.Metric("backsight_startup_skipped_entries"), 2);
}

// A database file that is not SQLite (or is damaged) stops start-up: one message naming the file
// and how to recover; exit code 2 as for a bad config.
TEST(Durability, DamagedDatabaseStopsStartupWithRecoveryHint) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("k"));
  WriteFile(dir.file("k/backsight.db"), std::string(8192, 'z'));
  WriteFile(dir.file("k.yml"), Config(dir, "k", "1h"));
  Process p({BACKSIGHT_BIN, "serve", "--config", dir.file("k.yml")}, dir.file("k.log"));
  EXPECT_EQ(p.Wait(20'000), 2);
  const std::string log = p.log();
  EXPECT_NE(log.find("state database " + dir.file("k/backsight.db") + " is damaged"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("move it aside"), std::string::npos) << log;
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 3) << log;
  // Moving it aside (as the message says) recovers.
  std::filesystem::rename(dir.file("k/backsight.db"), dir.file("backsight.db.bad"));
  ServeProcess k(dir, Config(dir, "k", "1h"), "second");
  EXPECT_TRUE(k.ok()) << k.proc().log();
}

// A database written by a newer build (schema version above store::kStoreSchema) stops start-up
// with one message naming the file, both versions and what to do (exit 2), and is left as it was.
TEST(Durability, NewerSchemaVersionStopsStartupUntouched) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("k"));
  const std::string db_path = dir.file("k/backsight.db");
  const int future = store::kStoreSchema + 1;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, ("PRAGMA user_version=" + std::to_string(future)).c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  WriteFile(dir.file("k.yml"), Config(dir, "k", "1h"));
  Process p({BACKSIGHT_BIN, "serve", "--config", dir.file("k.yml")}, dir.file("k.log"));
  EXPECT_EQ(p.Wait(20'000), 2);
  const std::string log = p.log();
  EXPECT_NE(
      log.find("backsight serve: cannot start: state database " + db_path + " has schema version " +
               std::to_string(future) + ", newer than this backsight reads (versions up to " +
               std::to_string(store::kStoreSchema) + ")"),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("damaged"), std::string::npos) << log;
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 3) << log;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), future);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace backsight::testing
