// Logs into a real `backsight serve` from real clients installed from npm (tests/js): winston +
// winston-loki (Loki push, snappy protobuf and JSON) and the OpenTelemetry JS SDK (OTLP/HTTP
// logs). Also: log anomaly alerts reach an Alertmanager-compatible receiver, and template ids
// survive `kill -9`. Skipped with a message when node or tests/js/node_modules is missing
// (`scripts/install-js-test-deps.sh`, run by `make test` and by the ctest fixture).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "js_client_util.h"
#include "proc_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

bool HaveJsClients(std::string* why) { return HaveJsPackage("winston-loki", why); }

// Template id by text in GET /api/v1/log/templates?service=S (0 if absent).
uint32_t TemplateId(const nlohmann::json& templates, const std::string& text) {
  if (!templates.is_object()) return 0;
  for (const auto& t : templates["templates"]) {
    if (t["template"] == text) return t["id"].get<uint32_t>();
  }
  return 0;
}

constexpr const char* kUserTemplate = "user <*> logged in from <*> {\"level\":\"info\"}";
constexpr const char* kDiskTemplate = "disk <*> failed: I/O error {\"level\":\"error\"}";
// A server that keeps no state on disk.
constexpr const char* kStatelessYaml = "listen: 127.0.0.1:0\nstate_dir: \"\"\n";

// Skips the test when node or the npm clients are missing; `dir_` holds the server's files.
class LogClients : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!HaveJsClients(&why)) GTEST_SKIP() << why;
  }
  TempDir dir_;
};

