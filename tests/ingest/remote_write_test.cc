#include "backsight/ingest/remote_write.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace backsight::ingest {
namespace {

// Minimal protobuf wire writer, independent of the generated code, to craft bodies by hand.
struct Wire {
  std::string b;
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      b.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    b.push_back(static_cast<char>(v));
  }
  void Tag(int field, int wt) { Varint(static_cast<uint64_t>(field) << 3 | wt); }
  void Bytes(int field, std::string_view s) {
    Tag(field, 2);
    Varint(s.size());
    b.append(s);
  }
  void Double(int field, double d) {
    Tag(field, 1);
    char buf[8];
    std::memcpy(buf, &d, 8);
    b.append(buf, 8);
  }
  void Int(int field, int64_t v) {
    Tag(field, 0);
    Varint(static_cast<uint64_t>(v));
  }
};

std::string LabelMsg(std::string_view n, std::string_view v) {
  Wire w;
  w.Bytes(1, n);
  w.Bytes(2, v);
  return w.b;
}
std::string SampleMsg(double v, int64_t ts_ms) {
  Wire w;
  w.Double(1, v);
  w.Int(2, ts_ms);
  return w.b;
}

std::string Snappy(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

TimeSeries MakeSeries(Labels labels, MetricKind kind, std::vector<Sample> samples) {
  SortLabels(&labels);
  return TimeSeries{std::move(labels), kind, std::move(samples)};
}

TEST(RemoteWrite, RoundTripPreservesLabelsSamplesAndKinds) {
  std::vector<TimeSeries> in = {
      MakeSeries({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}},
                 MetricKind::kCounter,
                 {{1'700'000'000'000'000'000, 10}, {1'700'000'015'000'000'000, 12.5}}),
      MakeSeries({{"__name__", "temp_celsius"}, {"room", "ünïcode \"quoted\"\n"}},
                 MetricKind::kGauge, {{1'700'000'000'123'000'000, -3.25}}),
      MakeSeries({{"__name__", "lat_seconds_bucket"}, {"le", "+Inf"}}, MetricKind::kHistogram,
                 {{0, 7}}),
      MakeSeries({{"__name__", "lat_seconds_sum"}}, MetricKind::kHistogram, {{0, 1.5}}),
      MakeSeries({{"__name__", "untyped_thing"}}, MetricKind::kUnknown,
                 {{-1'000'000, std::numeric_limits<double>::infinity()}}),
  };
  std::string body;
  EncodeRemoteWrite(in, &body);
  std::vector<TimeSeries> out;
  ASSERT_TRUE(DecodeRemoteWrite(body, &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].labels, in[i].labels) << i;
    EXPECT_EQ(out[i].kind, in[i].kind) << i;
    ASSERT_EQ(out[i].samples.size(), in[i].samples.size());
    for (size_t j = 0; j < in[i].samples.size(); ++j) {
      EXPECT_EQ(out[i].samples[j].ts, in[i].samples[j].ts);
      EXPECT_EQ(out[i].samples[j].value, in[i].samples[j].value);
    }
  }
}

TEST(RemoteWrite, ReusesOutputVectorAndShrinksIt) {
  std::vector<TimeSeries> big, small;
  for (int i = 0; i < 10; ++i) {
    big.push_back(MakeSeries({{"__name__", "m"}, {"i", std::to_string(i)}}, MetricKind::kGauge,
                             {{1000000, double(i)}}));
  }
  small.push_back(
      MakeSeries({{"__name__", "x"}}, MetricKind::kUnknown, {{2000000, 1}, {3000000, 2}}));
  std::string b1, b2;
  EncodeRemoteWrite(big, &b1);
  EncodeRemoteWrite(small, &b2);
  std::vector<TimeSeries> out;
  ASSERT_TRUE(DecodeRemoteWrite(b1, &out).ok());
  EXPECT_EQ(out.size(), 10u);
  ASSERT_TRUE(DecodeRemoteWrite(b2, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "x"}}));
  EXPECT_EQ(out[0].kind, MetricKind::kUnknown);
  EXPECT_EQ(out[0].samples.size(), 2u);
}

