// FROM-list reordering for costing: a statement rewritten with one table as the first FROM item,
// through libpg_query's protobuf parse tree and deparser.
//
// Why: HypoPG 1.3.1 (Debian 12) plans a hypothetical PARTIAL index only when its table is
// range-table entry 1 of the query (the predicate's columns are read as those of entry 1; a real
// partial index is planned wherever its table appears). The advisor costs a partial candidate on
// the statement rewritten by MoveTableFirst; the advice itself stays the CREATE INDEX.
#ifndef BACKSIGHT_DB_FROM_ORDER_H_
#define BACKSIGHT_DB_FROM_ORDER_H_

#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight::db {

/// Rewrites `sql` (one statement) so that in every SELECT whose FROM list holds `table` (schema
/// `schema`, or an unqualified reference), that item comes first: a plain comma item is moved to
/// the front, and inside an INNER JOIN (no USING, NATURAL or join alias) the two sides are
/// swapped until the table is leftmost. These moves do not change the result rows (the planner
/// reorders such joins freely up to from/join_collapse_limit). A FROM list with a LATERAL item is
/// left alone (its order is meaningful). *out receives the deparsed statement (pg_query's
/// deparser: the same statement in canonical spelling). NotFound when no FROM list needed a
/// change (the table is already first everywhere, absent, or only reachable through outer
/// joins); InvalidArgument(kMalformed) when `sql` does not parse; Internal on a deparse error.
Status MoveTableFirst(std::string_view sql, const std::string& schema, const std::string& table,
                      std::string* out);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_FROM_ORDER_H_
