#include "backsight/db/stat_snapshot.h"

#include <chrono>
#include <cstdlib>

namespace backsight::db {
namespace {

double Number(const std::string& s) { return s.empty() ? 0 : std::strtod(s.c_str(), nullptr); }

}  // namespace

Status TakeStatSnapshot(Connection* conn, StatSnapshot* out) {
  BACKSIGHT_RETURN_IF_ERROR(conn->RequireExtension("pg_stat_statements"));
  *out = StatSnapshot{};
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(
      "SELECT query, calls, total_exec_time, rows, shared_blks_read FROM pg_stat_statements "
      "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
      &r));
  out->taken_at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  for (const auto& row : r.rows) {
    Statement s;
    if (!ParseStatement(row[0], &s).ok()) {
      ++out->unparsed;
      continue;
    }
    auto [it, inserted] = out->statements.try_emplace(s.fingerprint);
    StatementCounters& c = it->second;
    if (inserted) c.statement = std::move(s);
    c.calls += Number(row[1]);
    c.total_exec_ms += Number(row[2]);
    c.rows += Number(row[3]);
    c.shared_blks_read += Number(row[4]);
  }
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(
      "SELECT schemaname || '.' || relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0) "
      "FROM pg_stat_user_tables",
      &r));
  for (const auto& row : r.rows) {
    out->tables[row[0]] = {Number(row[1]), Number(row[2]), Number(row[3])};
  }
  return Status::OK();
}

}  // namespace backsight::db
