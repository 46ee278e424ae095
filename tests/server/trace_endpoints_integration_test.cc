// POST /v1/traces on the real `backsight serve`: OTLP JSON and protobuf (a chunked body without
// Content-Length, as the OpenTelemetry JS exporter sends), the RED and service graph series on
// GET /api/v1/trace/metrics, and the error replies.
#include <gtest/gtest.h>

#include <string>

#include "backsight/ingest/proto/trace.pb.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

std::string Config(const TempDir& dir) {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\nworkers: 2\n";
}

// A server span of `service` with id `span` under `parent` (hex, may be empty).
void AddSpan(opentelemetry::proto::trace::v1::ExportTraceServiceRequest* req,
             const std::string& service, char span, char parent, int kind, int status) {
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
  s->set_start_time_unix_nano(1'700'000'000'000'000'000ULL);
  s->set_end_time_unix_nano(1'700'000'000'003'000'000ULL);
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

TEST(TraceEndpoints, PerMinuteRedSeriesReachTheEngine) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "frontend", '\x01', 0, 2, 2);  // minute 0, an error
  AddSpan(&req, "frontend", '\x03', 0, 2, 1);  // minute 0
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  req.Clear();
  AddSpan(&req, "frontend", '\x04', 0, 2, 1);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_start_time_unix_nano(
      1'700'000'120'000'000'000ULL);  // two minutes later: closes minute 0
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_end_time_unix_nano(
      1'700'000'120'001'000'000ULL);
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  const Labels op = {{"service_name", "frontend"}, {"span_name", "GET /"}};
  auto state = [&](const char* name) {
    Labels l = op;
    l.push_back({"__name__", name});
    nlohmann::json st;
    WaitFor(
        [&] {
          st = s.State(l);
          return st.is_object() && st["samples_accepted"].get<int>() >= 1;
        },
        10'000);
    return st;
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

TEST(TraceEndpoints, PerMinuteEdgeSeriesReachTheEngine) {
  TempDir dir;
  ServeProcess s(dir, Config(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  opentelemetry::proto::trace::v1::ExportTraceServiceRequest req;
  AddSpan(&req, "cart", '\x02', '\x01', 2, 2);  // SERVER half, an error, minute 0
  AddSpan(&req, "frontend", '\x01', 0, 3, 0);   // its CLIENT half
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  req.Clear();
  AddSpan(&req, "frontend", '\x05', 0, 3, 0);
  AddSpan(&req, "cart", '\x06', '\x05', 2, 0);
  for (int i = 0; i < 2; ++i) {  // two minutes later: closes the edge's minute 0
    auto* sp = req.mutable_resource_spans(i)->mutable_scope_spans(0)->mutable_spans(0);
    sp->set_start_time_unix_nano(1'700'000'120'000'000'000ULL);
    sp->set_end_time_unix_nano(1'700'000'120'001'000'000ULL);
  }
  ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  auto state = [&](const char* name) {
    Labels l = {{"__name__", name}, {"client", "frontend"}, {"server", "cart"}};
    nlohmann::json st;
    WaitFor(
        [&] {
          st = s.State(l);
          return st.is_object() && st["samples_accepted"].get<int>() >= 1;
        },
        10'000);
    return st;
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
    AddSpan(&req, "ad", static_cast<char>(0x10 + minute), 0, 2, 0);
    auto* sp = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
    sp->set_start_time_unix_nano(1'700'000'000'000'000'000ULL + minute * 60'000'000'000ULL);
    sp->set_end_time_unix_nano(sp->start_time_unix_nano() + 1'000'000);
    ASSERT_EQ(s.PostRaw("/v1/traces", req.SerializeAsString(), "application/x-protobuf"), 200);
  }
  auto accepted = [&](Labels l) {
    nlohmann::json st;
    WaitFor(
        [&] {
          st = s.State(l);
          return st.is_object() && st["samples_accepted"].get<int>() >= 1;
        },
        10'000);
    return st;
  };
  auto calls = accepted(
      {{"__name__", "backsight_trace_calls"}, {"service_name", "cart"}, {"span_name", "Cart/Get"}});
  ASSERT_TRUE(calls.is_object());
  EXPECT_EQ(calls["value"], 1);
  auto edge = accepted(
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

}  // namespace
}  // namespace backsight::testing
