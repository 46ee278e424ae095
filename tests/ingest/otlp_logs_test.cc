#include "backsight/ingest/otlp_logs.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "backsight/ingest/proto/logs.pb.h"

namespace backsight::ingest {
namespace {

namespace lv1 = opentelemetry::proto::logs::v1;

TEST(OtlpLogsProto, ResourceIsTheStreamAndServiceNamesIt) {
  lv1::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  auto* a = rl->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value("checkout");
  a = rl->mutable_resource()->add_attributes();
  a->set_key("service.namespace");
  a->mutable_value()->set_string_value("shop");
  a = rl->mutable_resource()->add_attributes();
  a->set_key("host.name");
  a->mutable_value()->set_string_value("h1");
  auto* r = rl->add_scope_logs()->add_log_records();
  r->set_time_unix_nano(1700000000000000000ULL);
  r->set_severity_number(17);
  r->mutable_body()->set_string_value("payment 7 failed");
  r = rl->mutable_scope_logs(0)->add_log_records();
  r->set_observed_time_unix_nano(1700000000000000005ULL);
  r->set_severity_text("warn");
  r->mutable_body()->set_int_value(42);
  rl->mutable_scope_logs(0)->add_log_records()->set_time_unix_nano(5);  // no body: skipped
  LogBatch b;
  ASSERT_TRUE(DecodeOtlpLogsProto(req.SerializeAsString(), &b).ok());
  ASSERT_EQ(b.streams.size(), 1u);
  const LogStream& s = b.streams[0];
  EXPECT_EQ(s.service, "shop/checkout");
  ASSERT_EQ(s.labels.size(), 3u);
  EXPECT_EQ(s.labels[0].name, "host_name");
  EXPECT_EQ(s.labels[2].name, "service_namespace");
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].line, "payment 7 failed");
  EXPECT_EQ(s.entries[0].level, "ERROR");
  EXPECT_EQ(s.entries[0].ts, 1700000000000000000);
  EXPECT_EQ(s.entries[1].line, "42");
  EXPECT_EQ(s.entries[1].level, "warn");
  EXPECT_EQ(s.entries[1].ts, 1700000000000000005);
}

// A request of `n` records over 3 resources, bodies long enough to allocate.
lv1::ExportLogsServiceRequest RecordsRequest(int n) {
  lv1::ExportLogsServiceRequest req;
  for (int r = 0; r < 3; ++r) {
    auto* a = req.add_resource_logs()->mutable_resource()->add_attributes();
    a->set_key("service.name");
    a->mutable_value()->set_string_value("svc-" + std::to_string(r));
  }
  for (int i = 0; i < n; ++i) {
    auto* rec = req.mutable_resource_logs(i % 3)->add_scope_logs()->add_log_records();
    rec->set_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(i));
    rec->set_severity_number(1 + i % 24);
    rec->mutable_body()->set_string_value("record " + std::to_string(i) + std::string(i % 50, 'b'));
  }
  return req;
}

// The decoder parses into a per-thread first arena block kept from the last request: requests of
// growing and shrinking size (and a malformed one) on one thread decode as on a fresh thread.
TEST(OtlpLogsProto, RequestsOfGrowingAndShrinkingSizeOnOneThreadDecodeAlike) {
  LogBatch b;
  for (const int n : {10, 5000, 1, 20000, 300, 0, 7000}) {
    const std::string body = RecordsRequest(n).SerializeAsString();
    EXPECT_FALSE(DecodeOtlpLogsProto(body.substr(0, body.size() - 3), &b).ok());
    ASSERT_TRUE(DecodeOtlpLogsProto(body, &b).ok());
    LogBatch fresh;
    std::thread([&] { ASSERT_TRUE(DecodeOtlpLogsProto(body, &fresh).ok()); }).join();
    EXPECT_EQ(b.lines(), static_cast<size_t>(n));
    ASSERT_EQ(b.streams.size(), fresh.streams.size());
    for (size_t s = 0; s < fresh.streams.size(); ++s) {
      EXPECT_EQ(b.streams[s].service, fresh.streams[s].service);
      EXPECT_EQ(b.streams[s].labels, fresh.streams[s].labels);
      ASSERT_EQ(b.streams[s].entries.size(), fresh.streams[s].entries.size());
      for (size_t k = 0; k < fresh.streams[s].entries.size(); ++k) {
        const LogLine& g = b.streams[s].entries[k];
        const LogLine& w = fresh.streams[s].entries[k];
        EXPECT_EQ(g.ts, w.ts);
        EXPECT_EQ(g.line, w.line);
        EXPECT_EQ(g.level, w.level);
      }
    }
  }
}

