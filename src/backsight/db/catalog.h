// Catalog: the tables, columns and existing indexes of a database, and the existing indexes
// worth removing (never used, or duplicated by another index).
#ifndef BACKSIGHT_DB_CATALOG_H_
#define BACKSIGHT_DB_CATALOG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/db/connection.h"

namespace backsight::db {

/// A user table (or materialised view) and its columns in attnum order.
struct TableInfo {
  std::string schema;
  std::string name;
  bool visible = false;  // pg_table_is_visible: reachable without a schema on the search_path
  std::vector<std::string> columns;
  double rows = 0;  // pg_class.reltuples (planner's estimate)
  /// Distinct values per analysed column (pg_stats.n_distinct; a negative fraction of the rows
  /// is turned into a count). A column not analysed is absent.
  std::map<std::string, double> n_distinct;
};

/// An existing index.
struct ExistingIndex {
  std::string name;                  // schema-qualified when not on the search path (regclass text)
  std::string table;                 // TableInfo::name
  std::string definition;            // pg_get_indexdef
  std::vector<std::string> keys;     // key columns; an expression key is "(expr)"
  std::vector<std::string> include;  // INCLUDE columns
  bool unique = false;   // unique or primary key (enforces a constraint: never "unused")
  bool partial = false;  // has a WHERE predicate
  std::string method;    // btree, hash, gin, ...
  int64_t scans = 0;     // pg_stat_user_indexes.idx_scan since the last statistics reset
  int64_t bytes = 0;     // pg_relation_size
};

/// An existing index that could be dropped, and why.
struct IndexFinding {
  std::string index;
  std::string table;
  std::string kind;    // "unused" or "duplicate"
  std::string detail;  // e.g. "covered by lineitem_pkey (l_orderkey, l_linenumber)"
  int64_t bytes = 0;
};

/// Tables and existing indexes of the connected database (schemas other than pg_catalog,
/// information_schema and pg_toast).
struct Catalog {
  std::vector<TableInfo> tables;
  std::vector<ExistingIndex> indexes;

  /// The table a FROM item `[schema.]name` refers to, or nullptr (e.g. a CTE name or a view).
  const TableInfo* Find(const std::string& schema, const std::string& name) const;
};

/// Reads the catalog through `conn` (pg_class, pg_attribute, pg_index, pg_stat_user_indexes,
/// pg_stats).
Status LoadCatalog(Connection* conn, Catalog* out);

/// Existing indexes worth removing: "unused" (no scan since statistics were reset, not unique,
/// not a primary key) and "duplicate" (same method, no predicate, and its key columns are a
/// prefix of another index's key columns on the same table, or equal to them; the rule of
/// Dexter and pganalyze). Unique indexes are never called duplicates of non-unique ones.
std::vector<IndexFinding> FindRemovableIndexes(const Catalog& catalog);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_CATALOG_H_
