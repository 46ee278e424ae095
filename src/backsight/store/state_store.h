// Embedded persistence for `backsight serve`: detector checkpoints and anomaly events in SQLite.
//
// One database file (WAL journal, synchronous=NORMAL) with four tables:
//   series(key INTEGER PRIMARY KEY, fp INTEGER, labels BLOB, state BLOB, updated_ns INTEGER)
//     - the last checkpoint of each series' detector state. `key` is a storage key chosen by the
//       caller (the engine hands out increasing keys and writes in key order, so a checkpoint
//       touches B-tree pages sequentially instead of randomly — 10x faster at 1M series than
//       keying by fingerprint); `fp` is the series' Fingerprint (core/labels.h); `labels` is
//       the canonical label set encoded by EncodeLabels.
//   events(id INTEGER PRIMARY KEY, fp, labels BLOB, start_ns, end_ns NULL while open, peak_score)
//     - anomaly episodes.
//   incidents(id INTEGER PRIMARY KEY, start_ns, end_ns (0 while open), schema, body TEXT)
//     - live incidents (incidents/incident_tracker.h), `body` their JSON (IncidentToJson) in the
//       layout numbered `schema` (kIncidentSchema; formats.md); rows of another schema are
//       skipped and reported at start-up.
//   capacity(fp INTEGER PRIMARY KEY, body BLOB, updated_ns INTEGER)
//     - the bucket history of each capacity demand series (server/capacity_service.h), keyed by
//       the Fingerprint of its labels; `body` is opaque here (server/capacity_history.h, `BSCH`
//       v1 in formats.md §5g). Written at checkpoints, read back at start-up. Since schema 2.
// The file's layout is numbered by `PRAGMA user_version` (kStoreSchema below): Open creates a new
// file at the current version, migrates an older one in one transaction, and refuses a newer one.
// Writes are batched: one transaction per SaveStates/DeleteStates/WriteEvents call, so 1M states
// checkpoint in seconds. Thread-safe (an internal mutex serialises calls).
#ifndef BACKSIGHT_STORE_STATE_STORE_H_
#define BACKSIGHT_STORE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

struct sqlite3;

namespace backsight::store {

/// Encodes a label set as bytes (varint count, then name/value strings; see core/byte_io.h).
void EncodeLabels(const Labels& labels, std::string* out);
/// Decodes bytes written by EncodeLabels. Returns Corruption naming the byte offset when malformed.
Status DecodeLabels(std::string_view in, Labels* out);

/// One checkpointed series: identity, labels and opaque state bytes (owned by the caller's format).
struct SeriesRecord {
  uint64_t key = 0;  ///< storage key (unique per stored series)
  uint64_t fp = 0;
  Labels labels;
  std::string state;
  TimestampNs updated_ns = 0;  ///< wall time of the checkpoint that wrote it
};

/// One anomaly episode of a series. `end_ns` is 0 while the episode is still open.
struct AnomalyEvent {
  int64_t id = 0;  ///< assigned by the store (0 = new)
  uint64_t fp = 0;
  Labels labels;
  TimestampNs start_ns = 0;  ///< timestamp of the first anomalous sample
  TimestampNs end_ns = 0;    ///< timestamp of the first normal sample after it; 0 = open
  double peak_score = 0;     ///< highest anomaly_score during the episode
};

/// One stored incident: its id, times and JSON body in layout `schema`.
struct StoredIncident {
  uint64_t id = 0;
  TimestampNs start_ns = 0;
  TimestampNs end_ns = 0;  ///< 0 while open
  int schema = 0;
  std::string body;
};

/// One stored capacity demand series: its labels' fingerprint and the encoded history (opaque).
struct CapacityRecord {
  uint64_t fp = 0;
  std::string body;
  TimestampNs updated_ns = 0;  ///< wall time of the checkpoint that wrote it
};

/// Layout version of the incidents table's `body` written by this build (formats.md §3).
inline constexpr int kIncidentSchema = 1;

/// Layout version of the whole database file, kept in its header as `PRAGMA user_version`
/// (formats.md §3). Each version's layout:
///   0  a file written before the version existed (or a new, empty file): its tables, if any,
///      are those of version 1; Open checks their columns and stamps the file 1.
///   1  series(key, fp, labels, state, updated_ns); events(id AUTOINCREMENT, fp, labels, start_ns,
///      end_ns, peak_score) with indexes events_start, events_fp; incidents(id, start_ns, end_ns,
///      schema, body) with index incidents_start.
///   2  version 1 plus capacity(fp, body, updated_ns) (capacity histories,
///   server/capacity_history.h).
/// A new version adds one migration step (a MigrateToN, listed in Migrate) and a line here.
inline constexpr int kStoreSchema = 2;

/// SQLite-backed store. Open it once per process; all methods may be called from any thread.
class StateStore {
 public:
  StateStore() = default;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;
  ~StateStore();

