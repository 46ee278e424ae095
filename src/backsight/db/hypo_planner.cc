#include "backsight/db/hypo_planner.h"

#include <cstdlib>

#include "backsight/db/explain.h"

namespace backsight::db {
namespace {

// Collects the indexes the plan scans ("Index Name" of Index / Index Only / Bitmap Index Scan).
// HypoPG names its indexes "<oid>btree_table_cols".
void CollectIndexes(const nlohmann::json& node, PlanCost* out) {
  if (node.is_object()) {
    if (auto it = node.find("Index Name"); it != node.end() && it->is_string()) {
      const std::string name = *it;
      out->index_names.insert(name);
      if (name.size() > 2 && name[0] == '<') {
        out->hypo_oids.insert(std::strtoll(name.c_str() + 1, nullptr, 10));
      }
    }
    for (const auto& [k, v] : node.items()) CollectIndexes(v, out);
  } else if (node.is_array()) {
    for (const auto& v : node) CollectIndexes(v, out);
  }
}

}  // namespace

Status HypoPlanner::Start(Connection* conn, std::unique_ptr<HypoPlanner>* out) {
  BACKSIGHT_RETURN_IF_ERROR(conn->RequireExtension("hypopg"));
  BACKSIGHT_RETURN_IF_ERROR(
      conn->Query("SELECT hypopg_reset(); SET plan_cache_mode = force_generic_plan"));
  out->reset(new HypoPlanner(conn));
  return Status::OK();
}

Status HypoPlanner::Cost(const Statement& stmt, PlanCost* out) {
  ++explain_calls_;
  nlohmann::json plan;
  BACKSIGHT_RETURN_IF_ERROR(ExplainPlan(conn_, stmt, &plan));
  *out = PlanCost{};
  out->total_cost = plan.value("Total Cost", 0.0);
  CollectIndexes(plan, out);
  return Status::OK();
}

Status HypoPlanner::Create(const IndexCandidate& c, int64_t* oid, int64_t* bytes) {
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(
      conn_->Query("SELECT indexrelid, hypopg_relation_size(indexrelid) FROM hypopg_create_index(" +
                       QuoteLiteral(c.CreateSql()) + ")",
                   &r));
  if (r.rows.empty()) return Status::InvalidArgument("hypopg refused " + c.CreateSql());
  *oid = std::strtoll(r.rows[0][0].c_str(), nullptr, 10);
  *bytes = std::strtoll(r.rows[0][1].c_str(), nullptr, 10);
  return Status::OK();
}

Status HypoPlanner::Drop(int64_t oid) {
  return conn_->Query("SELECT hypopg_drop_index(" + std::to_string(oid) + ")");
}

}  // namespace backsight::db
