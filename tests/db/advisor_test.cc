// The advisor against a real PostgreSQL 15 with HypoPG, started by the test (pg_scratch.sh on a
// free port on 127.0.0.1); skipped only when the PostgreSQL 15 binaries are not installed.
#include "backsight/db/advisor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "backsight/db/catalog.h"
#include "backsight/db/connection.h"
#include "backsight/db/statement.h"
#include "backsight/db/workload.h"
#include "pg_test_util.h"

namespace backsight::db {
namespace {

class AdvisorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { uri_ = TestPgUri(&dir_); }
  static void TearDownTestSuite() { StopTestPg(dir_, uri_); }
  void SetUp() override {
    if (!std::filesystem::exists(kInitdb)) {
      GTEST_SKIP() << "PostgreSQL 15 is not installed (" << kInitdb
                   << "): apt-get install postgresql-15 postgresql-15-hypopg";
    }
    if (!std::filesystem::exists(BACKSIGHT_PG_SCRATCH)) {  // as the corpus tests without data
      GTEST_SKIP() << BACKSIGHT_PG_SCRATCH
                   << " not found (the shared tools next to the repository)";
    }
    ASSERT_FALSE(uri_.empty()) << "pg_scratch.sh could not start PostgreSQL; see " << dir_
                               << ".log";
    ASSERT_TRUE(Connection::Open(uri_, &conn_).ok());
    ASSERT_TRUE(LoadCatalog(conn_.get(), &catalog_).ok());
  }

  // The advice for one statement, without a budget.
  Advice AdviseOne(const std::string& sql) {
    Statement s;
    Status st = ParseStatement(sql, &s);
    EXPECT_TRUE(st.ok()) << st.ToString();
    Advice a;
    st = Advise(conn_.get(), catalog_, {s}, AdviseOptions{}, &a);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return a;
  }
  // The best advised index for `sql` ("" when none).
  std::string Best(const std::string& sql) {
    Advice a = AdviseOne(sql);
    return a.indexes.empty() ? "" : a.indexes[0].index.CreateSql();
  }

