#include "backsight/db/workload.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "backsight/core/file_util.h"

namespace backsight::db {

bool Advisable(const Statement& s) {
  return s.tree.contains("SelectStmt") || s.tree.contains("UpdateStmt") ||
         s.tree.contains("DeleteStmt");
}

Status ReadStatementFiles(const std::vector<std::string>& paths, std::vector<Statement>* parsed,
                          std::vector<SkippedStatement>* skipped) {
  for (const auto& p : paths) {
    std::vector<std::string> files;
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.path().extension() == ".sql") files.push_back(e.path().string());
      }
      if (ec) return Status::IoError(p + ": " + ec.message());
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(p);
    }
    for (const auto& f : files) {
      std::string text;
      BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(f, &text));
      AddStatements(f, text, parsed, skipped);
    }
  }
  return Status::OK();
}

Status ReadPgStatStatements(Connection* conn, std::vector<Statement>* parsed,
                            std::vector<SkippedStatement>* skipped) {
  BACKSIGHT_RETURN_IF_ERROR(conn->RequireExtension("pg_stat_statements"));
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(
      "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
      "WHERE datname = current_database()) AND calls > 0 ORDER BY total_exec_time DESC",
      &r));
  for (const auto& row : r.rows) {
    std::vector<Statement> one;
    AddStatements("pg_stat_statements", row[0], &one, skipped);
    for (auto& s : one) {
      s.weight = std::max(1.0, std::strtod(row[1].c_str(), nullptr));
      // One fingerprint can have several rows (per user, top-level or not): add their calls.
      auto same = std::find_if(parsed->begin(), parsed->end(),
                               [&](const Statement& p) { return p.fingerprint == s.fingerprint; });
      if (same != parsed->end()) {
        same->weight += s.weight;
      } else {
        parsed->push_back(std::move(s));
      }
    }
  }
  return Status::OK();
}

}  // namespace backsight::db
