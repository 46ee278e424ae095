// Candidate indexes from the parse tree: the columns each statement filters, joins, groups and
// orders on, resolved to tables through aliases and scopes (subqueries see their outer tables).
#ifndef BACKSIGHT_DB_CANDIDATES_H_
#define BACKSIGHT_DB_CANDIDATES_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "backsight/db/catalog.h"
#include "backsight/db/statement.h"

namespace backsight::db {

/// A literal filter that holds for every row a statement reads through a FROM item: a conjunct
/// of its WHERE (not under NOT), or a conjunct common to every branch of an OR there (the
/// planner factors those out of the OR: prepqual.c, process_duplicate_ors). Equality:
/// `col = 'x'`, `col IN ('x', 'y')`; range: `col < 5`, `col BETWEEN 1 AND 2` (bounds that are
/// numeric constant expressions such as `0.07 - 0.01` are folded). Numbers are written as
/// quoted literals ('25'): the parser then gives them the column's type at once, where `25`
/// against a numeric column stays an int-to-numeric call that HypoPG 1.3 keeps unfolded in a
/// hypothetical index's predicate, so the planner cannot prove the query implies it.
/// A comparison of two columns of the same row (`l_commitdate < l_receiptdate`) is kept too, as
/// `column2`: no index key, but it narrows a partial index that a constant filter already makes.
struct ConstantFilter {
  std::string column;
  std::string sql;      // the predicate, unqualified: "l_shipmode IN ('MAIL', 'SHIP')"
  int values = 1;       // constants listed (equality)
  bool range = false;   // a range filter (values unused)
  std::string column2;  // the other column of a column comparison ("" for a constant filter)
  int occurrences = 1;  // times the statement spells it (once per OR branch for a common one)
};

/// How one occurrence of a table in a statement (one FROM item) is used. Column lists keep the
/// order of first appearance and hold no duplicates; an expression key is "(expr)" deparsed
/// without table qualifiers, e.g. "(lower(email))".
struct TableUse {
  const TableInfo* table = nullptr;
  std::string alias;
  std::vector<std::string> equality;  // col = const/param, col IN (...), col IS NULL
  std::vector<std::string> join;      // col = column of another FROM item (any scope)
  std::vector<std::string> range;     // <, <=, >, >=, BETWEEN, LIKE 'prefix%'
  std::vector<std::string> order;     // ORDER BY, then GROUP BY columns
  std::set<std::string> referenced;   // every plain column read through this FROM item
  /// `a = 1 OR b < 2` on this item: the key of each branch. A BitmapOr needs an index per branch,
  /// so such indexes only pay together.
  std::vector<std::vector<std::string>> or_groups;
  std::vector<ConstantFilter> constant_filters;  // literal ones only (no $n parameters)
  /// Times each column is read through this FROM item (WHERE, ON, target list, ...): a column
  /// that a partial index's predicate accounts for every read of need not be stored (the
  /// planner drops clauses the predicate implies before choosing an index-only scan).
  std::map<std::string, int> reads;
};

/// Every FROM item of `stmt` that is a table of `catalog`, with its use. CTE names, views and
/// functions in FROM are not tables and are left out.
std::vector<TableUse> AnalyzeStatement(const Statement& stmt, const Catalog& catalog);

/// A (possibly hypothetical) B-tree index.
struct IndexCandidate {
  const TableInfo* table = nullptr;
  std::vector<std::string> keys;     // key columns or "(expr)", in index order
  std::vector<std::string> include;  // INCLUDE columns (covering), sorted
  std::string predicate;             // WHERE of a partial index ("" for a full one)

  /// `CREATE INDEX ON schema.table (k1, k2) INCLUDE (c1) WHERE p` (no trailing ';').
  std::string CreateSql() const;
  /// "table(k1,k2)+(c1)|p": equal for equal indexes.
  std::string Id() const;
};

/// Most key columns of one kind combined into a multi-column candidate, and most INCLUDE
/// columns of a covering candidate: beyond these the index grows towards a copy of the table.
inline constexpr size_t kMaxEqualityKeys = 4;
inline constexpr size_t kMaxRangeKeys = 3;
inline constexpr size_t kMaxIncludeColumns = 4;

/// Constant filters make partial candidates when their column has at most this many distinct
/// values (pg_stats) and, for an equality, the filter keeps at most kMaxPartialFraction of them
/// (values listed / distinct values, the planner's uniform estimate): a flag, status, mode or
/// small-number column, where the filter is a poor key but a partial index (PostgreSQL docs,
/// 11.8 "Partial Indexes") is a fraction of the full index's size. A range filter's share is
/// left to HypoPG's size estimate and the planner's costs.
inline constexpr double kMaxPartialDistinct = 100;
inline constexpr double kMaxPartialFraction = 0.5;

/// Candidates for one table use: each filtered, joined or ordered column alone; two equality/join
/// columns in both orders; equality/join columns then one range column (up to three keys);
/// equality/join column then the ORDER BY columns; and each of these covering (INCLUDE the rest
/// of the referenced columns) when that adds at most kMaxIncludeColumns. Equality columns come
/// before range and order columns, as a B-tree can use only one range column. Candidates that
/// an existing B-tree index (non-partial) already provides as a key prefix are left out.
/// When `use` has constant filters on low-cardinality columns (see kMaxPartialDistinct), the
/// same candidates are also made from the other columns, partial `WHERE` all those filters and
/// the use's column comparisons.
std::vector<IndexCandidate> GenerateCandidates(const TableUse& use, const Catalog& catalog);

/// Bundles of single-key indexes, one bundle per OR group of `use` (indexes an existing B-tree
/// provides left out; a bundle left with fewer than two indexes is dropped).
std::vector<std::vector<IndexCandidate>> GenerateOrBundles(const TableUse& use,
                                                           const Catalog& catalog);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_CANDIDATES_H_
