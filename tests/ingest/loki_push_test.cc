#include "backsight/ingest/loki_push.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <string>

namespace backsight::ingest {
namespace {

// Builds a protobuf PushRequest by hand (independent of EncodeLokiPushProto).
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Bytes(int field, const std::string& b) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(b.size()) + b;
}
std::string VarintField(int field, uint64_t v) {
  return Varint(static_cast<uint64_t>(field) << 3) + Varint(v);
}
std::string Entry(int64_t sec, int32_t nanos, const std::string& line,
                  const std::string& meta_level = "") {
  std::string e = Bytes(1, VarintField(1, sec) + VarintField(2, nanos)) + Bytes(2, line);
  if (!meta_level.empty()) e += Bytes(3, Bytes(1, "level") + Bytes(2, meta_level));
  return e;
}
std::string Compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

TEST(LokiLabels, ParsesGoQuotedValuesSorted) {
  Labels l;
  ASSERT_TRUE(ParseLokiLabels(R"({service_name="api", env = "a \"b\"\n",})", &l).ok());
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "env");
  EXPECT_EQ(l[0].value, "a \"b\"\n");
  EXPECT_EQ(l[1].name, "service_name");
  EXPECT_TRUE(ParseLokiLabels("{}", &l).ok());
  EXPECT_TRUE(l.empty());
}

