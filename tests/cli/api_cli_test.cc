// `backsight api diff` and `backsight api infer --spec` end to end: exit codes, formats, ignore
// file.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  // A file that cannot be read is bad input too (issue 13: 0, 1, 2 usage, 3 bad input).
  EXPECT_EQ(Run("api diff " + b + " " + dir_ + "/missing.yaml").rc, 3);
  EXPECT_EQ(Run("api diff " + b + " " + r + " --ignore " + dir_ + "/missing.txt").rc, 3);
}

// Combined-format lines: GET /pets/1..3 (200), DELETE /pets/2 (200, the contract says 204).
std::string PetLog() {
  std::string log;
  const char* lines[][3] = {{"GET", "/pets/1", "200"},
                            {"GET", "/pets/2", "200"},
                            {"GET", "/pets/3", "200"},
                            {"DELETE", "/pets/2", "204"},
                            {"GET", "/toys", "200"}};
  for (const auto& l : lines) {
    log += std::string("1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"") + l[0] + " " + l[1] +
           " HTTP/1.1\" " + l[2] + " 5\n";
  }
  return log;
}

TEST_F(ApiCliTest, InferAgainstSpecReportsAndExitCodes) {
  std::string spec = Write("known.yaml",
                           "openapi: 3.0.3\n"
                           "info: {title: t, version: '1'}\n"
                           "paths:\n"
                           "  /pets/{id}:\n"
                           "    get: {responses: {'200': {description: ok}}}\n"
                           "    delete: {responses: {'204': {description: gone}}}\n"
                           "  /toys:\n"
                           "    get: {responses: {'200': {description: ok}}}\n"
                           "  /orders:\n"
                           "    get: {responses: {'200': {description: ok}}}\n");
  std::string ok_log = Write("ok.log", PetLog());
  CliResult res = Run("api infer -q " + ok_log + " --spec " + spec + " --fail-on warning");
  EXPECT_EQ(res.rc, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("info api-path-never-called GET /orders"), std::string::npos) << res.out;
  EXPECT_EQ(res.out.find("openapi:"), std::string::npos) << "document goes only to -o";

  std::string drift = Write("drift.log", PetLog() +
                                             "1.2.3.4 - - [10/Oct/2000:13:55:37 +0000] \"GET "
                                             "/admin HTTP/1.1\" 200 5\n"
                                             "1.2.3.4 - - [10/Oct/2000:13:55:38 +0000] \"GET "
                                             "/pets/4 HTTP/1.1\" 500 5\n");
  res = Run("api infer -q " + drift + " --spec " + spec + " --report-format json -o " + dir_ +
            "/served.yaml");
  ASSERT_EQ(res.rc, 0) << res.err;  // no --fail-on: report only
  auto j = nlohmann::json::parse(res.out);
  std::vector<std::string> ids;
  EXPECT_EQ(j["verdict"], "breaking");  // a warning is possibly breaking
  for (const auto& c : j["changes"])
    ids.push_back(c["id"].get<std::string>() + " " + c["operation"].get<std::string>());
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "api-path-undocumented GET /admin", "api-path-never-called GET /orders",
                     "response-non-success-status-undocumented GET /pets/{id}"}))
      << res.out;
  EXPECT_NE(ReadWholeFile(dir_ + "/served.yaml").find("/pets/{petId}:"), std::string::npos);
  EXPECT_EQ(Run("api infer -q " + drift + " --spec " + spec + " --fail-on warning").rc, 1);
  EXPECT_EQ(Run("api infer -q " + drift + " --spec " + spec + " --fail-on error").rc, 0);

  // Usage 2; bad input 3: unreadable log or spec, malformed spec.
  EXPECT_EQ(Run("api infer -q " + drift + " --fail-on error").rc, 2);  // --fail-on needs --spec
  EXPECT_EQ(Run("api infer -q " + drift + " --spec " + spec + " --report-format nope").rc, 2);
  EXPECT_EQ(Run("api infer -q " + dir_ + "/missing.log").rc, 3);
  EXPECT_EQ(Run("api infer -q " + drift + " --spec " + dir_ + "/missing.yaml").rc, 3);
  std::string bad = Write("bad.yaml", "paths: [1, 2\n");
  res = Run("api infer -q " + drift + " --spec " + bad);
  EXPECT_EQ(res.rc, 3);
  EXPECT_NE(res.err.find("bad.yaml:"), std::string::npos) << res.err;
}