  /// Opens (creating if needed) the database at `path` (the directory must exist) and brings its
  /// layout to kStoreSchema: a new file is created at it, an older file is migrated step by step
  /// in one transaction (all steps or none), keeping every row. Returns OutOfRange, naming the
  /// file, the version found and the newest one this build reads, when the file's version is
  /// newer than kStoreSchema (the file is left untouched); Corruption naming the file when it is
  /// not a SQLite database or is damaged (SQLITE_NOTADB, SQLITE_CORRUPT; any later call reports
  /// those the same way) or when a version-0 file's tables lack the columns of version 1;
  /// IoError with SQLite's message for other failures.
  Status Open(const std::string& path);
  void Close();
  bool is_open() const { return db_ != nullptr; }

  /// Inserts or replaces the given records in one transaction.
  Status SaveStates(const std::vector<SeriesRecord>& records);
  /// Deletes the given series by storage key (e.g. evicted ones) in one transaction.
  Status DeleteStates(const std::vector<uint64_t>& keys);
  /// Called for a stored row that cannot be decoded: its storage key, fingerprint and why.
  using CorruptRowFn = std::function<void(uint64_t key, uint64_t fp, const Status& why)>;

  /// Calls `fn` for every stored series, in storage key order. A record whose labels cannot be
  /// decoded is skipped and passed to `on_corrupt` (may be null). Stops early and returns the
  /// error if `fn` returns a non-OK status. A damaged database file gives Corruption.
  Status LoadStates(const std::function<Status(SeriesRecord&&)>& fn,
                    const CorruptRowFn& on_corrupt);
  /// As above, counting skipped records in `*corrupt` (may be null).
  Status LoadStates(const std::function<Status(SeriesRecord&&)>& fn, uint64_t* corrupt);
  /// Number of stored series.
  Status CountStates(uint64_t* n);

  /// Inserts new events (id == 0; the assigned id is written back) and updates existing ones
  /// (end_ns, peak_score) in one transaction.
  Status WriteEvents(std::vector<AnomalyEvent>* events);
  /// Closes every open event (end_ns NULL) with `end_ns`; used at start-up, since episodes do
  /// not survive a restart. Returns the number closed in `*closed` (may be null).
  Status CloseOpenEvents(TimestampNs end_ns, uint64_t* closed);
  /// Reads every stored event and passes those that cannot be decoded to `on_corrupt` (key =
  /// event id); they are left in place and skipped by RecentEvents. Used at start-up.
  Status CheckEvents(const CorruptRowFn& on_corrupt);
  /// The `limit` most recent events (by start, newest first); when `fp` is non-zero, only that
  /// series' events.
  Status RecentEvents(size_t limit, uint64_t fp, std::vector<AnomalyEvent>* out);

  /// Inserts or replaces incidents by id in one transaction.
  Status WriteIncidents(const std::vector<StoredIncident>& incidents);
  /// Deletes all but the `keep` most recent incidents (by start).
  Status PruneIncidents(size_t keep);
  /// The `limit` most recent incidents (by start, newest first), any schema (the caller skips
  /// those it cannot read).
  Status LoadIncidents(size_t limit, std::vector<StoredIncident>* out);

  /// Inserts or replaces capacity rows by fingerprint in one transaction.
  Status SaveCapacity(const std::vector<CapacityRecord>& records);
  /// Calls `fn` for every stored capacity row in fingerprint order; stops early and returns the
  /// error if `fn` returns one. Decoding `body` (and skipping rows that do not decode) is the
  /// caller's.
  Status LoadCapacity(const std::function<Status(CapacityRecord&&)>& fn);
  /// Deletes the capacity rows of these fingerprints (absent ones are no error), in one
  /// transaction.
  Status DeleteCapacity(const std::vector<uint64_t>& fps);

 private:
  Status Exec(const char* sql);
  // Rolls back the open transaction after an error that the caller is about to return.
  void RollbackAfterError();
  // COMMIT; on failure rolls back, so that the next BEGIN does not find a transaction open.
  Status Commit();
  Status Err(const char* what);
  Status ErrCode(int rc, const std::string& what, const std::string& msg) const;
  // Reads `PRAGMA user_version` into `*version`; Corruption when it is negative.
  Status ReadSchemaVersion(int* version);
  // The OutOfRange refusal of a file whose version `found` is newer than kStoreSchema.
  Status NewerSchemaError(int found) const;
  // Migrates the file from `*version` to kStoreSchema in one transaction (mu_ held).
  Status Migrate(int* version);
  // Corruption unless `table` exists with (at least) the given columns.
  Status CheckColumns(const char* table, const std::vector<std::string>& columns);
  // Migration steps, each from the version before to the one in its name (inside Migrate's
  // transaction).
  Status MigrateTo1();
  Status MigrateTo2();

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace backsight::store

#endif  // BACKSIGHT_STORE_STATE_STORE_H_