  static std::string dir_, uri_;
  std::unique_ptr<Connection> conn_;
  Catalog catalog_;
};
std::string AdvisorTest::dir_;
std::string AdvisorTest::uri_;

TEST_F(AdvisorTest, EqualityRangeOrderAndExpression) {
  EXPECT_EQ(Best("SELECT * FROM users WHERE email = 'user42@example.com'"),
            "CREATE INDEX ON users (email)");
  EXPECT_EQ(Best("SELECT id FROM users WHERE created_at BETWEEN '2020-01-02' AND '2020-01-03'"),
            "CREATE INDEX ON users (created_at)");
  EXPECT_EQ(Best("SELECT * FROM users ORDER BY created_at DESC LIMIT 10"),
            "CREATE INDEX ON users (created_at)");
  EXPECT_EQ(Best("SELECT id FROM users WHERE lower(email) = 'user42@example.com'"),
            "CREATE INDEX ON users ((lower(email)))");
}

TEST_F(AdvisorTest, JoinInAndOr) {
  EXPECT_EQ(Best("SELECT o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 42"),
            "CREATE INDEX ON orders (user_id)");
  EXPECT_EQ(Best("SELECT * FROM users WHERE city IN ('city1', 'city2')"),
            "CREATE INDEX ON users (city)");
  // OR: a BitmapOr needs an index on each branch's column.
  Advice a = AdviseOne("SELECT * FROM users WHERE email = 'user4@example.com' OR city = 'city7'");
  std::set<std::string> got;
  for (const auto& ix : a.indexes) got.insert(ix.index.CreateSql());
  EXPECT_TRUE(got.count("CREATE INDEX ON users (email)")) << a.indexes.size();
  EXPECT_TRUE(got.count("CREATE INDEX ON users (city)")) << a.indexes.size();
  ASSERT_EQ(a.statements.size(), 1u);
  EXPECT_LT(a.statements[0].cost_after, 0.1 * a.statements[0].cost_before);
}

TEST_F(AdvisorTest, MultiColumnEqualityBeforeRange) {
  // Each column alone is weak (1 % and 6.5 % of the rows); together they pick 0.07 %.
  EXPECT_EQ(Best("SELECT * FROM orders WHERE placed_at BETWEEN '2020-02-01' AND '2020-02-10' "
                 "AND status = 'open'"),
            "CREATE INDEX ON orders (status, placed_at)");
}

TEST_F(AdvisorTest, PartialIndexForConstantFilterOnLowCardinalityColumn) {
  // status has two values and 'open' is 1 % of the rows: an index on placed_at WHERE the filter
  // holds fits 1 MB, where (status, placed_at) or (status) take ~4-6 MB.
  Statement s;
  ASSERT_TRUE(ParseStatement("SELECT id, amount FROM orders WHERE status = 'open' "
                             "AND placed_at BETWEEN '2020-02-01' AND '2020-02-03'",
                             &s)
                  .ok());
  AdviseOptions options;
  options.budget_mb = 1;
  Advice a;
  ASSERT_TRUE(Advise(conn_.get(), catalog_, {s}, options, &a).ok());
  ASSERT_EQ(a.indexes.size(), 1u);
  EXPECT_EQ(a.indexes[0].index.predicate, "status = 'open'") << a.indexes[0].index.CreateSql();
  EXPECT_EQ(a.indexes[0].index.keys, std::vector<std::string>{"placed_at"});
  EXPECT_LT(a.cost_after, 0.1 * a.cost_before);
  // A parameter is no literal: no partial candidate.
  for (const auto& ix : AdviseOne("SELECT id FROM orders WHERE status = $1").indexes) {
    EXPECT_TRUE(ix.index.predicate.empty()) << ix.index.CreateSql();
  }
}

TEST_F(AdvisorTest, PartialIndexOnALaterFromItemIsCostedAndServesTheStatementForReal) {
  // HypoPG 1.3 plans a hypothetical partial index only on the first FROM item; orders is second
  // here, so the advisor costs it on the statement with orders moved first (from_order.h).
  const std::string sql =
      "SELECT o.id, o.amount FROM users u, orders o WHERE o.user_id = u.id AND o.status = 'open' "
      "AND o.placed_at BETWEEN '2020-02-01' AND '2020-02-03'";
  Statement s;
  ASSERT_TRUE(ParseStatement(sql, &s).ok());
  AdviseOptions options;
  options.budget_mb = 1;
  Advice a;
  ASSERT_TRUE(Advise(conn_.get(), catalog_, {s}, options, &a).ok());
  const AdvisedIndex* partial = nullptr;
  for (const auto& ix : a.indexes) {
    if (ix.index.table->name == "orders" && !ix.index.predicate.empty()) partial = &ix;
  }
  ASSERT_NE(partial, nullptr) << a.indexes.size();
  EXPECT_EQ(partial->index.predicate, "status = 'open'");
  EXPECT_LT(a.cost_after, 0.5 * a.cost_before);
  // The same index created for real serves the statement as written (the planner's plan).
  ASSERT_TRUE(conn_->Query("DROP INDEX IF EXISTS advisor_test_partial").ok());
  std::string create = partial->index.CreateSql();
  create.replace(0, std::string("CREATE INDEX ").size(), "CREATE INDEX advisor_test_partial ");
  ASSERT_TRUE(conn_->Query(create).ok()) << create;
  QueryResult plan;
  ASSERT_TRUE(conn_->Query("EXPLAIN " + sql, &plan).ok());
  ASSERT_TRUE(conn_->Query("DROP INDEX advisor_test_partial").ok());
  std::string text;
  for (const auto& row : plan.rows) text += row.at(0) + "\n";
  EXPECT_NE(text.find("advisor_test_partial"), std::string::npos) << text;
}

TEST_F(AdvisorTest, GenericPlanForParameters) {
  EXPECT_EQ(Best("SELECT * FROM users WHERE email = $1"), "CREATE INDEX ON users (email)");
}

TEST_F(AdvisorTest, ExistingIndexRespectedAndDuplicatesReported) {
  Advice a = AdviseOne("SELECT * FROM accounts WHERE name = 'acct7'");
  EXPECT_TRUE(a.indexes.empty()) << a.indexes[0].index.CreateSql();
  ASSERT_EQ(a.statements.size(), 1u);
  EXPECT_EQ(a.statements[0].cost_after, a.statements[0].cost_before);
  bool duplicate = false;
  for (const auto& f : FindRemovableIndexes(catalog_)) {
    if (f.index == "accounts_name" && f.kind == "duplicate") duplicate = true;
    EXPECT_NE(f.index, "accounts_pkey");  // a primary key is never removable
  }
  EXPECT_TRUE(duplicate);
}

TEST_F(AdvisorTest, MissingHypopgIsNamed) {
  ASSERT_TRUE(conn_->Query("DROP DATABASE IF EXISTS nohypo").ok());
  ASSERT_TRUE(conn_->Query("CREATE DATABASE nohypo").ok());
  std::string uri = uri_.substr(0, uri_.rfind('/')) + "/nohypo";
  std::unique_ptr<Connection> other;
  ASSERT_TRUE(Connection::Open(uri, &other).ok());
  Statement s;
  ASSERT_TRUE(ParseStatement("SELECT 1", &s).ok());
  Advice a;
  Status st = Advise(other.get(), Catalog{}, {s}, AdviseOptions{}, &a);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("CREATE EXTENSION hypopg"), std::string::npos) << st.message();
}

