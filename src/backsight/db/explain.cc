#include "backsight/db/explain.h"

namespace backsight::db {
namespace {

constexpr char kPreparedName[] = "backsight_explain_stmt";

void AppendShape(const nlohmann::json& node, std::string* out) {
  if (!node.is_object()) return;
  *out += node.value("Node Type", std::string("?"));
  if (auto it = node.find("Index Name"); it != node.end() && it->is_string()) {
    out->push_back('[');
    *out += it->get_ref<const std::string&>();
    out->push_back(']');
  }
  if (auto it = node.find("Plans"); it != node.end() && it->is_array() && !it->empty()) {
    *out += "(";
    bool first = true;
    for (const auto& child : *it) {
      if (!first) *out += ", ";
      first = false;
      AppendShape(child, out);
    }
    *out += ")";
  }
}

}  // namespace

Status ExplainPlan(Connection* conn, const Statement& stmt, nlohmann::json* plan) {
  QueryResult r;
  if (stmt.param_count == 0) {
    BACKSIGHT_RETURN_IF_ERROR(conn->Query("EXPLAIN (FORMAT JSON) " + stmt.text, &r));
  } else {
    std::string args;
    for (int i = 0; i < stmt.param_count; ++i) args += i ? ", NULL" : "NULL";
    BACKSIGHT_RETURN_IF_ERROR(
        conn->Query(std::string("PREPARE ") + kPreparedName + " AS " + stmt.text));
    Status st = conn->Query(
        std::string("EXPLAIN (FORMAT JSON) EXECUTE ") + kPreparedName + "(" + args + ")", &r);
    Status dealloc = conn->Query(std::string("DEALLOCATE ") + kPreparedName);
    BACKSIGHT_RETURN_IF_ERROR(st);
    BACKSIGHT_RETURN_IF_ERROR(dealloc);
  }
  if (r.rows.empty()) return Status::Internal("EXPLAIN returned no row");
  auto parsed = nlohmann::json::parse(r.rows[0][0], nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.empty() || !parsed[0].contains("Plan")) {
    return Status::Internal("EXPLAIN (FORMAT JSON) output without a plan");
  }
  *plan = std::move(parsed[0]["Plan"]);
  return Status::OK();
}

std::string PlanShape(const nlohmann::json& plan) {
  std::string out;
  AppendShape(plan, &out);
  return out;
}

}  // namespace backsight::db
