#include "backsight/ingest/otlp_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "backsight/ingest/proto/metrics.pb.h"

namespace backsight::ingest {
namespace {

namespace mv1 = opentelemetry::proto::metrics::v1;

// Based on opentelemetry-proto examples/metrics.json (OTLP/HTTP JSON encoding).
constexpr char kExampleJson[] = R"({
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "my.service"}},
      {"key": "service.instance.id", "value": {"stringValue": "host-1:8080"}},
      {"key": "host.cpu.count", "value": {"intValue": "8"}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute",
                                "value": {"stringValue": "some scope attribute"}}]},
      "metrics": [
        {"name": "my.counter", "unit": "1", "description": "I am a Counter",
         "sum": {"aggregationTemporality": 2, "isMonotonic": true,
                 "dataPoints": [{"asDouble": 5, "startTimeUnixNano": "1544712660300000000",
                                 "timeUnixNano": "1544712660300000000",
                                 "attributes": [{"key": "my.counter.attr",
                                                 "value": {"stringValue": "some value"}}]}]}},
        {"name": "my.delta", "sum": {"aggregationTemporality": 1, "isMonotonic": true,
                 "dataPoints": [{"asInt": "3", "timeUnixNano": "1544712660300000000"}]}},
        {"name": "my.gauge", "unit": "1", "description": "I am a Gauge",
         "gauge": {"dataPoints": [{"asDouble": 10, "timeUnixNano": 1544712660300000000,
                                   "attributes": [{"key": "my.gauge.attr",
                                                   "value": {"stringValue": "some value"}}]},
                                  {"asDouble": "NaN", "timeUnixNano": "1544712661300000000",
                                   "attributes": [{"key": "my.gauge.attr",
                                                   "value": {"stringValue": "some value"}}]}]}},
        {"name": "my.histogram", "unit": "1", "description": "I am a Histogram",
         "histogram": {"aggregationTemporality": 1,
                       "dataPoints": [{"startTimeUnixNano": "1544712660300000000",
                                       "timeUnixNano": "1544712660300000000",
                                       "count": 2, "sum": 2, "bucketCounts": [1, 1],
                                       "explicitBounds": [1], "min": 0, "max": 2}]}},
        {"name": "my.summary",
         "summary": {"dataPoints": [{"timeUnixNano": "1544712660300000000", "count": "4",
                                     "sum": 10.5, "quantileValues": [{"quantile": 0.5,
                                                                      "value": 2}]}]}},
        {"name": "my.skipped", "gauge": {"dataPoints": [
            {"asDouble": 1, "timeUnixNano": "1544712660300000000", "flags": 1}]}}
      ]
    }]
  }]
})";

const TimeSeries* Find(const std::vector<TimeSeries>& v, std::string_view name,
                       std::string_view label = {}, std::string_view value = {}) {
  for (const auto& s : v) {
    if (GetLabel(s.labels, "__name__") != name) continue;
    if (!label.empty() && GetLabel(s.labels, label) != value) continue;
    return &s;
  }
  return nullptr;
}

