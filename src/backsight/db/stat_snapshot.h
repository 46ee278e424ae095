// StatSnapshot: one reading of PostgreSQL's cumulative statistics (pg_stat_statements per
// statement fingerprint, pg_stat_user_tables per table) for the regression watch.
#ifndef BACKSIGHT_DB_STAT_SNAPSHOT_H_
#define BACKSIGHT_DB_STAT_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <string>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// Cumulative counters of one statement fingerprint since the statistics were last reset (the
/// rows of pg_stat_statements with that libpg_query fingerprint, summed over users, databases'
/// top-level or nested calls).
struct StatementCounters {
  Statement statement;          // normalised text ($n placeholders), parsed and fingerprinted
  double calls = 0;             // executions
  double total_exec_ms = 0;     // total_exec_time, milliseconds
  double rows = 0;              // rows returned or affected
  double shared_blks_read = 0;  // shared buffer blocks read from outside shared_buffers
};

/// Cumulative scan counters of one user table (pg_stat_user_tables).
struct TableCounters {
  double seq_scan = 0;      // sequential scans started
  double seq_tup_read = 0;  // rows those scans read
  double idx_scan = 0;      // index scans started (NULL when the table has no index: 0)
};

/// One reading of the statistics of the current database.
struct StatSnapshot {
  TimestampNs taken_at = 0;                          // local clock when read, ns since the epoch
  std::map<uint64_t, StatementCounters> statements;  // by libpg_query fingerprint
  std::map<std::string, TableCounters> tables;       // by schema.table
  int unparsed = 0;  // pg_stat_statements rows libpg_query could not parse (left out)
};

/// Reads pg_stat_statements (PostgreSQL 13+ column names) and pg_stat_user_tables of the
/// current database into *out. NotFound naming `CREATE EXTENSION pg_stat_statements` when the
/// extension is missing; the server's error otherwise (Connection::Query).
Status TakeStatSnapshot(Connection* conn, StatSnapshot* out);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_STAT_SNAPSHOT_H_
