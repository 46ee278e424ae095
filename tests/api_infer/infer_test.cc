#include "backsight/analyze/api/infer.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "backsight/analyze/api/infer_openapi.h"

namespace backsight::api {
namespace {

// Feeds `n` requests per path with a fixed status, one second apart.
class InferTest : public ::testing::Test {
 protected:
  void Add(std::string method, std::string target, int status = 200, int n = 1) {
    for (int i = 0; i < n; ++i) {
      AccessRecord r;
      r.method = method;
      SplitTarget(target, &r.path, &r.query);
      r.status = status;
      r.time_ns = (t_++) * 1'000'000'000LL;
      inferrer_.Add(r);
    }
  }
  std::set<std::string> Paths() {
    std::set<std::string> out;
    for (const InferredOperation& op : inferrer_.Infer().operations) out.insert(op.path);
    return out;
  }
  const InferredOperation* Find(const InferredApi& api, std::string_view method,
                                std::string_view path) {
    for (const InferredOperation& op : api.operations) {
      if (op.method == method && op.path == path) return &op;
    }
    return nullptr;
  }
  ApiInferrer inferrer_;
  int64_t t_ = 0;
};

TEST_F(InferTest, IntegerIdsBecomeNamedTypedParameter) {
  Add("GET", "/orders/3");
  Add("GET", "/orders/7");
  Add("DELETE", "/orders/9", 204);
  InferredApi api = inferrer_.Infer();
  ASSERT_EQ(api.operations.size(), 2u);
  const InferredOperation* get = Find(api, "GET", "/orders/{orderId}");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->requests, 2u);
  ASSERT_EQ(get->parameters.size(), 1u);
  EXPECT_EQ(get->parameters[0].kind, SegmentKind::kInteger);
  EXPECT_EQ(get->parameters[0].distinct_values, 3u);
  const InferredOperation* del = Find(api, "DELETE", "/orders/{orderId}");
  ASSERT_NE(del, nullptr);
  EXPECT_EQ(del->status_counts.at(204), 1u);
}

TEST_F(InferTest, UuidsAndDates) {
  Add("GET", "/users/4b8e1c2a-4d7e-4f4e-9b1a-0c6c2b7a9f11");
  Add("GET", "/users/0c6c2b7a-9f11-4f4e-9b1a-4b8e1c2a4d7e");
  Add("GET", "/reports/2024-01-02");
  Add("GET", "/reports/2024-01-03");
  InferredApi api = inferrer_.Infer();
  const InferredOperation* u = Find(api, "GET", "/users/{userId}");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->parameters[0].kind, SegmentKind::kUuid);
  const InferredOperation* d = Find(api, "GET", "/reports/{reportDate}");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->parameters[0].kind, SegmentKind::kDate);
}

TEST_F(InferTest, ConstantSiblingsAmongManyIdsStayConstants) {
  for (int i = 0; i < 500; ++i) Add("GET", "/users/" + std::to_string(1000 + i));
  Add("GET", "/users/me", 200, 3);
  Add("GET", "/posts/new");
  for (int i = 0; i < 50; ++i) Add("GET", "/posts/" + std::to_string(i));
  Add("GET", "/orders/export");
  Add("GET", "/orders/5");
  EXPECT_EQ(Paths(), (std::set<std::string>{"/orders/export", "/orders/{orderId}", "/posts/new",
                                            "/posts/{postId}", "/users/me", "/users/{userId}"}));
}

TEST_F(InferTest, NestedIds) {
  for (int u = 0; u < 20; ++u) {
    for (int o = 0; o < 3; ++o) {
      Add("GET", "/users/" + std::to_string(u) + "/orders/" + std::to_string(100 * u + o));
    }
    Add("GET", "/users/" + std::to_string(u));
  }
  InferredApi api = inferrer_.Infer();
  const InferredOperation* op = Find(api, "GET", "/users/{userId}/orders/{orderId}");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->requests, 60u);
  ASSERT_EQ(op->parameters.size(), 2u);
  EXPECT_EQ(op->parameters[1].distinct_values, 60u);
  EXPECT_EQ(api.operations.size(), 2u);
}

TEST_F(InferTest, ManyWordsWithSharedContinuationBecomeParameterButNotTheHeavyHitter) {
  // 40 user names (words, not ids) under /members, each with /settings; /members/me is busy.
  static const char* kNames[] = {"alice",  "bob",   "carol", "dave",    "erin",   "frank",  "grace",
                                 "heidi",  "ivan",  "judy",  "mallory", "niaj",   "olivia", "peggy",
                                 "rupert", "sybil", "trent", "victor",  "walter", "xena"};
  for (const char* a : kNames) {
    for (const char* b : {"smith", "jones"}) {
      Add("GET", std::string("/members/") + a + "-" + b + "/settings");
    }
  }
  Add("GET", "/members/me/settings", 200, 200);
  // Two API versions: words, but far fewer than a parameter needs.
  Add("GET", "/api/v1/status");
  Add("GET", "/api/v2/status");
  EXPECT_EQ(Paths(),
            (std::set<std::string>{"/api/v1/status", "/api/v2/status", "/members/me/settings",
                                   "/members/{memberName}/settings"}));
}

TEST_F(InferTest, SparseWordPairsJoinThroughTheSegmentAfterNext) {
  // 30 owners with one repository each: no two owners share a next segment, but all of them
  // continue with <repo>/issues, so the owner position is a parameter, and the repo one too.
  for (int i = 0; i < 30; ++i) {
    Add("GET", "/repos/owner-" + std::string(1, static_cast<char>('a' + i % 26)) +
                   std::string(1, static_cast<char>('a' + i / 26)) + "/project-" +
                   std::string(1, static_cast<char>('k' + i % 13)) +
                   std::string(1, static_cast<char>('a' + i / 13)) + "/issues");
  }
  EXPECT_EQ(Paths(), (std::set<std::string>{"/repos/{repoName}/{param}/issues"}));
}

