#include "backsight/store/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace backsight::store {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("backsight_store_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST(LabelsCodec, RoundTripAndCorruption) {
  Labels l = {{"__name__", "up"}, {"job", "a\"b"}, {"x", ""}};
  std::string buf;
  EncodeLabels(l, &buf);
  Labels back;
  ASSERT_TRUE(DecodeLabels(buf, &back).ok());
  EXPECT_EQ(back, l);
  EXPECT_EQ(DecodeLabels(std::string_view(buf).substr(0, buf.size() - 1), &back).code(),
            Status::Code::kCorruption);
  EXPECT_FALSE(DecodeLabels(buf + "x", &back).ok());
}

TEST_F(StateStoreTest, SaveLoadReplaceDeleteSurviveReopen) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
    std::vector<SeriesRecord> recs;
    for (int i = 0; i < 1000; ++i) {
      recs.push_back({static_cast<uint64_t>(i + 1),
                      static_cast<uint64_t>(i + 1) * 0x9e3779b97f4a7c15ull,
                      {{"__name__", "m"}, {"i", std::to_string(i)}},
                      std::string(10, static_cast<char>(i)),
                      i});
    }
    ASSERT_TRUE(s.SaveStates(recs).ok());
    recs.resize(1);
    recs[0].state = "new";
    ASSERT_TRUE(s.SaveStates(recs).ok());
    ASSERT_TRUE(s.DeleteStates({2}).ok());
  }
  StateStore s;
  ASSERT_TRUE(s.Open(path_).ok());
  uint64_t n = 0;
  ASSERT_TRUE(s.CountStates(&n).ok());
  EXPECT_EQ(n, 999u);
  bool saw_new = false;
  uint64_t corrupt = 0, loaded = 0;
  ASSERT_TRUE(s.LoadStates(
                   [&](SeriesRecord&& r) {
                     ++loaded;
                     if (r.fp == 0x9e3779b97f4a7c15ull) {
                       saw_new = r.state == "new";
                       EXPECT_EQ(GetLabel(r.labels, "i"), "0");
                     }
                     return Status::OK();
                   },
                   &corrupt)
                  .ok());
  EXPECT_EQ(loaded, 999u);
  EXPECT_EQ(corrupt, 0u);
  EXPECT_TRUE(saw_new);
}