TEST(LokiLabels, RefusesWithOffset) {
  Labels l;
  Status st = ParseLokiLabels(R"({app=~"x"})", &l);
  EXPECT_EQ(st.reason(), Reason::kLabels);
  EXPECT_NE(st.message().find("byte 5"), std::string::npos) << st.ToString();
  EXPECT_FALSE(ParseLokiLabels(R"({a="1", a="2"})", &l).ok());
  EXPECT_FALSE(ParseLokiLabels(R"({a="1)", &l).ok());
  EXPECT_FALSE(ParseLokiLabels(R"(app="x")", &l).ok());
}

TEST(LokiPushProto, DecodesStreamsEntriesAndLevels) {
  std::string s1 = Bytes(1, R"({app="shop", level="warn"})") +
                   Bytes(2, Entry(1700000000, 5, "GET /a took 3ms")) +
                   Bytes(2, Entry(1700000001, 0, "disk full", "error"));
  std::string s2 = Bytes(1, R"({job="batch"})") + Bytes(2, Entry(1, 2, "x"));
  LogBatch b;
  ASSERT_TRUE(DecodeLokiPushProto(Compress(Bytes(1, s1) + Bytes(1, s2)), &b).ok());
  ASSERT_EQ(b.streams.size(), 2u);
  EXPECT_EQ(b.streams[0].service, "shop");
  ASSERT_EQ(b.streams[0].entries.size(), 2u);
  EXPECT_EQ(b.streams[0].entries[0].ts, 1700000000LL * 1000000000 + 5);
  EXPECT_EQ(b.streams[0].entries[0].line, "GET /a took 3ms");
  EXPECT_EQ(b.streams[0].entries[0].level, "warn");   // stream label
  EXPECT_EQ(b.streams[0].entries[1].level, "error");  // structured metadata wins
  EXPECT_EQ(b.streams[1].service, "batch");
  EXPECT_EQ(b.lines(), 3u);
  // Lines are views into the batch's buffer: no copy per line.
  const char* lo = b.buffer.data();
  EXPECT_TRUE(b.streams[0].entries[0].line.data() >= lo &&
              b.streams[0].entries[0].line.data() < lo + b.buffer.size());
  LogBatch moved = std::move(b);
  EXPECT_EQ(moved.streams[0].entries[1].line, "disk full");
}

TEST(LokiPushProto, EncodeRoundTrips) {
  LogBatch b;
  auto& s = b.streams.emplace_back();
  s.labels = {{"app", "x \"q\""}, {"env", "p"}};
  s.entries.push_back({123456789012345, "hello 1", ""});
  std::string body;
  EncodeLokiPushProto(b, &body);
  LogBatch out;
  ASSERT_TRUE(DecodeLokiPushProto(body, &out).ok());
  ASSERT_EQ(out.streams.size(), 1u);
  EXPECT_EQ(out.streams[0].labels, s.labels);
  EXPECT_EQ(out.streams[0].service, "x \"q\"");
  EXPECT_EQ(out.streams[0].entries[0].ts, 123456789012345);
  EXPECT_EQ(out.streams[0].entries[0].line, "hello 1");
}

TEST(LokiPushProto, ErrorsNameReasonAndPlace) {
  LogBatch b;
  Status st = DecodeLokiPushProto("not snappy at all \xff\xff\xff\xff\xff", &b);
  EXPECT_EQ(st.reason(), Reason::kSnappy) << st.ToString();
  // An entry whose length says more bytes than its stream holds.
  std::string stream = Bytes(1, "{a=\"b\"}") + Varint(2 << 3 | 2) + Varint(100) + "short";
  st = DecodeLokiPushProto(Compress(Bytes(1, stream)), &b);
  EXPECT_EQ(st.reason(), Reason::kMalformed) << st.ToString();
  EXPECT_NE(st.message().find("in streams[0]: field 2 declares 100 bytes"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(b.streams.empty());
  // Bad label string, invalid UTF-8 line, missing timestamp.
  st = DecodeLokiPushProto(Compress(Bytes(1, Bytes(1, "{a=b}"))), &b);
  EXPECT_EQ(st.reason(), Reason::kLabels) << st.ToString();
  st = DecodeLokiPushProto(Compress(Bytes(1, Bytes(1, "{}") + Bytes(2, Entry(1, 0, "\xc3(")))), &b);
  EXPECT_EQ(st.reason(), Reason::kUtf8) << st.ToString();
  EXPECT_NE(st.message().find("streams[0].entries[0].line"), std::string::npos);
  st = DecodeLokiPushProto(Compress(Bytes(1, Bytes(1, "{}") + Bytes(2, Bytes(2, "x")))), &b);
  EXPECT_EQ(st.reason(), Reason::kTimestamp) << st.ToString();
  // Decompressed size above the limit.
  st = DecodeLokiPushProto(Compress(std::string(1000, 'a')), &b, 100);
  EXPECT_EQ(st.reason(), Reason::kTooLarge) << st.ToString();
}

TEST(LokiPushJson, DecodesValuesAndMetadata) {
  LogBatch b;
  ASSERT_TRUE(DecodeLokiPushJson(R"({"streams":[{"stream":{"service_name":"api","level":"info"},
    "values":[["1700000000000000001","user 42 logged in"],
              ["1700000000000000002","boom",{"level":"error","trace_id":"t"}]]}]})",
                                 &b)
                  .ok());
  ASSERT_EQ(b.streams.size(), 1u);
  EXPECT_EQ(b.streams[0].service, "api");
  ASSERT_EQ(b.streams[0].entries.size(), 2u);
  EXPECT_EQ(b.streams[0].entries[0].ts, 1700000000000000001);
  EXPECT_EQ(b.streams[0].entries[0].line, "user 42 logged in");
  EXPECT_EQ(b.streams[0].entries[0].level, "info");
  EXPECT_EQ(b.streams[0].entries[1].level, "error");
  EXPECT_EQ(b.streams[0].labels.size(), 2u);
}

TEST(LokiPushJson, ErrorsNamePath) {
  LogBatch b;
  Status st = DecodeLokiPushJson(R"({"streams":[{"stream":{},"values":[["x","l"]]}]})", &b);
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  EXPECT_NE(st.message().find("streams[0].values[0][0]"), std::string::npos) << st.ToString();
  st = DecodeLokiPushJson(R"({"streams":[{"stream":{"a":1}}]})", &b);
  EXPECT_EQ(st.reason(), Reason::kJson) << st.ToString();
  st = DecodeLokiPushJson(R"({"streams":[)", &b);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_NE(st.message().find("byte"), std::string::npos) << st.ToString();
  // Named as Loki JSON, not as the OTLP decoders whose JSON diagnosis it shares.
  EXPECT_EQ(st.message().rfind("loki json: byte ", 0), 0u) << st.ToString();
  EXPECT_TRUE(b.streams.empty());
}

}  // namespace
}  // namespace backsight::ingest
