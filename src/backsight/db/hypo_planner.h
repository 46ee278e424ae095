// HypoPlanner: EXPLAIN costs of statements under a set of HypoPG hypothetical indexes
// (github.com/HypoPG/hypopg): the real planner's estimate, re-planned on every call.
#ifndef BACKSIGHT_DB_HYPO_PLANNER_H_
#define BACKSIGHT_DB_HYPO_PLANNER_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "backsight/core/status.h"
#include "backsight/db/candidates.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// A statement's plan cost and the hypothetical indexes its plan uses.
struct PlanCost {
  double total_cost = 0;        // EXPLAIN "Total Cost" of the top plan node (planner cost units)
  std::set<int64_t> hypo_oids;  // HypoPG indexes the plan scans
  std::set<std::string> index_names;  // every index the plan scans (real or hypothetical)
};

/// Plans statements through one connection. Statements with parameters ($1...) are planned as
/// generic plans, as PostgreSQL 13-15 allow: `SET plan_cache_mode = force_generic_plan`, then
/// PREPARE / EXPLAIN EXECUTE with NULL arguments / DEALLOCATE, re-prepared every call so a plan
/// never outlives a change of the hypothetical set (a prepared statement keeps its old plan).
class HypoPlanner {
 public:
  /// Checks that hypopg is installed (NotFound naming `CREATE EXTENSION hypopg` otherwise) and
  /// clears any hypothetical index left in the session.
  static Status Start(Connection* conn, std::unique_ptr<HypoPlanner>* out);

  /// EXPLAIN (FORMAT JSON) of `stmt` under the current hypothetical set.
  Status Cost(const Statement& stmt, PlanCost* out);

  /// Creates `c` hypothetically; *oid and *bytes receive its OID and hypopg_relation_size.
  /// An index PostgreSQL refuses (e.g. a non-immutable expression) is InvalidArgument.
  Status Create(const IndexCandidate& c, int64_t* oid, int64_t* bytes);
  /// Removes hypothetical index `oid`.
  Status Drop(int64_t oid);

  /// EXPLAIN calls made so far.
  long explain_calls() const { return explain_calls_; }

 private:
  explicit HypoPlanner(Connection* conn) : conn_(conn) {}
  Connection* conn_;
  long explain_calls_ = 0;
};

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_HYPO_PLANNER_H_
