#include "backsight/db/query_watcher.h"

#include <algorithm>
#include <set>

#include "backsight/db/candidates.h"
#include "backsight/db/explain.h"
#include "backsight/db/workload.h"

namespace backsight::db {

Status QueryWatcher::Start(Connection* conn, RegressionRule rule,
                           std::unique_ptr<QueryWatcher>* out) {
  BACKSIGHT_RETURN_IF_ERROR(conn->RequireExtension("pg_stat_statements"));
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(
      "SET default_transaction_read_only = on; SET plan_cache_mode = force_generic_plan"));
  std::unique_ptr<QueryWatcher> w(new QueryWatcher(conn, rule));
  BACKSIGHT_RETURN_IF_ERROR(LoadCatalog(conn, &w->catalog_));
  *out = std::move(w);
  return Status::OK();
}

void QueryWatcher::RefreshPlan(const Statement& stmt) {
  ++explain_calls_;
  nlohmann::json plan;
  // A statement the server cannot plan keeps no shape: its regressions report no plan change.
  plans_[stmt.fingerprint] = ExplainPlan(conn_, stmt, &plan).ok() ? PlanShape(plan) : "";
}

Status QueryWatcher::Step(WatchStep* out) {
  *out = WatchStep{};
  BACKSIGHT_RETURN_IF_ERROR(TakeStatSnapshot(conn_, &out->snapshot));
  std::vector<Regression> regressions;
  watch_.Observe(out->snapshot, &out->samples, &regressions);
  const auto& stmts = out->snapshot.statements;
  std::set<uint64_t> explained;
  for (const auto& r : regressions) {
    WatchFinding f;
    f.regression = r;
    const Statement& st = stmts.at(r.fingerprint).statement;
    f.statement = st.text;
    f.plan_before = plans_[r.fingerprint];
    if (Advisable(st)) {
      RefreshPlan(st);
      explained.insert(r.fingerprint);
    }
    f.plan_after = plans_[r.fingerprint];
    out->findings.push_back(std::move(f));
  }
  // The statements that ran (all of them at the first snapshot), most time first.
  std::vector<std::pair<double, uint64_t>> ran;
  if (out->samples.empty() && plans_.empty()) {
    for (const auto& [fp, c] : stmts) ran.emplace_back(c.total_exec_ms, fp);
  }
  for (const auto& s : out->samples) ran.emplace_back(s.total_ms, s.fingerprint);
  std::sort(ran.rbegin(), ran.rend());
  for (const auto& [ms, fp] : ran) {
    if (explained.size() >= kMaxExplainsPerStep) break;
    const Statement& st = stmts.at(fp).statement;
    if (explained.count(fp) || !Advisable(st) || AnalyzeStatement(st, catalog_).empty()) continue;
    RefreshPlan(st);
    explained.insert(fp);
  }
  // Forget the plans of statements gone from pg_stat_statements.
  std::erase_if(plans_, [&](const auto& kv) { return !stmts.count(kv.first); });
  return Status::OK();
}

}  // namespace backsight::db
