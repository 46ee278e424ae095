#include "backsight/ingest/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace backsight::ingest {
namespace {

constexpr TimestampNs kDefault = 1'700'000'000'000'000'000;

// The example from https://prometheus.io/docs/instrumenting/exposition_formats/ (text 0.0.4).
constexpr char kDocsExample[] = R"(# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
)";

const TimeSeries* Find(const std::vector<TimeSeries>& v, const Labels& labels) {
  for (const auto& s : v) {
    if (s.labels == labels) return &s;
  }
  return nullptr;
}

TEST(Exposition, ParsesPrometheusDocsExample) {
  std::vector<TimeSeries> out;
  Status st = ParseExposition(kDocsExample, kDefault, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.size(), 20u);

  const TimeSeries* s =
      Find(out, {{"__name__", "http_requests_total"}, {"code", "200"}, {"method", "post"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kCounter);
  ASSERT_EQ(s->samples.size(), 1u);
  EXPECT_EQ(s->samples[0].value, 1027);
  EXPECT_EQ(s->samples[0].ts, 1395066363000LL * 1'000'000);

  s = Find(out, {{"__name__", "msdos_file_access_time_seconds"},
                 {"error", "Cannot find file:\n\"FILE.TXT\""},
                 {"path", "C:\\DIR\\FILE.TXT"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kUnknown);
  EXPECT_EQ(s->samples[0].value, 1.458255915e9);
  EXPECT_EQ(s->samples[0].ts, kDefault);

  s = Find(out, {{"__name__", "something_weird"}, {"problem", "division by zero"}});
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(std::isinf(s->samples[0].value) && s->samples[0].value > 0);
  EXPECT_EQ(s->samples[0].ts, -3982045LL * 1'000'000);

  s = Find(out, {{"__name__", "http_request_duration_seconds_bucket"}, {"le", "+Inf"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kHistogram);
  EXPECT_EQ(s->samples[0].value, 144320);
  s = Find(out, {{"__name__", "http_request_duration_seconds_count"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kHistogram);

  s = Find(out, {{"__name__", "rpc_duration_seconds"}, {"quantile", "0.99"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kSummary);
  EXPECT_EQ(s->samples[0].value, 76656);
  s = Find(out, {{"__name__", "rpc_duration_seconds_sum"}});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, MetricKind::kSummary);
  EXPECT_EQ(s->samples[0].value, 1.7560473e+07);
}

TEST(Exposition, SpecialValuesWhitespaceAndTrailingComma) {
  std::vector<TimeSeries> out;
  Status st = ParseExposition("a NaN\nb -Inf\nc{x=\"1\",} +Inf\n\td { y = \"2\" , z=\"\" }\t5\r\n",
                              kDefault, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(std::isnan(out[0].samples[0].value));
  EXPECT_EQ(out[1].samples[0].value, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(out[2].labels, (Labels{{"__name__", "c"}, {"x", "1"}}));
  EXPECT_EQ(out[3].labels, (Labels{{"__name__", "d"}, {"y", "2"}}));  // empty z dropped
  EXPECT_EQ(out[3].samples[0].value, 5);
}

TEST(Exposition, RepeatedSeriesAreMergedInOrder) {
  std::vector<TimeSeries> out;
  ASSERT_TRUE(ParseExposition("a{x=\"1\"} 1 1000\na{x=\"1\"} 2 2000\n", kDefault, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].samples.size(), 2u);
  EXPECT_EQ(out[0].samples[1].ts, 2'000'000'000);
}

TEST(Exposition, QuotedUtf8Names) {
  std::vector<TimeSeries> out;
  Status st = ParseExposition("{\"my.metric\", \"a.b\"=\"x\"} 1\n", kDefault, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "my.metric"}, {"a.b", "x"}}));
}

TEST(Exposition, OpenMetricsTimestampsCreatedAndExemplars) {
  constexpr char kOm[] = R"(# TYPE foo counter
# HELP foo A counter.
foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520430000.123
# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE build info
build_info{version="1.0"} 1
# EOF
)";
  std::vector<TimeSeries> out;
  Status st = ParseExposition(kOm, kDefault, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 4u);  // _created series dropped
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "foo_total"}}));
  EXPECT_EQ(out[0].kind, MetricKind::kCounter);
  EXPECT_EQ(out[0].samples[0].ts, 1520879607789000000LL);
  EXPECT_EQ(out[1].kind, MetricKind::kSummary);
  EXPECT_EQ(out[1].samples[0].ts, kDefault);
  EXPECT_EQ(out[3].kind, MetricKind::kGauge);
}

TEST(Exposition, EofLineOnlyCountsWhenLast) {
  std::vector<TimeSeries> out;
  // "# EOF" is only special when it is the last line, so this is text 0.0.4 with a comment.
  EXPECT_TRUE(ParseExposition("a 1\n# EOF\nb 2\n", kDefault, &out).ok());
  EXPECT_EQ(out.size(), 2u);
}

struct BadCase {
  const char* text;
  const char* where;   // expected "line L, column C"
  const char* reason;  // expected substring of the reason
};

TEST(Exposition, BadLinesNameLineColumnAndReason) {
  const BadCase cases[] = {
      {"ok 1\nok2 2\n3bad 1\n", "line 3, column 1", "invalid metric name \"3bad\""},
      {"ok 1\n=1\n", "line 2, column 1", "expected metric name"},
      {"a{b=\"1\" 1\n", "line 1, column 9", "expected ',' or '}'"},
      {"a{b=\"1} 1\n", "line 1, column 5", "unterminated quoted string"},
      {"a{b=\"\\t\"} 1\n", "line 1, column 6", "invalid escape sequence"},
      {"a{b} 1\n", "line 1, column 4", "expected '='"},
      {"a{1b=\"x\"} 1\n", "line 1, column 3", "invalid label name"},
      {"a{b=x} 1\n", "line 1, column 5", "expected '\"'"},
      {"a 1 2 3\n", "line 1, column 7", "unexpected text after timestamp"},
      {"a one\n", "line 1, column 3", "invalid sample value \"one\""},
      {"a 1 1.5\n", "line 1, column 5", "expected integer milliseconds"},
      {"a\n", "line 1, column 2", "expected sample value"},
      {"a{b=\"1\",b=\"2\"} 1\n", "line 1, column 1", "duplicate label name \"b\""},
      {"a{m=\"\",t=\"1\",c=\"2\",t=\"1\"} 1\n", "line 1, column 1", "duplicate label name \"t\""},
      {"# TYPE a counter\n# TYPE a gauge\n", "line 2, column 8", "second TYPE line"},
      {"# TYPE a countr\n", "line 1, column 10", "unknown metric type"},
      {"# TYPE 1a counter\n", "line 1, column 8", "invalid metric name"},
      {"a{b=\"\xff\"} 1\n", "line 1, column 5", "UTF-8"},
      {"a 1\nb 2 # {x=\"y\"} 1\n", "line 2, column 5", "invalid timestamp \"#\""},
      {"a 1\n# EOF\nb 1\n# EOF\n", "line 3, column 1", "content after '# EOF'"},
      {"a 99999999999999999999\n", "line 1, column 3", ""},
      {"a 1 99999999999999999999\n", "line 1, column 5", "timestamp"},
      {"a 1e999\n", "line 1, column 3", "out of range"},
      {"a +-1\n", "line 1, column 3", "invalid sample value"},
  };
  for (const BadCase& c : cases) {
    std::vector<TimeSeries> out;
    Status st = ParseExposition(c.text, kDefault, &out);
    if (std::string_view(c.text) == "a 99999999999999999999\n") {
      EXPECT_TRUE(st.ok()) << "large values are fine: " << st.ToString();
      continue;
    }
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_NE(st.message().find(c.where), std::string::npos) << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << c.text << " -> " << st.message();
    EXPECT_TRUE(out.empty());
  }
}

TEST(Exposition, SizeLimit) {
  std::vector<TimeSeries> out;
  Status st = ParseExposition("a 1\nb 2\n", kDefault, &out, 4);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(st.reason(), Reason::kTooLarge);
}

// The typed reason of an error (the decode_errors_total label), not found in the message.
TEST(Exposition, ErrorsCarryATypedReason) {
  const std::pair<const char*, Reason> cases[] = {
      {"3bad 1\n", Reason::kMalformed},     {"a one\n", Reason::kMalformed},
      {"a{1b=\"x\"} 1\n", Reason::kLabels}, {"a{b=\"1\",b=\"2\"} 1\n", Reason::kLabels},
      {"a{b=x} 1\n", Reason::kLabels},      {"a{b=\"\xff\"} 1\n", Reason::kUtf8},
      {"a 1 1.5\n", Reason::kTimestamp},    {"a 1 99999999999999999999\n", Reason::kTimestamp},
  };
  for (const auto& [text, reason] : cases) {
    std::vector<TimeSeries> out;
    const Status st = ParseExposition(text, kDefault, &out);
    EXPECT_EQ(st.reason(), reason) << text << " -> " << st.ToString();
  }
}

TEST(Exposition, WriteThenParseRoundTrips) {
  std::vector<TimeSeries> in;
  in.push_back({{{"__name__", "req_total"}, {"path", "/a \"b\"\\c\nd"}},
                MetricKind::kCounter,
                {{1'000'000'000, 1}, {2'000'000'000, 42}}});
  in.push_back(
      {{{"__name__", "lat_bucket"}, {"le", "0.5"}}, MetricKind::kHistogram, {{3'000'000'000, 3}}});
  in.push_back({{{"__name__", "lat_count"}}, MetricKind::kHistogram, {{3'000'000'000, 4}}});
  in.push_back({{{"__name__", "temp"}},
                MetricKind::kGauge,
                {{4'000'000'000, std::numeric_limits<double>::quiet_NaN()}}});
  in.push_back({{{"__name__", "tiny"}}, MetricKind::kUnknown, {{5'000'000'000, 1.25e-300}}});
  in.push_back({{{"__name__", "skipped"}}, MetricKind::kGauge, {}});
  std::unordered_map<std::string, std::string> help = {{"lat", "Latency.\nIn seconds \\o/"}};
  std::string text;
  WriteExposition(in, &text, {.timestamps = true, .help = &help});
  EXPECT_NE(text.find("# TYPE lat histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP lat Latency.\\nIn seconds \\\\o/\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_total{path=\"/a \\\"b\\\"\\\\c\\nd\"} 42 2000\n"), std::string::npos)
      << text;
  std::vector<TimeSeries> out;
  Status st = ParseExposition(text, kDefault, &out);
  ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << text;
  ASSERT_EQ(out.size(), 5u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].labels, in[i].labels);
    EXPECT_EQ(out[i].kind, in[i].kind);
    ASSERT_EQ(out[i].samples.size(), 1u);
    EXPECT_EQ(out[i].samples[0].ts, in[i].samples.back().ts);
    if (std::isnan(in[i].samples.back().value)) {
      EXPECT_TRUE(std::isnan(out[i].samples[0].value));
    } else {
      EXPECT_EQ(out[i].samples[0].value, in[i].samples.back().value);
    }
  }
}

}  // namespace
}  // namespace backsight::ingest
