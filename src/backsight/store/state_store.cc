#include "backsight/store/state_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>

#include "backsight/core/byte_io.h"

namespace backsight::store {
namespace {

// Finalises a prepared statement when it leaves scope.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

void EncodeLabels(const Labels& labels, std::string* out) {
  ByteWriter w(out);
  w.PutVarint(labels.size());
  for (const auto& l : labels) {
    w.PutString(l.name);
    w.PutString(l.value);
  }
}

Status DecodeLabels(std::string_view in, Labels* out) {
  ByteReader r(in);
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "label_count"));
  if (n > in.size()) return Status::Corruption("labels: count " + std::to_string(n) + " too large");
  out->clear();
  out->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Label l;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&l.name, "label_name"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&l.value, "label_value"));
    out->push_back(std::move(l));
  }
  if (!r.done()) {
    return Status::Corruption("labels: " + std::to_string(r.remaining()) +
                              " trailing bytes at offset " + std::to_string(r.position()));
  }
  return Status::OK();
}

StateStore::~StateStore() { Close(); }

void StateStore::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status StateStore::ErrCode(int rc, const std::string& what, const std::string& msg) const {
  const std::string m = "sqlite " + path_ + ": " + what + ": " + msg;
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::Corruption(m);
  return Status::IoError(m);
}

Status StateStore::Err(const char* what) {
  if (db_ == nullptr) return Status::IoError(std::string("sqlite ") + path_ + ": " + what);
  return ErrCode(sqlite3_extended_errcode(db_), what, sqlite3_errmsg(db_));
}

void StateStore::RollbackAfterError() {
  // Not reported: the caller returns the first error, which is the one that matters, and SQLite
  // may have rolled back by itself already (SQLITE_FULL, SQLITE_IOERR, ...), when ROLLBACK fails
  // with "no transaction is active".
  (void)Exec("ROLLBACK");
}

Status StateStore::Commit() {
  Status st = Exec("COMMIT");
  if (!st.ok()) RollbackAfterError();
  return st;
}

Status StateStore::Exec(const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return ErrCode(rc, sql, m);
  }
  return Status::OK();
}

Status StateStore::ReadSchemaVersion(int* version) {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st.s, nullptr) != SQLITE_OK) {
    return Err("read user_version");
  }
  if (sqlite3_step(st.s) != SQLITE_ROW) return Err("read user_version");
  *version = sqlite3_column_int(st.s, 0);
  if (*version < 0) {  // user_version is a signed 32-bit integer; Backsight never writes these
    return Status::Corruption("sqlite " + path_ + ": schema version " + std::to_string(*version) +
                              " (PRAGMA user_version) is not one Backsight writes");
  }
  return Status::OK();
}

Status StateStore::NewerSchemaError(int found) const {
  return Status::OutOfRange(
      "state database " + path_ + " has schema version " + std::to_string(found) +
      ", newer than this backsight reads (versions up to " + std::to_string(kStoreSchema) +
      "): it was written by a newer backsight. Run a backsight that reads version " +
      std::to_string(found) + ", or move the file aside with its -wal/-shm files (mv " + path_ +
      "* <elsewhere>) to start with fresh detector states; the file was left unchanged");
}

Status StateStore::CheckColumns(const char* table, const std::vector<std::string>& columns) {
  Stmt st;
  const std::string sql = std::string("PRAGMA table_info(") + table + ")";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    return Err("read table_info");
  }
  std::vector<std::string> have;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1));
    have.emplace_back(name ? name : "");
  }
  if (rc != SQLITE_DONE) return Err("read table_info");
  for (const auto& c : columns) {
    if (std::find(have.begin(), have.end(), c) == have.end()) {
      return Status::Corruption("sqlite " + path_ + ": table " + table + " has no column " + c +
                                ": not a Backsight state database of schema version 0 or 1");
    }
  }
  return Status::OK();
}

Status StateStore::MigrateTo1() {
  // Version 0 is either a new file or one written before the version existed, whose tables are
  // version 1's: create what is missing, keep what is there, and check the kept tables' shape.
  BACKSIGHT_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS series(key INTEGER PRIMARY KEY, fp INTEGER NOT NULL,"
      " labels BLOB NOT NULL, state BLOB NOT NULL, updated_ns INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, fp INTEGER NOT NULL,"
      " labels BLOB NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER, peak_score REAL);"
      "CREATE INDEX IF NOT EXISTS events_start ON events(start_ns);"
      "CREATE INDEX IF NOT EXISTS events_fp ON events(fp, start_ns);"
      "CREATE TABLE IF NOT EXISTS incidents(id INTEGER PRIMARY KEY, start_ns INTEGER NOT NULL,"
      " end_ns INTEGER NOT NULL, schema INTEGER NOT NULL, body TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS incidents_start ON incidents(start_ns);"));
  BACKSIGHT_RETURN_IF_ERROR(CheckColumns("series", {"key", "fp", "labels", "state", "updated_ns"}));
  BACKSIGHT_RETURN_IF_ERROR(
      CheckColumns("events", {"id", "fp", "labels", "start_ns", "end_ns", "peak_score"}));
  return CheckColumns("incidents", {"id", "start_ns", "end_ns", "schema", "body"});
}

