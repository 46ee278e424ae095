// CompareServedWithSpec: the API as served (inferred from requests) against the documented one.
#include "backsight/analyze/api/conformance.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backsight/analyze/api/infer.h"

namespace backsight::api {
namespace {

const char kSpec[] =
    "openapi: 3.0.3\n"
    "info: {title: t, version: '1'}\n"
    "servers: [{url: 'https://h.example/v1'}]\n"
    "paths:\n"
    "  /pets/{petId}:\n"
    "    get:\n"
    "      responses: {'200': {description: ok}, '4XX': {description: client}}\n"
    "    delete:\n"
    "      responses: {'204': {description: gone}}\n"
    "  /pets/mine:\n"
    "    get: {responses: {default: {description: any}}}\n"
    "  /zones/{zoneId}/quiet:\n"
    "    put: {responses: {'200': {description: ok}}}\n"
    "  /health:\n"
    "    get: {responses: {'200': {description: ok}}}\n";

struct Req {
  const char* method;
  const char* path;
  int status;
};

std::vector<Change> Compare(const std::vector<Req>& reqs) {
  Spec spec;
  Status st = LoadSpecText(kSpec, "known.yaml", &spec);
  EXPECT_TRUE(st.ok()) << st.message();
  ApiInferrer inferrer;
  for (const Req& r : reqs) {
    AccessRecord rec;
    rec.method = r.method;
    rec.path = r.path;
    rec.status = r.status;
    inferrer.Add(rec);
  }
  return CompareServedWithSpec(inferrer.Infer(), spec, "access.log");
}

std::vector<std::string> Ids(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const Change& c : changes) out.push_back(c.rule + " " + c.operation);
  return out;
}

TEST(ConformanceTest, ConformingTrafficIsQuiet) {
  std::vector<std::string> paths;
  for (int i = 1; i <= 20; ++i) paths.push_back("/v1/pets/" + std::to_string(i));
  std::vector<Req> reqs;
  for (int i = 0; i < 20; ++i) {
    reqs.push_back({"GET", paths[i].c_str(), i % 5 == 0 ? 404 : 200});  // 404 allowed by 4XX
  }
  reqs.push_back({"DELETE", "/v1/pets/3", 204});
  reqs.push_back({"GET", "/v1/pets/mine", 503});  // default allows any status
  reqs.push_back({"HEAD", "/v1/health", 200});    // documented by its GET
  // An enum-like constant (too few values to become a parameter) is an instance of {zoneId}.
  reqs.push_back({"PUT", "/v1/zones/basement/quiet", 200});
  reqs.push_back({"PUT", "/v1/zones/attic/quiet", 200});
  auto changes = Compare(reqs);
  EXPECT_TRUE(changes.empty()) << ::testing::PrintToString(Ids(changes));
}

TEST(ConformanceTest, ReportsUndocumentedNeverCalledAndStatuses) {
  auto changes = Compare({
      {"GET", "/v1/pets/7", 200},
      {"GET", "/v1/pets/8", 500},       // 5XX not allowed: warning
      {"DELETE", "/v1/pets/7", 200},    // success status not allowed: error
      {"POST", "/v1/pets/7", 201},      // documented path, undocumented method
      {"GET", "/v1/admin/stats", 200},  // no such path
      {"GET", "/wp-login.php", 404},    // not served at all: skipped
      {"GET", "/pets/mine", 200},       // without the server prefix: still documented
  });
  std::vector<std::string> want = {
      "api-path-undocumented GET /v1/admin/stats",
      "api-path-never-called GET /v1/health",
      "response-success-status-undocumented DELETE /v1/pets/{petId}",
      "response-non-success-status-undocumented GET /v1/pets/{petId}",
      "api-operation-undocumented POST /v1/pets/{petId}",
      "api-path-never-called PUT /v1/zones/{zoneId}/quiet",
  };
  EXPECT_EQ(Ids(changes), want);
  for (const Change& c : changes) {
    if (c.rule == "response-success-status-undocumented") {
      EXPECT_EQ(c.level, Level::kError);
      EXPECT_EQ(c.base_location, "known.yaml:9");
      EXPECT_EQ(c.revision_location, "access.log");
      EXPECT_NE(c.text.find("status 200 served 1 times"), std::string::npos) << c.text;
    }
    if (c.rule == "api-path-undocumented") {
      EXPECT_EQ(c.level, Level::kWarning);
    }
    if (c.rule == "api-path-never-called") {
      EXPECT_EQ(c.level, Level::kInfo);
    }
  }
}

}  // namespace
}  // namespace backsight::api