TEST(OtlpLogsProto, ErrorsNamePath) {
  lv1::ExportLogsServiceRequest req;
  req.add_resource_logs()->add_scope_logs()->add_log_records()->mutable_body()->set_string_value(
      "x");
  LogBatch b;
  Status st = DecodeOtlpLogsProto(req.SerializeAsString(), &b);
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  EXPECT_NE(st.message().find("resource_logs[0].scope_logs[0].log_records[0].time_unix_nano"),
            std::string::npos)
      << st.ToString();
  EXPECT_TRUE(b.streams.empty());
  st = DecodeOtlpLogsProto("\x0a\x05\x01", &b);
  EXPECT_EQ(st.reason(), Reason::kMalformed) << st.ToString();
}

TEST(OtlpLogsProto, InvalidUtf8NamesPathAndByte) {
  lv1::ExportLogsServiceRequest req;
  auto* r = req.add_resource_logs()->add_scope_logs()->add_log_records();
  r->set_time_unix_nano(1700000000000000000ULL);
  r->mutable_body()->set_string_value("ok\xc3(");  // 0xc3 starts a 2-byte character, '(' does
                                                   // not continue it
  LogBatch b;
  const Status st = DecodeOtlpLogsProto(req.SerializeAsString(), &b);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.reason(), Reason::kUtf8);
  EXPECT_EQ(st.message().rfind("otlp logs: resource_logs[0].scope_logs[0].log_records[0].body", 0),
            0u)
      << st.message();
  EXPECT_NE(st.message().find(": not valid UTF-8 (byte 2)"), std::string::npos) << st.message();
}

TEST(OtlpLogsJson, DecodesTheSdkShape) {
  // The shape @opentelemetry/exporter-logs-otlp-http sends (times as strings, enum as number).
  LogBatch b;
  Status st = DecodeOtlpLogsJson(R"({"resourceLogs":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"api"}}]},
    "scopeLogs":[{"scope":{"name":"s"},"logRecords":[
      {"timeUnixNano":"1700000000000000001","observedTimeUnixNano":"1700000000000000009",
       "severityNumber":13,"severityText":"","body":{"stringValue":"slow query 12 ms"},
       "attributes":[],"droppedAttributesCount":0},
      {"timeUnixNano":1700000000000000002,"severityNumber":"SEVERITY_NUMBER_ERROR2",
       "body":{"stringValue":"oops"}}]}]}]})",
                                 &b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(b.streams.size(), 1u);
  EXPECT_EQ(b.streams[0].service, "api");
  ASSERT_EQ(b.streams[0].entries.size(), 2u);
  EXPECT_EQ(b.streams[0].entries[0].ts, 1700000000000000001);
  EXPECT_EQ(b.streams[0].entries[0].level, "WARN");
  EXPECT_EQ(b.streams[0].entries[0].line, "slow query 12 ms");
  EXPECT_EQ(b.streams[0].entries[1].level, "ERROR");
  st = DecodeOtlpLogsJson(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[
      {"timeUnixNano":"abc","body":{"stringValue":"x"}}]}]}]})",
                          &b);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_NE(st.message().find("resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano"),
            std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace backsight::ingest