TEST_F(StateStoreTest, EventsInsertUpdateQuery) {
  StateStore s;
  ASSERT_TRUE(s.Open(path_).ok());
  std::vector<AnomalyEvent> ev = {{0, 7, {{"__name__", "a"}}, 100, 0, 2.5},
                                  {0, 8, {{"__name__", "b"}}, 200, 0, 1.5}};
  ASSERT_TRUE(s.WriteEvents(&ev).ok());
  ASSERT_NE(ev[0].id, 0);
  ev.resize(1);
  ev[0].end_ns = 150;
  ev[0].peak_score = 3.0;
  ASSERT_TRUE(s.WriteEvents(&ev).ok());
  std::vector<AnomalyEvent> out;
  ASSERT_TRUE(s.RecentEvents(10, 0, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].fp, 8u);  // newest first
  EXPECT_EQ(out[0].end_ns, 0);
  EXPECT_EQ(out[1].end_ns, 150);
  EXPECT_DOUBLE_EQ(out[1].peak_score, 3.0);
  ASSERT_TRUE(s.RecentEvents(10, 7, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(GetLabel(out[0].labels, "__name__"), "a");
}

TEST_F(StateStoreTest, IncidentsReplaceLoadNewestFirstPruneAndSurviveReopen) {
  {
    StateStore st;
    ASSERT_TRUE(st.Open(path_).ok());
    ASSERT_TRUE(st.WriteIncidents({{1, 100, 0, kIncidentSchema, "{\"a\":1}"},
                                   {2, 300, 0, kIncidentSchema, "{}"},
                                   {3, 200, 0, 99, "later layout"}})
                    .ok());
    // Rewritten by id: resolved now.
    ASSERT_TRUE(st.WriteIncidents({{1, 100, 500, kIncidentSchema, "{\"a\":2}"}}).ok());
  }
  StateStore st;
  ASSERT_TRUE(st.Open(path_).ok());
  std::vector<StoredIncident> rows;
  ASSERT_TRUE(st.LoadIncidents(10, &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, 2u);  // newest start first
  EXPECT_EQ(rows[1].id, 3u);
  EXPECT_EQ(rows[1].schema, 99);
  EXPECT_EQ(rows[2].id, 1u);
  EXPECT_EQ(rows[2].end_ns, 500);
  EXPECT_EQ(rows[2].body, "{\"a\":2}");
  ASSERT_TRUE(st.LoadIncidents(1, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(st.PruneIncidents(2).ok());
  ASSERT_TRUE(st.LoadIncidents(10, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].id, 3u);  // the oldest (id 1) went
}

TEST_F(StateStoreTest, OpenFailsClearlyOnGarbageFile) {
  FILE* f = fopen(path_.c_str(), "wb");
  std::string junk(4096, 'z');
  fwrite(junk.data(), 1, junk.size(), f);
  fclose(f);
  StateStore s;
  Status st = s.Open(path_);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.ToString();
}

// Runs raw SQL on the database file (to plant damaged rows).
void RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// The file's `PRAGMA user_version`, read without the store.
int UserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

// A label set as an SQL blob literal (x'..').
std::string LabelsLiteral(const Labels& labels) {
  std::string bytes;
  EncodeLabels(labels, &bytes);
  std::string out = "x'";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out + "'";
}

TEST_F(StateStoreTest, NewFileGetsTheCurrentSchemaVersion) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
  }
  EXPECT_EQ(UserVersion(path_), kStoreSchema);
  // Reopening a current file keeps it as it is.
  StateStore s;
  ASSERT_TRUE(s.Open(path_).ok());
  s.Close();
  EXPECT_EQ(UserVersion(path_), kStoreSchema);
}

// A file written before the version existed: user_version 0, the tables and indexes exactly as
// the builds of that time created them, rows in every table.
TEST_F(StateStoreTest, VersionZeroFileIsMigratedKeepingEveryRow) {
  const Labels a = {{"__name__", "m"}, {"job", "x"}};
  RawSql(path_,
         "PRAGMA journal_mode=WAL;"
         "CREATE TABLE IF NOT EXISTS series(key INTEGER PRIMARY KEY, fp INTEGER NOT NULL,"
         " labels BLOB NOT NULL, state BLOB NOT NULL, updated_ns INTEGER NOT NULL);"
         "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, fp INTEGER NOT "
         "NULL, labels BLOB NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER, peak_score REAL);"
         "CREATE INDEX IF NOT EXISTS events_start ON events(start_ns);"
         "CREATE INDEX IF NOT EXISTS events_fp ON events(fp, start_ns);"
         "CREATE TABLE IF NOT EXISTS incidents(id INTEGER PRIMARY KEY, start_ns INTEGER NOT NULL,"
         " end_ns INTEGER NOT NULL, schema INTEGER NOT NULL, body TEXT NOT NULL);"
         "CREATE INDEX IF NOT EXISTS incidents_start ON incidents(start_ns);"
         "INSERT INTO series VALUES(1, 11, " +
             LabelsLiteral(a) +
             ", x'0102', 100);"
             "INSERT INTO series VALUES(2, 22, " +
             LabelsLiteral({{"__name__", "n"}}) +
             ", x'03', 200);"
             "INSERT INTO events(fp, labels, start_ns, end_ns, peak_score) VALUES(11, " +
             LabelsLiteral(a) +
             ", 50, 60, 2.5);"
             "INSERT INTO incidents VALUES(7, 40, 0, 1, '{\"id\":7}');");
  ASSERT_EQ(UserVersion(path_), 0);
  {
    StateStore s;
    Status st = s.Open(path_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::vector<SeriesRecord> recs;
    ASSERT_TRUE(s.LoadStates(
                     [&](SeriesRecord&& r) {
                       recs.push_back(std::move(r));
                       return Status::OK();
                     },
                     static_cast<uint64_t*>(nullptr))
                    .ok());
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].fp, 11u);
    EXPECT_EQ(recs[0].labels, a);
    EXPECT_EQ(recs[0].state, "\x01\x02");
    EXPECT_EQ(recs[0].updated_ns, 100);
    EXPECT_EQ(recs[1].state, "\x03");
    std::vector<AnomalyEvent> ev;
    ASSERT_TRUE(s.RecentEvents(10, 0, &ev).ok());
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].labels, a);
    EXPECT_EQ(ev[0].end_ns, 60);
    EXPECT_DOUBLE_EQ(ev[0].peak_score, 2.5);
    std::vector<StoredIncident> inc;
    ASSERT_TRUE(s.LoadIncidents(10, &inc).ok());
    ASSERT_EQ(inc.size(), 1u);
    EXPECT_EQ(inc[0].id, 7u);
    EXPECT_EQ(inc[0].body, "{\"id\":7}");
    // New events still get ids after the migrated ones (AUTOINCREMENT kept).
    std::vector<AnomalyEvent> more = {{0, 22, {{"__name__", "n"}}, 70, 0, 1.5}};
    ASSERT_TRUE(s.WriteEvents(&more).ok());
    EXPECT_EQ(more[0].id, 2);
  }
  EXPECT_EQ(UserVersion(path_), kStoreSchema);
}

