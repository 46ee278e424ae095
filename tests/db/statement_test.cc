// Statement parsing, normalisation and fingerprints (libpg_query), and parse-tree candidates.
#include "backsight/db/statement.h"

#include <gtest/gtest.h>

#include "backsight/db/candidates.h"

namespace backsight::db {
namespace {

TEST(StatementTest, ConstantsDoNotChangeTheFingerprint) {
  Statement a, b, c;
  ASSERT_TRUE(ParseStatement("SELECT * FROM t WHERE id = 1", &a).ok());
  ASSERT_TRUE(ParseStatement("select *  from t where id = 7", &b).ok());
  ASSERT_TRUE(ParseStatement("SELECT * FROM t WHERE name = 'x'", &c).ok());
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.fingerprint_hex, b.fingerprint_hex);
  EXPECT_NE(a.fingerprint, c.fingerprint);
  EXPECT_EQ(a.normalized, "SELECT * FROM t WHERE id = $1");
  EXPECT_EQ(a.param_count, 0);
}

TEST(StatementTest, ParametersAreCounted) {
  Statement s;
  ASSERT_TRUE(ParseStatement("SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)", &s).ok());
  EXPECT_EQ(s.param_count, 3);
}

TEST(StatementTest, BadStatementIsSkippedWithItsPosition) {
  std::vector<Statement> parsed;
  std::vector<SkippedStatement> skipped;
  AddStatements("w.sql", "SELECT 1;\n-- note\nSELECT * FRM t;\nSELECT 2 FROM t; select 3", &parsed,
                &skipped);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].source, "w.sql#2");
  EXPECT_EQ(skipped[0].position, 18);  // "FRM" within "-- note\nSELECT * FRM t"
  EXPECT_NE(skipped[0].message.find("\"FRM\""), std::string::npos) << skipped[0].message;
  // "select 3" is the first statement with another constant: merged, weight 2.
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].weight, 2);
  EXPECT_EQ(parsed[1].text, "SELECT 2 FROM t");
}

// A two-table catalog without a server.
Catalog TwoTables() {
  Catalog c;
  c.tables.push_back({"public", "users", true, {"id", "email", "age", "city"}, 1000, {}});
  c.tables.push_back(
      {"public", "orders", true, {"id", "user_id", "amount", "placed_at"}, 1000, {}});
  c.indexes.push_back({"users_pkey", "users", "", {"id"}, {}, true, false, "btree", 0, 0});
  return c;
}

TEST(CandidatesTest, ColumnsAreResolvedThroughAliasesAndScopes) {
  Catalog catalog = TwoTables();
  Statement s;
  ASSERT_TRUE(ParseStatement("SELECT u.email FROM users u JOIN orders o ON o.user_id = u.id "
                             "WHERE u.city IN ('a', 'b') AND placed_at > now() - interval '1 day' "
                             "AND EXISTS (SELECT 1 FROM orders o2 WHERE o2.user_id = u.id "
                             "AND o2.amount > 10) ORDER BY age",
                             &s)
                  .ok());
  auto uses = AnalyzeStatement(s, catalog);
  ASSERT_EQ(uses.size(), 3u);
  EXPECT_EQ(uses[0].alias, "u");
  EXPECT_EQ(uses[0].equality, std::vector<std::string>{"city"});
  EXPECT_EQ(uses[0].join, std::vector<std::string>{"id"});
  EXPECT_EQ(uses[0].order, std::vector<std::string>{"age"});
  EXPECT_EQ(uses[1].join, std::vector<std::string>{"user_id"});
  EXPECT_EQ(uses[1].range, std::vector<std::string>{"placed_at"});
  EXPECT_EQ(uses[2].alias, "o2");  // the correlated sub-query sees u
  EXPECT_EQ(uses[2].join, std::vector<std::string>{"user_id"});
  EXPECT_EQ(uses[2].range, std::vector<std::string>{"amount"});

  std::vector<std::string> sql;
  for (const auto& c : GenerateCandidates(uses[1], catalog)) sql.push_back(c.CreateSql());
  EXPECT_NE(std::find(sql.begin(), sql.end(), "CREATE INDEX ON orders (user_id, placed_at)"),
            sql.end());
  // users.id is the primary key already: no candidate repeats it.
  for (const auto& c : GenerateCandidates(uses[0], catalog)) {
    EXPECT_NE(c.CreateSql(), "CREATE INDEX ON users (id)");
  }
}

TEST(CandidatesTest, ExpressionsBecomeExpressionKeys) {
  Catalog catalog = TwoTables();
  Statement s;
  ASSERT_TRUE(ParseStatement("SELECT id FROM users u WHERE lower(u.email) = 'a@b.c'", &s).ok());
  auto uses = AnalyzeStatement(s, catalog);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].equality, std::vector<std::string>{"(lower(email))"});
  auto cands = GenerateCandidates(uses[0], catalog);
  ASSERT_FALSE(cands.empty());
  EXPECT_EQ(cands[0].CreateSql(), "CREATE INDEX ON users ((lower(email)))");
}

}  // namespace
}  // namespace backsight::db