Status StateStore::MigrateTo2() {
  // Version 2 adds the capacity histories (server/capacity_history.h); nothing else changes.
  return Exec(
      "CREATE TABLE IF NOT EXISTS capacity(fp INTEGER PRIMARY KEY, body BLOB NOT NULL,"
      " updated_ns INTEGER NOT NULL);");
}

Status StateStore::Migrate(int* version) {
  // Step i takes a file from version i to i + 1. To add version 3: write MigrateTo3, append it
  // here, set kStoreSchema = 3, document it in formats.md.
  using Step = Status (*)(StateStore*);
  static constexpr Step kSteps[] = {[](StateStore* s) { return s->MigrateTo1(); },
                                    [](StateStore* s) { return s->MigrateTo2(); }};
  static_assert(std::size(kSteps) == kStoreSchema, "one migration step per schema version");
  // IMMEDIATE: take the write lock first, then re-read the version under it.
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st = ReadSchemaVersion(version);
  if (st.ok() && *version > kStoreSchema) st = NewerSchemaError(*version);
  for (int v = *version; st.ok() && v < kStoreSchema; ++v) {
    st = kSteps[v](this);
    if (!st.ok()) {
      st = st.WithContext("migrating schema version " + std::to_string(v) + " to " +
                          std::to_string(v + 1));
    }
  }
  if (st.ok()) st = Exec(("PRAGMA user_version=" + std::to_string(kStoreSchema)).c_str());
  if (!st.ok()) {
    RollbackAfterError();
    return st;
  }
  BACKSIGHT_RETURN_IF_ERROR(Commit());
  *version = kStoreSchema;
  return Status::OK();
}

Status StateStore::Open(const std::string& path) {
  Close();
  std::lock_guard<std::mutex> lock(mu_);
  path_ = path;
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status st = Err("open");
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return st;
  }
  sqlite3_busy_timeout(db_, 5000);
  // The version is read before anything writes, so a file from a newer build (or not SQLite at
  // all) is refused untouched.
  int version = 0;
  Status st = ReadSchemaVersion(&version);
  if (st.ok() && version > kStoreSchema) st = NewerSchemaError(version);
  if (st.ok()) {
    st = Exec(
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA cache_size=-131072;"
        "PRAGMA wal_autocheckpoint=16384;");
  }
  if (st.ok() && version != kStoreSchema) st = Migrate(&version);
  if (!st.ok()) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  return st;
}

Status StateStore::SaveStates(const std::vector<SeriesRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO series(key, fp, labels, state, updated_ns) "
                         "VALUES(?,?,?,?,?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    Status e = Err("prepare insert");
    RollbackAfterError();
    return e;
  }
  std::string buf;
  for (const auto& r : records) {
    buf.clear();
    EncodeLabels(r.labels, &buf);
    sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(r.key));
    sqlite3_bind_int64(st.s, 2, static_cast<int64_t>(r.fp));
    sqlite3_bind_blob(st.s, 3, buf.data(), static_cast<int>(buf.size()), SQLITE_STATIC);
    sqlite3_bind_blob(st.s, 4, r.state.data(), static_cast<int>(r.state.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st.s, 5, r.updated_ns);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Status e = Err("insert series");
      RollbackAfterError();
      return e;
    }
    sqlite3_reset(st.s);
  }
  return Commit();
}

Status StateStore::DeleteStates(const std::vector<uint64_t>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM series WHERE key=?", -1, &st.s, nullptr) != SQLITE_OK) {
    Status e = Err("prepare delete");
    RollbackAfterError();
    return e;
  }
  for (uint64_t key : keys) {
    sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(key));
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Status e = Err("delete series");
      RollbackAfterError();
      return e;
    }
    sqlite3_reset(st.s);
  }
  return Commit();
}

Status StateStore::LoadStates(const std::function<Status(SeriesRecord&&)>& fn, uint64_t* corrupt) {
  return LoadStates(fn, [corrupt](uint64_t, uint64_t, const Status&) {
    if (corrupt) ++*corrupt;
  });
}

