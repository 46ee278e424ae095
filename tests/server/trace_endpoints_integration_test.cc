// POST /v1/traces on the real `backsight serve`: OTLP JSON and protobuf (a chunked body without
// Content-Length, as the OpenTelemetry JS exporter sends), the RED and service graph series on
// GET /api/v1/trace/metrics, and the error replies; with incidents on, a trace finding is an
// incident member and its BacksightTraceFinding alert is folded into BacksightIncident.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backsight/ingest/proto/trace.pb.h"
#include "http_test_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

std::string Config(const TempDir& dir) {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\nworkers: 2\n";
}

// Start of the spans (unix ns) unless AddSpan is told otherwise: minute 0 of the tests.
constexpr uint64_t kSpanStart = 1'700'000'000'000'000'000ULL;
constexpr uint64_t kMinuteNs = 60'000'000'000ULL;
constexpr uint64_t kMilliNs = 1'000'000ULL;

// A span of `service` with id `span` under `parent` (0: a root) in trace 0707..., of `kind` and
// status `status` (OTLP enum values), from `start_ns` for `duration_ns`.
void AddSpan(opentelemetry::proto::trace::v1::ExportTraceServiceRequest* req,
             const std::string& service, char span, char parent, int kind, int status,
             uint64_t start_ns = kSpanStart, uint64_t duration_ns = 3 * kMilliNs) {
  auto* rs = req->add_resource_spans();
  auto* a = rs->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value(service);
  auto* s = rs->add_scope_spans()->add_spans();
  s->set_trace_id(std::string(16, '\x07'));
  s->set_span_id(std::string(8, span));
  if (parent) s->set_parent_span_id(std::string(8, parent));
  s->set_name(service == "cart" ? "Cart/Get" : "GET /");
  s->set_kind(kind);
  s->set_start_time_unix_nano(start_ns);
  s->set_end_time_unix_nano(start_ns + duration_ns);
  s->mutable_status()->set_code(status);
}

