#include "backsight/ingest/otlp_logs.h"

#include <gtest/gtest.h>

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
