// The stored capacity history (server/capacity_history.h): bit-exact round trip, damaged rows
// rejected with a reason; and CapacityService's checkpoint + restore through a real state store:
// the same advice right after the restore, a damaged row skipped and counted.
#include "backsight/server/capacity_history.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "backsight/server/capacity_service.h"
#include "backsight/server/config.h"
#include "backsight/store/state_store.h"

namespace backsight::server {
namespace {

CapacityHistory MakeHistory() {
  CapacityHistory h;
  h.labels = {{"__name__", "http_requests_rate"}, {"service", "shop"}};
  h.step_ms = 300'000;
  h.open_bucket = 5'901'234;
  h.open_sum = 1234.5;
  h.open_count = 3;
  h.last_bucket_end = 1'770'370'200'000'000'000;
  h.fitted_at = 24;
  h.since_fit = 7;
  for (int i = 0; i < 31; ++i) h.buckets.push_back(500 + 300 * std::sin(i * 0.1) + 1e-9 * i);
  h.last_sample_ts = (h.open_bucket * 300 + 123) * kNanosPerSecond;
  return h;
}

TEST(CapacityHistoryCodec, RoundTripIsBitExact) {
  const CapacityHistory h = MakeHistory();
  std::string buf;
  EncodeCapacityHistory(h, &buf);
  EXPECT_EQ(buf.substr(0, 4), "BSCH");
  CapacityHistory back;
  ASSERT_TRUE(DecodeCapacityHistory(buf, &back).ok());
  EXPECT_EQ(back.labels, h.labels);
  EXPECT_EQ(back.step_ms, h.step_ms);
  EXPECT_EQ(back.open_bucket, h.open_bucket);
  EXPECT_EQ(back.open_sum, h.open_sum);
  EXPECT_EQ(back.open_count, h.open_count);
  EXPECT_EQ(back.last_bucket_end, h.last_bucket_end);
  EXPECT_EQ(back.fitted_at, h.fitted_at);
  EXPECT_EQ(back.since_fit, h.since_fit);
  EXPECT_EQ(back.last_sample_ts, h.last_sample_ts);
  ASSERT_EQ(back.buckets.size(), h.buckets.size());
  EXPECT_EQ(std::memcmp(back.buckets.data(), h.buckets.data(), h.buckets.size() * sizeof(double)),
            0);
  // No open bucket survives as such.
  CapacityHistory none;
  none.step_ms = 60'000;
  buf.clear();
  EncodeCapacityHistory(none, &buf);
  ASSERT_TRUE(DecodeCapacityHistory(buf, &back).ok());
  EXPECT_EQ(back.open_bucket, INT64_MIN);
  EXPECT_TRUE(back.buckets.empty());
  EXPECT_EQ(back.last_sample_ts, INT64_MIN);
}

// A row of the previous release (v1: no last_sample_ts) still reads; its newest sample is taken
// to be the open bucket's last ns, so a replayed sample of that bucket is not counted twice.
TEST(CapacityHistoryCodec, Version1RowReadsWithTheOpenBucketsEndAsItsNewestSample) {
  const CapacityHistory h = MakeHistory();
  std::string v1;
  EncodeCapacityHistory(h, &v1);
  v1.resize(v1.size() - 8);  // without last_sample_ts
  v1[4] = 1;
  CapacityHistory back;
  ASSERT_TRUE(DecodeCapacityHistory(v1, &back).ok());
  EXPECT_EQ(back.buckets, h.buckets);
  EXPECT_EQ(back.last_sample_ts, (h.open_bucket + 1) * h.step_ms * 1'000'000 - 1);
  EXPECT_EQ(DecodeCapacityHistory(v1 + std::string(8, '\0'), &back).code(),
            Status::Code::kCorruption);  // v1 with v2's extra field: trailing bytes
}

TEST(CapacityHistoryCodec, DamagedRowsAreCorruptionNotACrash) {
  std::string good;
  EncodeCapacityHistory(MakeHistory(), &good);
  CapacityHistory back;
  for (size_t n = 0; n < good.size(); ++n) {  // every truncation
    EXPECT_EQ(DecodeCapacityHistory(std::string_view(good).substr(0, n), &back).code(),
              Status::Code::kCorruption)
        << n;
  }
  EXPECT_EQ(DecodeCapacityHistory(good + "x", &back).code(), Status::Code::kCorruption);
  std::string other = good;
  other[0] = 'X';  // another magic
  EXPECT_EQ(DecodeCapacityHistory(other, &back).code(), Status::Code::kCorruption);
  std::string v3 = good;
  v3[4] = 3;  // a version this build does not read
  EXPECT_EQ(DecodeCapacityHistory(v3, &back).code(), Status::Code::kCorruption);

  CapacityHistory big = MakeHistory();
  big.buckets.assign(kMaxCapacityHistory + 1, 1.0);
  std::string buf;
  EncodeCapacityHistory(big, &buf);
  Status st = DecodeCapacityHistory(buf, &back);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("at most 2016"), std::string::npos) << st.ToString();

