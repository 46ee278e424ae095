#include "backsight/db/catalog.h"

#include <cstdlib>

namespace backsight::db {
namespace {

constexpr char kTablesSql[] = R"sql(
SELECT n.nspname, c.relname, pg_table_is_visible(c.oid), c.reltuples,
       string_agg(a.attname, ',' ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
GROUP BY n.nspname, c.relname, c.oid, c.reltuples
ORDER BY 1, 2)sql";

// One row per index; key and INCLUDE columns separated by E'\x1f' (no column name holds it).
constexpr char kIndexesSql[] = R"sql(
SELECT i.indexrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid),
       (SELECT string_agg(CASE WHEN k.attnum = 0
                               THEN '(' || pg_get_indexdef(i.indexrelid, k.ord::int, true) || ')'
                               ELSE a.attname::text END, E'\x1f' ORDER BY k.ord)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.ord <= i.indnkeyatts),
       (SELECT string_agg(a.attname::text, E'\x1f' ORDER BY k.ord)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.ord > i.indnkeyatts),
       i.indisunique OR i.indisprimary, i.indpred IS NOT NULL, am.amname,
       coalesce(s.idx_scan, 0), pg_relation_size(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 2, 1)sql";

// Distinct-value estimates of analysed columns (pg_stats, readable for the tables one may read).
constexpr char kStatsSql[] = R"sql(
SELECT schemaname, tablename, attname, n_distinct FROM pg_stats
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND NOT inherited)sql";

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

const TableInfo* Catalog::Find(const std::string& schema, const std::string& name) const {
  for (const auto& t : tables) {
    if (t.name == name && (schema.empty() ? t.visible : t.schema == schema)) return &t;
  }
  return nullptr;
}

Status LoadCatalog(Connection* conn, Catalog* out) {
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(kTablesSql, &r));
  out->tables.clear();
  for (const auto& row : r.rows) {
    TableInfo t;
    t.schema = row[0];
    t.name = row[1];
    t.visible = row[2] == "t";
    t.rows = std::strtod(row[3].c_str(), nullptr);
    t.columns = Split(row[4], ',');
    out->tables.push_back(std::move(t));
  }
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(kStatsSql, &r));
  for (const auto& row : r.rows) {
    for (auto& t : out->tables) {
      if (t.schema != row[0] || t.name != row[1]) continue;
      // pg_stats: a negative n_distinct is minus the fraction of rows that are distinct.
      const double nd = std::strtod(row[3].c_str(), nullptr);
      t.n_distinct[row[2]] = nd < 0 ? -nd * t.rows : nd;
    }
  }
  BACKSIGHT_RETURN_IF_ERROR(conn->Query(kIndexesSql, &r));
  out->indexes.clear();
  for (const auto& row : r.rows) {
    ExistingIndex ix;
    ix.name = row[0];
    ix.table = row[1];
    ix.definition = row[2];
    ix.keys = Split(row[3], '\x1f');
    ix.include = Split(row[4], '\x1f');
    ix.unique = row[5] == "t";
    ix.partial = row[6] == "t";
    ix.method = row[7];
    ix.scans = std::strtoll(row[8].c_str(), nullptr, 10);
    ix.bytes = std::strtoll(row[9].c_str(), nullptr, 10);
    out->indexes.push_back(std::move(ix));
  }
  return Status::OK();
}

std::vector<IndexFinding> FindRemovableIndexes(const Catalog& catalog) {
  std::vector<IndexFinding> out;
  const auto& ix = catalog.indexes;
  for (size_t i = 0; i < ix.size(); ++i) {
    const auto& a = ix[i];
    bool duplicate = false;
    if (!a.partial && !a.unique) {
      for (size_t j = 0; j < ix.size() && !duplicate; ++j) {
        const auto& b = ix[j];
        if (i == j || b.table != a.table || b.method != a.method || b.partial) continue;
        if (a.keys.size() > b.keys.size()) continue;
        bool prefix = true;
        for (size_t k = 0; k < a.keys.size(); ++k) prefix = prefix && a.keys[k] == b.keys[k];
        // Of two identical indexes, report the later one only.
        if (!prefix || (a.keys.size() == b.keys.size() && !b.unique && j > i)) continue;
        duplicate = true;
        out.push_back({a.name, a.table, "duplicate",
                       "covered by " + b.name + " (" + Join(b.keys) + ")", a.bytes});
      }
    }
    if (!duplicate && !a.unique && a.scans == 0) {
      out.push_back(
          {a.name, a.table, "unused", "no index scan since statistics were reset", a.bytes});
    }
  }
  return out;
}

}  // namespace backsight::db