// A version-1 file (before the capacity table): its rows kept, the capacity table created, the
// file stamped 2; capacity rows saved, replaced by fingerprint and read back after a reopen.
TEST_F(StateStoreTest, VersionOneFileGetsTheCapacityTable) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
    ASSERT_TRUE(s.SaveStates({{1, 11, {{"__name__", "m"}}, "st", 5}}).ok());
  }
  RawSql(path_, "DROP TABLE capacity; PRAGMA user_version=1;");
  ASSERT_EQ(UserVersion(path_), 1);
  {
    StateStore s;
    Status st = s.Open(path_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    uint64_t n = 0;
    ASSERT_TRUE(s.CountStates(&n).ok());
    EXPECT_EQ(n, 1u);
    ASSERT_TRUE(s.SaveCapacity({{7, "a", 1}, {uint64_t{1} << 63, "b", 2}}).ok());
    ASSERT_TRUE(s.SaveCapacity({{7, "a2", 3}}).ok());
  }
  EXPECT_EQ(UserVersion(path_), 2);
  StateStore s;
  ASSERT_TRUE(s.Open(path_).ok());
  std::vector<CapacityRecord> rows;
  ASSERT_TRUE(s.LoadCapacity([&](CapacityRecord&& r) {
                 rows.push_back(std::move(r));
                 return Status::OK();
               }).ok());
  ASSERT_EQ(rows.size(), 2u);
  // ORDER BY fp on the int64 column: the high-bit fingerprint (negative there) comes first.
  EXPECT_EQ(rows[0].fp, uint64_t{1} << 63);
  EXPECT_EQ(rows[0].body, "b");
  EXPECT_EQ(rows[1].fp, 7u);
  EXPECT_EQ(rows[1].body, "a2");
  EXPECT_EQ(rows[1].updated_ns, 3);
}

// A version-0 file whose table has another shape is not a Backsight file: refused by name.
TEST_F(StateStoreTest, VersionZeroFileWithForeignTablesIsRefused) {
  RawSql(path_, "CREATE TABLE series(name TEXT, value REAL); INSERT INTO series VALUES('a', 1);");
  StateStore s;
  Status st = s.Open(path_);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("table series has no column key"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(UserVersion(path_), 0);  // rolled back: the file is as it was
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st_tables = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st_tables, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st_tables), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st_tables, 0), 1);  // only the foreign table: nothing created
  sqlite3_finalize(st_tables);
  sqlite3_close(db);
}

// A negative version (user_version is signed) is no Backsight version: refused by name.
TEST_F(StateStoreTest, NegativeSchemaVersionIsRefused) {
  RawSql(path_, "PRAGMA user_version=-1");
  StateStore s;
  Status st = s.Open(path_);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(path_ + ": schema version -1"), std::string::npos) << st.ToString();
  EXPECT_EQ(UserVersion(path_), -1);
}

