// Explain: EXPLAIN (FORMAT JSON) of one statement, as a generic plan when it has $n parameters,
// and the plan's shape (node types and index names) to tell when a statement's plan changed.
#ifndef BACKSIGHT_DB_EXPLAIN_H_
#define BACKSIGHT_DB_EXPLAIN_H_

#include <nlohmann/json.hpp>
#include <string>

#include "backsight/core/status.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// EXPLAIN (FORMAT JSON) of `stmt` into *plan (the top "Plan" node). A statement with
/// parameters ($1...) is planned as a generic plan, as PostgreSQL 13-15 allow: PREPARE / EXPLAIN
/// EXECUTE with NULL arguments / DEALLOCATE, prepared afresh every call (a prepared statement
/// keeps its old plan otherwise); the caller sets `plan_cache_mode = force_generic_plan` on the
/// session. Errors: the server's (Connection::Query), Internal for output without a plan.
Status ExplainPlan(Connection* conn, const Statement& stmt, nlohmann::json* plan);

/// The shape of a plan: node types in pre-order with the index each scan uses and children in
/// parentheses, costs and row estimates left out, e.g.
/// "Aggregate(Index Scan[orders_user_id])". Two plans with equal shapes use the same operators
/// and indexes.
std::string PlanShape(const nlohmann::json& plan);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_EXPLAIN_H_