Status StateStore::LoadStates(const std::function<Status(SeriesRecord&&)>& fn,
                              const CorruptRowFn& on_corrupt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT key, fp, labels, state, updated_ns FROM series ORDER BY key",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return Err("prepare select");
  }
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    SeriesRecord r;
    r.key = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
    r.fp = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
    const char* lb = static_cast<const char*>(sqlite3_column_blob(st.s, 2));
    std::string_view labels(lb ? lb : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 2)));
    Status ds = DecodeLabels(labels, &r.labels);
    if (!ds.ok()) {
      if (on_corrupt) on_corrupt(r.key, r.fp, ds.WithContext("labels"));
      continue;
    }
    const char* sb = static_cast<const char*>(sqlite3_column_blob(st.s, 3));
    r.state.assign(sb ? sb : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 3)));
    r.updated_ns = sqlite3_column_int64(st.s, 4);
    BACKSIGHT_RETURN_IF_ERROR(fn(std::move(r)));
  }
  if (rc != SQLITE_DONE) return Err("select series");
  return Status::OK();
}

Status StateStore::CountStates(uint64_t* n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM series", -1, &st.s, nullptr) != SQLITE_OK ||
      sqlite3_step(st.s) != SQLITE_ROW) {
    return Err("count series");
  }
  *n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
  return Status::OK();
}

Status StateStore::WriteEvents(std::vector<AnomalyEvent>* events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt ins, upd;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO events(fp, labels, start_ns, end_ns, peak_score) "
                         "VALUES(?,?,?,?,?)",
                         -1, &ins.s, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "UPDATE events SET end_ns=?, peak_score=? WHERE id=?", -1, &upd.s,
                         nullptr) != SQLITE_OK) {
    Status e = Err("prepare events");
    RollbackAfterError();
    return e;
  }
  std::string buf;
  for (auto& e : *events) {
    sqlite3_stmt* s;
    if (e.id == 0) {
      s = ins.s;
      buf.clear();
      EncodeLabels(e.labels, &buf);
      sqlite3_bind_int64(s, 1, static_cast<int64_t>(e.fp));
      sqlite3_bind_blob(s, 2, buf.data(), static_cast<int>(buf.size()), SQLITE_STATIC);
      sqlite3_bind_int64(s, 3, e.start_ns);
      if (e.end_ns == 0)
        sqlite3_bind_null(s, 4);
      else
        sqlite3_bind_int64(s, 4, e.end_ns);
      sqlite3_bind_double(s, 5, e.peak_score);
    } else {
      s = upd.s;
      if (e.end_ns == 0)
        sqlite3_bind_null(s, 1);
      else
        sqlite3_bind_int64(s, 1, e.end_ns);
      sqlite3_bind_double(s, 2, e.peak_score);
      sqlite3_bind_int64(s, 3, e.id);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status err = Err("write event");
      RollbackAfterError();
      return err;
    }
    if (e.id == 0) e.id = sqlite3_last_insert_rowid(db_);
    sqlite3_reset(s);
  }
  return Commit();
}

Status StateStore::CloseOpenEvents(TimestampNs end_ns, uint64_t* closed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_, "UPDATE events SET end_ns=? WHERE end_ns IS NULL", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return Err("prepare close events");
  }
  sqlite3_bind_int64(st.s, 1, end_ns);
  if (sqlite3_step(st.s) != SQLITE_DONE) return Err("close events");
  if (closed) *closed = static_cast<uint64_t>(sqlite3_changes(db_));
  return Status::OK();
}

Status StateStore::CheckEvents(const CorruptRowFn& on_corrupt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT id, fp, labels FROM events", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return Err("prepare check events");
  }
  Labels labels;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const char* lb = static_cast<const char*>(sqlite3_column_blob(st.s, 2));
    std::string_view bytes(lb ? lb : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 2)));
    Status bad = DecodeLabels(bytes, &labels);
    if (!bad.ok() && on_corrupt) {
      on_corrupt(static_cast<uint64_t>(sqlite3_column_int64(st.s, 0)),
                 static_cast<uint64_t>(sqlite3_column_int64(st.s, 1)), bad.WithContext("labels"));
    }
  }
  if (rc != SQLITE_DONE) return Err("select events");
  return Status::OK();
}

Status StateStore::RecentEvents(size_t limit, uint64_t fp, std::vector<AnomalyEvent>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  const char* sql = fp != 0 ? "SELECT id, fp, labels, start_ns, end_ns, peak_score FROM events "
                              "WHERE fp=? ORDER BY start_ns DESC, id DESC LIMIT ?"
                            : "SELECT id, fp, labels, start_ns, end_ns, peak_score FROM events "
                              "ORDER BY start_ns DESC, id DESC LIMIT ?";
  if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return Err("prepare events");
  int i = 1;
  if (fp != 0) sqlite3_bind_int64(st.s, i++, static_cast<int64_t>(fp));
  sqlite3_bind_int64(st.s, i, static_cast<int64_t>(limit));
  out->clear();
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    AnomalyEvent e;
    e.id = sqlite3_column_int64(st.s, 0);
    e.fp = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
    const char* lb = static_cast<const char*>(sqlite3_column_blob(st.s, 2));
    std::string_view labels(lb ? lb : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 2)));
    if (!DecodeLabels(labels, &e.labels).ok()) continue;
    e.start_ns = sqlite3_column_int64(st.s, 3);
    e.end_ns = sqlite3_column_type(st.s, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st.s, 4);
    e.peak_score = sqlite3_column_double(st.s, 5);
    out->push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Err("select events");
  return Status::OK();
}

