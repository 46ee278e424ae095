// Advisor: workload-level index selection under a size budget, every benefit measured by the
// real planner with HypoPG hypothetical indexes.
#ifndef BACKSIGHT_DB_ADVISOR_H_
#define BACKSIGHT_DB_ADVISOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/db/candidates.h"
#include "backsight/db/catalog.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// Bytes in one MB of a budget: 2^20, the unit of pg_size_pretty.
inline constexpr double kBytesPerMb = 1024.0 * 1024.0;

struct AdviseOptions {
  double budget_mb = 0;  // total hypopg_relation_size of the advice, MB; <= 0: no budget
  /// An index is kept only when it lowers the cost of the statements it is relevant to by at least
  /// this fraction (an index that saves 0.5 % is not worth its writes and space).
  double min_gain_fraction = 0.01;
};

/// One advised index, in selection order (best benefit per MB first).
struct AdvisedIndex {
  IndexCandidate index;
  int64_t bytes = 0;          // hypopg_relation_size estimate
  double benefit = 0;         // weighted workload cost saved when it was picked (planner units)
  int statements_served = 0;  // statements whose final plan scans it
};

/// The planner's verdict on one statement.
struct StatementAdvice {
  size_t statement = 0;                   // index into the statements given to Advise
  double cost_before = 0;                 // EXPLAIN total cost with the existing indexes only
  double cost_after = 0;                  // with the advised indexes too
  std::vector<std::string> advised_used;  // CreateSql of the advised indexes its plan scans
  std::string error;  // non-empty: EXPLAIN failed, statement left out (costs are 0)
};

struct Advice {
  std::vector<AdvisedIndex> indexes;
  std::vector<StatementAdvice> statements;
  double cost_before = 0;  // sum over planned statements of weight * cost
  double cost_after = 0;
  long candidates = 0;     // distinct candidates generated
  long explain_calls = 0;  // EXPLAIN statements sent
  double seconds = 0;      // wall time of Advise
};

/// Selects indexes for `statements` on the database behind `conn` (read-only: hypothetical
/// indexes only). Algorithm: candidates from each statement's parse tree (candidates.h); each
/// candidate's size and stand-alone benefit on the statements it is relevant to (those with a
/// candidate on the same table and leading key; a partial candidate's statements are also
/// planned with its table first in FROM, from_order.h, the cheaper plan counting); then greedy
/// selection by benefit per MB, lazily re-evaluated against the indexes already chosen (the CELF
/// order of Leskovec et al., KDD 2007), an index taken only when it fits the budget, run once
/// plain and once after each of the largest stand-alone benefits, the cheapest workload kept;
/// finally indexes no final plan uses are dropped. Errors: those of the connection; NotFound if
/// hypopg is missing.
Status Advise(Connection* conn, const Catalog& catalog, const std::vector<Statement>& statements,
              const AdviseOptions& options, Advice* out);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_ADVISOR_H_
