// `backsight db advise`: index advice for a PostgreSQL workload, checked by the real planner
// with HypoPG hypothetical indexes (read-only unless --create).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/core/number_format.h"
#include "backsight/db/advisor.h"
#include "backsight/db/candidates.h"
#include "backsight/db/catalog.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"
#include "backsight/db/workload.h"

namespace backsight::cli {
namespace {

struct DbAdviseArgs {
  std::string dsn;
  std::vector<std::string> queries;
  bool from_pg_stat_statements = false;
  double budget_mb = 0;
  std::string format = "text";
  bool create = false;
};

int Fail(const Status& st) {
  std::fprintf(stderr, "backsight db advise: %s\n", st.message().c_str());
  return kExitIoError;
}

std::string Fmt(double v) { return FormatDouble(v, 6); }

double GeoMeanRatio(const db::Advice& a) {
  double log_sum = 0;
  int count = 0;
  for (const auto& s : a.statements) {
    if (!s.error.empty() || s.cost_before <= 0) continue;
    log_sum += std::log(std::max(s.cost_after, 1e-9) / s.cost_before);
    ++count;
  }
  return count ? std::exp(log_sum / count) : 1;
}

int64_t TotalBytes(const db::Advice& a) {
  int64_t b = 0;
  for (const auto& ix : a.indexes) b += ix.bytes;
  return b;
}

void PrintJson(const db::Advice& a, const std::vector<db::Statement>& stmts,
               const std::vector<db::SkippedStatement>& skipped,
               const std::vector<db::IndexFinding>& removable, const DbAdviseArgs& args) {
  nlohmann::json j;
  j["indexes"] = nlohmann::json::array();
  for (const auto& ix : a.indexes) {
    j["indexes"].push_back({{"sql", ix.index.CreateSql() + ";"},
                            {"table", ix.index.table->name},
                            {"keys", ix.index.keys},
                            {"include", ix.index.include},
                            {"bytes", ix.bytes},
                            {"benefit", ix.benefit},
                            {"statements_served", ix.statements_served}});
  }
  j["statements"] = nlohmann::json::array();
  for (const auto& s : a.statements) {
    nlohmann::json e = {
        {"source", stmts[s.statement].source}, {"fingerprint", stmts[s.statement].fingerprint_hex},
        {"weight", stmts[s.statement].weight}, {"cost_before", s.cost_before},
        {"cost_after", s.cost_after},          {"indexes", s.advised_used}};
    if (!s.error.empty()) e["error"] = s.error;
    j["statements"].push_back(e);
  }
  j["skipped"] = nlohmann::json::array();
  for (const auto& s : skipped) {
    j["skipped"].push_back(
        {{"source", s.source}, {"position", s.position}, {"message", s.message}});
  }
  j["removable_indexes"] = nlohmann::json::array();
  for (const auto& f : removable) {
    j["removable_indexes"].push_back({{"index", f.index},
                                      {"table", f.table},
                                      {"kind", f.kind},
                                      {"detail", f.detail},
                                      {"bytes", f.bytes}});
  }
  j["cost_before"] = a.cost_before;
  j["cost_after"] = a.cost_after;
  j["cost_ratio"] = a.cost_before > 0 ? a.cost_after / a.cost_before : 1.0;
  j["geomean_ratio"] = GeoMeanRatio(a);
  j["size_bytes"] = TotalBytes(a);
  j["budget_mb"] = args.budget_mb;
  j["candidates"] = a.candidates;
  j["explain_calls"] = a.explain_calls;
  j["seconds"] = a.seconds;
  std::printf("%s\n", j.dump(2).c_str());
}

void PrintText(const db::Advice& a, const std::vector<db::Statement>& stmts,
               const std::vector<db::SkippedStatement>& skipped,
               const std::vector<db::IndexFinding>& removable) {
  std::printf("advised indexes (best first):\n");
  for (const auto& ix : a.indexes) {
    std::printf("  %s;  -- %.1f MB, serves %d statement(s)\n", ix.index.CreateSql().c_str(),
                ix.bytes / db::kBytesPerMb, ix.statements_served);
  }
  if (a.indexes.empty()) std::printf("  (none)\n");
  std::printf("\nper statement: cost before -> after (planner units)\n");
  for (const auto& s : a.statements) {
    const auto& st = stmts[s.statement];
    if (!s.error.empty()) {
      std::printf("  %s [%s]: not planned: %s\n", st.source.c_str(), st.fingerprint_hex.c_str(),
                  s.error.c_str());
      continue;
    }
    std::string served;
    for (const auto& u : s.advised_used) served += (served.empty() ? "" : "; ") + u;
    std::printf("  %s [%s]: %s -> %s (%s %%)%s%s\n", st.source.c_str(), st.fingerprint_hex.c_str(),
                Fmt(s.cost_before).c_str(), Fmt(s.cost_after).c_str(),
                Fmt(s.cost_before > 0 ? 100 * s.cost_after / s.cost_before : 100).c_str(),
                served.empty() ? "" : "  via ", served.c_str());
  }
  for (const auto& s : skipped) {
    std::printf("  %s: skipped, does not parse: %s\n", s.source.c_str(), s.message.c_str());
  }
  if (!removable.empty()) std::printf("\nexisting indexes worth removing:\n");
  for (const auto& f : removable) {
    std::printf("  %s on %s: %s (%s), %.1f MB\n", f.index.c_str(), f.table.c_str(), f.kind.c_str(),
                f.detail.c_str(), f.bytes / db::kBytesPerMb);
  }
  std::printf(
      "\nworkload cost %s -> %s (%s %%), geometric mean ratio %s, %zu index(es) %.1f MB, "
      "%ld candidates, %ld EXPLAIN calls, %.2f s\n",
      Fmt(a.cost_before).c_str(), Fmt(a.cost_after).c_str(),
      Fmt(a.cost_before > 0 ? 100 * a.cost_after / a.cost_before : 100).c_str(),
      Fmt(GeoMeanRatio(a)).c_str(), a.indexes.size(), TotalBytes(a) / db::kBytesPerMb, a.candidates,
      a.explain_calls, a.seconds);
}

int RunAdvise(const DbAdviseArgs& args) {
  if (args.queries.empty() && !args.from_pg_stat_statements) {
    std::fprintf(stderr,
                 "backsight db advise: give --queries DIR|FILE... or --from-pg-stat-statements\n");
    return kExitUsage;
  }
  std::unique_ptr<db::Connection> conn;
  if (Status st = db::Connection::Open(args.dsn, &conn); !st.ok()) return Fail(st);
  // Read-only unless --create: hypothetical indexes and EXPLAIN need no write.
  if (Status st = conn->Query("SET default_transaction_read_only = on"); !st.ok()) return Fail(st);
  std::vector<db::Statement> stmts;
  std::vector<db::SkippedStatement> skipped;
  if (Status st = db::ReadStatementFiles(args.queries, &stmts, &skipped); !st.ok()) return Fail(st);
  if (args.from_pg_stat_statements) {
    if (Status st = db::ReadPgStatStatements(conn.get(), &stmts, &skipped); !st.ok())
      return Fail(st);
  }
  std::erase_if(stmts, [](const db::Statement& s) { return !db::Advisable(s); });
  for (const auto& s : skipped) {
    std::fprintf(stderr, "backsight db advise: %s: skipped, does not parse: %s\n", s.source.c_str(),
                 s.message.c_str());
  }
  if (stmts.empty()) {
    std::fprintf(stderr, "backsight db advise: no statement to advise on\n");
    return kExitBadInput;
  }
  db::Catalog catalog;
  if (Status st = db::LoadCatalog(conn.get(), &catalog); !st.ok()) return Fail(st);
  // Statements on no user table (catalog queries, monitoring, this advisor's own) have nothing
  // to advise and would only dilute the workload figures.
  const size_t before = stmts.size();
  std::erase_if(stmts,
                [&](const db::Statement& s) { return db::AnalyzeStatement(s, catalog).empty(); });
  if (stmts.size() < before) {
    std::fprintf(stderr, "backsight db advise: %zu statement(s) on no user table left out\n",
                 before - stmts.size());
  }
  if (stmts.empty()) {
    std::fprintf(stderr, "backsight db advise: no statement on a user table to advise on\n");
    return kExitBadInput;
  }
  db::AdviseOptions options;
  options.budget_mb = args.budget_mb;
  db::Advice advice;
  if (Status st = db::Advise(conn.get(), catalog, stmts, options, &advice); !st.ok()) {
    return Fail(st);
  }
  const auto removable = db::FindRemovableIndexes(catalog);
  if (args.format == "sql") {
    for (const auto& ix : advice.indexes) std::printf("%s;\n", ix.index.CreateSql().c_str());
  } else if (args.format == "json") {
    PrintJson(advice, stmts, skipped, removable, args);
  } else {
    PrintText(advice, stmts, skipped, removable);
  }
  if (args.create) {
    if (Status st = conn->Query("SET default_transaction_read_only = off"); !st.ok()) {
      return Fail(st);
    }
    for (const auto& ix : advice.indexes) {
      const std::string sql = ix.index.CreateSql();
      if (Status st = conn->Query(sql); !st.ok()) return Fail(st.WithContext(sql));
      std::fprintf(stderr, "backsight db advise: created: %s\n", sql.c_str());
    }
    if (!advice.indexes.empty()) {
      if (Status st = conn->Query("ANALYZE"); !st.ok()) return Fail(st);
    }
  }
  std::fflush(stdout);
  return std::ferror(stdout) ? kExitIoError : kExitOk;
}

}  // namespace

void RegisterDb(CLI::App& app, int* exit_code) {
  CLI::App* db = app.add_subcommand(
      "db", "PostgreSQL: index advice checked by the real planner (HypoPG) for a workload.");
  db->require_subcommand(1);
  auto args = std::make_shared<DbAdviseArgs>();
  CLI::App* cmd = db->add_subcommand(
      "advise",
      "Index advice for statements (files, or pg_stat_statements), every benefit measured with "
      "HypoPG hypothetical indexes and EXPLAIN. Read-only unless --create. Exit codes: 0 ok, 2 "
      "usage, 3 no statement to advise on, 4 server, connection or file error.");
  cmd->add_option("--dsn", args->dsn, "PostgreSQL connection URI or key=value string")->required();
  cmd->add_option("--queries", args->queries,
                  "SQL files, or folders of *.sql files (statements separated by ';')");
  cmd->add_flag("--from-pg-stat-statements", args->from_pg_stat_statements,
                "Also advise on pg_stat_statements' statements (weighted by calls; generic plans)");
  cmd->add_option("--budget-mb", args->budget_mb,
                  "Total size of the advised indexes, MB of 2^20 bytes, as HypoPG estimates it "
                  "(default: no budget)");
  cmd->add_option("--format", args->format,
                  "sql: only CREATE INDEX lines, best first; text: per statement cost before/after "
                  "and the index serving it; json: everything")
      ->check(CLI::IsMember({"sql", "json", "text"}))
      ->default_str("text");
  cmd->add_flag("--create", args->create, "Create the advised indexes (then ANALYZE)");
  cmd->callback([args, exit_code] { *exit_code = RunAdvise(*args); });
}

}  // namespace backsight::cli