TEST_F(InferTest, QueryParametersRequiredWhenAlwaysPresent) {
  Add("GET", "/search?q=a&page=2");
  Add("GET", "/search?q=b");
  Add("GET", "/search?q=c&q=d");
  InferredApi api = inferrer_.Infer();
  const InferredOperation* op = Find(api, "GET", "/search");
  ASSERT_NE(op, nullptr);
  ASSERT_EQ(op->query.size(), 2u);
  EXPECT_EQ(op->query[0].name, "page");
  EXPECT_FALSE(op->query[0].required);
  EXPECT_EQ(op->query[1].name, "q");
  EXPECT_EQ(op->query[1].requests, 3u);
  EXPECT_TRUE(op->query[1].required);
  // 3 requests over a 2 s span.
  EXPECT_DOUBLE_EQ(op->rate_per_second, 1.5);
}

TEST_F(InferTest, OpenApiDocumentHasTemplatesStatusesAndRates) {
  Add("GET", "/orders/3", 200, 3);
  Add("GET", "/orders/4", 404);
  YAML::Node doc = YAML::Load(WriteInferredOpenApi(inferrer_.Infer(), "t"));
  EXPECT_EQ(doc["openapi"].as<std::string>(), "3.0.3");
  YAML::Node item = doc["paths"]["/orders/{orderId}"];
  ASSERT_TRUE(item.IsMap());
  EXPECT_EQ(item["parameters"][0]["name"].as<std::string>(), "orderId");
  EXPECT_EQ(item["parameters"][0]["schema"]["type"].as<std::string>(), "integer");
  EXPECT_EQ(item["get"]["responses"]["404"]["x-backsight-requests"].as<int>(), 1);
  EXPECT_EQ(item["get"]["responses"]["200"]["x-backsight-requests"].as<int>(), 3);
  // 4 GETs over a 3 s span, written to 4 significant digits.
  EXPECT_NEAR(item["get"]["x-backsight-rate"].as<double>(), 4.0 / 3.0, 1e-3);
}

TEST_F(InferTest, EnumValuesWithTheSameShapeBecomeParameter) {
  // Three values, each with the same continuations, methods and statuses.
  for (const char* period : {"daily", "weekly", "monthly"}) {
    Add("GET", std::string("/api/reports/") + period + "/summary");
    Add("POST", std::string("/api/reports/") + period + "/export", 202);
  }
  // A value that is not used like the others (no export) stays a constant.
  Add("GET", "/api/reports/legacy/summary");
  EXPECT_EQ(Paths(), (std::set<std::string>{"/api/reports/legacy/summary",
                                            "/api/reports/{reportName}/export",
                                            "/api/reports/{reportName}/summary"}));
  // The rule off: every value stays a constant.
  InferOptions off;
  off.min_enum_values = 0;
  ApiInferrer plain(off);
  AccessRecord r;
  r.method = "GET";
  r.status = 200;
  for (const char* p : {"/api/reports/daily/summary", "/api/reports/weekly/summary"}) {
    r.path = p;
    plain.Add(r);
  }
  EXPECT_EQ(plain.Infer().operations.size(), 2u);
}

TEST_F(InferTest, EnumRuleKeepsConstantRoutesCollectionsAndMounts) {
  // Single-method leaves look like plain routes: /orders/pending, /orders/archived.
  Add("GET", "/api/orders/pending");
  Add("GET", "/api/orders/archived");
  // Sibling collections with one CRUD shape hold items (an identifier right below).
  for (const char* c : {"teams", "roles"}) {
    Add("GET", std::string("/api/admin/") + c);
    Add("GET", std::string("/api/admin/") + c + "/3");
    Add("DELETE", std::string("/api/admin/") + c + "/4", 204);
  }
  // Words beside identifiers are constants (`/users/me`), whatever their shape.
  Add("GET", "/api/users/17/settings");
  Add("GET", "/api/users/me/settings");
  Add("GET", "/api/users/you/settings");
  // The first segment names a mount or service, and "v2" a version: identical copies stay apart.
  for (const char* mount : {"/shop", "/blog", "/api/v1", "/api/v2"}) {
    Add("GET", std::string(mount) + "/status/summary");
    Add("PUT", std::string(mount) + "/status/summary");
  }
  EXPECT_EQ(Paths(),
            (std::set<std::string>{
                "/api/orders/pending", "/api/orders/archived", "/api/admin/teams",
                "/api/admin/teams/{teamId}", "/api/admin/roles", "/api/admin/roles/{roleId}",
                "/api/users/{userId}/settings", "/api/users/me/settings", "/api/users/you/settings",
                "/shop/status/summary", "/blog/status/summary", "/api/v1/status/summary",
                "/api/v2/status/summary"}));
}

TEST(ParameterNameTest, FromParent) {
  EXPECT_EQ(ParameterName("orders", SegmentKind::kInteger), "orderId");
  EXPECT_EQ(ParameterName("categories", SegmentKind::kUuid), "categoryId");
  EXPECT_EQ(ParameterName("reports", SegmentKind::kDate), "reportDate");
  EXPECT_EQ(ParameterName("security-scores", SegmentKind::kInteger), "securityScoreId");
  EXPECT_EQ(ParameterName("", SegmentKind::kInteger), "id");
}

}  // namespace
}  // namespace backsight::api