void CheckExample(const std::vector<TimeSeries>& out) {
  constexpr TimestampNs kTs = 1544712660300000000;
  const TimeSeries* c = Find(out, "my_counter");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, MetricKind::kCounter);
  EXPECT_EQ(c->labels, (Labels{{"__name__", "my_counter"},
                               {"host_cpu_count", "8"},
                               {"instance", "host-1:8080"},
                               {"job", "my.service"},
                               {"my_counter_attr", "some value"},
                               {"my_scope_attribute", "some scope attribute"},
                               {"otel_scope_name", "my.library"},
                               {"otel_scope_version", "1.0.0"}}));
  ASSERT_EQ(c->samples.size(), 1u);
  EXPECT_EQ(c->samples[0].ts, kTs);
  EXPECT_EQ(c->samples[0].value, 5);

  const TimeSeries* d = Find(out, "my_delta");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind, MetricKind::kGauge);
  EXPECT_EQ(d->samples[0].value, 3);

  const TimeSeries* g = Find(out, "my_gauge");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->kind, MetricKind::kGauge);
  ASSERT_EQ(g->samples.size(), 2u);  // two points of the same series are merged
  EXPECT_EQ(g->samples[0].value, 10);
  EXPECT_TRUE(std::isnan(g->samples[1].value));

  const TimeSeries* hc = Find(out, "my_histogram_count");
  ASSERT_NE(hc, nullptr);
  EXPECT_EQ(hc->kind, MetricKind::kHistogram);
  EXPECT_EQ(hc->samples[0].value, 2);
  const TimeSeries* b1 = Find(out, "my_histogram_bucket", "le", "1");
  const TimeSeries* binf = Find(out, "my_histogram_bucket", "le", "+Inf");
  ASSERT_NE(b1, nullptr);
  ASSERT_NE(binf, nullptr);
  EXPECT_EQ(b1->samples[0].value, 1);
  EXPECT_EQ(binf->samples[0].value, 2);  // cumulative
  ASSERT_NE(Find(out, "my_histogram_sum"), nullptr);

  const TimeSeries* q = Find(out, "my_summary", "quantile", "0.5");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->kind, MetricKind::kSummary);
  EXPECT_EQ(q->samples[0].value, 2);
  EXPECT_EQ(Find(out, "my_summary_count")->samples[0].value, 4);
  EXPECT_EQ(Find(out, "my_summary_sum")->samples[0].value, 10.5);

  EXPECT_EQ(Find(out, "my_skipped"), nullptr);  // NO_RECORDED_VALUE flag
  EXPECT_EQ(out.size(), 10u);
}

