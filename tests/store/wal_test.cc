#include "backsight/store/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "backsight/store/sample_batch.h"
#include "backsight/store/state_store.h"

namespace backsight::store {
namespace {

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("backsight_wal_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Replays everything written before `w` was opened; returns the records, fills *bad.
  static std::vector<std::string> ReplayAll(Wal* w, std::vector<WalCorruption>* bad,
                                            WalReplayStats* stats = nullptr) {
    std::vector<std::string> out;
    Status st = w->Replay(
        w->first_segment(),
        [&](std::string_view r) {
          out.emplace_back(r);
          return Status::OK();
        },
        [&](const WalCorruption& c) {
          bad->push_back(c);
          bad->back().payload = {};
        },
        stats);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  static std::string Rec(int i) { return "record-" + std::to_string(i) + std::string(i * 7, 'x'); }

  std::string dir_;
};

TEST_F(WalTest, RoundTripAcrossRotationsAndReopen) {
  {
    std::unique_ptr<Wal> w;
    ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
    EXPECT_EQ(w->first_segment(), 0u);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(w->Append(Rec(i)).ok());
      if (i == 4) {
        ASSERT_TRUE(w->Rotate(nullptr).ok());
      }
    }
    EXPECT_EQ(w->segment_count(), 2u);
    EXPECT_EQ(w->size_bytes(), std::filesystem::file_size(w->SegmentPath(0)) +
                                   std::filesystem::file_size(w->SegmentPath(1)));
  }
  std::unique_ptr<Wal> w;
  ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
  EXPECT_EQ(w->first_segment(), 2u);  // a new segment after the existing ones
  std::vector<WalCorruption> bad;
  WalReplayStats stats;
  auto recs = ReplayAll(w.get(), &bad, &stats);
  ASSERT_EQ(recs.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(recs[i], Rec(i));
  EXPECT_TRUE(bad.empty());
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(stats.records, 10u);
}

TEST_F(WalTest, SegmentsRollOverAtTheConfiguredSize) {
  WalOptions o;
  o.segment_bytes = 100;
  std::unique_ptr<Wal> w;
  ASSERT_TRUE(Wal::Open(dir_, o, &w).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(w->Append(std::string(40, 'a' + i)).ok());
  EXPECT_EQ(w->segment_count(), 3u);  // two 49-byte records per segment
  w.reset();
  ASSERT_TRUE(Wal::Open(dir_, o, &w).ok());
  std::vector<WalCorruption> bad;
  auto recs = ReplayAll(w.get(), &bad);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[5], std::string(40, 'f'));
}

TEST_F(WalTest, CrcMismatchEndsItsSegmentAndIsReportedNextSegmentStillRead) {
  {
    std::unique_ptr<Wal> w;
    ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->Append(Rec(i)).ok());
    ASSERT_TRUE(w->Rotate(nullptr).ok());
    ASSERT_TRUE(w->Append(Rec(3)).ok());
  }
  // Flip one payload byte of the second record of segment 0.
  const std::string seg0 = dir_ + "/00000000";
  const size_t off = kWalHeaderBytes + Rec(0).size() + kWalHeaderBytes + 3;
  {
    std::fstream f(seg0, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(off));
    f.put('#');
  }
  std::unique_ptr<Wal> w;
  ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
  std::vector<WalCorruption> bad;
  WalReplayStats stats;
  auto recs = ReplayAll(w.get(), &bad, &stats);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0], Rec(0));
  EXPECT_EQ(recs[1], Rec(3));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].segment, 0u);
  EXPECT_EQ(bad[0].offset, kWalHeaderBytes + Rec(0).size());
  EXPECT_FALSE(bad[0].torn);
  EXPECT_NE(bad[0].reason.find("CRC32"), std::string::npos) << bad[0].reason;
  EXPECT_EQ(stats.corrupt, 1u);
}