TEST_F(LogClients, WinstonLokiProtobufIsMinedScoredAlertedAndSurvivesKill9) {
  AlertReceiver am;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: " + dir_.file("state") +
      "\nalerting:\n  alertmanager_url: http://127.0.0.1:" + std::to_string(am.port()) + "\n";
  uint32_t user_id = 0, disk_id = 0;
  {
    ServeProcess s(dir_, yaml);
    ASSERT_TRUE(s.ok()) << s.proc().log();
    std::string out;
    // 300 rounds = 600 info lines (past the 500-line warm-up), then 3 error lines.
    ASSERT_EQ(RunNode("loki_winston.js", s, "shop 300 proto", &out), 0) << out;
    EXPECT_NE(out.find("json=false"), std::string::npos)
        << "winston-loki fell back to JSON: " << out;
    nlohmann::json t = GetJson(s, "/api/v1/log/templates?service=shop&limit=10");
    ASSERT_TRUE(t.is_object()) << s.Get("/api/v1/log/templates?service=shop");
    user_id = TemplateId(t, kUserTemplate);
    disk_id = TemplateId(t, kDiskTemplate);
    ASSERT_NE(user_id, 0u) << t.dump();
    ASSERT_NE(disk_id, 0u) << t.dump();
    EXPECT_EQ(t["templates"][0]["count"], 300);
    // The new error template after warm-up is a log anomaly with its example lines...
    nlohmann::json ev = GetJson(s, "/api/v1/log/anomalies?limit=10");
    bool found = false;
    for (const auto& e : ev["events"]) {
      if (e["kind"] == "new_template" && e["template_id"] == disk_id) {
        found = true;
        EXPECT_EQ(e["service"], "shop");
        EXPECT_GT(e["score"].get<double>(), 1.0);
        ASSERT_FALSE(e["examples"].empty());
        EXPECT_EQ(e["examples"][0], "disk /dev/sda failed: I/O error {\"level\":\"error\"}");
      }
    }
    EXPECT_TRUE(found) << ev.dump();
    // ...in the common anomalies API...
    nlohmann::json all = GetJson(s, "/api/v1/anomalies?limit=50");
    bool in_all = false;
    for (const auto& e : all["events"]) {
      if (e.value("kind", "") == "log" && e["series"]["service"] == "shop") in_all = true;
    }
    EXPECT_TRUE(in_all) << all.dump();
    // ...and an alert.
    nlohmann::json alert;
    WaitFor(
        [&] {
          for (const auto& a : am.alerts()) {
            if (a["labels"]["alertname"] == "BacksightLogAnomaly" &&
                a["labels"]["kind"] == "new_template") {
              alert = a;
              return true;
            }
          }
          return false;
        },
        10'000);
    ASSERT_TRUE(alert.is_object()) << am.alerts().dump();
    EXPECT_EQ(alert["labels"]["service"], "shop");
    EXPECT_EQ(alert["annotations"]["template"], kDiskTemplate);
    EXPECT_NE(alert["annotations"]["example"].get<std::string>().find("disk /dev/sd"),
              std::string::npos);
    s.proc().Signal(SIGKILL);  // no checkpoint: the ids must come back from the logs WAL
    s.proc().Wait(10'000);
  }
  ServeProcess s2(dir_, yaml, "serve2");
  ASSERT_TRUE(s2.ok()) << s2.proc().log();
  nlohmann::json t = GetJson(s2, "/api/v1/log/templates?service=shop&limit=10");
  EXPECT_EQ(TemplateId(t, kUserTemplate), user_id) << t.dump();
  EXPECT_EQ(TemplateId(t, kDiskTemplate), disk_id) << t.dump();
  EXPECT_EQ(t["templates"][0]["count"], 300);
  // The same client again: the lines join the existing templates (no new ids).
  std::string out;
  ASSERT_EQ(RunNode("loki_winston.js", s2, "shop 10 proto", &out), 0) << out;
  t = GetJson(s2, "/api/v1/log/templates?service=shop&limit=10");
  EXPECT_EQ(TemplateId(t, kUserTemplate), user_id);
  EXPECT_EQ(t["templates"][0]["count"], 310);
  EXPECT_EQ(t["templates"].size(), 3u) << t.dump();
}

TEST_F(LogClients, WinstonLokiJson) {
  ServeProcess s(dir_, kStatelessYaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  std::string out;
  ASSERT_EQ(RunNode("loki_winston.js", s, "web 20 json", &out), 0) << out;
  EXPECT_NE(out.find("json=true"), std::string::npos) << out;
  nlohmann::json t = GetJson(s, "/api/v1/log/templates?service=web");
  EXPECT_NE(TemplateId(t, kUserTemplate), 0u) << t.dump();
  EXPECT_EQ(s.Metric("backsight_log_lines_total"), 43);
}

TEST_F(LogClients, OpenTelemetrySdkLogs) {
  ServeProcess s(dir_, kStatelessYaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  std::string out;
  ASSERT_EQ(RunNode("otel_logs.js", s, "checkout 25", &out), 0) << out;
  nlohmann::json t = GetJson(s, "/api/v1/log/templates?service=checkout");
  ASSERT_TRUE(t.is_object()) << s.Get("/api/v1/log/templates?service=checkout");
  EXPECT_EQ(TemplateId(t, "order <*> paid in <*> ms"), 1u) << t.dump();
  EXPECT_EQ(t["templates"][0]["count"], 25);
  EXPECT_EQ(t["templates"][0]["example"], "order 1000 paid in 0 ms");
  EXPECT_NE(TemplateId(t, "retrying payment gateway call <*>"), 0u) << t.dump();
  nlohmann::json services = GetJson(s, "/api/v1/log/templates");
  EXPECT_EQ(services["services"], nlohmann::json::array({"checkout"}));
}

// A damaged logs.state stops start-up with one message naming the file and the way out.
TEST(LogState, DamagedStateStopsStartupNamingTheFile) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("state"));
  WriteFile(dir.file("state/logs.state"), "BSLC\x01garbage");
  WriteFile(dir.file("d.yml"), "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\n");
  Process p({BACKSIGHT_BIN, "serve", "--config", dir.file("d.yml")}, dir.file("d.log"));
  const int code = p.Wait(20'000);
  const std::string log = p.log();
  EXPECT_NE(code, 0) << log;
  EXPECT_NE(log.find(dir.file("state/logs.state")), std::string::npos) << log;
  EXPECT_NE(log.find("aside"), std::string::npos) << log;
}

}  // namespace
}  // namespace backsight::testing