TEST(RemoteWrite, DecodesHandCraftedBodyWithMetadataAndStaleNaN) {
  // WriteRequest{timeseries: [{labels: __name__=up, job=node; samples: (1, 1000ms), (stale,
  // 2000)}],
  //              metadata: [{type: GAUGE, metric_family_name: "up", help: "..."}]}
  double stale;
  uint64_t stale_bits = 0x7ff0000000000002ull;  // Prometheus staleness marker
  std::memcpy(&stale, &stale_bits, 8);
  Wire ts;
  ts.Bytes(1, LabelMsg("__name__", "up"));
  ts.Bytes(1, LabelMsg("job", "node"));
  ts.Bytes(2, SampleMsg(1, 1000));
  ts.Bytes(2, SampleMsg(stale, 2000));
  ts.Tag(3, 2);  // an exemplar (ignored)
  ts.Varint(0);
  Wire md;
  md.Int(1, 2);
  md.Bytes(2, "up");
  md.Bytes(4, "1 if the target is up");
  Wire req;
  req.Bytes(1, ts.b);
  req.Bytes(3, md.b);
  std::vector<TimeSeries> out;
  std::vector<RemoteWriteMetadata> meta;
  Status st = DecodeRemoteWriteWithMetadata(Snappy(req.b), &out, &meta);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "up"}, {"job", "node"}}));
  EXPECT_EQ(out[0].kind, MetricKind::kGauge);
  ASSERT_EQ(out[0].samples.size(), 2u);
  EXPECT_EQ(out[0].samples[0].ts, 1'000'000'000);
  EXPECT_EQ(out[0].samples[1].ts, 2'000'000'000);
  EXPECT_TRUE(std::isnan(out[0].samples[1].value));
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].family, "up");
  EXPECT_EQ(meta[0].help, "1 if the target is up");
}

TEST(RemoteWrite, DecodesHandMadeSnappyLiteralBlock) {
  // A snappy block written by hand (not by the library): varint length, one literal element.
  Wire ts;
  ts.Bytes(1, LabelMsg("__name__", "a"));
  ts.Bytes(2, SampleMsg(2.5, 5));
  Wire req;
  req.Bytes(1, ts.b);
  ASSERT_LT(req.b.size(), 60u);
  std::string body;
  body.push_back(static_cast<char>(req.b.size()));                 // uncompressed length
  body.push_back(static_cast<char>((req.b.size() - 1) << 2 | 0));  // literal, len-1 in tag
  body += req.b;
  std::vector<TimeSeries> out;
  Status st = DecodeRemoteWrite(body, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].samples[0].ts, 5'000'000);
  EXPECT_EQ(out[0].samples[0].value, 2.5);
}