// A file from a newer build is refused untouched, naming the file, both versions and what to do.
TEST_F(StateStoreTest, NewerSchemaVersionIsRefusedUntouched) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
    ASSERT_TRUE(s.SaveStates({{1, 5, {{"__name__", "a"}}, "s", 0}}).ok());
  }
  const int future = kStoreSchema + 1;
  RawSql(path_, "PRAGMA user_version=" + std::to_string(future));
  StateStore s;
  Status st = s.Open(path_);
  EXPECT_EQ(st.code(), Status::Code::kOutOfRange) << st.ToString();
  EXPECT_FALSE(s.is_open());
  const std::string want = "state database " + path_ + " has schema version " +
                           std::to_string(future) + ", newer than this backsight reads " +
                           "(versions up to " + std::to_string(kStoreSchema) + ")";
  EXPECT_EQ(st.message().rfind(want, 0), 0u) << st.ToString();
  EXPECT_NE(st.message().find("move the file aside"), std::string::npos) << st.ToString();
  EXPECT_EQ(UserVersion(path_), future);
}

TEST_F(StateStoreTest, DamagedRowsAreReportedWithKeyFingerprintAndReason) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
    ASSERT_TRUE(s.SaveStates({{1, 0xabc, {{"__name__", "a"}}, "s1", 0},
                              {2, 0xdef, {{"__name__", "b"}}, "s2", 0}})
                    .ok());
    std::vector<AnomalyEvent> ev = {{0, 0x123, {{"__name__", "a"}}, 5, 0, 2.0}};
    ASSERT_TRUE(s.WriteEvents(&ev).ok());
  }
  RawSql(
      path_,
      "UPDATE series SET labels = x'05ff' WHERE key = 2;"
      "INSERT INTO events(fp, labels, start_ns, end_ns, peak_score) VALUES(4660, x'ff', 1, 2, 3);");
  StateStore s;
  ASSERT_TRUE(s.Open(path_).ok());
  std::vector<std::string> bad;
  std::vector<std::string> loaded;
  ASSERT_TRUE(s.LoadStates(
                   [&](SeriesRecord&& r) {
                     loaded.push_back(r.state);
                     return Status::OK();
                   },
                   [&](uint64_t key, uint64_t fp, const Status& why) {
                     bad.push_back(std::to_string(key) + "/" + std::to_string(fp) + ": " +
                                   why.message());
                   })
                  .ok());
  EXPECT_EQ(loaded, std::vector<std::string>{"s1"});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].rfind("2/3567: labels: ", 0), 0u) << bad[0];
  bad.clear();
  ASSERT_TRUE(s.CheckEvents([&](uint64_t id, uint64_t fp, const Status& why) {
                 bad.push_back(std::to_string(id) + "/" + std::to_string(fp) + ": " +
                               why.message());
               }).ok());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].rfind("2/4660: labels: ", 0), 0u) << bad[0];
}

TEST_F(StateStoreTest, DamagedPagesGiveCorruption) {
  {
    StateStore s;
    ASSERT_TRUE(s.Open(path_).ok());
    std::vector<SeriesRecord> recs;
    for (int i = 0; i < 400; ++i) {
      recs.push_back({static_cast<uint64_t>(i + 1),
                      static_cast<uint64_t>(i),
                      {{"__name__", "m"}, {"i", std::to_string(i)}},
                      std::string(1500, 'q'),
                      i});
    }
    ASSERT_TRUE(s.SaveStates(recs).ok());
  }  // closing checkpoints SQLite's own WAL into the file
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 100u * 4096);
  {
    FILE* f = fopen(path_.c_str(), "r+b");
    std::string junk(20 * 4096, '\x5a');
    fseek(f, 40 * 4096, SEEK_SET);
    fwrite(junk.data(), 1, junk.size(), f);
    fclose(f);
  }
  StateStore s;
  Status st = s.Open(path_);
  if (st.ok()) {
    st = s.LoadStates([](SeriesRecord&&) { return Status::OK(); }, static_cast<uint64_t*>(nullptr));
  }
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace backsight::store
