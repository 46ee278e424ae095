// QueryWatcher: the live regression watch on one PostgreSQL database — statistics snapshots,
// the regression rule (regression_watch.h), and each watched statement's plan shape so that a
// regression says whether its plan changed.
#ifndef BACKSIGHT_DB_QUERY_WATCHER_H_
#define BACKSIGHT_DB_QUERY_WATCHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/db/catalog.h"
#include "backsight/db/connection.h"
#include "backsight/db/regression_watch.h"
#include "backsight/db/stat_snapshot.h"

namespace backsight::db {

/// A regression with its statement and plan shapes (explain.h PlanShape; "" when unknown:
/// never planned before, or the statement cannot be planned, e.g. `date $3` from
/// pg_stat_statements).
struct WatchFinding {
  Regression regression;
  std::string statement;    // normalised text
  std::string plan_before;  // the plan at the last snapshot before the regressed interval
  std::string plan_after;   // the plan now
  bool plan_changed() const {
    return !plan_before.empty() && !plan_after.empty() && plan_before != plan_after;
  }
};

/// What one snapshot produced.
struct WatchStep {
  StatSnapshot snapshot;
  std::vector<StatementSample> samples;
  std::vector<WatchFinding> findings;  // new and ongoing regressions
};

/// Watches one database through `conn` (read-only session: `default_transaction_read_only`,
/// generic plans for `$n`). Plans are EXPLAINed at each snapshot for the statements on user
/// tables that ran since the previous one (at most kMaxExplainsPerStep, most time first;
/// regressed ones always), so "before" is the plan at the snapshot before the regression.
class QueryWatcher {
 public:
  /// Checks pg_stat_statements (NotFound naming its CREATE EXTENSION), sets up the session and
  /// loads the catalog. `conn` must outlive the watcher.
  static Status Start(Connection* conn, RegressionRule rule, std::unique_ptr<QueryWatcher>* out);

  /// Takes one snapshot and judges it.
  Status Step(WatchStep* out);

  long explain_calls() const { return explain_calls_; }

  /// EXPLAINs per snapshot: bounds the load the watch puts on the server (each is one planning).
  static constexpr size_t kMaxExplainsPerStep = 50;

 private:
  QueryWatcher(Connection* conn, RegressionRule rule) : conn_(conn), watch_(rule) {}
  void RefreshPlan(const Statement& stmt);

  Connection* conn_;
  RegressionWatch watch_;
  Catalog catalog_;
  std::map<uint64_t, std::string> plans_;  // fingerprint -> last plan shape
  long explain_calls_ = 0;
};

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_QUERY_WATCHER_H_