TEST(TraceEndpoints, JsonAndChunkedProtobufIntoRedAndGraph) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  const std::string json = R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"frontend"}}]},
    "scopeSpans":[{"spans":[{"traceId":"0707070707070707070707070707aaaa",
      "spanId":"0101010101010101","name":"GET /","kind":"SPAN_KIND_SERVER",
      "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000005000000"}]}]}]})";
  EXPECT_EQ(s.PostRaw("/v1/traces", json, "application/json"), 200);

  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "cart", '\x02', '\x01', 2, 2);  // child first: waits for its parent
  AddSpan(&req, "frontend", '\x01', 0, 2, 1);
  const std::string body = req.SerializeAsString();
  httplib::Client c("127.0.0.1", s.port());
  auto r = c.Post(
      "/v1/traces",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < body.size()) {
          sink.write(body.data() + offset, std::min<size_t>(7, body.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;

  const std::string m = s.Get("/api/v1/trace/metrics");
  EXPECT_NE(m.find("traces_span_metrics_calls_total{service_name=\"frontend\",span_name=\"GET /\","
                   "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("traces_span_metrics_calls_total{service_name=\"cart\",span_name=\"Cart/Get\","
                   "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_ERROR\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("traces_service_graph_request_total{client=\"frontend\",server=\"cart\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(
      m.find("traces_service_graph_request_failed_total{client=\"frontend\",server=\"cart\"} 1\n"),
      std::string::npos)
      << m;
  EXPECT_EQ(s.Metric("backsight_requests_total", {{"endpoint", "otlp_traces"}, {"code", "200"}}),
            2);
}

// Sum of the samples named `name` in a Prometheus text scrape, or -1 when it does not parse.
double SumOf(const std::string& scrape, std::string_view name) {
  std::vector<TimeSeries> series;
  if (!ingest::ParseExposition(scrape, 0, &series).ok()) return -1;
  double sum = 0;
  for (const auto& ts : series) {
    if (GetLabel(ts.labels, "__name__") == name && !ts.samples.empty()) {
      sum += ts.samples.back().value;
    }
  }
  return sum;
}

// Two clients post at once while a third scrapes: the RED aggregator, the windows and the service
// graph (each under its own lock) count every span once, and no scrape sees a total go back.
TEST(TraceEndpoints, ConcurrentPostsAndScrapesCountEverySpanOnce) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  constexpr int kPosters = 2, kRequests = 20, kPairsPerRequest = 250;
  std::atomic<int> posting{kPosters};
  std::atomic<int> refused{0};
  auto post = [&](int poster) {
    for (int r = 0; r < kRequests; ++r) {
      opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
      auto* rs = req.add_resource_spans();
      auto* a = rs->mutable_resource()->add_attributes();
      a->set_key("service.name");
      a->mutable_value()->set_string_value("frontend");
      auto* client = rs->add_scope_spans();
      rs = req.add_resource_spans();
      a = rs->mutable_resource()->add_attributes();
      a->set_key("service.name");
      a->mutable_value()->set_string_value("cart");
      auto* server = rs->add_scope_spans();
      for (int p = 0; p < kPairsPerRequest; ++p) {
        // Distinct ids per (poster, request, pair); the client span is the server span's parent.
        // Built by appending: GCC 12 gives a false -Wrestrict on "t" + std::to_string(...).
        std::string trace = "t";
        for (const int part : {poster, r, p}) trace.append(std::to_string(part)).append("-");
        trace.append(16, '.');
        for (auto [spans, kind, id, parent] : {std::tuple{client, 3, "c.......", ""},
                                               std::tuple{server, 2, "s.......", "c......."}}) {
          auto* sp = spans->add_spans();
          sp->set_trace_id(trace.substr(0, 16));
          sp->set_span_id(id);
          if (*parent) sp->set_parent_span_id(parent);
          sp->set_name("GET /cart");
          sp->set_kind(kind);
          sp->set_start_time_unix_nano(1'700'000'000'000'000'000ULL + r * 1'000'000ULL);
          sp->set_end_time_unix_nano(1'700'000'000'002'000'000ULL + r * 1'000'000ULL);
        }
      }
      if (s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf") != 200) {
        ++refused;
      }
    }
    --posting;
  };
  std::thread p0(post, 0), p1(post, 1);
  double last_calls = 0, last_requests = 0;
  int scrapes = 0, went_back = 0;
  while (posting > 0) {
    const std::string m = s.Get("/api/v1/trace/metrics");
    const double calls = SumOf(m, "traces_span_metrics_calls_total");
    const double requests = SumOf(m, "traces_service_graph_request_total");
    ASSERT_GE(calls, 0) << m;
    if (calls < last_calls || requests < last_requests) ++went_back;
    last_calls = calls;
    last_requests = requests;
    ++scrapes;
  }
  p0.join();
  p1.join();
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(went_back, 0) << scrapes << " scrapes";
  const std::string m = s.Get("/api/v1/trace/metrics");
  EXPECT_EQ(SumOf(m, "traces_span_metrics_calls_total"),
            2 * kPosters * kRequests * kPairsPerRequest)
      << m;
  EXPECT_EQ(SumOf(m, "traces_service_graph_request_total"), kPosters * kRequests * kPairsPerRequest)
      << m;
  EXPECT_EQ(SumOf(m, "backsight_traces_graph_unpaired_spans_total"), 0) << m;
}

TEST(TraceEndpoints, PerMinuteRedSeriesReachTheEngine) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "frontend", '\x01', 0, 2, 2);  // minute 0, an error
  AddSpan(&req, "frontend", '\x03', 0, 2, 1);  // minute 0
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  req.Clear();
  // Two minutes later: closes minute 0.
  AddSpan(&req, "frontend", '\x04', 0, 2, 1, kSpanStart + 2 * kMinuteNs, kMilliNs);
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  const Labels op = {{"service_name", "frontend"}, {"span_name", "GET /"}};
  auto state = [&](const char* name) {
    Labels l = op;
    l.push_back({"__name__", name});
    return WaitForState(s, l);
  };
  auto calls = state("backsight_trace_calls");
  ASSERT_TRUE(calls.is_object());
  EXPECT_EQ(calls["value"], 2);
  auto errors = state("backsight_trace_error_ratio");
  ASSERT_TRUE(errors.is_object());
  EXPECT_EQ(errors["value"], 0.5);
  auto p99 = state("backsight_trace_p99_seconds");
  ASSERT_TRUE(p99.is_object());
  EXPECT_NEAR(p99["value"].get<double>(), 0.003, 0.003 * 0.0625);
}

// A child operation's retry ratio (calls after a failed call under the same parent, over its
// calls) reaches the engine per minute once its trace is analysed and a later minute closes it.
TEST(TraceEndpoints, RetryRatioSeriesReachTheEngine) {
  TempDir dir;
  ServeProcess s(dir, Config(dir) + "traces:\n  trace_wait: 100ms\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "frontend", '\x01', 0, 2, 0);
  AddSpan(&req, "cart", '\x02', '\x01', 3, 2);  // failed,
  AddSpan(&req, "cart", '\x03', '\x01', 3, 2);  // failed again (a retry),
  AddSpan(&req, "cart", '\x04', '\x01', 3, 1);  // succeeded (a retry): 2 of 3 calls
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  req.Clear();
  AddSpan(&req, "frontend", '\x05', 0, 2, 0);
  AddSpan(&req, "cart", '\x06', '\x05', 3, 1);
  for (auto& rs : *req.mutable_resource_spans()) {
    auto* sp = rs.mutable_scope_spans(0)->mutable_spans(0);
    sp->set_trace_id(std::string(16, '\x08'));  // another trace, two minutes later
    sp->set_start_time_unix_nano(sp->start_time_unix_nano() + 120'000'000'000ULL);
    sp->set_end_time_unix_nano(sp->end_time_unix_nano() + 120'000'000'000ULL);
  }
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  const Labels l = {{"__name__", "backsight_trace_retry_ratio"},
                    {"service_name", "cart"},
                    {"span_name", "Cart/Get"}};
  const nlohmann::json st = WaitForState(s, l);
  ASSERT_TRUE(st.is_object());
  EXPECT_NEAR(st["value"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_TRUE(st.contains("anomaly_score")) << st.dump();
}

TEST(TraceEndpoints, PerMinuteEdgeSeriesReachTheEngine) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "cart", '\x02', '\x01', 2, 2);  // SERVER half, an error, minute 0
  AddSpan(&req, "frontend", '\x01', 0, 3, 0);   // its CLIENT half
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  req.Clear();
  // Two minutes later: closes the edge's minute 0.
  AddSpan(&req, "frontend", '\x05', 0, 3, 0, kSpanStart + 2 * kMinuteNs, kMilliNs);
  AddSpan(&req, "cart", '\x06', '\x05', 2, 0, kSpanStart + 2 * kMinuteNs, kMilliNs);
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  auto state = [&](const char* name) {
    return WaitForState(s, {{"__name__", name}, {"client", "frontend"}, {"server", "cart"}});
  };
  auto requests = state("backsight_trace_edge_requests");
  ASSERT_TRUE(requests.is_object());
  EXPECT_EQ(requests["value"], 1);
  auto failed = state("backsight_trace_edge_failed_ratio");
  ASSERT_TRUE(failed.is_object());
  EXPECT_EQ(failed["value"], 1.0);
  auto p90 = state("backsight_trace_edge_p90_seconds");
  ASSERT_TRUE(p90.is_object());
  EXPECT_NEAR(p90["value"].get<double>(), 0.003, 0.003 * 0.0625);
}

TEST(TraceEndpoints, SilentOperationsAndEdgesCloseTheirMinuteWhenTimeMovesOn) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "cart", '\x02', '\x01', 2, 0);  // minute 0: frontend -> cart, then both fall silent
  AddSpan(&req, "frontend", '\x01', 0, 3, 0);
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  for (int minute = 1; minute <= 4; ++minute) {  // only another service's spans from then on
    req.Clear();
    AddSpan(&req, "ad", static_cast<char>(0x10 + minute), 0, 2, 0, kSpanStart + minute * kMinuteNs,
            kMilliNs);
    ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  }
  auto calls = WaitForState(
      s,
      {{"__name__", "backsight_trace_calls"}, {"service_name", "cart"}, {"span_name", "Cart/Get"}});
  ASSERT_TRUE(calls.is_object());
  EXPECT_EQ(calls["value"], 1);
  auto edge = WaitForState(
      s,
      {{"__name__", "backsight_trace_edge_requests"}, {"client", "frontend"}, {"server", "cart"}});
  ASSERT_TRUE(edge.is_object());
  EXPECT_EQ(edge["value"], 1);
}

TEST(TraceEndpoints, BadBodiesAreRefusedWithTheirReason) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  auto c = s.Client();
  auto r =
      c->Post("/v1/traces", R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]})",
              "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("\"code\":3"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("resourceSpans[0].scopeSpans[0].spans[0].traceId"), std::string::npos)
      << r->body;
  EXPECT_EQ(s.PostRaw("/v1/traces", "\x0a\x05\x01", "application/x-protobuf"), 400);
  EXPECT_EQ(s.PostRaw("/v1/traces", "{}", "text/plain"), 415);
  EXPECT_EQ(s.Metric("backsight_decode_errors_total",
                     {{"endpoint", "otlp_traces"}, {"reason", "malformed"}}),
            1);
  EXPECT_EQ(s.Get("/api/v1/trace/metrics").find("traces_span_metrics_calls_total{"),
            std::string::npos);
}