TEST(OtlpJson, DecodesSpecExample) {
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsJson(kExampleJson, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  CheckExample(out);
}

mv1::ExportMetricsServiceRequest ExampleProto() {
  mv1::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  auto add_attr = [](auto* attrs, const std::string& k, const std::string& v) {
    auto* kv = attrs->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  };
  add_attr(rm->mutable_resource()->mutable_attributes(), "service.name", "my.service");
  add_attr(rm->mutable_resource()->mutable_attributes(), "service.instance.id", "host-1:8080");
  auto* cpu = rm->mutable_resource()->add_attributes();
  cpu->set_key("host.cpu.count");
  cpu->mutable_value()->set_int_value(8);
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("my.library");
  sm->mutable_scope()->set_version("1.0.0");
  add_attr(sm->mutable_scope()->mutable_attributes(), "my.scope.attribute", "some scope attribute");
  constexpr uint64_t kTs = 1544712660300000000;

  auto* m = sm->add_metrics();
  m->set_name("my.counter");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(mv1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = m->mutable_sum()->add_data_points();
  p->set_as_double(5);
  p->set_time_unix_nano(kTs);
  add_attr(p->mutable_attributes(), "my.counter.attr", "some value");

  m = sm->add_metrics();
  m->set_name("my.delta");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(mv1::AGGREGATION_TEMPORALITY_DELTA);
  p = m->mutable_sum()->add_data_points();
  p->set_as_int(3);
  p->set_time_unix_nano(kTs);

  m = sm->add_metrics();
  m->set_name("my.gauge");
  for (int i = 0; i < 2; ++i) {
    p = m->mutable_gauge()->add_data_points();
    p->set_as_double(i == 0 ? 10 : std::nan(""));
    p->set_time_unix_nano(kTs + i * 1000000000ull);
    add_attr(p->mutable_attributes(), "my.gauge.attr", "some value");
  }

  m = sm->add_metrics();
  m->set_name("my.histogram");
  auto* hp = m->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(kTs);
  hp->set_count(2);
  hp->set_sum(2);
  hp->add_bucket_counts(1);
  hp->add_bucket_counts(1);
  hp->add_explicit_bounds(1);

  m = sm->add_metrics();
  m->set_name("my.summary");
  auto* sp = m->mutable_summary()->add_data_points();
  sp->set_time_unix_nano(kTs);
  sp->set_count(4);
  sp->set_sum(10.5);
  auto* q = sp->add_quantile_values();
  q->set_quantile(0.5);
  q->set_value(2);

  m = sm->add_metrics();
  m->set_name("my.skipped");
  p = m->mutable_gauge()->add_data_points();
  p->set_as_double(1);
  p->set_time_unix_nano(kTs);
  p->set_flags(1);
  return req;
}

TEST(OtlpProto, DecodesSameContentAsJson) {
  std::string body = ExampleProto().SerializeAsString();
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsProto(body, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  CheckExample(out);
}

TEST(OtlpProto, TruncatedAndGarbageBodies) {
  std::string body = ExampleProto().SerializeAsString();
  std::vector<TimeSeries> out;
  int failures = 0;
  for (size_t n = 1; n < body.size(); ++n) {
    Status st = DecodeOtlpMetricsProto(std::string_view(body).substr(0, n), &out);
    if (!st.ok()) {
      ++failures;
      EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
      EXPECT_NE(st.message().find("otlp"), std::string::npos);
    }
  }
  EXPECT_GT(failures, static_cast<int>(body.size()) / 2);
  Status st = DecodeOtlpMetricsProto(std::string_view("\x0a\x05\x12\x10", 4), &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("byte 0 in ExportMetricsServiceRequest.resource_metrics[0]"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kMalformed);
  st = DecodeOtlpMetricsProto(std::string(100, 'x'), &out, 10);
  EXPECT_NE(st.message().find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(st.reason(), Reason::kTooLarge);
}

TEST(OtlpProto, SemanticErrorsNameTheField) {
  auto req = ExampleProto();
  req.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(2)
      ->mutable_gauge()
      ->mutable_data_points(1)
      ->set_time_unix_nano(0);
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsProto(req.SerializeAsString(), &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(
      st.message().find("resource_metrics[0].scope_metrics[0].metrics[2].gauge.data_points[1]."
                        "time_unix_nano: missing"),
      std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  EXPECT_TRUE(out.empty());

  req = ExampleProto();
  req.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(3)
      ->mutable_histogram()
      ->mutable_data_points(0)
      ->add_bucket_counts(5);
  st = DecodeOtlpMetricsProto(req.SerializeAsString(), &out);
  EXPECT_NE(st.message().find("3 bucket counts for 1 explicit bounds"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kMalformed);

  req = ExampleProto();
  req.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(0)
      ->mutable_sum()
      ->mutable_data_points(0)
      ->clear_value();
  st = DecodeOtlpMetricsProto(req.SerializeAsString(), &out);
  EXPECT_NE(st.message().find("neither as_double nor as_int"), std::string::npos) << st.message();
}

// _count and _sum per point type: a histogram's and an exponential histogram's sum is optional
// (no _sum series without it), a summary's is not (a zero sum is a sample); an exponential
// histogram yields no buckets; a point flagged NO_RECORDED_VALUE yields nothing.
TEST(OtlpProto, CountAndSumPerPointType) {
  constexpr uint64_t kTs = 1544712660300000000;
  mv1::ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  auto* m = sm->add_metrics();
  m->set_name("h");
  auto* hp = m->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(kTs);
  hp->set_count(3);
  m = sm->add_metrics();
  m->set_name("e");
  auto* ep = m->mutable_exponential_histogram()->add_data_points();
  ep->set_time_unix_nano(kTs);
  ep->set_count(7);
  ep->set_sum(1.5);
  ep = m->mutable_exponential_histogram()->add_data_points();
  ep->set_time_unix_nano(kTs + 1);
  ep->set_count(8);
  ep->set_flags(mv1::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  m = sm->add_metrics();
  m->set_name("s");
  auto* sp = m->mutable_summary()->add_data_points();
  sp->set_time_unix_nano(kTs);
  sp->set_count(2);
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsProto(req.SerializeAsString(), &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NE(Find(out, "h_count"), nullptr);
  EXPECT_EQ(Find(out, "h_count")->samples[0].value, 3);
  EXPECT_EQ(Find(out, "h_sum"), nullptr);
  ASSERT_NE(Find(out, "e_count"), nullptr);
  ASSERT_EQ(Find(out, "e_count")->samples.size(), 1u);
  EXPECT_EQ(Find(out, "e_count")->samples[0].value, 7);
  ASSERT_NE(Find(out, "e_sum"), nullptr);
  EXPECT_EQ(Find(out, "e_sum")->samples[0].value, 1.5);
  EXPECT_EQ(Find(out, "e_bucket"), nullptr);
  ASSERT_NE(Find(out, "s_sum"), nullptr);
  EXPECT_EQ(Find(out, "s_sum")->samples[0].value, 0);
  EXPECT_EQ(out.size(), 5u);  // h_count, e_count, e_sum, s_count, s_sum
}

TEST(OtlpJson, ErrorsNameByteOrPath) {
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsJson("{\"resourceMetrics\": [", &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("byte 21"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kJson);

  st = DecodeOtlpMetricsJson(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[
         {"asDouble": 1, "timeUnixNano": "12x"}]}}]}]}]})",
      &out);
  EXPECT_NE(st.message().find("resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0]"
                              ".timeUnixNano: expected an unsigned integer, got \"12x\""),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kJson);

  st = DecodeOtlpMetricsJson(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[
         {"asDouble": 1}]}}]}]}]})",
      &out);
  EXPECT_NE(st.message().find("metrics[0].gauge.dataPoints[0].timeUnixNano: missing"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kTimestamp);

  st = DecodeOtlpMetricsJson(R"({"resourceMetrics": {}})", &out);
  EXPECT_NE(st.message().find("resourceMetrics: expected an array"), std::string::npos)
      << st.message();

  // Every repeated field names its own path when it is not an array.
  const std::pair<const char*, const char*> kNotArrays[] = {
      {R"({"resourceMetrics":[{"resource":{"attributes":{}}}]})",
       "resourceMetrics[0].resource.attributes: expected an array"},
      {R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":{}}]}]})",
       "resourceMetrics[0].scopeMetrics[0].metrics: expected an array"},
      {R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","histogram":{
         "dataPoints":[{"timeUnixNano":"1","bucketCounts":[1,"x"]}]}}]}]}]})",
       "metrics[0].histogram.dataPoints[0].bucketCounts[1]: expected an unsigned integer"},
      {R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"s","summary":{
         "dataPoints":[{"timeUnixNano":"1","quantileValues":[1]}]}}]}]}]})",
       "metrics[0].summary.dataPoints[0].quantileValues[0]: expected an object"},
      {R"({"resourceMetrics":[{"resource":{"attributes":[{"key":"k","value":{"arrayValue":{
         "values":[{"kvlistValue":{"values":5}}]}}}]}}]})",
       "resource.attributes[0].value.arrayValue.values[0].kvlistValue.values: expected an array"},
  };
  for (const auto& [body, want] : kNotArrays) {
    st = DecodeOtlpMetricsJson(body, &out);
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
    EXPECT_EQ(st.reason(), Reason::kJson) << body;
  }

  std::string deep(1000, '[');
  st = DecodeOtlpMetricsJson(deep, &out);
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos) << st.message();

  st = DecodeOtlpMetricsJson(std::string(100, ' '), &out, 10);
  EXPECT_NE(st.message().find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(st.reason(), Reason::kTooLarge);
}

