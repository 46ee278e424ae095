#include "backsight/ingest/otlp_traces.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backsight/ingest/proto/trace.pb.h"

namespace backsight::ingest {
namespace {

namespace tv1 = opentelemetry::proto::trace::v1;

std::string Bytes(std::initializer_list<int> v, size_t n) {
  std::string s(n, '\0');
  size_t i = 0;
  for (int b : v) s[i++] = static_cast<char>(b);
  return s;
}

tv1::ExportTraceServiceRequest OneSpanRequest() {
  tv1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* a = rs->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value("checkout");
  a = rs->mutable_resource()->add_attributes();
  a->set_key("k8s.pod.name");
  a->mutable_value()->set_string_value("checkout-7d-x1");
  auto* s = rs->add_scope_spans()->add_spans();
  s->set_trace_id(Bytes({0xab, 0x01}, 16));
  s->set_span_id(Bytes({0x12}, 8));
  s->set_parent_span_id(Bytes({0x34, 0xff}, 8));
  s->set_name("SELECT orders");
  s->set_kind(3);
  s->set_start_time_unix_nano(1700000000000000000ULL);
  s->set_end_time_unix_nano(1700000000250000000ULL);
  s->mutable_status()->set_code(2);
  auto* kv = s->add_attributes();
  kv->set_key("db.statement");
  kv->mutable_value()->set_string_value("SELECT * FROM orders WHERE id = 7");
  kv = s->add_attributes();
  kv->set_key("thread.id");  // not a kept prefix
  kv->mutable_value()->set_int_value(3);
  return req;
}

TEST(OtlpTracesProto, RecycledSpansKeepNothingOfTheirLastRequest) {
  SpanBatch b;
  ASSERT_TRUE(DecodeOtlpTracesProto(OneSpanRequest().SerializeAsString(), &b).ok());
  // A root span without attributes, kind or status, of another service, into the recycled span.
  tv1::ExportTraceServiceRequest req = OneSpanRequest();
  auto* rs = req.mutable_resource_spans(0);
  rs->mutable_resource()->mutable_attributes(0)->mutable_value()->set_string_value("cart");
  rs->mutable_resource()->mutable_attributes()->RemoveLast();  // no pod name: no instance
  auto* s = rs->mutable_scope_spans(0)->mutable_spans(0);
  s->clear_parent_span_id();
  s->clear_attributes();
  s->set_kind(0);
  s->clear_status();
  s->set_name("GET /");
  b.Recycle();
  EXPECT_TRUE(b.spans.empty());
  ASSERT_TRUE(DecodeOtlpTracesProto(req.SerializeAsString(), &b).ok());
  ASSERT_EQ(b.spans.size(), 1u);
  const Span& r = b.spans[0];
  EXPECT_EQ(r.trace_id, "ab010000000000000000000000000000");
  EXPECT_EQ(r.parent_span_id, "");
  EXPECT_EQ(r.service, "cart");
  EXPECT_EQ(r.instance, "");
  EXPECT_EQ(r.name, "GET /");
  EXPECT_EQ(r.kind, SpanKind::kUnspecified);
  EXPECT_EQ(r.status, SpanStatus::kUnset);
  EXPECT_TRUE(r.attributes.empty());
  // A failing request appends nothing, to a batch with spans or a recycled one.
  s->set_span_id("short");
  EXPECT_FALSE(DecodeOtlpTracesProto(req.SerializeAsString(), &b).ok());
  EXPECT_EQ(b.spans.size(), 1u);
  b.Recycle();
  EXPECT_FALSE(DecodeOtlpTracesProto(req.SerializeAsString(), &b).ok());
  EXPECT_TRUE(b.spans.empty());
}

// The decoder parses into a per-thread first arena block sized to the largest request seen:
// small, large, malformed and again small requests on one thread decode to the same spans.
TEST(OtlpTracesProto, RequestsOfGrowingSizeOnOneThreadDecodeAlike) {
  tv1::ExportTraceServiceRequest big = OneSpanRequest();
  auto* spans = big.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans();
  for (int i = 1; i < 3000; ++i) {
    auto* s = spans->Add();
    *s = big.resource_spans(0).scope_spans(0).spans(0);
    s->set_name("op-" + std::to_string(i) + std::string(40, 'x'));
  }
  const std::string small_body = OneSpanRequest().SerializeAsString();
  const std::string big_body = big.SerializeAsString();
  for (int round = 0; round < 3; ++round) {
    SpanBatch b;
    ASSERT_TRUE(DecodeOtlpTracesProto(small_body, &b).ok());
    ASSERT_TRUE(DecodeOtlpTracesProto(big_body, &b).ok());
    EXPECT_FALSE(DecodeOtlpTracesProto(big_body.substr(0, big_body.size() / 2), &b).ok());
    ASSERT_TRUE(DecodeOtlpTracesProto(small_body, &b).ok());
    ASSERT_EQ(b.spans.size(), 3002u);
    EXPECT_EQ(b.spans[0].name, "SELECT orders");
    EXPECT_EQ(b.spans[1].name, "SELECT orders");
    EXPECT_EQ(b.spans[3000].name, "op-2999" + std::string(40, 'x'));
    EXPECT_EQ(b.spans[3000].trace_id, "ab010000000000000000000000000000");
    EXPECT_EQ(b.spans[3000].Attribute("db.statement"), "SELECT * FROM orders WHERE id = 7");
    EXPECT_EQ(b.spans[3001].service, "checkout");
  }
}

// Lowercase hex of `bytes`, written independently of the decoder.
std::string RefHex(const std::string& bytes) {
  std::string s;
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

// A request of `n` spans over up to 3 resources, varied from `seed`: random id bytes (some
// bytes zero), names and attribute values short and long, roots and children, every kind and
// status, 0..18 kept attributes (over the cap of 16 now and then), with or without an instance.
tv1::ExportTraceServiceRequest VariedRequest(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  tv1::ExportTraceServiceRequest req;
  std::vector<tv1::ScopeSpans*> scopes;
  const int resources = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < resources; ++r) {
    auto* rs = req.add_resource_spans();
    auto* a = rs->mutable_resource()->add_attributes();
    a->set_key("service.name");
    a->mutable_value()->set_string_value("svc-" + std::to_string(rng() % 50) +
                                         std::string(rng() % 2 ? 20 : 0, 's'));
    if (rng() % 2) {
      a = rs->mutable_resource()->add_attributes();
      a->set_key("host.name");
      a->mutable_value()->set_string_value("host-" + std::to_string(rng() % 9));
    }
    scopes.push_back(rs->add_scope_spans());
  }
  auto id = [&](size_t len) {
    std::string s(len, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0 : rng());
    s[rng() % len] = static_cast<char>(1 + rng() % 255);  // never all zero
    return s;
  };
  for (int i = 0; i < n; ++i) {
    auto* s = scopes[rng() % scopes.size()]->add_spans();
    s->set_trace_id(id(16));
    s->set_span_id(id(8));
    if (rng() % 4) s->set_parent_span_id(id(8));
    s->set_name("op-" + std::to_string(rng() % 100) + std::string(rng() % 40, 'n'));
    s->set_kind(static_cast<int>(rng() % 6));
    s->mutable_status()->set_code(static_cast<int>(rng() % 3));
    const uint64_t start = 1700000000000000000ULL + rng() % 1000000000000ULL;
    s->set_start_time_unix_nano(start);
    s->set_end_time_unix_nano(start + rng() % 1000000000ULL);
    const int attrs = rng() % 8 == 0 ? 18 : static_cast<int>(rng() % 4);
    for (int k = 0; k < attrs; ++k) {
      auto* kv = s->add_attributes();
      kv->set_key(k % 2 ? "http.route" : "db.statement");
      std::string v = std::to_string(rng());  // (not "v" + string: a GCC 12 -Wrestrict false alarm)
      v.append(rng() % 60, 'v');
      kv->mutable_value()->set_string_value(v);
    }
    if (rng() % 3 == 0) {
      auto* kv = s->add_attributes();
      kv->set_key("thread.id");  // not kept
      kv->mutable_value()->set_int_value(7);
    }
  }
  return req;
}

void ExpectSameSpans(const SpanBatch& got, const SpanBatch& want, const std::string& what) {
  ASSERT_EQ(got.spans.size(), want.spans.size()) << what;
  EXPECT_EQ(got.dropped_attributes, want.dropped_attributes) << what;
  for (size_t i = 0; i < want.spans.size(); ++i) {
    const Span& g = got.spans[i];
    const Span& w = want.spans[i];
    const std::string at = what + " span " + std::to_string(i);
    EXPECT_EQ(g.trace_id, w.trace_id) << at;
    EXPECT_EQ(g.span_id, w.span_id) << at;
    EXPECT_EQ(g.parent_span_id, w.parent_span_id) << at;
    EXPECT_EQ(g.service, w.service) << at;
    EXPECT_EQ(g.instance, w.instance) << at;
    EXPECT_EQ(g.name, w.name) << at;
    EXPECT_EQ(g.kind, w.kind) << at;
    EXPECT_EQ(g.status, w.status) << at;
    EXPECT_EQ(g.start_ns, w.start_ns) << at;
    EXPECT_EQ(g.end_ns, w.end_ns) << at;
    ASSERT_EQ(g.attributes.size(), w.attributes.size()) << at;
    for (size_t k = 0; k < w.attributes.size(); ++k) {
      EXPECT_EQ(g.attributes[k].key, w.attributes[k].key) << at;
      EXPECT_EQ(g.attributes[k].value, w.attributes[k].value) << at;
    }
  }
}

// One batch recycled request after request on one thread, as a server thread does (sizes growing
// and shrinking, failing requests in between, appending without a recycle; the thread's kept
// arena block reused), decodes every request exactly as a fresh batch on a
// fresh thread does.
TEST(OtlpTracesProto, RecycledBatchDecodesLikeAFreshOne) {
  const int sizes[] = {300, 5, 2000, 1, 0, 700, 3000, 50, 1200, 1200, 2, 2500};
  SpanBatch reused;
  uint64_t seed = 1;
  for (const int n : sizes) {
    const std::string body = VariedRequest(n, seed++).SerializeAsString();
    // A failing request first (its last span's id is bad): its spans are not kept.
    tv1::ExportTraceServiceRequest bad = VariedRequest(n + 1, seed++);
    auto* rs = bad.mutable_resource_spans(bad.resource_spans_size() - 1);
    auto* ss = rs->mutable_scope_spans(0);
    if (ss->spans_size() > 0) ss->mutable_spans(ss->spans_size() - 1)->set_span_id("short");
    reused.Recycle();
    EXPECT_EQ(DecodeOtlpTracesProto(bad.SerializeAsString(), &reused).ok(), ss->spans_size() == 0);
    reused.Recycle();
    ASSERT_TRUE(DecodeOtlpTracesProto(body, &reused).ok());
    SpanBatch fresh;  // a fresh batch on a fresh thread (no kept arena block either)
    std::thread([&] { ASSERT_TRUE(DecodeOtlpTracesProto(body, &fresh).ok()); }).join();
    ExpectSameSpans(reused, fresh, "size " + std::to_string(n));
    const tv1::ExportTraceServiceRequest req = VariedRequest(n, seed - 2);
    size_t k = 0;  // ids as independently formatted hex, in decode order
    for (const auto& r : req.resource_spans()) {
      for (const auto& s : r.scope_spans(0).spans()) {
        ASSERT_LT(k, fresh.spans.size());
        EXPECT_EQ(fresh.spans[k].trace_id, RefHex(s.trace_id()));
        EXPECT_EQ(fresh.spans[k].span_id, RefHex(s.span_id()));
        EXPECT_EQ(fresh.spans[k].parent_span_id, RefHex(s.parent_span_id()));
        ++k;
      }
    }
    EXPECT_EQ(k, fresh.spans.size());
  }
  // Appending a second request without a recycle, into recycled spans and new ones.
  const std::string a = VariedRequest(40, 100).SerializeAsString();
  const std::string b = VariedRequest(4000, 101).SerializeAsString();
  reused.Recycle();
  SpanBatch fresh;
  for (const std::string* body : {&a, &b}) {
    ASSERT_TRUE(DecodeOtlpTracesProto(*body, &reused).ok());
    std::thread([&] { ASSERT_TRUE(DecodeOtlpTracesProto(*body, &fresh).ok()); }).join();
  }
  ExpectSameSpans(reused, fresh, "appended");
}

TEST(OtlpTracesProto, SpanFieldsAndKeptAttributes) {
  SpanBatch b;
  ASSERT_TRUE(DecodeOtlpTracesProto(OneSpanRequest().SerializeAsString(), &b).ok());
  ASSERT_EQ(b.spans.size(), 1u);
  const Span& s = b.spans[0];
  EXPECT_EQ(s.trace_id, "ab010000000000000000000000000000");
  EXPECT_EQ(s.span_id, "1200000000000000");
  EXPECT_EQ(s.parent_span_id, "34ff000000000000");
  EXPECT_EQ(s.service, "checkout");
  EXPECT_EQ(s.instance, "checkout-7d-x1");
  EXPECT_EQ(s.name, "SELECT orders");
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.status, SpanStatus::kError);
  EXPECT_EQ(s.duration_ns(), 250000000);
  ASSERT_EQ(s.attributes.size(), 1u);
  EXPECT_EQ(s.Attribute("db.statement"), "SELECT * FROM orders WHERE id = 7");
  EXPECT_EQ(SpanKindName(s.kind), "SPAN_KIND_CLIENT");
  EXPECT_EQ(SpanStatusName(s.status), "STATUS_CODE_ERROR");
}

TEST(OtlpTracesProto, BadIdsAndTimesNameTheFieldAndAppendNothing) {
  SpanBatch b;
  b.spans.emplace_back();  // an earlier request's span stays
  auto req = OneSpanRequest();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_trace_id("abc");
  Status st = DecodeOtlpTracesProto(req.SerializeAsString(), &b);
  EXPECT_EQ(st.reason(), Reason::kMalformed);
  EXPECT_NE(st.message().find("resource_spans[0].scope_spans[0].spans[0].trace_id"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(b.spans.size(), 1u);

  req = OneSpanRequest();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_span_id(
      std::string(8, '\0'));
  st = DecodeOtlpTracesProto(req.SerializeAsString(), &b);
  EXPECT_NE(st.message().find("spans[0].span_id: all-zero"), std::string::npos) << st.message();

  req = OneSpanRequest();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_end_time_unix_nano(
      5);
  st = DecodeOtlpTracesProto(req.SerializeAsString(), &b);
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  EXPECT_NE(st.message().find("end_time_unix_nano"), std::string::npos) << st.message();

  req = OneSpanRequest();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_kind(9);
  st = DecodeOtlpTracesProto(req.SerializeAsString(), &b);
  EXPECT_NE(st.message().find("spans[0].kind: unknown span kind 9"), std::string::npos);

  req = OneSpanRequest();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name("\xff");
  st = DecodeOtlpTracesProto(req.SerializeAsString(), &b);
  EXPECT_EQ(st.reason(), Reason::kUtf8);
  EXPECT_NE(st.message().find("otlp traces: resource_spans[0].scope_spans[0].spans[0].name: not "
                              "valid UTF-8 (byte 0)"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(b.spans.size(), 1u);
}

TEST(OtlpTracesProto, LimitsAndMalformedBytes) {
  SpanBatch b;
  const std::string body = OneSpanRequest().SerializeAsString();
  EXPECT_EQ(DecodeOtlpTracesProto(body, &b, body.size() - 1).reason(), Reason::kTooLarge);
  EXPECT_EQ(DecodeOtlpTracesProto("\x0a\x05\x01", &b).reason(), Reason::kMalformed);
  EXPECT_TRUE(b.spans.empty());
}

TEST(OtlpTracesProto, AttributeCapCountsDrops) {
  auto req = OneSpanRequest();
  auto* s = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  for (int i = 0; i < 20; ++i) {
    auto* kv = s->add_attributes();
    kv->set_key("http.x" + std::to_string(i));
    kv->mutable_value()->set_string_value(std::string(5000, 'a'));
  }
  SpanBatch b;
  ASSERT_TRUE(DecodeOtlpTracesProto(req.SerializeAsString(), &b).ok());
  EXPECT_EQ(b.spans[0].attributes.size(), kMaxKeptAttributes);
  EXPECT_EQ(b.dropped_attributes, 21u - kMaxKeptAttributes);
  EXPECT_EQ(b.spans[0].attributes[1].value.size(), kMaxAttributeValueBytes);
}

constexpr const char* kJsonSpan = R"({"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"frontend"}}]},
  "scopeSpans":[{"scope":{"name":"x"},"spans":[
   {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
    "parentSpanId":"","name":"GET /cart","kind":"SPAN_KIND_SERVER",
    "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
    "status":{"code":"STATUS_CODE_OK"},
    "attributes":[{"key":"http.route","value":{"stringValue":"/cart"}},
                  {"key":"http.response.status_code","value":{"intValue":"200"}}]},
   {"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b175",
    "parent_span_id":"eee19b7ec3c1b174","name":"redis","kind":3,
    "start_time_unix_nano":1544712660100000000,"end_time_unix_nano":1544712660200000000}]}]}]})";