TEST_F(AdvisorTest, UnreachableServerIsUnavailable) {
  std::unique_ptr<Connection> c;
  // Port 1 on the loopback: nothing listens there.
  Status st = Connection::Open("postgresql://postgres@127.0.0.1:1/x", &c);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_NE(st.message().find("server unreachable"), std::string::npos) << st.message();
}

TEST_F(AdvisorTest, PgStatStatementsOneFingerprintAndGenericPlan) {
  ASSERT_TRUE(conn_->Query("SELECT pg_stat_statements_reset()").ok());
  ASSERT_TRUE(conn_->Query("SELECT * FROM users WHERE email = 'user1@example.com'").ok());
  ASSERT_TRUE(conn_->Query("SELECT * FROM users WHERE email = 'user7@example.com'").ok());
  std::vector<Statement> stmts;
  std::vector<SkippedStatement> skipped;
  ASSERT_TRUE(ReadPgStatStatements(conn_.get(), &stmts, &skipped).ok());
  const Statement* users = nullptr;
  for (const auto& s : stmts) {
    if (s.text == "SELECT * FROM users WHERE email = $1") users = &s;
  }
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->weight, 2);  // both constants are one statement
  EXPECT_EQ(users->param_count, 1);
  Advice a;
  ASSERT_TRUE(Advise(conn_.get(), catalog_, {*users}, AdviseOptions{}, &a).ok());
  ASSERT_EQ(a.indexes.size(), 1u);
  EXPECT_EQ(a.indexes[0].index.CreateSql(), "CREATE INDEX ON users (email)");
}

TEST_F(AdvisorTest, BudgetIsKept) {
  std::vector<Statement> stmts(2);
  ASSERT_TRUE(ParseStatement("SELECT * FROM users WHERE email = 'a'", &stmts[0]).ok());
  ASSERT_TRUE(ParseStatement("SELECT * FROM orders WHERE user_id = 3", &stmts[1]).ok());
  Advice all, small;
  ASSERT_TRUE(Advise(conn_.get(), catalog_, stmts, AdviseOptions{}, &all).ok());
  ASSERT_EQ(all.indexes.size(), 2u);
  AdviseOptions o;
  o.budget_mb = (std::max(all.indexes[0].bytes, all.indexes[1].bytes) + 1) / kBytesPerMb;
  ASSERT_TRUE(Advise(conn_.get(), catalog_, stmts, o, &small).ok());
  ASSERT_EQ(small.indexes.size(), 1u);
  EXPECT_LE(small.indexes[0].bytes, o.budget_mb * kBytesPerMb);
  EXPECT_GT(small.explain_calls, 2);
}

}  // namespace
}  // namespace backsight::db