// A request whose third metric is `metric` (JSON text), after two valid ones.
std::string ThirdMetric(const std::string& metric) {
  const std::string ok =
      R"({"name":"ok","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"1"}]}})";
  return R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[)" + ok + "," + ok + "," + metric +
         "]}]}]}";
}

// Every JSON number out of range is a decode error naming its field, never an exception.
TEST(OtlpJson, NumbersOutOfRangeNameTheField) {
  const std::string m = "resourceMetrics[0].scopeMetrics[0].metrics[2].";
  struct Case {
    std::string metric;
    std::string want;  // expected substring of the message
  };
  const Case cases[] = {
      {R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1e999,"timeUnixNano":"1"}]}})",
       m + "gauge.dataPoints[0].asDouble: number out of range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":-1e999}]}})",
       m + "gauge.dataPoints[0].asDouble: number out of range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asDouble":"1e999","timeUnixNano":"1"}]}})",
       m + "gauge.dataPoints[0].asDouble: \"1e999\" is out of the double range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"99999999999999999999"}]}})",
       m + "gauge.dataPoints[0].timeUnixNano: \"99999999999999999999\" is out of the uint64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":99999999999999999999}]}})",
       m + "gauge.dataPoints[0].timeUnixNano: 1e+20 is out of the uint64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"18446744073709551615"}]}})",
       m + "gauge.dataPoints[0].timeUnixNano: 18446744073709551615 ns is beyond the int64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asInt":"9223372036854775808","timeUnixNano":"1"}]}})",
       m + "gauge.dataPoints[0].asInt: \"9223372036854775808\" is out of the int64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asInt":9223372036854775808,"timeUnixNano":"1"}]}})",
       m + "gauge.dataPoints[0].asInt: 9223372036854775808 is out of the int64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asInt":-1e30,"timeUnixNano":"1"}]}})",
       m + "gauge.dataPoints[0].asInt: -1e+30 is out of the int64 range"},
      {R"({"name":"g","gauge":{"dataPoints":[{"asInt":1,"timeUnixNano":"1","flags":4294967296}]}})",
       m + "gauge.dataPoints[0].flags: 4294967296 is out of the uint32 range"},
      {R"({"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1","count":-3}]}})",
       m + "summary.dataPoints[0].count: negative value -3 for an unsigned field"},
      {R"({"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1","count":-3e40}]}})",
       m + "summary.dataPoints[0].count: negative value -3e+40 for an unsigned field"},
      {R"({"name":"h","histogram":{"dataPoints":[{"timeUnixNano":"1","bucketCounts":[1,-1]}]}})",
       m + "histogram.dataPoints[0].bucketCounts[1]: negative value -1"},
      {R"({"name":"h","histogram":{"dataPoints":[{"timeUnixNano":"1","explicitBounds":[1,2e400]}]}})",
       m + "histogram.dataPoints[0].explicitBounds[1]: number out of range"},
      {R"({"name":"s","summary":{"dataPoints":[{"timeUnixNano":"1","quantileValues":[{"quantile":0.5,"value":1E+1000}]}]}})",
       m + "summary.dataPoints[0].quantileValues[0].value: number out of range"},
      {R"({"name":"x","sum":{"aggregationTemporality":1e300,"dataPoints":[]}})",
       m + "sum.aggregationTemporality: 1e+300 is out of the int64 range"},
  };
  for (const Case& c : cases) {
    std::vector<TimeSeries> out;
    Status st;
    ASSERT_NO_THROW(st = DecodeOtlpMetricsJson(ThirdMetric(c.metric), &out)) << c.metric;
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << c.metric;
    EXPECT_NE(st.message().find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot:  " << st.message();
    EXPECT_TRUE(out.empty());
  }
  // A number out of range inside an attribute value, at the top level, and in a syntax error.
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsJson(
      R"({"resourceMetrics":[{"resource":{"attributes":[{"key":"k","value":{"doubleValue":1e999}}]}}]})",
      &out);
  EXPECT_NE(st.message().find("resourceMetrics[0].resource.attributes[0].value.doubleValue: number "
                              "out of range"),
            std::string::npos)
      << st.message();
  st = DecodeOtlpMetricsJson("1e999", &out);
  EXPECT_NE(st.message().find("(root): number out of range"), std::string::npos) << st.message();
  st = DecodeOtlpMetricsJson(R"({"resourceMetrics":[{"scopeMetrics":[1,}]})", &out);
  EXPECT_NE(st.message().find("byte 39 in resourceMetrics[0].scopeMetrics[1]: invalid JSON"),
            std::string::npos)
      << st.message();
}

