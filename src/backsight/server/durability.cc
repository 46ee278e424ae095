// Server start-up durability: opening the SQLite store and the write-ahead log, restoring the
// detector states, replaying the log, and reporting what was skipped (log, /api/v1/status,
// /metrics). Kept apart from server.cc (HTTP wiring).
#include <chrono>
#include <cstdio>

#include "backsight/core/time.h"
#include "backsight/server/server.h"

namespace backsight::server {
namespace {

constexpr const char* kDatabaseFile = "backsight.db";
constexpr const char* kWalDir = "wal";

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A damaged or foreign database file: one message naming it and how to recover. Other errors
// (e.g. OutOfRange: a schema version newer than this build reads) already say so themselves.
Status DatabaseError(const std::string& path, const Status& st) {
  if (st.code() != Status::Code::kCorruption) return st;
  return Status::Corruption("state database " + path + " is damaged or not a SQLite database (" +
                            st.message() +
                            "). To recover, move it aside with its -wal/-shm files (mv " + path +
                            "* <elsewhere>) and start again: Backsight then starts with fresh "
                            "detector states");
}

}  // namespace

Status Server::OpenStore() {
  start_wall_ns_ = WallNowNs();
  const std::string db = cfg_.state_dir + "/" + kDatabaseFile;
  store_ = std::make_unique<store::StateStore>();
  Status st = store_->Open(db);
  if (st.ok()) st = store_->CloseOpenEvents(WallNowNs(), nullptr);
  if (st.ok()) {
    st = store_->CheckEvents([this](uint64_t id, uint64_t fp, const Status& why) {
      report_.Add("event_row", FormatFingerprint(fp),
                  why.message() + " (event id " + std::to_string(id) + ")");
    });
  }
  if (!st.ok()) {
    store_.reset();
    return DatabaseError(db, st);
  }
  if (cfg_.wal_enabled) {
    store::WalOptions wo;
    wo.fsync = cfg_.wal_fsync;
    BACKSIGHT_RETURN_IF_ERROR(store::Wal::Open(cfg_.state_dir + "/" + kWalDir, wo, &wal_));
  }
  return Status::OK();
}

Status Server::RestoreStates() {
  const auto t0 = std::chrono::steady_clock::now();
  Status st = engine_->Restore(store_.get(), &report_.series_restored, &report_.series_skipped,
                               [this](const std::string& kind, const std::string& series,
                                      const std::string& why) { report_.Add(kind, series, why); });
  if (!st.ok()) return DatabaseError(cfg_.state_dir + "/" + kDatabaseFile, st);
  report_.restore_seconds = SecondsSince(t0);
  restore_skipped_ = report_.series_skipped;
  restore_ms_ = static_cast<uint64_t>(report_.restore_seconds * 1e3);
  std::fprintf(stderr,
               "backsight serve: restored %llu series from %s/%s in %.3f s (%llu skipped)\n",
               static_cast<unsigned long long>(report_.series_restored), cfg_.state_dir.c_str(),
               kDatabaseFile, report_.restore_seconds,
               static_cast<unsigned long long>(report_.series_skipped));
  return Status::OK();
}

Status Server::RestoreCapacity() {
  const auto t0 = std::chrono::steady_clock::now();
  Status st = capacity_->Restore(
      store_.get(),
      [this](const std::string& series, const std::string& why) {
        report_.Add("capacity_row", series, why);
      },
      &report_.capacity_restored, &report_.capacity_skipped);
  if (!st.ok()) return DatabaseError(cfg_.state_dir + "/" + kDatabaseFile, st);
  if (report_.capacity_restored + report_.capacity_skipped > 0) {
    std::fprintf(stderr,
                 "backsight serve: restored %llu capacity series (%llu skipped) in %.3f s\n",
                 static_cast<unsigned long long>(report_.capacity_restored),
                 static_cast<unsigned long long>(report_.capacity_skipped), SecondsSince(t0));
  }
  return Status::OK();
}

Status Server::ReplayWal() {
  // The sample sinks see each record through the engine's observer, as they did live; each skips
  // what its restored state already holds by the engine's rule (sample_sink.h).
  Status st =
      engine_->ReplayWal(wal_.get(), &report_.wal,
                         [this](const std::string& kind, const std::string& series,
                                const std::string& why) { report_.Add(kind, series, why); });
  report_.wal_replayed = true;
  const WalReplayResult& r = report_.wal;
  std::fprintf(
      stderr,
      "backsight serve: replayed %llu WAL records (%llu samples, %llu already "
      "checkpointed and skipped) from %llu segments (%llu bytes) in %.3f s (%.0f "
      "records/s); %llu corrupt, %llu undecodable\n",
      static_cast<unsigned long long>(r.log.records), static_cast<unsigned long long>(r.samples),
      static_cast<unsigned long long>(r.samples_skipped),
      static_cast<unsigned long long>(r.log.segments), static_cast<unsigned long long>(r.log.bytes),
      r.seconds, r.seconds > 0 ? r.log.records / r.seconds : 0.0,
      static_cast<unsigned long long>(r.log.corrupt),
      static_cast<unsigned long long>(r.undecodable));
  report_.FinishLog();
  return st;
}

void Server::MirrorDurabilityMetrics() {
  SelfMetrics& m = self_metrics_;
  const WalReplayResult& r = report_.wal;
  m.SetGauge("backsight_wal_enabled", "1 when accepted samples are logged.", wal_ ? 1 : 0);
  m.SetGauge("backsight_wal_segments", "Segment files of the write-ahead log.",
             wal_ ? static_cast<double>(wal_->segment_count()) : 0);
  m.SetGauge("backsight_wal_size_bytes", "Size of the write-ahead log.",
             wal_ ? static_cast<double>(wal_->size_bytes()) : 0);
  const EngineStats es = engine_->stats();
  m.SetCounter("backsight_wal_records_appended_total",
               "Accepted batches appended to the write-ahead log.", es.wal_records);
  m.SetCounter("backsight_wal_append_errors_total",
               "Batches refused because the write-ahead log append failed.", es.wal_append_errors);
  m.SetGauge("backsight_wal_replay_duration_seconds",
             "Time taken to replay the write-ahead log at start.", r.seconds);
  m.SetGauge("backsight_wal_replay_records", "Intact write-ahead log records replayed at start.",
             r.log.records);
  m.SetGauge("backsight_wal_replay_samples",
             "Samples in the write-ahead log records replayed at start.", r.samples);
  m.SetGauge("backsight_wal_replay_samples_skipped",
             "Replayed samples skipped because the restored checkpoint already held them.",
             r.samples_skipped);
  m.SetGauge("backsight_wal_replay_corrupt_records",
             "Damaged or torn write-ahead log records found at start (each ends its segment).",
             r.log.corrupt + r.undecodable);
  m.SetGauge("backsight_startup_skipped_entries",
             "Entries (states, event rows, log records) skipped at start; see /api/v1/status.",
             report_.problems());
}

nlohmann::json Server::StatusJson() {
  const WalReplayResult& r = report_.wal;
  nlohmann::json config = {
      {"listen", cfg_.listen},
      {"state_dir", cfg_.state_dir},
      {"database", cfg_.state_dir.empty() ? "" : cfg_.state_dir + "/" + kDatabaseFile},
      {"wal_dir", wal_ ? wal_->dir() : ""},
      {"wal_fsync", wal_ != nullptr && cfg_.wal_fsync},
      {"checkpoint_interval_seconds", cfg_.checkpoint_interval_ms * 1e-3},
      {"workers", engine_->options().workers},
      {"series_max_active", cfg_.max_series},
      {"series_stale_after_seconds", cfg_.series_stale_after_ms * 1e-3},
      {"queue_max_samples", cfg_.queue_max_samples},
      {"counters_as_rates", cfg_.counters_as_rates},
      {"alertmanager_url", cfg_.alertmanager_url},
      {"scrape_jobs", cfg_.scrape_jobs.size()},
      {"auth", !cfg_.bearer_token.empty()}};
  nlohmann::json data = {
      {"start_time", start_wall_ns_ ? FormatRfc3339(start_wall_ns_) : ""},
      {"config", config},
      {"restore",
       {{"series_restored", report_.series_restored},
        {"series_skipped", report_.series_skipped},
        {"duration_seconds", report_.restore_seconds},
        {"capacity_series_restored", report_.capacity_restored},
        {"capacity_series_skipped", report_.capacity_skipped}}},
      {"wal_replay",
       {{"done", report_.wal_replayed},
        {"segments", r.log.segments},
        {"bytes", r.log.bytes},
        {"records", r.log.records},
        {"records_corrupt", r.log.corrupt},
        {"records_undecodable", r.undecodable},
        {"samples", r.samples},
        {"samples_skipped", r.samples_skipped},
        {"duration_seconds", r.seconds},
        {"records_per_second", r.seconds > 0 ? r.log.records / r.seconds : 0.0}}},
      {"wal",
       {{"segments", wal_ ? wal_->segment_count() : 0},
        {"size_bytes", wal_ ? wal_->size_bytes() : 0}}},
      {"checkpoints",
       {{"completed", checkpoints_.load()},
        {"errors", checkpoint_errors_.load()},
        {"last_duration_seconds", checkpoint_last_ms_ * 1e-3}}},
      {"skipped", report_.ProblemsJson()}};
  return {{"status", "success"}, {"data", data}};
}

}  // namespace backsight::server
