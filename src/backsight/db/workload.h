// Workload: the statements to advise on, from SQL files or from pg_stat_statements.
#ifndef BACKSIGHT_DB_WORKLOAD_H_
#define BACKSIGHT_DB_WORKLOAD_H_

#include <string>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// True for the statements the planner can EXPLAIN and an index can serve (SELECT, UPDATE,
/// DELETE).
bool Advisable(const Statement& s);

/// Reads every FILE of `paths`, or every *.sql file of a folder (sorted by name), into *parsed
/// (AddStatements: split, parsed, merged by fingerprint; unparsable ones into *skipped).
/// IoError naming the path when a file or folder cannot be read.
Status ReadStatementFiles(const std::vector<std::string>& paths, std::vector<Statement>* parsed,
                          std::vector<SkippedStatement>* skipped);

/// Appends the statements of pg_stat_statements for the current database (normalised text with
/// $n placeholders), weighted by calls; the rows of one fingerprint (per user, top level or not)
/// are merged and their calls added. NotFound naming `CREATE EXTENSION pg_stat_statements` when
/// the extension is missing.
Status ReadPgStatStatements(Connection* conn, std::vector<Statement>* parsed,
                            std::vector<SkippedStatement>* skipped);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_WORKLOAD_H_