Status StateStore::WriteIncidents(const std::vector<StoredIncident>& incidents) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO incidents(id, start_ns, end_ns, schema, body) "
                         "VALUES(?,?,?,?,?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    Status e = Err("prepare incidents");
    RollbackAfterError();
    return e;
  }
  for (const StoredIncident& i : incidents) {
    sqlite3_reset(st.s);
    sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(i.id));
    sqlite3_bind_int64(st.s, 2, i.start_ns);
    sqlite3_bind_int64(st.s, 3, i.end_ns);
    sqlite3_bind_int(st.s, 4, i.schema);
    sqlite3_bind_text(st.s, 5, i.body.data(), static_cast<int>(i.body.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Status e = Err("insert incident");
      RollbackAfterError();
      return e;
    }
  }
  return Commit();
}

Status StateStore::PruneIncidents(size_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "DELETE FROM incidents WHERE id NOT IN (SELECT id FROM incidents "
                         "ORDER BY start_ns DESC, id DESC LIMIT ?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return Err("prepare prune incidents");
  }
  sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(keep));
  if (sqlite3_step(st.s) != SQLITE_DONE) return Err("prune incidents");
  return Status::OK();
}

Status StateStore::LoadIncidents(size_t limit, std::vector<StoredIncident>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, start_ns, end_ns, schema, body FROM incidents "
                         "ORDER BY start_ns DESC, id DESC LIMIT ?",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return Err("prepare incidents");
  }
  sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(limit));
  out->clear();
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    StoredIncident i;
    i.id = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
    i.start_ns = sqlite3_column_int64(st.s, 1);
    i.end_ns = sqlite3_column_int64(st.s, 2);
    i.schema = sqlite3_column_int(st.s, 3);
    const char* b = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 4));
    i.body.assign(b ? b : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 4)));
    out->push_back(std::move(i));
  }
  if (rc != SQLITE_DONE) return Err("select incidents");
  return Status::OK();
}

Status StateStore::SaveCapacity(const std::vector<CapacityRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt st;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO capacity(fp, body, updated_ns) VALUES(?,?,?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    Status e = Err("prepare capacity");
    RollbackAfterError();
    return e;
  }
  for (const CapacityRecord& r : records) {
    sqlite3_reset(st.s);
    sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(r.fp));
    sqlite3_bind_blob(st.s, 2, r.body.data(), static_cast<int>(r.body.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st.s, 3, r.updated_ns);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Status e = Err("insert capacity");
      RollbackAfterError();
      return e;
    }
  }
  return Commit();
}

Status StateStore::DeleteCapacity(const std::vector<uint64_t>& fps) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  BACKSIGHT_RETURN_IF_ERROR(Exec("BEGIN"));
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM capacity WHERE fp=?", -1, &st.s, nullptr) != SQLITE_OK) {
    Status e = Err("prepare capacity delete");
    RollbackAfterError();
    return e;
  }
  for (uint64_t fp : fps) {
    sqlite3_reset(st.s);
    sqlite3_bind_int64(st.s, 1, static_cast<int64_t>(fp));
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      Status e = Err("delete capacity");
      RollbackAfterError();
      return e;
    }
  }
  return Commit();
}

Status StateStore::LoadCapacity(const std::function<Status(CapacityRecord&&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (db_ == nullptr) return Status::Unavailable("state store not open");
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT fp, body, updated_ns FROM capacity ORDER BY fp", -1, &st.s,
                         nullptr) != SQLITE_OK) {
    return Err("prepare select capacity");
  }
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    CapacityRecord r;
    r.fp = static_cast<uint64_t>(sqlite3_column_int64(st.s, 0));
    const char* b = static_cast<const char*>(sqlite3_column_blob(st.s, 1));
    r.body.assign(b ? b : "", static_cast<size_t>(sqlite3_column_bytes(st.s, 1)));
    r.updated_ns = sqlite3_column_int64(st.s, 2);
    BACKSIGHT_RETURN_IF_ERROR(fn(std::move(r)));
  }
  if (rc != SQLITE_DONE) return Err("select capacity");
  return Status::OK();
}

}  // namespace backsight::store