// A chunked body (no Content-Length, as the OpenTelemetry JS exporters send) is read within
// limits.max_body_bytes and refused with 413 past it, while it streams in.
TEST(TraceEndpoints, ChunkedBodyPastTheLimitIs413) {
  TempDir dir;
  ServeProcess s(dir, Config(dir) + "limits:\n  max_body_bytes: 65536\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  RawConn c(s.port());
  ASSERT_TRUE(
      c.Send("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  std::string response;
  std::thread reader([&] { response = c.ReadAll(); });
  const std::string chunk = "1000\r\n" + std::string(0x1000, '\x0a') + "\r\n";
  uint64_t sent = 0;
  while (sent < (256u << 20) && c.Send(chunk)) sent += 0x1000;
  reader.join();
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_NE(response.find("limits.max_body_bytes (65536)"), std::string::npos) << response;
  EXPECT_LT(sent, 64u << 20);  // the limit, the lingering drain and socket buffers
  // Refused by the HTTP layer before the endpoint: no otlp_traces request was counted.
  EXPECT_EQ(s.Metric("backsight_requests_total", {{"endpoint", "otlp_traces"}, {"code", "413"}}),
            -1);
}

TEST(TraceEndpoints, FindingsApiRefusesABadLimit) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  for (const char* bad : {"0", "abc", "10001", "-1", ""}) {
    auto r = s.Client()->Get(std::string("/api/v1/trace/findings?limit=") + bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_NE(r->body.find("limit must be 1..10000, got '" + std::string(bad) + "'"),
              std::string::npos)
        << r->body;
  }
  auto r = s.Client()->Get("/api/v1/trace/findings?limit=5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"findings\":[],\"status\":\"success\"}\n");
}

// With a state_dir the findings survive a restart (saved at the last checkpoint on SIGTERM,
// restored at start), and are not alerted again.
TEST(TraceEndpoints, FindingsSurviveARestart) {
  TempDir dir;
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "frontend", '\x01', 0, 2, 0);
  for (char id = '\x02'; id < '\x08'; ++id) AddSpan(&req, "cart", id, '\x01', 3, 2);
  AddSpan(&req, "cart", '\x08', '\x01', 3, 1);  // 6 failed calls, then one that succeeded
  std::string before;
  {
    ServeProcess s(dir, Config(dir));
    ASSERT_TRUE(s.ok()) << s.proc().log();
    ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
    s.proc().Signal(SIGTERM);  // the open trace is analysed at stop, then checkpointed
    ASSERT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
  }
  ServeProcess s(dir, Config(dir), "restarted");  // own log: the first one names the old port
  ASSERT_TRUE(s.ok()) << s.proc().log();
  auto f = nlohmann::json::parse(s.Get("/api/v1/trace/findings"), nullptr, false);
  ASSERT_TRUE(f.is_object()) << s.Get("/api/v1/trace/findings");
  ASSERT_EQ(f["findings"].size(), 1u) << f.dump();
  EXPECT_EQ(f["findings"][0]["kind"], "retry_storm");
  EXPECT_EQ(f["findings"][0]["service"], "cart");
  EXPECT_EQ(f["findings"][0]["operation"], "Cart/Get");
  EXPECT_EQ(f["findings"][0]["example_trace_id"], "07070707070707070707070707070707");
  EXPECT_EQ(f["findings"][0]["count"], 1);
}

// With incidents on (series_alerts false), a finding is a `trace` member of an incident (the
// finding kind in its indicator) and goes to Alertmanager only inside the BacksightIncident alert.
TEST(TraceEndpoints, FindingIsAnIncidentMember) {
  AlertReceiver am;
  TempDir dir;
  ServeProcess s(dir, Config(dir) + "traces:\n  trace_wait: 100ms\nalerting:\n" +
                          "  alertmanager_url: http://127.0.0.1:" + std::to_string(am.port()) +
                          "\n  for: 1s\nincidents:\n  enabled: true\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "frontend", '\x01', 0, 2, 0);
  for (char id = '\x02'; id < '\x08'; ++id) AddSpan(&req, "cart", id, '\x01', 3, 2);
  AddSpan(&req, "cart", '\x08', '\x01', 3, 1);
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  nlohmann::json inc, member;
  ASSERT_TRUE(WaitFor(
      [&] {
        inc = nlohmann::json::parse(s.Get("/api/v1/incidents/1"), nullptr, false);
        if (!inc.is_object() || !inc["data"].is_object()) return false;
        for (const auto& m : inc["data"]["members"]) {
          if (m["key"] == "finding:retry_storm:cart:Cart/Get") member = m;
        }
        return member.is_object();
      },
      10'000))
      << inc.dump() << "\n"
      << s.Get("/api/v1/trace/findings");
  EXPECT_EQ(member["signal"], "trace");
  EXPECT_EQ(member["service"], "cart");
  EXPECT_EQ(member["indicator"], "retry_storm on Cart/Get");
  EXPECT_NE(member["evidence"].get<std::string>().find("07070707070707070707070707070707"),
            std::string::npos)
      << member.dump();
  nlohmann::json alert;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& a : am.alerts()) {
          if (a["labels"]["alertname"] == "BacksightIncident") alert = a;
        }
        return alert.is_object();
      },
      10'000))
      << am.alerts().dump();
  EXPECT_EQ(alert["labels"]["service"], "cart");
  for (const auto& a : am.alerts()) {
    EXPECT_NE(a["labels"]["alertname"], "BacksightTraceFinding") << a.dump();
  }
}

}  // namespace
}  // namespace backsight::testing