TEST(OtlpTracesJson, HexIdsEnumNamesAndSnakeCase) {
  SpanBatch b;
  Status st = DecodeOtlpTracesJson(kJsonSpan, &b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(b.spans.size(), 2u);
  EXPECT_EQ(b.spans[0].trace_id, "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(b.spans[0].parent_span_id, "");
  EXPECT_EQ(b.spans[0].kind, SpanKind::kServer);
  EXPECT_EQ(b.spans[0].status, SpanStatus::kOk);
  EXPECT_EQ(b.spans[0].service, "frontend");
  EXPECT_EQ(b.spans[0].Attribute("http.route"), "/cart");
  EXPECT_EQ(b.spans[0].Attribute("http.response.status_code"), "200");
  EXPECT_EQ(b.spans[1].parent_span_id, "eee19b7ec3c1b174");
  EXPECT_EQ(b.spans[1].kind, SpanKind::kClient);
  EXPECT_EQ(b.spans[1].duration_ns(), 100000000);
}

TEST(OtlpTracesJson, ErrorsNameThePath) {
  SpanBatch b;
  std::string bad = kJsonSpan;
  bad.replace(bad.find("EEE19B7EC3C1B174"), 16, "EEE19B7EC3C1B17Z");
  Status st = DecodeOtlpTracesJson(bad, &b);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_NE(st.message().find("resourceSpans[0].scopeSpans[0].spans[0].spanId: not a hex"),
            std::string::npos)
      << st.message();
  bad = kJsonSpan;
  bad.replace(bad.find("SPAN_KIND_SERVER"), 16, "SPAN_KIND_BOGUS!");
  st = DecodeOtlpTracesJson(bad, &b);
  EXPECT_NE(st.message().find("spans[0].kind"), std::string::npos) << st.message();
  st = DecodeOtlpTracesJson("{\"resourceSpans\": [", &b);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_TRUE(b.spans.empty());
}

}  // namespace
}  // namespace backsight::ingest