  CapacityHistory nan = MakeHistory();
  nan.buckets[3] = std::numeric_limits<double>::quiet_NaN();
  buf.clear();
  EncodeCapacityHistory(nan, &buf);
  EXPECT_EQ(DecodeCapacityHistory(buf, &back).code(), Status::Code::kCorruption);

  CapacityHistory zero = MakeHistory();
  zero.step_ms = 0;
  buf.clear();
  EncodeCapacityHistory(zero, &buf);
  EXPECT_EQ(DecodeCapacityHistory(buf, &back).code(), Status::Code::kCorruption);
}

// Found by fuzz/capacity_history_fuzz.cc: a damaged row whose numbers overflow the service's ns
// arithmetic (CloseBucket's (bucket + 1) * step, the v1 row's newest sample time) or that would
// put a wrong count or a NaN into a bucket mean is Corruption naming the field.
TEST(CapacityHistoryCodec, RowsOverflowingNsArithmeticAreCorruption) {
  const auto expect_refused = [](const CapacityHistory& h, uint32_t version, const char* field) {
    std::string buf;
    EncodeCapacityHistory(h, &buf);
    if (version == 1) {  // v1: the same fields without last_sample_ts
      buf[4] = 1;
      buf.resize(buf.size() - 8);
    }
    CapacityHistory back;
    const Status st = DecodeCapacityHistory(buf, &back);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << field << " v" << version;
    EXPECT_NE(st.message().find(field), std::string::npos) << st.ToString();
  };
  for (uint32_t version : {1u, 2u}) {
    CapacityHistory far = MakeHistory();
    far.open_bucket = INT64_MAX / (far.step_ms * 1'000'000);  // its end is past int64 ns
    expect_refused(far, version, "open_bucket");
    far.open_bucket = INT64_MAX;
    expect_refused(far, version, "open_bucket");
    CapacityHistory wide = MakeHistory();
    wide.step_ms = INT64_MAX / 1'000'000 + 1;  // the step in ns is past int64
    expect_refused(wide, version, "step_ms");
    CapacityHistory nan = MakeHistory();
    nan.open_sum = std::numeric_limits<double>::infinity();
    expect_refused(nan, version, "open_sum");
    CapacityHistory many = MakeHistory();
    many.open_count = uint64_t{1} << 32;  // would count as 0 samples in the service's int
    expect_refused(many, version, "open_count");
  }
  // The last bucket that fits is read, v1 included (its newest sample: the bucket's last ns).
  CapacityHistory edge = MakeHistory();
  const int64_t step_ns = edge.step_ms * 1'000'000;
  edge.open_bucket = INT64_MAX / step_ns - 1;
  std::string buf;
  EncodeCapacityHistory(edge, &buf);
  buf[4] = 1;
  buf.resize(buf.size() - 8);
  CapacityHistory back;
  ASSERT_TRUE(DecodeCapacityHistory(buf, &back).ok());
  EXPECT_EQ(back.last_sample_ts, (edge.open_bucket + 1) * step_ns - 1);
}

class CapacityRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("backsight_capacity_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string yaml =
        "capacity:\n"
        "  - demand: 'http_requests_rate{job=\"web\"}'\n    per_replica: 100\n"
        "    horizon: 6h\n    startup: 5m\n    step: 5m\n";
    ASSERT_TRUE(LoadConfigText(yaml, "test", &cfg_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static constexpr int64_t kStart = 1'770'000'000 / 86400 * 86400;  // a UTC midnight, s

  // Three and a half days of a daily swing (minute samples), "shop" and "batch".
  static void Feed(CapacityService* s) {
    for (int64_t day = 0; day < 4; ++day) {
      std::vector<TimeSeries> batch(2);
      for (int i = 0; i < 2; ++i) {
        batch[i].labels = {{"__name__", "http_requests_rate"},
                           {"job", "web"},
                           {"service", i == 0 ? "shop" : "batch"}};
        SortLabels(&batch[i].labels);
      }
      const int64_t end = kStart + std::min<int64_t>((day + 1) * 86400, 3 * 86400 + 43210);
      for (int64_t t = kStart + day * 86400; t < end; t += 60) {
        const double wiggle = 5 * std::sin(static_cast<double>(t) * 1.7);
        batch[0].samples.push_back(
            {t * kNanosPerSecond, 500 + 300 * std::sin(6.283185307179586 * t / 86400) + wiggle});
        batch[1].samples.push_back({t * kNanosPerSecond, 500 + wiggle});
      }
      s->Observe(batch);
    }
  }

  std::filesystem::path dir_;
  ServeConfig cfg_;
};

TEST_F(CapacityRestoreTest, SameAdviceAfterRestoreAndDamagedRowSkipped) {
  const std::string db = (dir_ / "backsight.db").string();
  std::string before;
  {
    store::StateStore st;
    ASSERT_TRUE(st.Open(db).ok());
    CapacityService live(cfg_);
    Feed(&live);
    before = live.ApiJson();
    ASSERT_NE(before.find("\"service\":\"shop\""), std::string::npos) << before;
    ASSERT_TRUE(live.Checkpoint(&st, /*all=*/true).ok());
    // A damaged row next to the good ones.
    ASSERT_TRUE(st.SaveCapacity({{42, "BSCH garbage", 1}}).ok());
  }
  store::StateStore st;
  ASSERT_TRUE(st.Open(db).ok());
  CapacityService restored(cfg_);
  std::vector<std::string> skipped_rows;
  uint64_t restored_n = 0, skipped_n = 0;
  ASSERT_TRUE(restored
                  .Restore(
                      &st,
                      [&](const std::string& series, const std::string& why) {
                        skipped_rows.push_back(series + ": " + why);
                      },
                      &restored_n, &skipped_n)
                  .ok());
  EXPECT_EQ(restored_n, 2u);
  EXPECT_EQ(skipped_n, 1u);
  ASSERT_EQ(skipped_rows.size(), 1u);
  EXPECT_NE(skipped_rows[0].find("capacity history"), std::string::npos) << skipped_rows[0];
  // The same figures before any new sample: the model was rebuilt as it was live.
  EXPECT_EQ(restored.ApiJson(), before);

  // A rule that selects nothing stored any more: the rows are skipped with the reason, and the
  // next checkpoint deletes them (not the damaged row: it may be a newer build's).
  ServeConfig other;
  ASSERT_TRUE(
      LoadConfigText("capacity:\n  - demand: queue_rate\n    per_replica: 10\n", "t", &other).ok());
  CapacityService unrelated(other);
  restored_n = skipped_n = 0;
  skipped_rows.clear();
  ASSERT_TRUE(unrelated
                  .Restore(
                      &st,
                      [&](const std::string& series, const std::string& why) {
                        skipped_rows.push_back(series + ": " + why);
                      },
                      &restored_n, &skipped_n)
                  .ok());
  EXPECT_EQ(restored_n, 0u);
  EXPECT_EQ(skipped_n, 3u);
  ASSERT_EQ(skipped_rows.size(), 3u);
  EXPECT_NE(skipped_rows[1].find("no capacity rule selects it now; its row is deleted"),
            std::string::npos)
      << skipped_rows[1];
  std::vector<uint64_t> left;
  auto rows = [&] {
    left.clear();
    EXPECT_TRUE(st.LoadCapacity([&](store::CapacityRecord&& rec) {
                    left.push_back(rec.fp);
                    return Status::OK();
                  }).ok());
    return left.size();
  };
  EXPECT_EQ(rows(), 3u);
  ASSERT_TRUE(unrelated.Checkpoint(&st, /*all=*/false).ok());
  ASSERT_EQ(rows(), 1u);
  EXPECT_EQ(left[0], 42u);
  // Without any rule every row is one no rule selects.
  CapacityService again(cfg_);
  Feed(&again);
  ASSERT_TRUE(again.Checkpoint(&st, /*all=*/true).ok());
  EXPECT_EQ(rows(), 3u);
  CapacityService none{ServeConfig{}};
  restored_n = skipped_n = 0;
  ASSERT_TRUE(none.Restore(&st, nullptr, &restored_n, &skipped_n).ok());
  EXPECT_EQ(skipped_n, 3u);
  ASSERT_TRUE(none.Checkpoint(&st, /*all=*/true).ok());
  EXPECT_EQ(rows(), 1u);
}

// The one rule of sample_sink.h: a sample not newer than its series' newest one taken is
// ignored, restored rows included. The log replay (or a sender's retry) hands a restored service
// samples its row already holds, mixed with new ones; only the new ones count.
TEST_F(CapacityRestoreTest, SamplesTheRestoredRowHoldsAreNotCountedTwice) {
  const std::string db = (dir_ / "backsight.db").string();
  auto day4 = [](int64_t from, int64_t to) {
    std::vector<TimeSeries> batch(1);
    batch[0].labels = {{"__name__", "http_requests_rate"}, {"job", "web"}, {"service", "shop"}};
    SortLabels(&batch[0].labels);
    for (int64_t t = from; t < to; t += 60) {
      batch[0].samples.push_back(
          {t * kNanosPerSecond,
           500 + 300 * std::sin(6.283185307179586 * t / 86400) + static_cast<double>(t % 7)});
    }
    return batch;
  };
  const int64_t t0 = kStart + 3 * 86400 + 43210;  // where Feed stops
  CapacityService live(cfg_);
  Feed(&live);
  live.Observe(day4(t0, t0 + 3000));  // the open bucket and some closed ones
  {
    store::StateStore st;
    ASSERT_TRUE(st.Open(db).ok());
    ASSERT_TRUE(live.Checkpoint(&st, /*all=*/true).ok());
  }
  live.Observe(day4(t0 + 3000, t0 + 6000));
  live.Observe(day4(t0, t0 + 6000));         // everything again (a retry): ignored
  live.Observe(day4(t0 + 6000, t0 + 6600));  // closes the bucket the retry would have grown
  const std::string want = live.ApiJson();
  ASSERT_NE(want.find("\"service\":\"shop\""), std::string::npos) << want;
  CapacityService once(cfg_);  // the same samples without the retry
  Feed(&once);
  once.Observe(day4(t0, t0 + 6600));
  EXPECT_EQ(once.ApiJson(), want);

  store::StateStore st;
  ASSERT_TRUE(st.Open(db).ok());
  CapacityService restored(cfg_);
  uint64_t restored_n = 0, skipped_n = 0;
  ASSERT_TRUE(restored.Restore(&st, nullptr, &restored_n, &skipped_n).ok());
  ASSERT_EQ(restored_n, 2u);
  // The replay starts before the checkpoint (records of the segment it rotated to).
  restored.Observe(day4(t0 + 1500, t0 + 6000));
  restored.Observe(day4(t0 + 6000, t0 + 6600));
  EXPECT_EQ(restored.ApiJson(), want);
}

TEST_F(CapacityRestoreTest, PeriodicCheckpointSkipsSeriesWithoutANewBucket) {
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "backsight.db").string()).ok());
  CapacityService live(cfg_);
  Feed(&live);
  auto count = [&] {
    size_t n = 0;
    EXPECT_TRUE(st.LoadCapacity([&](store::CapacityRecord&&) {
                    ++n;
                    return Status::OK();
                  }).ok());
    return n;
  };
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/false).ok());
  EXPECT_EQ(count(), 2u);
  ASSERT_TRUE(st.Open((dir_ / "other.db").string()).ok());
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/false).ok());
  EXPECT_EQ(count(), 0u);  // nothing changed since the last save
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/true).ok());
  EXPECT_EQ(count(), 0u);
  // One more sample of "shop" in its open bucket: only a full checkpoint (shutdown) saves it.
  std::vector<TimeSeries> one(1);
  one[0].labels = {{"__name__", "http_requests_rate"}, {"job", "web"}, {"service", "shop"}};
  SortLabels(&one[0].labels);
  one[0].samples.push_back({(kStart + 3 * 86400 + 43201) * kNanosPerSecond, 600});
  live.Observe(one);
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/false).ok());
  EXPECT_EQ(count(), 0u);
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/true).ok());
  EXPECT_EQ(count(), 1u);
  // A sample in the next bucket closes one: a periodic checkpoint saves it.
  ASSERT_TRUE(st.Open((dir_ / "third.db").string()).ok());
  one[0].samples[0].ts += 300 * kNanosPerSecond;
  live.Observe(one);
  ASSERT_TRUE(live.Checkpoint(&st, /*all=*/false).ok());
  EXPECT_EQ(count(), 1u);
}