TEST_F(WalTest, TornTailIsToleratedAndReported) {
  {
    std::unique_ptr<Wal> w;
    ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(w->Append(Rec(i)).ok());
  }
  const std::string seg0 = dir_ + "/00000000";
  for (int cut : {3, 20}) {  // inside the payload, then inside the last header
    const auto size = std::filesystem::file_size(seg0);
    std::filesystem::resize_file(seg0, size - (cut == 3 ? 3 : Rec(3).size() + 4));
    std::unique_ptr<Wal> w;
    ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
    std::vector<WalCorruption> bad;
    auto recs = ReplayAll(w.get(), &bad);
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[2], Rec(2));
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_TRUE(bad[0].torn) << bad[0].reason;
    EXPECT_NE(bad[0].reason.find("torn"), std::string::npos);
  }
  // Zeros at the end (a crash after the file grew but before its data landed) are a torn tail.
  std::filesystem::resize_file(seg0,
                               3 * kWalHeaderBytes + Rec(0).size() + Rec(1).size() + Rec(2).size());
  std::ofstream(seg0, std::ios::app | std::ios::binary) << std::string(64, '\0');
  std::unique_ptr<Wal> w;
  ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
  std::vector<WalCorruption> bad;
  EXPECT_EQ(ReplayAll(w.get(), &bad).size(), 3u);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_TRUE(bad[0].torn);
}

TEST_F(WalTest, RemoveBeforeDeletesOlderSegmentsOnly) {
  std::unique_ptr<Wal> w;
  ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
  ASSERT_TRUE(w->Append(Rec(0)).ok());
  uint64_t keep = 0;
  ASSERT_TRUE(w->Rotate(&keep).ok());
  EXPECT_EQ(keep, 1u);
  ASSERT_TRUE(w->Append(Rec(1)).ok());
  ASSERT_TRUE(w->RemoveBefore(keep).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/00000000"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/00000001"));
  EXPECT_EQ(w->segment_count(), 1u);
  EXPECT_EQ(w->size_bytes(), kWalHeaderBytes + Rec(1).size());
  w.reset();
  ASSERT_TRUE(Wal::Open(dir_, {}, &w).ok());
  std::vector<WalCorruption> bad;
  auto recs = ReplayAll(w.get(), &bad);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], Rec(1));
}

TEST(WalSegmentReader, UnknownTypeIsCorruptNotTorn) {
  std::string seg;
  AppendWalRecord("abc", &seg);
  seg += std::string("\x07garbage", 8);
  WalSegmentReader r(seg);
  std::string_view rec;
  ASSERT_TRUE(r.Next(&rec));
  EXPECT_EQ(rec, "abc");
  EXPECT_FALSE(r.Next(&rec));
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(r.torn());
  EXPECT_EQ(r.offset(), kWalHeaderBytes + 3);
}

TEST(SampleBatch, RoundTripIsBitExact) {
  Labels a = {{"__name__", "up"}, {"job", "x"}};
  Labels b = {{"__name__", "reqs_total"}};
  std::string la, lb, rec;
  EncodeLabels(a, &la);
  EncodeLabels(b, &lb);
  const double nan_payload = std::bit_cast<double>(0x7ff8dead00000001ull);
  std::vector<Sample> sa = {{-5, 1.5}, {1'700'000'000'000'000'000, -0.0}, {10, nan_payload}};
  std::vector<Sample> sb = {{INT64_MAX, INFINITY}, {INT64_MIN, 3}};
  AppendBatchSeries(11, MetricKind::kGauge, la, sa.data(), sa.size(), &rec);
  AppendBatchSeries(22, MetricKind::kCounter, lb, sb.data(), sb.size(), &rec);
  std::vector<BatchSeries> out;
  ASSERT_TRUE(DecodeSampleBatch(rec, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].fp, 11u);
  EXPECT_EQ(out[0].series.labels, a);
  EXPECT_EQ(out[1].series.kind, MetricKind::kCounter);
  ASSERT_EQ(out[0].series.samples.size(), 3u);
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(out[0].series.samples[i].ts, sa[i].ts);
    EXPECT_EQ(std::bit_cast<uint64_t>(out[0].series.samples[i].value),
              std::bit_cast<uint64_t>(sa[i].value));
  }
  EXPECT_EQ(out[1].series.samples[0].ts, INT64_MAX);
  EXPECT_EQ(out[1].series.samples[1].ts, INT64_MIN);
  // Cut short: the first series is still decoded, the error names the field.
  Status st = DecodeSampleBatch(std::string_view(rec).substr(0, rec.size() - 3), &out);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_EQ(out.size(), 1u);
  // A sample count the record cannot hold is refused before allocating.
  std::string huge;
  AppendBatchSeries(1, MetricKind::kGauge, la, nullptr, 0, &huge);
  huge.back() = '\x7f';
  EXPECT_FALSE(DecodeSampleBatch(huge, &out).ok());
}

}  // namespace
}  // namespace backsight::store
