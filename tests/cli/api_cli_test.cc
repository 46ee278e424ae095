// `backsight api diff` end to end: exit codes, formats, ignore file.
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"

namespace backsight::testing {
namespace {

const char kBase[] =
    "openapi: 3.0.3\n"
    "info: {title: t, version: '1'}\n"
    "paths:\n"
    "  /pets/{id}:\n"
    "    get:\n"
    "      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]\n"
    "      responses: {'200': {description: ok}}\n"
    "  /toys:\n"
    "    get: {responses: {'200': {description: ok}}}\n";

// /toys removed (error), /pets/{id} renamed parameter (no change).
const char kRevision[] =
    "openapi: 3.0.3\n"
    "info: {title: t, version: '1'}\n"
    "paths:\n"
    "  /pets/{petId}:\n"
    "    get:\n"
    "      parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]\n"
    "      responses: {'200': {description: ok}}\n";

using ApiCliTest = CliTest;

TEST_F(ApiCliTest, ExitCodesFollowFailOn) {
  std::string b = Write("base.yaml", kBase), r = Write("rev.yaml", kRevision);
  CliResult res = Run("api diff " + b + " " + r + " --fail-on error");
  EXPECT_EQ(res.rc, 1) << res.err;
  EXPECT_NE(res.out.find("error api-path-removed-without-deprecation GET /toys"), std::string::npos)
      << res.out;
  EXPECT_EQ(Run("api diff " + b + " " + r).rc, 0);  // no --fail-on: report only
  EXPECT_EQ(Run("api diff " + b + " " + b + " --fail-on warning").rc, 0);
  EXPECT_EQ(Run("api diff " + b + " " + r + " --format nope").rc, 2);
  EXPECT_EQ(Run("api diff " + b).rc, 2);
  std::string bad = Write("bad.yaml", "paths: [1, 2\n");
  res = Run("api diff " + b + " " + bad);
  EXPECT_EQ(res.rc, 3);
  EXPECT_NE(res.err.find("bad.yaml:"), std::string::npos) << res.err;
}

TEST_F(ApiCliTest, JsonFormatAndIgnoreFile) {
  std::string b = Write("base.yaml", kBase), r = Write("rev.yaml", kRevision);
  CliResult res = Run("api diff " + b + " " + r + " --format json");
  ASSERT_EQ(res.rc, 0) << res.err;
  auto j = nlohmann::json::parse(res.out);
  ASSERT_EQ(j.size(), 1u) << res.out;
  EXPECT_EQ(j[0]["id"], "api-path-removed-without-deprecation");
  EXPECT_EQ(j[0]["level"], "error");
  EXPECT_EQ(j[0]["operation"], "GET /toys");
  EXPECT_EQ(j[0]["base"], b + ":9");
  std::string ignore = Write("ignore.txt", "api-path-removed-without-deprecation GET /toys\n");
  res = Run("api diff " + b + " " + r + " --fail-on error --ignore " + ignore);
  EXPECT_EQ(res.rc, 0) << res.out;
}

}  // namespace
}  // namespace backsight::testing
