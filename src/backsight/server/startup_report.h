// What `backsight serve` could not restore or replay at start-up (damaged detector states, event
// rows, write-ahead-log records), with the figures of the restore and the log replay. Problems are
// printed to the server log one line each (the first kMaxLogged) and kept (the first kMaxKept)
// for GET /api/v1/status.
#ifndef BACKSIGHT_SERVER_STARTUP_REPORT_H_
#define BACKSIGHT_SERVER_STARTUP_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/server/engine.h"

namespace backsight::server {

/// One entry that start-up skipped: its kind ("series_state", "series_row", "event_row",
/// "wal_record", "capacity_row"), the series (labels, or fingerprint when unknown) and why.
struct StartupProblem {
  std::string kind;
  std::string series;
  std::string reason;
};

class StartupReport {
 public:
  /// Problems printed to the log one line each; the rest are summarised in one line.
  static constexpr size_t kMaxLogged = 20;
  /// Problems kept for /api/v1/status (bounded memory with a badly damaged store).
  static constexpr size_t kMaxKept = 1000;

  /// `log` (may be null) receives the problem lines.
  explicit StartupReport(std::FILE* log = stderr) : log_(log) {}

  /// Records a problem; thread-safe.
  void Add(const std::string& kind, const std::string& series, const std::string& reason);
  /// Prints the summary line of the problems past kMaxLogged, if any.
  void FinishLog();
  uint64_t problems() const;
  /// {"total": N, "truncated": bool, "entries": [{"kind", "series", "reason"}, ...]}
  nlohmann::json ProblemsJson() const;

  // Figures, set by the server during start-up (read-only afterwards).
  uint64_t series_restored = 0;
  uint64_t series_skipped = 0;
  double restore_seconds = 0;
  uint64_t capacity_restored = 0;  ///< capacity demand series read back (capacity_service.h)
  uint64_t capacity_skipped = 0;   ///< stored capacity rows not restored
  bool wal_replayed = false;
  WalReplayResult wal;

 private:
  std::FILE* log_;
  mutable std::mutex mu_;
  uint64_t total_ = 0;
  std::vector<StartupProblem> kept_;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_STARTUP_REPORT_H_
