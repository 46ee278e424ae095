// Partial-index candidates (constant, range, OR-common and column-comparison filters) and the
// FROM-list rewrite used to cost them under HypoPG; no server needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backsight/db/candidates.h"
#include "backsight/db/from_order.h"
#include "backsight/db/statement.h"

namespace backsight::db {
namespace {

// lineitem-like table: flag, mode and small-number columns with few distinct values.
Catalog Items() {
  Catalog c;
  c.tables.push_back({"public",
                      "items",
                      true,
                      {"id", "order_id", "qty", "discount", "price", "mode", "flag", "shipped",
                       "committed", "received"},
                      100000,
                      {{"qty", 50}, {"discount", 11}, {"mode", 7}, {"flag", 3}, {"id", 100000}}});
  c.tables.push_back({"public", "parts", true, {"id", "brand"}, 1000, {{"brand", 25}}});
  return c;
}

std::vector<TableUse> Uses(const std::string& sql, const Catalog& catalog) {
  Statement s;
  EXPECT_TRUE(ParseStatement(sql, &s).ok()) << sql;
  return AnalyzeStatement(s, catalog);
}

std::vector<std::string> PartialSql(const TableUse& use, const Catalog& catalog) {
  std::vector<std::string> out;
  for (const auto& c : GenerateCandidates(use, catalog)) {
    if (!c.predicate.empty()) out.push_back(c.CreateSql());
  }
  return out;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(CandidatesTest, RangeFiltersOnFewValuedColumnsMakePartialIndexesWithFoldedLiterals) {
  Catalog catalog = Items();
  auto uses = Uses(
      "SELECT sum(price * discount) FROM items WHERE shipped >= date '1994-01-01' AND shipped < "
      "date '1995-01-01' AND discount BETWEEN 0.07 - 0.01 AND 0.07 + 0.01 AND qty < 25",
      catalog);
  ASSERT_EQ(uses.size(), 1u);
  // Numbers are quoted (the column's type at parse time); 0.07 - 0.01 is folded exactly.
  auto partial = PartialSql(uses[0], catalog);
  EXPECT_TRUE(Has(partial,
                  "CREATE INDEX ON items (shipped) INCLUDE (discount, price) WHERE discount "
                  "BETWEEN '0.06' AND '0.08' AND qty < '25'"))
      << ::testing::PrintToString(partial);
  // qty is read by its filter alone: not stored; discount is also summed: stored.
  // A flipped comparison (5 > qty) is read as qty < 5; id has too many values for a filter.
  auto other =
      Uses("SELECT price FROM items WHERE 5 > qty AND id > 7 AND shipped < now()", catalog);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_TRUE(Has(PartialSql(other[0], catalog),
                  "CREATE INDEX ON items (shipped) INCLUDE (id, price) WHERE qty < '5'"))
      << ::testing::PrintToString(PartialSql(other[0], catalog));
  for (const auto& sql : PartialSql(other[0], catalog)) {
    EXPECT_EQ(sql.find("id >"), std::string::npos) << sql;
  }
}

TEST(CandidatesTest, FiltersCommonToEveryOrBranchMakePartialIndexes) {
  Catalog catalog = Items();
  auto uses = Uses(
      "SELECT sum(i.price) FROM items i, parts p WHERE (p.id = i.id AND p.brand = 'b1' AND "
      "i.qty BETWEEN 1 AND 11 AND i.mode IN ('AIR', 'REG') AND i.flag = 'D') OR (p.id = i.id "
      "AND p.brand = 'b2' AND i.qty BETWEEN 10 AND 20 AND i.mode IN ('AIR', 'REG') AND i.flag = "
      "'D')",
      catalog);
  ASSERT_EQ(uses.size(), 2u);
  std::vector<std::string> filters;
  for (const auto& f : uses[0].constant_filters) filters.push_back(f.sql);
  EXPECT_EQ(filters, (std::vector<std::string>{"mode IN ('AIR', 'REG')", "flag = 'D'"}));
  EXPECT_TRUE(Has(PartialSql(uses[0], catalog),
                  "CREATE INDEX ON items (id) INCLUDE (price, qty) WHERE mode IN ('AIR', 'REG') "
                  "AND flag = 'D'"))
      << ::testing::PrintToString(PartialSql(uses[0], catalog));
  // The brands differ between the branches: no filter on parts.
  EXPECT_TRUE(uses[1].constant_filters.empty());
  // Under NOT, nothing holds for every row.
  auto negated = Uses("SELECT id FROM items WHERE NOT (mode = 'AIR' OR mode = 'AIR')", catalog);
  EXPECT_TRUE(negated[0].constant_filters.empty());
}

TEST(CandidatesTest, ColumnComparisonsNarrowAPartialIndexButMakeNone) {
  Catalog catalog = Items();
  auto uses = Uses(
      "SELECT mode, count(*) FROM items WHERE mode IN ('FOB', 'REG') AND committed < received "
      "AND shipped < committed AND received >= '1994-01-01' GROUP BY mode",
      catalog);
  ASSERT_EQ(uses.size(), 1u);
  auto partial = PartialSql(uses[0], catalog);
  // committed and shipped are read by the predicate only; received is also a key (range).
  EXPECT_TRUE(Has(partial,
                  "CREATE INDEX ON items (received) INCLUDE (mode) WHERE mode IN ('FOB', 'REG') "
                  "AND committed < received AND shipped < committed"))
      << ::testing::PrintToString(partial);
  // Without a constant filter a comparison alone makes no partial index.
  auto alone = Uses("SELECT id FROM items WHERE committed < received AND shipped > now()", catalog);
  EXPECT_TRUE(PartialSql(alone[0], catalog).empty())
      << ::testing::PrintToString(PartialSql(alone[0], catalog));
}

TEST(StatementTest, MoveTableFirstReordersCommaListsAndInnerJoins) {
  std::string out;
  ASSERT_TRUE(MoveTableFirst("SELECT 1 FROM orders o, items i WHERE o.id = i.order_id", "public",
                             "items", &out)
                  .ok());
  EXPECT_EQ(out, "SELECT 1 FROM items i, orders o WHERE o.id = i.order_id");
  ASSERT_TRUE(MoveTableFirst("SELECT 1 FROM orders o JOIN items i ON o.id = i.order_id WHERE "
                             "EXISTS (SELECT 1 FROM parts p, public.items j WHERE p.id = j.id)",
                             "public", "items", &out)
                  .ok());
  EXPECT_EQ(out,
            "SELECT 1 FROM items i JOIN orders o ON o.id = i.order_id WHERE EXISTS (SELECT 1 "
            "FROM public.items j, parts p WHERE p.id = j.id)");
  // The result would change (outer join) or the order matters (LATERAL): left alone.
  EXPECT_EQ(MoveTableFirst("SELECT 1 FROM orders o LEFT JOIN items i ON o.id = i.order_id",
                           "public", "items", &out)
                .code(),
            Status::Code::kNotFound);
  EXPECT_EQ(MoveTableFirst("SELECT 1 FROM orders o, LATERAL (SELECT 1) x, items i", "public",
                           "items", &out)
                .code(),
            Status::Code::kNotFound);
  EXPECT_EQ(MoveTableFirst("SELECT 1 FROM items, orders", "public", "items", &out).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(MoveTableFirst("SELECT 1 FROM other.items, orders", "public", "items", &out).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(MoveTableFirst("SELEC 1", "public", "items", &out).code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace backsight::db