std::string ValidBody() {
  std::vector<TimeSeries> in;
  for (int i = 0; i < 20; ++i) {
    in.push_back(
        MakeSeries({{"__name__", "metric_name"}, {"instance", "host-" + std::to_string(i)}},
                   MetricKind::kGauge, {{1'000'000'000LL * i, 1.0 * i}}));
  }
  std::string body;
  EncodeRemoteWrite(in, &body);
  return body;
}

TEST(RemoteWrite, TruncatedBodiesGiveInvalidArgument) {
  std::string body = ValidBody();
  std::vector<TimeSeries> out;
  for (size_t n = 0; n < body.size(); ++n) {
    Status st = DecodeRemoteWrite(std::string_view(body).substr(0, n), &out);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << n;
    EXPECT_TRUE(out.empty());
  }
}

TEST(RemoteWrite, GarbageGivesInvalidArgumentWithReason) {
  std::vector<TimeSeries> out;
  Status st = DecodeRemoteWrite("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("snappy"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kSnappy);
  // Valid snappy around a protobuf whose length prefix overruns the message.
  std::string raw = "\x0a\x7f\x0a\x02";
  st = DecodeRemoteWrite(Snappy(raw), &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("byte 0 in timeseries[0]"), std::string::npos) << st.message();
  // Malformed, not too large, though the message says "exceeds the ... bytes left".
  EXPECT_EQ(st.reason(), Reason::kMalformed);
  // Uncompressed protobuf sent without snappy.
  Wire ts;
  ts.Bytes(1, LabelMsg("__name__", "a"));
  Wire req;
  req.Bytes(1, ts.b);
  st = DecodeRemoteWrite(req.b, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.reason(), Reason::kSnappy) << st.ToString();
}

TEST(RemoteWrite, OversizedBodyIsRejectedBeforeDecompressing) {
  std::string raw(100000, 'x');
  std::vector<TimeSeries> out;
  Status st = DecodeRemoteWrite(Snappy(raw), &out, 1000);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("exceeds the limit of 1000"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kTooLarge);
  // A preamble claiming 4 GiB of output: beyond snappy's 32-bit length, so not snappy at all.
  std::string bomb = "\x80\x80\x80\x80\x10";
  st = DecodeRemoteWrite(bomb, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.reason(), Reason::kSnappy);
  // One claiming 1 GiB: valid snappy framing, above the default limit.
  st = DecodeRemoteWrite(std::string("\x80\x80\x80\x80\x04", 5) + "\x00\x41", &out);
  EXPECT_EQ(st.reason(), Reason::kTooLarge) << st.ToString();
}

Status DecodeOneSeries(const std::vector<std::pair<std::string, std::string>>& labels,
                       int64_t ts_ms = 1) {
  Wire ts;
  for (const auto& [n, v] : labels) ts.Bytes(1, LabelMsg(n, v));
  ts.Bytes(2, SampleMsg(1, ts_ms));
  Wire req;
  req.Bytes(1, ts.b);
  std::vector<TimeSeries> out;
  return DecodeRemoteWrite(Snappy(req.b), &out);
}

TEST(RemoteWrite, LabelValidation) {
  EXPECT_TRUE(DecodeOneSeries({{"__name__", "a"}, {"b", "x"}}).ok());
  Status st = DecodeOneSeries({{"__name__", "a"}, {"bad-name", "x"}});
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("timeseries[0].labels[1]: invalid label name \"bad-name\""),
            std::string::npos)
      << st.message();
  EXPECT_EQ(st.reason(), Reason::kLabels);
  st = DecodeOneSeries({{"__name__", "a"}, {"z", "1"}, {"b", "2"}});
  EXPECT_NE(st.message().find("not sorted"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kLabels);
  st = DecodeOneSeries({{"__name__", "a"}, {"b", "1"}, {"b", "2"}});
  EXPECT_NE(st.message().find("duplicated"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kLabels);
  st = DecodeOneSeries({{"job", "x"}});
  EXPECT_NE(st.message().find("no __name__"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kLabels);
  st = DecodeOneSeries({{"__name__", "a"}, {"b", "\xc3\x28"}});
  EXPECT_NE(st.message().find("UTF-8"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kUtf8);
  st = DecodeOneSeries({{"__name__", "a"}}, INT64_MAX / 10);
  EXPECT_NE(st.message().find("samples[0].timestamp"), std::string::npos) << st.message();
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  // Empty label values mean "absent" and are dropped.
  Wire ts;
  ts.Bytes(1, LabelMsg("__name__", "a"));
  ts.Bytes(1, LabelMsg("empty", ""));
  ts.Bytes(2, SampleMsg(1, 1));
  Wire req;
  req.Bytes(1, ts.b);
  std::vector<TimeSeries> out;
  ASSERT_TRUE(DecodeRemoteWrite(Snappy(req.b), &out).ok());
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "a"}}));
}

TEST(RemoteWrite, SkipsUnknownFieldsAndDropsHistogramOnlySeries) {
  // Series 0: labels + a native histogram (field 4) only → dropped. Series 1: unknown fields of
  // every wire type, a known field with the wrong wire type, then a sample → kept.
  Wire hist_only;
  hist_only.Bytes(1, LabelMsg("__name__", "h"));
  hist_only.Bytes(4, "\x08\x01");
  Wire ts;
  ts.Int(9, 5);        // unknown varint
  ts.Double(10, 1.0);  // unknown fixed64
  ts.Tag(11, 5);       // unknown fixed32
  ts.b.append("\0\0\0\0", 4);
  ts.Int(1, 7);  // field 1 (labels) as varint: skipped like protobuf does
  ts.Bytes(1, LabelMsg("__name__", "kept"));
  ts.Bytes(2, SampleMsg(3, 4));
  Wire req;
  req.Bytes(1, hist_only.b);
  req.Bytes(1, ts.b);
  req.Int(2, 1);  // reserved field 2
  std::vector<TimeSeries> out;
  Status st = DecodeRemoteWrite(Snappy(req.b), &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, (Labels{{"__name__", "kept"}}));
  EXPECT_EQ(out[0].samples[0].ts, 4'000'000);
  EXPECT_EQ(out[0].samples[0].value, 3);
}

}  // namespace
}  // namespace backsight::ingest