TEST_F(ApiCliTest, JsonFormatAndIgnoreFile) {
  std::string b = Write("base.yaml", kBase), r = Write("rev.yaml", kRevision);
  CliResult res = Run("api diff " + b + " " + r + " --format json");
  ASSERT_EQ(res.rc, 0) << res.err;
  auto doc = nlohmann::json::parse(res.out);
  EXPECT_EQ(doc["verdict"], "breaking");
  EXPECT_EQ(doc["counts"]["error"], 1);
  const auto& j = doc["changes"];
  ASSERT_EQ(j.size(), 1u) << res.out;
  EXPECT_EQ(j[0]["id"], "api-path-removed-without-deprecation");
  EXPECT_EQ(j[0]["level"], "error");
  EXPECT_EQ(j[0]["operation"], "GET /toys");
  EXPECT_EQ(j[0]["base"], b + ":9");
  res = Run("api diff " + b + " " + b);
  EXPECT_NE(res.out.find("verdict: no-change"), std::string::npos) << res.out;
  std::string ignore = Write("ignore.txt", "api-path-removed-without-deprecation GET /toys\n");
  res = Run("api diff " + b + " " + r + " --fail-on error --ignore " + ignore);
  EXPECT_EQ(res.rc, 0) << res.out;
}

// One OTLP/JSON traces line (Collector file exporter): a server span for `id`, plus a client
// span to a peer that must not show up in the served API.
std::string OtlpLine(int id) {
  const std::string sid = std::to_string(10 + id);
  auto span = [&](const char* kind, const std::string& span_id, const std::string& path) {
    return R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"00000000000000)" + span_id +
           R"(","name":"GET","kind":")" + kind +
           R"(","startTimeUnixNano":"1767225600000000000","endTimeUnixNano":)"
           R"("1767225600100000000","attributes":[)"
           R"({"key":"http.request.method","value":{"stringValue":"GET"}},)"
           R"({"key":"url.path","value":{"stringValue":")" +
           path + R"("}},{"key":"http.response.status_code","value":{"intValue":"200"}}]})";
  };
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" +
         span("SPAN_KIND_SERVER", sid, "/pets/" + std::to_string(id)) + "," +
         span("SPAN_KIND_CLIENT", std::to_string(50 + id), "/peers/" + std::to_string(id)) +
         "]}]}]}\n";
}

TEST_F(ApiCliTest, InferReadsOtlpServerSpans) {
  std::string lines;
  for (int i = 1; i <= 5; ++i) lines += OtlpLine(i);
  const std::string traces = Write("traces.jsonl", lines);
  for (const char* format : {"", " --input-format otlp"}) {
    CliResult res = Run("api infer " + traces + format);
    ASSERT_EQ(res.rc, 0) << res.err;
    EXPECT_NE(res.out.find("/pets/{petId}:"), std::string::npos) << res.out;
    EXPECT_EQ(res.out.find("/peers"), std::string::npos) << res.out;
    EXPECT_NE(res.err.find("spans: 5 HTTP server requests, 5 of another kind ignored"),
              std::string::npos)
        << res.err;
  }
  // A bad line is reported with file:line and the JSON path, like the access-log readers.
  const std::string bad = Write("bad.jsonl", OtlpLine(1) + R"({"resourceSpans":[{"x":})" + "\n");
  CliResult res = Run("api infer -q --strict " + bad);
  EXPECT_EQ(res.rc, 3);
  EXPECT_NE(res.err.find(bad + ":2: "), std::string::npos) << res.err;
  // Only client spans: nothing served, said as such (exit 3 as for a log of no known format).
  std::string client_only = OtlpLine(1);
  client_only.replace(client_only.find("SPAN_KIND_SERVER"), 16, "SPAN_KIND_CLIENT");
  res = Run("api infer -q " + Write("clients.jsonl", client_only));
  EXPECT_EQ(res.rc, 3);
  EXPECT_NE(res.err.find("no HTTP server span in the traces (2 spans of another kind"),
            std::string::npos)
      << res.err;
}

}  // namespace
}  // namespace backsight::testing
