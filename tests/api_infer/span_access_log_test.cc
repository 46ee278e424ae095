// OTLP HTTP server spans as access records (cli/span_access_log.h): both semantic-convention
// generations, the kind filter, and the same inference as access-log lines.
#include "backsight/cli/span_access_log.h"

#include <gtest/gtest.h>

#include <string>

#include "backsight/ingest/otlp_traces.h"

namespace backsight::cli {
namespace {

// One OTLP/JSON line (Collector file exporter shape): a server span in the stable HTTP
// conventions, one in the pre-1.21 names with the query in http.target, an UNSPECIFIED-kind span
// with old attributes, a CLIENT span whose attributes would map (the call another service made),
// an INTERNAL span, and a SERVER span with no HTTP attributes (gRPC).
constexpr const char* kSpans = R"({"resourceSpans":[{"resource":{"attributes":[
 {"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000001","name":"GET",
  "kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1767225600000000000",
  "endTimeUnixNano":"1767225600100000000","attributes":[
  {"key":"http.request.method","value":{"stringValue":"GET"}},
  {"key":"url.path","value":{"stringValue":"/orders/17"}},
  {"key":"url.query","value":{"stringValue":"expand=items"}},
  {"key":"http.route","value":{"stringValue":"/orders/:id"}},
  {"key":"http.response.status_code","value":{"intValue":"200"}}]},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000002","name":"GET",
  "kind":2,"startTimeUnixNano":"1767225601000000000","endTimeUnixNano":"1767225601100000000",
  "attributes":[{"key":"http.method","value":{"stringValue":"GET"}},
  {"key":"http.target","value":{"stringValue":"/orders/23?expand=lines"}},
  {"key":"http.status_code","value":{"intValue":200}}]},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000003","name":"DELETE",
  "startTimeUnixNano":"1767225602000000000","endTimeUnixNano":"1767225602100000000",
  "attributes":[{"key":"http.method","value":{"stringValue":"DELETE"}},
  {"key":"http.target","value":{"stringValue":"/orders/31"}},
  {"key":"http.status_code","value":{"intValue":"204"}}]},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000004","name":"GET",
  "kind":"SPAN_KIND_CLIENT","startTimeUnixNano":"1767225603000000000",
  "endTimeUnixNano":"1767225603100000000","attributes":[
  {"key":"http.request.method","value":{"stringValue":"GET"}},
  {"key":"url.path","value":{"stringValue":"/peers/9"}},
  {"key":"http.response.status_code","value":{"intValue":"200"}}]},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000005","name":"render",
  "kind":"SPAN_KIND_INTERNAL","startTimeUnixNano":"1767225604000000000",
  "endTimeUnixNano":"1767225604100000000"},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000006","name":"Cart/Get",
  "kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1767225605000000000",
  "endTimeUnixNano":"1767225605100000000","attributes":[
  {"key":"rpc.system","value":{"stringValue":"grpc"}}]}]}]}]})";

const api::InferredOperation* Find(const api::InferredApi& a, std::string_view method,
                                   std::string_view path) {
  for (const api::InferredOperation& op : a.operations) {
    if (op.method == method && op.path == path) return &op;
  }
  return nullptr;
}

TEST(SpanAccessLog, ServerSpansOfBothConventionsFeedTheInferrer) {
  ingest::SpanBatch batch;
  Status st = ingest::DecodeOtlpTracesJson(kSpans, &batch);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(batch.spans.size(), 6u);

  api::AccessRecord rec;
  ASSERT_EQ(SpanToAccessRecord(batch.spans[1], &rec), SpanUse::kUsed);
  EXPECT_EQ(rec.method, "GET");
  EXPECT_EQ(rec.path, "/orders/23");  // query cut from http.target
  EXPECT_EQ(rec.query, "expand=lines");
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(rec.time_ns, 1767225601000000000);

  api::ApiInferrer inferrer;
  SpanCounts counts;
  AddServerSpans(batch, &inferrer, &counts);
  EXPECT_EQ(counts.used, 3u);
  EXPECT_EQ(counts.not_server, 2u);  // client + internal
  EXPECT_EQ(counts.incomplete, 1u);  // gRPC server span
  const api::InferredApi inferred = inferrer.Infer();
  const api::InferredOperation* get = Find(inferred, "GET", "/orders/{orderId}");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->requests, 2u);
  ASSERT_EQ(get->query.size(), 1u);
  EXPECT_EQ(get->query[0].name, "expand");
  const api::InferredOperation* del = Find(inferred, "DELETE", "/orders/{orderId}");
  ASSERT_NE(del, nullptr);
  EXPECT_EQ(del->status_counts.at(204), 1u);
  EXPECT_EQ(inferred.first_time_ns, 1767225600000000000);
}

// Client spans are calls this service made to others: counting them would put the peers' paths
// into this service's API.
TEST(SpanAccessLog, ClientSpansAreNotRequestsServed) {
  ingest::SpanBatch batch;
  ASSERT_TRUE(ingest::DecodeOtlpTracesJson(kSpans, &batch).ok());
  api::AccessRecord rec;
  EXPECT_EQ(SpanToAccessRecord(batch.spans[3], &rec), SpanUse::kNotServer);
  api::ApiInferrer inferrer;
  SpanCounts counts;
  AddServerSpans(batch, &inferrer, &counts);
  for (const api::InferredOperation& op : inferrer.Infer().operations) {
    EXPECT_EQ(op.path.find("/peers"), std::string::npos) << op.path;
  }
}

TEST(SpanAccessLog, StatusMustBeAnHttpCode) {
  ingest::Span s;
  s.kind = ingest::SpanKind::kServer;
  s.attributes = {
      {"http.request.method", "GET"}, {"url.path", "/a"}, {"http.response.status_code", "20x"}};
  api::AccessRecord rec;
  EXPECT_EQ(SpanToAccessRecord(s, &rec), SpanUse::kIncomplete);
  s.attributes[2].value = "700";
  EXPECT_EQ(SpanToAccessRecord(s, &rec), SpanUse::kIncomplete);
  s.attributes[2].value = "404";
  EXPECT_EQ(SpanToAccessRecord(s, &rec), SpanUse::kUsed);
  EXPECT_EQ(rec.status, 404);
}

TEST(SpanAccessLog, DetectsOtlpLinesByTheirFirstKey) {
  EXPECT_TRUE(LooksLikeOtlpTracesLine(R"({"resourceSpans":[]})"));
  EXPECT_TRUE(LooksLikeOtlpTracesLine(R"(  { "resource_spans": []})"));
  EXPECT_FALSE(LooksLikeOtlpTracesLine(R"({"method":"GET","path":"/resourceSpans"})"));
  EXPECT_FALSE(LooksLikeOtlpTracesLine(R"({"resourceLogs":[]})"));
  EXPECT_FALSE(
      LooksLikeOtlpTracesLine("1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\""));
}

}  // namespace
}  // namespace backsight::cli
