// logs.security on the real `backsight serve`: access-log and sshd lines pushed to the Loki
// endpoint reach the security analyzer and GET /api/v1/security/findings names the attacker;
// off (the default), the route answers 404.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "serve_util.h"

namespace backsight::testing {
namespace {

std::string Config(const TempDir& dir, bool security) {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
         "\nworkers: 2\nlogs:\n  security: " + (security ? "true" : "false") +
         // The access lines are of 2025, the sshd line of this year (RFC 3164 has no year): a
         // retention past that gap keeps the 2025 findings (the expiry is in log time).
         "\n  security_retention: 3650d\n";
}

// The lines pushed for service "web".
std::vector<std::string> AccessLines() {
  // The brute-force site of serve_util.h; an sshd line in the same stream.
  std::vector<std::string> out = BruteForceAccessLines();
  out.push_back(
      "Dec  2 01:02:03 web1 sshd[9]: Accepted publickey for ann from 198.51.100.3 port "
      "22 ssh2");
  out.push_back("an application line that is no request");
  return out;
}

TEST(SecurityEndpoints, PushedAccessLinesGiveFindings) {
  TempDir dir;
  ServeProcess s(dir, Config(dir, true));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.PostRaw("/loki/api/v1/push", LokiJsonBody("web", AccessLines()), "application/json"),
            204);
  const nlohmann::json j = nlohmann::json::parse(s.Get("/api/v1/security/findings"));
  ASSERT_EQ(j.size(), 1u) << j.dump();
  EXPECT_EQ(j[0]["source_ip"], "203.0.113.66");
  EXPECT_EQ(j[0]["kind"], "brute_force");
  EXPECT_EQ(j[0]["start_ts"], 1764637200);
}

TEST(SecurityEndpoints, AlertsOnceAndDenyList) {
  // A stand-in Alertmanager that records the alert bodies it receives.
  httplib::Server am;
  std::mutex mu;
  std::vector<std::string> bodies;
  am.Post("/api/v2/alerts", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    bodies.push_back(req.body);
    res.status = 200;
  });
  const int am_port = am.bind_to_any_port("127.0.0.1");
  std::thread am_thread([&] { am.listen_after_bind(); });
  struct Joiner {  // stops the stand-in on every exit path (an ASSERT included)
    httplib::Server& server;
    std::thread& thread;
    ~Joiner() {
      server.stop();
      if (thread.joinable()) thread.join();
    }
  } joiner{am, am_thread};
  TempDir dir;
  const std::string deny = dir.file("deny.txt");
  ServeProcess s(dir, Config(dir, true) + "  security_deny_list: " + deny +
                          "\nalerting:\n  alertmanager_url: http://127.0.0.1:" +
                          std::to_string(am_port) + "\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.PostRaw("/loki/api/v1/push", LokiJsonBody("web", AccessLines()), "application/json"),
            204);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(deny) == "203.0.113.66\n"; }, 20'000))
      << ReadFile(deny);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return !bodies.empty();
      },
      20'000));
  // One more judgement later: the same finding is not sent again.
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));
  std::lock_guard lock(mu);
  ASSERT_EQ(bodies.size(), 1u);
  const nlohmann::json j = nlohmann::json::parse(bodies[0]);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "BacksightSecurityFinding");
  EXPECT_EQ(j[0]["labels"]["source_ip"], "203.0.113.66");
  EXPECT_EQ(j[0]["labels"]["kind"], "brute_force");
  EXPECT_NE(j[0]["annotations"]["evidence"].get<std::string>().find("40 failed logins"),
            std::string::npos);
}

// The findings' bookkeeping survives a restart (issue 14): killed (SIGKILL, before any
// checkpoint) right after alerting, serve re-judges the replayed log but sends nothing again;
// stopped cleanly (the checkpoint truncates the log, so the analyzer starts empty), it still
// lists the finding and still sends nothing. Every alert POSTed is recorded (AlertReceiver):
// a real Alertmanager would fold a resent alert into the one it holds and not tell.
TEST(SecurityEndpoints, FindingsSurviveRestartWithoutSecondAlert) {
  TempDir dir;
  AlertReceiver am;
  const std::string yaml = Config(dir, true) + "alerting:\n  alertmanager_url: http://127.0.0.1:" +
                           std::to_string(am.port()) + "\n";
  auto listed = [](const ServeProcess& s) {
    const nlohmann::json j =
        nlohmann::json::parse(s.Get("/api/v1/security/findings"), nullptr, false);
    return j.is_array() && j.size() == 1 && j[0]["source_ip"] == "203.0.113.66" &&
           j[0]["kind"] == "brute_force";
  };
  {
    ServeProcess s(dir, yaml, "run1");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    ASSERT_EQ(
        s.PostRaw("/loki/api/v1/push", LokiJsonBody("web", AccessLines()), "application/json"),
        204);
    ASSERT_TRUE(WaitFor([&] { return am.alerts().size() == 1; }, 20'000)) << am.alerts().dump();
    // Saved right after the alert is sent.
    ASSERT_TRUE(
        WaitFor([&] { return !ReadFile(dir.file("state/security.state")).empty(); }, 10'000));
    s.proc().Signal(SIGKILL);
    s.proc().Wait(10'000);
  }
  {
    ServeProcess s(dir, yaml, "run2");  // replays the log: the analyzer finds it again
    ASSERT_TRUE(s.ok()) << s.proc().log();
    EXPECT_TRUE(listed(s)) << s.Get("/api/v1/security/findings");
    // Past one more judgement (every 5 s): nothing sent again.
    std::this_thread::sleep_for(std::chrono::milliseconds(6500));
    EXPECT_EQ(am.alerts().size(), 1u) << am.alerts().dump();
    s.proc().Signal(SIGTERM);  // a clean stop checkpoints and truncates the log
    EXPECT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
  }
  {
    ServeProcess s(dir, yaml, "run3");  // nothing to replay: the analyzer starts empty
    ASSERT_TRUE(s.ok()) << s.proc().log();
    EXPECT_TRUE(listed(s)) << s.Get("/api/v1/security/findings");
    std::this_thread::sleep_for(std::chrono::milliseconds(6500));
    EXPECT_EQ(am.alerts().size(), 1u) << am.alerts().dump();
    EXPECT_EQ(s.Metric("backsight_security_keys_dropped_total"), 0);
  }
}

TEST(SecurityEndpoints, OffByDefault) {
  TempDir dir;
  ServeProcess s(dir, Config(dir, false));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  auto r = s.Client()->Get("/api/v1/security/findings");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace backsight::testing
