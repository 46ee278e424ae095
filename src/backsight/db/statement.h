// Statement: one SQL statement parsed, normalised and fingerprinted with libpg_query
// (github.com/pganalyze/libpg_query, the PostgreSQL 15 parser), as Dexter and pganalyze do.
#ifndef BACKSIGHT_DB_STATEMENT_H_
#define BACKSIGHT_DB_STATEMENT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::db {

/// One parsed statement of a workload.
struct Statement {
  std::string source;        // where it came from: "file.sql", "file.sql#2", "pg_stat_statements"
  std::string text;          // the statement as given (no trailing ';')
  std::string normalized;    // constants replaced by $n (pg_query_normalize)
  uint64_t fingerprint = 0;  // pg_query_fingerprint: equal for `id = 1` and `id = 7`
  std::string fingerprint_hex;  // 16 hex digits
  nlohmann::json tree;          // the parse tree's first statement node (pg_query_parse JSON)
  int param_count = 0;          // highest $n in `text` (0: no parameters)
  double weight = 1;            // how often it runs (calls, or repetitions in the files)
};

/// Parses `text` (one statement) into *out. A statement that does not parse returns
/// InvalidArgument(kMalformed) with libpg_query's message and cursor position (1-based
/// character offset into `text`, as PostgreSQL reports it): "syntax error at or near "frm"
/// (position 10)".
Status ParseStatement(std::string_view text, Statement* out);

/// A statement of a file that did not parse: where, and why.
struct SkippedStatement {
  std::string source;
  int position = 0;  // 1-based cursor position libpg_query reports (0: unknown)
  std::string message;
};

/// Splits `sql` (a file's contents, statements separated by ';') into statements with
/// libpg_query's scanner (comments and literals respected), parses each, and appends them to
/// *parsed with source `name` (`name#k` for the k-th when there are several); a statement that
/// does not parse is appended to *skipped instead. Statements with the same fingerprint are
/// merged: the weight of the first grows by one.
void AddStatements(std::string_view name, std::string_view sql, std::vector<Statement>* parsed,
                   std::vector<SkippedStatement>* skipped);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_STATEMENT_H_
