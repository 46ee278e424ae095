// `backsight db advise`: index advice for a PostgreSQL workload, checked by the real planner
// with HypoPG hypothetical indexes (read-only unless --create).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "backsight/cli/commands.h"
#include "backsight/core/labels.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/db/advisor.h"
#include "backsight/db/candidates.h"
#include "backsight/db/catalog.h"
#include "backsight/db/connection.h"
#include "backsight/db/query_watcher.h"
#include "backsight/db/statement.h"
#include "backsight/db/workload.h"
#include "backsight/detect/default_detector.h"

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

struct DbWatchArgs {
  std::string dsn;
  double interval_s = 60;
  long count = 0;
  std::string format = "text";
};

// A statement on one line (new lines and tabs of the normalised text become spaces).
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

std::string PlanChange(const db::WatchFinding& f) {
  if (f.plan_before.empty() || f.plan_after.empty()) return "plan unknown";
  if (!f.plan_changed()) return "plan unchanged: " + f.plan_after;
  return f.plan_before + " -> " + f.plan_after;
}

int RunWatch(const DbWatchArgs& args) {
  if (!(args.interval_s > 0) || args.count < 0) {
    std::fprintf(stderr, "backsight db watch: --interval must be > 0 and --count >= 0\n");
    return kExitUsage;
  }
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "backsight db watch: %s\n", st.message().c_str());
    return kExitIoError;
  };
  std::unique_ptr<db::Connection> conn;
  if (Status st = db::Connection::Open(args.dsn, &conn); !st.ok()) return fail(st);
  std::unique_ptr<db::QueryWatcher> watcher;
  if (Status st = db::QueryWatcher::Start(conn.get(), db::RegressionRule{}, &watcher); !st.ok()) {
    return fail(st);
  }
  // The stream engine's default detector scores each fingerprint's mean time per call (its
  // warm-up is long: the two-snapshot rule names regressions, anomaly_score ranks the rest).
  std::map<uint64_t, std::unique_ptr<detect::Detector>> detectors;
  const bool jsonl = args.format == "jsonl";
  if (!jsonl) std::printf("fingerprint\tstatement\tfactor\tsince\tplan change\n");
  const auto period = std::chrono::duration<double>(args.interval_s);
  auto next = std::chrono::steady_clock::now();
  for (long k = 0; args.count == 0 || k < args.count; ++k) {
    if (k > 0) {
      next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
      std::this_thread::sleep_until(next);
    }
    db::WatchStep step;
    if (Status st = watcher->Step(&step); !st.ok()) return fail(st);
    for (const auto& s : step.samples) {
      auto& d = detectors[s.fingerprint];
      if (!d) d = detect::MakeDefaultDetector();
      detect::DetectionResult res;
      const bool scored = d->Update(s.at, s.mean_ms, &res).ok();
      if (!jsonl) continue;
      nlohmann::json j = {{"type", "sample"},
                          {"fingerprint", FormatFingerprint(s.fingerprint)},
                          {"statement", step.snapshot.statements.at(s.fingerprint).statement.text},
                          {"at", FormatRfc3339(s.at)},
                          {"calls", s.calls},
                          {"calls_per_second", s.calls_per_second},
                          {"mean_ms", s.mean_ms},
                          {"total_ms", s.total_ms},
                          {"rows_per_call", s.rows_per_call},
                          {"blocks_read_per_call", s.blocks_read_per_call}};
      if (scored) {
        j["anomaly_score"] = res.anomaly_score;
        j["warming_up"] = res.warming_up;
      }
      std::printf("%s\n", j.dump().c_str());
    }
    for (const auto& f : step.findings) {
      const auto& r = f.regression;
      if (jsonl) {
        nlohmann::json j = {{"type", "regression"},
                            {"fingerprint", FormatFingerprint(r.fingerprint)},
                            {"statement", f.statement},
                            {"factor", r.factor},
                            {"mean_ms", r.mean_ms},
                            {"baseline_ms", r.baseline_ms},
                            {"since", FormatRfc3339(r.since)},
                            {"new", r.first},
                            {"plan_before", f.plan_before},
                            {"plan_after", f.plan_after},
                            {"plan_changed", f.plan_changed()}};
        std::printf("%s\n", j.dump().c_str());
      } else if (r.first) {  // text: once per episode
        std::printf("%s\t%s\t%sx (%s -> %s ms)\t%s\t%s\n", FormatFingerprint(r.fingerprint).c_str(),
                    OneLine(f.statement).c_str(), Fmt(r.factor).c_str(), Fmt(r.baseline_ms).c_str(),
                    Fmt(r.mean_ms).c_str(), FormatRfc3339(r.since).c_str(), PlanChange(f).c_str());
      }
    }
    std::fflush(stdout);
    if (std::ferror(stdout)) return kExitIoError;
    std::fprintf(stderr,
                 "backsight db watch: snapshot %ld: %zu statement(s), %zu ran, %zu regressed, "
                 "%ld EXPLAIN calls so far\n",
                 k + 1, step.snapshot.statements.size(), step.samples.size(), step.findings.size(),
                 watcher->explain_calls());
  }
  return kExitOk;
}

}  // namespace

void RegisterDb(CLI::App& app, int* exit_code) {
  CLI::App* db = app.add_subcommand(
      "db",
      "PostgreSQL: index advice checked by the real planner (HypoPG) for a workload, and the "
      "query regression watch.");
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

  auto wargs = std::make_shared<DbWatchArgs>();
  CLI::App* watch = db->add_subcommand(
      "watch",
      "Regression watch: pg_stat_statements snapshots every --interval seconds become "
      "per-fingerprint series (calls/s, mean and total time, rows and blocks read per call); a "
      "statement whose mean time per call regressed is named at the next snapshot with its "
      "factor, since when, and its plan change (EXPLAIN before/after). Read-only. Exit codes: 0 "
      "ok, 2 usage, 4 server or connection error.");
  watch->add_option("--dsn", wargs->dsn, "PostgreSQL connection URI or key=value string")
      ->required();
  watch->add_option("--interval", wargs->interval_s, "Seconds between snapshots (default 60)");
  watch->add_option("--count", wargs->count, "Snapshots to take, then exit (default 0: forever)");
  watch
      ->add_option("--format", wargs->format,
                   "text: one tab-separated line per regression (fingerprint, statement, factor, "
                   "since, plan change); jsonl: every per-fingerprint sample with anomaly_score "
                   "and every regression")
      ->check(CLI::IsMember({"text", "jsonl"}))
      ->default_str("text");
  watch->callback([wargs, exit_code] { *exit_code = RunWatch(*wargs); });
}

}  // namespace backsight::cli