// History of a daily swing at any step; records the ranges asked for.
class SwingHistory : public HistorySource {
 public:
  Status Fetch(const Labels&, TimestampNs start, TimestampNs end, int64_t step_ms,
               std::vector<Sample>* out) override {
    std::lock_guard<std::mutex> lock(mu);
    ++fetches;
    last_start = start;
    last_end = end;
    for (TimestampNs t = start; t <= end; t += step_ms * 1'000'000) {
      out->push_back({t, 500 + 300 * std::sin(6.283185307179586 * (t / 1e9) / 86400)});
    }
    return Status::OK();
  }
  std::mutex mu;
  int fetches = 0;
  TimestampNs last_start = 0, last_end = 0;
};

TEST_F(CapacityRestoreTest, WarmStartGivesSeasonalAdviceFromTheFirstBucket) {
  SwingHistory history;
  CapacityService s(cfg_);
  s.EnableWarmStart(&history, 7 * 86'400'000LL);  // history.lookback's default
  // Five minutes of live samples at 12:00 (the swing's 500, falling), into one bucket and the
  // next: without history no advice (12 buckets needed).
  const int64_t noon = kStart + 3 * 86400 + 43200;
  std::vector<TimeSeries> live(1);
  live[0].labels = {{"__name__", "http_requests_rate"}, {"job", "web"}, {"service", "shop"}};
  SortLabels(&live[0].labels);
  for (int64_t t = noon; t <= noon + 300; t += 60)
    live[0].samples.push_back({t * kNanosPerSecond, 500});
  s.Observe(live);
  nlohmann::json api;
  for (int i = 0; i < 500; ++i) {
    api = nlohmann::json::parse(s.ApiJson());
    if (!api["data"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(api["data"].size(), 1u) << api.dump();
  EXPECT_EQ(history.fetches, 1);
  EXPECT_LT(history.last_end, noon * kNanosPerSecond);  // only before the first live bucket
  // The trough of the swing (200) lies within 6 h; a peak later: the forecast knows the day.
  const CapacityService::WarmStats w = s.warm_stats();
  EXPECT_EQ(w.series_warm, 1u);
  EXPECT_EQ(w.buckets, kMaxCapacityHistory - 1);  // the week, less the live bucket closed
  EXPECT_EQ(w.fetch_errors, 0u);
  // Six hours ahead from noon the swing falls to 200: no peak above the current demand.
  EXPECT_LE(api["data"][0]["forecast_peak"].get<double>(), 560) << api.dump();
  // Restart the clock at 18:00 (the trough): the coming 6 h rise towards 500.
  live[0].samples.clear();
  for (int64_t t = noon + 600; t <= noon + 6 * 3600; t += 300) {
    live[0].samples.push_back(
        {t * kNanosPerSecond, 500 + 300 * std::sin(6.283185307179586 * t / 86400)});
  }
  s.Observe(live);
  api = nlohmann::json::parse(s.ApiJson());
  EXPECT_GT(api["data"][0]["forecast_peak"].get<double>(), 400) << api.dump();
  s.Stop();
}

// history.lookback bounds the warm start: a day at a 5-minute step fetches 288 buckets before
// the first live one, not the week a row can hold; a lookback under one step fetches one.
TEST_F(CapacityRestoreTest, WarmStartFetchesOnlyTheLookback) {
  const int64_t noon = kStart + 3 * 86400 + 43200;  // a bucket boundary
  for (const auto& [lookback_ms, want_buckets] :
       std::vector<std::pair<int64_t, uint64_t>>{{86'400'000, 288}, {1000, 1}}) {
    SCOPED_TRACE(lookback_ms);
    SwingHistory history;
    CapacityService s(cfg_);
    s.EnableWarmStart(&history, lookback_ms);
    std::vector<TimeSeries> live(1);
    live[0].labels = {{"__name__", "http_requests_rate"}, {"job", "web"}, {"service", "shop"}};
    SortLabels(&live[0].labels);
    live[0].samples.push_back({noon * kNanosPerSecond, 500});
    s.Observe(live);
    for (int i = 0; i < 500 && s.warm_stats().series_warm == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(s.warm_stats().series_warm, 1u);
    EXPECT_EQ(s.warm_stats().buckets, want_buckets);
    std::lock_guard<std::mutex> lock(history.mu);
    EXPECT_EQ(history.last_start,
              (noon - static_cast<int64_t>(want_buckets) * 300) * kNanosPerSecond);
    s.Stop();
  }
}

}  // namespace
}  // namespace backsight::server
