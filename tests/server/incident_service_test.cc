// MemberFromSeries: the engine's series as incident members (signal, indicator, service, labels).
#include "backsight/server/incident_service.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

namespace backsight::server {
namespace {

TEST(MemberFromSeries, NamesSignalIndicatorServiceAndGroupingLabels) {
  incidents::Member m = MemberFromSeries({{"__name__", "backsight_trace_p99_seconds"},
                                          {"service_name", "cart"},
                                          {"span_name", "GET /cart"}},
                                         0xabc);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(m.indicator, "p99 latency of GET /cart");
  EXPECT_EQ(m.service, "cart");
  EXPECT_EQ(m.labels, (Labels{{"service", "cart"}}));
  EXPECT_EQ(m.key, "series:" + FormatFingerprint(0xabc));

  m = MemberFromSeries(
      {{"__name__", "backsight_log_template_count"}, {"service", "api"}, {"template_id", "7"}}, 1);
  EXPECT_EQ(m.signal, incidents::Signal::kLog);
  EXPECT_EQ(m.indicator, "count of log template 7");

  m = MemberFromSeries({{"__name__", "http_latency"},
                        {"instance", "10.0.0.1:80"},
                        {"job", "web"},
                        {"path", "/x"},
                        {"pod", "web-1"}},
                       2);
  EXPECT_EQ(m.signal, incidents::Signal::kMetric);
  EXPECT_EQ(m.indicator, "http_latency");
  EXPECT_EQ(m.service, "web");  // no service label: the job names it (OTLP's service.name)
  EXPECT_EQ(
      m.labels,
      (Labels{{"instance", "10.0.0.1:80"}, {"job", "web"}, {"pod", "web-1"}, {"service", "web"}}));

  // `service` wins over `job`; no label naming one: no service.
  m = MemberFromSeries({{"__name__", "x"}, {"job", "otel"}, {"service", "cart"}}, 3);
  EXPECT_EQ(m.service, "cart");
  m = MemberFromSeries({{"__name__", "x"}, {"pod", "p-1"}}, 4);
  EXPECT_EQ(m.service, "");
}

// A metric episode and a log anomaly event of the same service: one incident, served on the API.
TEST(IncidentService, LogEventJoinsTheMetricIncidentOnTheApi) {
  ServeConfig cfg;
  cfg.incidents_enabled = true;
  IncidentService svc(cfg, nullptr);
  ASSERT_TRUE(svc.Restore().ok());
  HttpServer http(HttpServerOptions{});
  svc.Register(&http);
  ASSERT_TRUE(http.Bind("127.0.0.1", 0).ok());
  ASSERT_TRUE(http.Start().ok());
  svc.Start(nullptr);
  EpisodeChange c;
  c.kind = EpisodeChange::Kind::kStart;
  c.fp = 7;
  c.labels = {{"__name__", "http_errors"}, {"service", "api"}};
  c.wall_ns = stream::WallNowNs();
  c.score = 4;
  c.value = 30;
  c.yhat = 3;
  svc.OnEpisodeChange(EpisodeChange(c));  // before SetLive (the WAL replay): ignored
  svc.SetLive();
  c.fp = 8;
  svc.OnEpisodeChange(EpisodeChange(c));
  logs::LogAnomalyEvent e;
  e.id = 1;
  e.kind = "new_template";
  e.service = "api";
  e.template_text = "Order <*> not found";
  e.score = 3;
  svc.OnLogEvent(e);
  httplib::Client client("127.0.0.1", http.port());
  nlohmann::json inc;
  for (int i = 0; i < 100; ++i) {
    auto r = client.Get("/api/v1/incidents/1");
    if (r && r->status == 200) {
      inc = nlohmann::json::parse(r->body);
      if (inc["data"]["members"].size() == 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(inc["data"]["members"].size(), 2u) << inc.dump();
  EXPECT_EQ(inc["data"]["members"][0]["key"], "series:" + FormatFingerprint(8));
  EXPECT_EQ(inc["data"]["members"][1]["signal"], "log");
  EXPECT_EQ(inc["data"]["members"][1]["indicator"],
            "new_template log template `Order <*> not found`");
  EXPECT_EQ(inc["data"]["causes"][0]["service"], "api");
  EXPECT_NE(inc["data"]["causes"][0]["explanation"].get<std::string>().find("http_errors rose x10"),
            std::string::npos)
      << inc.dump();
  EXPECT_EQ(client.Get("/api/v1/incidents/2")->status, 404);
  EXPECT_EQ(client.Get("/api/v1/incidents/x1")->status, 400);
  EXPECT_EQ(client.Get("/api/v1/incidents?limit=abc")->status, 400);
  auto list = nlohmann::json::parse(client.Get("/api/v1/incidents?limit=1")->body);
  EXPECT_EQ(list["data"]["incidents"].size(), 1u);
  EXPECT_FALSE(list["data"]["incidents"][0].contains("members"));
  svc.Stop();
  http.Stop();
}

}  // namespace
}  // namespace backsight::server