TEST(OtlpJson, AttributeMappingRules) {
  constexpr char kJson[] = R"({"resourceMetrics":[{
    "resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"api"}},
      {"key":"service.namespace","value":{"stringValue":"shop"}},
      {"key":"region","value":{"stringValue":"from-resource"}},
      {"key":"a.b","value":{"stringValue":"1"}},
      {"key":"a_b","value":{"stringValue":"2"}}]},
    "scope_metrics":[{"metrics":[{"name":"9lives","gauge":{"data_points":[
      {"as_int":7,"time_unix_nano":"1000","attributes":[
        {"key":"region","value":{"stringValue":"from-point"}},
        {"key":"2xx","value":{"boolValue":true}},
        {"key":"__x","value":{"doubleValue":1.5}},
        {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":2}]}}},
        {"key":"empty","value":{"stringValue":""}}]}]}}]}]}]})";
  std::vector<TimeSeries> out;
  Status st = DecodeOtlpMetricsJson(kJson, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "_9lives"},
                                   {"a_b", "1;2"},
                                   {"job", "shop/api"},
                                   {"key_2xx", "true"},
                                   {"key__x", "1.5"},
                                   {"list", "[\"a\",2]"},
                                   {"region", "from-point"}}));
  EXPECT_EQ(out[0].samples[0].ts, 1000);
  EXPECT_EQ(out[0].samples[0].value, 7);
}

}  // namespace
}  // namespace backsight::ingest
