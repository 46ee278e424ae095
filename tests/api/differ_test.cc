#include "backsight/analyze/api/differ.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backsight/analyze/api/report.h"

namespace backsight::api {
namespace {

Spec Load(const std::string& text, const std::string& name) {
  Spec s;
  Status st = LoadSpecText(text, name, &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

std::vector<Change> Diff(const std::string& base, const std::string& rev,
                         const DiffOptions& o = {}) {
  Spec b = Load(base, "base.yaml");
  Spec r = Load(rev, "rev.yaml");
  return DiffSpecs(b, r, o);
}

std::string Ids(const std::vector<Change>& changes) {
  std::string s;
  for (const Change& c : changes) s += c.rule + "@" + c.operation + " ";
  return s;
}

bool Has(const std::vector<Change>& changes, const std::string& rule) {
  for (const Change& c : changes) {
    if (c.rule == rule) return true;
  }
  return false;
}

const char kHead[] = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

// ---- equivalent refactors: no change; each one changes with its normalisation switched off ----

TEST(DifferRefactorTest, InlineSchemaVsRef) {
  std::string base = std::string(kHead) +
                     "paths:\n"
                     "  /pets:\n"
                     "    post:\n"
                     "      requestBody:\n"
                     "        content:\n"
                     "          application/json:\n"
                     "            schema:\n"
                     "              type: object\n"
                     "              required: [name]\n"
                     "              properties: {name: {type: string, maxLength: 10}}\n"
                     "      responses: {'200': {description: ok}}\n";
  std::string rev = std::string(kHead) +
                    "paths:\n"
                    "  /pets:\n"
                    "    post:\n"
                    "      requestBody:\n"
                    "        content:\n"
                    "          application/json:\n"
                    "            schema: {$ref: '#/components/schemas/Pet'}\n"
                    "      responses: {'200': {description: ok}}\n"
                    "components:\n"
                    "  schemas:\n"
                    "    Pet:\n"
                    "      type: object\n"
                    "      required: [name]\n"
                    "      properties: {name: {type: string, maxLength: 10}}\n";
  EXPECT_TRUE(Diff(base, rev).empty()) << Ids(Diff(base, rev));
  DiffOptions off;
  off.follow_refs = false;
  EXPECT_FALSE(Diff(base, rev, off).empty());
}

TEST(DifferRefactorTest, ParameterMovedBetweenPathAndOperation) {
  std::string base = std::string(kHead) +
                     "paths:\n"
                     "  /pets:\n"
                     "    get:\n"
                     "      parameters:\n"
                     "        - {name: limit, in: query, required: true, schema: {type: integer}}\n"
                     "      responses: {'200': {description: ok}}\n";
  std::string rev = std::string(kHead) +
                    "paths:\n"
                    "  /pets:\n"
                    "    parameters:\n"
                    "      - {name: limit, in: query, required: true, schema: {type: integer}}\n"
                    "    get:\n"
                    "      responses: {'200': {description: ok}}\n";
  EXPECT_TRUE(Diff(base, rev).empty()) << Ids(Diff(base, rev));
  DiffOptions off;
  off.merge_path_parameters = false;
  EXPECT_FALSE(Diff(base, rev, off).empty());
}

TEST(DifferRefactorTest, RenamedPathParameter) {
  std::string base = std::string(kHead) +
                     "paths:\n"
                     "  /pets/{id}:\n"
                     "    get:\n"
                     "      parameters:\n"
                     "        - {name: id, in: path, required: true, schema: {type: integer}}\n"
                     "      responses: {'200': {description: ok}}\n";
  std::string rev = std::string(kHead) +
                    "paths:\n"
                    "  /pets/{petId}:\n"
                    "    get:\n"
                    "      parameters:\n"
                    "        - {name: petId, in: path, required: true, schema: {type: integer}}\n"
                    "      responses: {'200': {description: ok}}\n";
  EXPECT_TRUE(Diff(base, rev).empty()) << Ids(Diff(base, rev));
  DiffOptions off;
  off.positional_path_params = false;
  EXPECT_TRUE(Has(Diff(base, rev, off), "api-path-removed-without-deprecation"));
}

TEST(DifferRefactorTest, PrefixMovedIntoServers) {
  std::string base = std::string(kHead) +
                     "servers: [{url: 'https://api.example.com'}]\n"
                     "paths:\n"
                     "  /v1/pets:\n"
                     "    get: {responses: {'200': {description: ok}}}\n";
  std::string rev = std::string(kHead) +
                    "servers: [{url: 'https://api.example.com/v1/'}]\n"
                    "paths:\n"
                    "  /pets:\n"
                    "    get: {responses: {'200': {description: ok}}}\n";
  auto changes = Diff(base, rev);
  EXPECT_TRUE(changes.empty()) << Ids(changes);
  DiffOptions off;
  off.join_server_prefix = false;
  EXPECT_TRUE(Has(Diff(base, rev, off), "api-path-removed-without-deprecation"));
}

TEST(DifferRefactorTest, ReorderedAllOf) {
  auto spec = [](const std::string& parts) {
    return std::string(kHead) +
           "paths:\n"
           "  /pets:\n"
           "    get:\n"
           "      responses:\n"
           "        '200':\n"
           "          description: ok\n"
           "          content:\n"
           "            application/json:\n"
           "              schema:\n"
           "                allOf:\n" +
           parts;
  };
  std::string a = "                  - {type: object, properties: {id: {type: integer}}}\n";
  std::string b = "                  - {type: object, properties: {name: {type: string}}}\n";
  std::string base = spec(a + b), rev = spec(b + a);
  EXPECT_TRUE(Diff(base, rev).empty()) << Ids(Diff(base, rev));
  DiffOptions off;
  off.unordered_all_of = false;
  EXPECT_FALSE(Diff(base, rev, off).empty());
}

// ---- real changes ----

TEST(DifferTest, DirectionDecidesLevel) {
  auto spec = [](const std::string& req_max, const std::string& resp_max) {
    return std::string(kHead) +
           "paths:\n"
           "  /pets:\n"
           "    post:\n"
           "      requestBody:\n"
           "        content:\n"
           "          application/json:\n"
           "            schema: {type: object, properties: {name: {type: string, maxLength: " +
           req_max +
           "}}}\n"
           "      responses:\n"
           "        '200':\n"
           "          description: ok\n"
           "          content:\n"
           "            application/json:\n"
           "              schema: {type: object, properties: {name: {type: string, maxLength: " +
           resp_max + "}}}\n";
  };
  // Request narrowed: breaking. Response widened: breaking.
  auto changes = Diff(spec("10", "10"), spec("5", "20"));
  ASSERT_EQ(changes.size(), 2u) << Ids(changes);
  for (const Change& c : changes) EXPECT_EQ(c.level, Level::kError) << c.rule;
  EXPECT_TRUE(Has(changes, "request-property-max-length-decreased"));
  EXPECT_TRUE(Has(changes, "response-property-max-length-increased"));
  EXPECT_EQ(changes[0].operation, "POST /pets");
  // The opposite directions are not breaking.
  for (const Change& c : Diff(spec("10", "10"), spec("20", "5"))) {
    EXPECT_EQ(c.level, Level::kInfo) << c.rule;
  }
}

TEST(DifferTest, CircularSchemasTerminateAndReportNestedChange) {
  auto spec = [](const std::string& type) {
    return std::string(kHead) +
           "paths:\n"
           "  /nodes:\n"
           "    get:\n"
           "      responses:\n"
           "        '200':\n"
           "          description: ok\n"
           "          content:\n"
           "            application/json:\n"
           "              schema: {$ref: '#/components/schemas/Node'}\n"
           "components:\n"
           "  schemas:\n"
           "    Node:\n"
           "      type: object\n"
           "      properties:\n"
           "        value: {type: " +
           type +
           "}\n"
           "        children: {type: array, items: {$ref: '#/components/schemas/Node'}}\n";
  };
  EXPECT_TRUE(Diff(spec("string"), spec("string")).empty());
  auto changes = Diff(spec("integer"), spec("number"));
  EXPECT_TRUE(Has(changes, "response-property-type-generalized")) << Ids(changes);
}

TEST(DifferTest, RemovedOperationAndRequiredParameter) {
  std::string base = std::string(kHead) +
                     "paths:\n"
                     "  /a: {get: {responses: {'200': {description: ok}}}}\n"
                     "  /b: {get: {responses: {'200': {description: ok}}}}\n";
  std::string rev = std::string(kHead) +
                    "paths:\n"
                    "  /a:\n"
                    "    get:\n"
                    "      parameters: [{name: q, in: query, required: true, schema: {type: "
                    "string}}]\n"
                    "      responses: {'200': {description: ok}}\n";
  auto changes = Diff(base, rev);
  EXPECT_TRUE(Has(changes, "api-path-removed-without-deprecation")) << Ids(changes);
  EXPECT_TRUE(Has(changes, "new-required-request-parameter")) << Ids(changes);
  for (const Change& c : changes) {
    if (c.rule == "new-required-request-parameter") {
      EXPECT_EQ(c.revision_location, "rev.yaml:6");
      EXPECT_EQ(c.level, Level::kError);
    }
  }
}

TEST(DifferTest, ReadOnlyAndWriteOnlyFlips) {
  auto spec = [](const std::string& flag) {
    return std::string(kHead) +
           "paths:\n"
           "  /pets:\n"
           "    get:\n"
           "      responses:\n"
           "        '200':\n"
           "          description: ok\n"
           "          content:\n"
           "            application/json:\n"
           "              schema:\n"
           "                type: object\n"
           "                required: [secret]\n"
           "                properties: {secret: {type: string" +
           flag + "}}\n";
  };
  auto changes = Diff(spec(", writeOnly: true"), spec(""));
  ASSERT_TRUE(Has(changes, "response-required-property-became-not-write-only")) << Ids(changes);
  EXPECT_EQ(changes[0].level, Level::kWarning);
  EXPECT_TRUE(
      Has(Diff(spec(""), spec(", readOnly: true")), "response-required-property-became-read-only"));
}

// oasdiff's users report missed changes inside oneOf: parts are matched and compared inside.
TEST(DifferTest, ChangeInsideOneOfPart) {
  auto spec = [](const std::string& max) {
    return std::string(kHead) +
           "paths:\n"
           "  /pets:\n"
           "    post:\n"
           "      requestBody:\n"
           "        content:\n"
           "          application/json:\n"
           "            schema:\n"
           "              oneOf:\n"
           "                - {$ref: '#/components/schemas/Cat'}\n"
           "                - {type: object, title: Dog, properties: {bark: {type: string}}}\n"
           "      responses: {'200': {description: ok}}\n"
           "components:\n"
           "  schemas:\n"
           "    Cat: {type: object, properties: {lives: {type: integer, maximum: " +
           max + "}}}\n";
  };
  auto changes = Diff(spec("9"), spec("7"));
  ASSERT_TRUE(Has(changes, "request-property-max-decreased")) << Ids(changes);
  EXPECT_FALSE(Has(changes, "request-body-one-of-removed")) << Ids(changes);
}

TEST(DifferTest, SunsetDates) {
  auto spec = [](const std::string& op) {
    return std::string(kHead) + "paths:\n  /a:\n    get:\n" + op +
           "      responses: {'200': {description: ok}}\n  /b: {get: {responses: {'200': "
           "{description: ok}}}}\n";
  };
  std::string future = spec("      deprecated: true\n      x-sunset: '2030-01-01'\n");
  std::string past = spec("      deprecated: true\n      x-sunset: '2020-01-01'\n");
  std::string gone =
      std::string(kHead) + "paths:\n  /b: {get: {responses: {'200': {description: ok}}}}\n";
  DiffOptions o;
  o.today = "2026-12-02";
  auto changes = Diff(future, gone, o);
  EXPECT_TRUE(Has(changes, "api-path-removed-before-sunset")) << Ids(changes);
  changes = Diff(past, gone, o);
  EXPECT_TRUE(Has(changes, "api-path-removed-with-deprecation")) << Ids(changes);
  EXPECT_EQ(changes[0].level, Level::kInfo);
  EXPECT_TRUE(Has(Diff(future, past, o), "api-sunset-date-changed-too-small"));
  EXPECT_TRUE(Has(Diff(future, spec("      deprecated: true\n"), o), "sunset-deleted"));
  EXPECT_TRUE(Has(Diff(spec(""), spec("      deprecated: true\n      x-sunset: soon\n"), o),
                  "api-deprecated-sunset-parse"));
}

// ---- reports and ignore file ----

TEST(ReportTest, IgnoreListMatchesRuleAndOperation) {
  IgnoreList ignore;
  ASSERT_TRUE(ignore
                  .Parse("# accepted\nrequest-property-removed POST /pets/{petId}\n"
                         "api-tag-added\n",
                         "ignore.txt")
                  .ok());
  Change c;
  c.rule = "request-property-removed";
  c.operation = "POST /pets/{id}";
  EXPECT_TRUE(ignore.Matches(c));
  c.operation = "GET /pets/{id}";
  EXPECT_FALSE(ignore.Matches(c));
  c.rule = "api-tag-added";
  EXPECT_TRUE(ignore.Matches(c));
  EXPECT_FALSE(ignore.Parse("rule GET\n", "bad.txt").ok());
}

TEST(ReportTest, GithubAnnotationsAndJunitFailures) {
  Change c;
  c.rule = "request-body-removed";
  c.level = Level::kError;
  c.operation = "POST /pets";
  c.revision_location = "rev.yaml:12";
  c.text = "request body removed, 100% sure";
  std::string gh = RenderReport({c}, ReportFormat::kGithub, Level::kError);
  EXPECT_EQ(gh,
            "::error file=rev.yaml,line=12,title=request-body-removed::POST /pets: request body "
            "removed, 100%25 sure\n");
  std::string junit = RenderReport({c}, ReportFormat::kJunit, Level::kError);
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  c.level = Level::kInfo;
  junit = RenderReport({c}, ReportFormat::kJunit, Level::kError);
  EXPECT_NE(junit.find("failures=\"0\""), std::string::npos) << junit;
}

}  // namespace
}  // namespace backsight::api
