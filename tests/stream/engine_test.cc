#include "backsight/stream/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <mutex>

#include "backsight/core/byte_io.h"
#include "backsight/detect/default_detector.h"
#include "backsight/ingest/counter_rate.h"
#include "backsight/server/metric_model.h"
#include "stream_test_util.h"

namespace backsight::stream {
namespace {

using testing::CollectingSink;
using testing::kStep;
using testing::kT0;

double Value(int series, int i) {
  return 100 + 10 * std::sin(i * 0.1 + series) + (i % 7) * 0.5 + (i == 400 ? 80 : 0);
}

TimeSeries Make(int series, int from, int to) {
  TimeSeries ts;
  ts.labels = {{"job", "j"}, {"__name__", "m"}, {"id", std::to_string(series)}};
  ts.kind = MetricKind::kGauge;
  for (int i = from; i < to; ++i) ts.samples.push_back({kT0 + i * kStep, Value(series, i)});
  return ts;
}

// `o` running the metric models of `backsight serve` (server/metric_model.h).
EngineOptions Metric(EngineOptions o) {
  o.model_factory = server::MakeMetricModelFactory(/*counters_as_rates=*/true);
  return o;
}

Labels Sorted(Labels l) {
  SortLabels(&l);
  return l;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("backsight_engine_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(EngineTest, ScoresEverySeriesLikeAStandaloneDetector) {
  Engine e(Metric({.workers = 2}), nullptr);
  e.Start();
  std::vector<TimeSeries> batch;
  for (int s = 0; s < 10; ++s) batch.push_back(Make(s, 0, 300));
  ASSERT_TRUE(e.Submit(std::move(batch)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  EXPECT_EQ(e.stats().series_active, 10u);
  EXPECT_EQ(e.stats().samples_processed, 3000u);
  for (int s = 0; s < 10; ++s) {
    auto det = detect::MakeDefaultDetector();
    detect::DetectionResult r;
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(det->Update(kT0 + i * kStep, Value(s, i), &r).ok());
    SeriesSnapshot snap;
    ASSERT_TRUE(e.GetSeries(Fingerprint(Sorted(Make(s, 0, 0).labels)), &snap));
    EXPECT_EQ(snap.accepted, 300u);
    EXPECT_EQ(snap.result.anomaly_score, r.anomaly_score);
    EXPECT_EQ(snap.result.yhat, r.yhat);
    EXPECT_EQ(snap.last_ts, kT0 + 299 * kStep);
  }
}

// Warm-up is visible: per series the samples still needed, and a gauge of series still warming
// up, kept across a checkpoint and restore.
TEST_F(EngineTest, WarmupRemainingAndWarmingGauge) {
  const uint64_t warmup = detect::DefaultDetectorOptions().warmup_samples;
  store::StateStore store;
  ASSERT_TRUE(store.Open((dir_ / "s.db").string()).ok());
  {
    Engine e(Metric({.workers = 2}), nullptr);
    e.Start();
    std::vector<TimeSeries> batch;
    batch.push_back(Make(0, 0, 300));
    batch.push_back(Make(1, 0, static_cast<int>(warmup) + 20));
    batch.push_back(Make(2, 0, 1));
    ASSERT_TRUE(e.Submit(std::move(batch)).ok());
    ASSERT_TRUE(e.WaitIdle(30'000));
    EXPECT_EQ(e.stats().series_warming_up, 2u);
    SeriesSnapshot snap;
    ASSERT_TRUE(e.GetSeries(Fingerprint(Sorted(Make(0, 0, 0).labels)), &snap));
    EXPECT_EQ(snap.warmup_remaining, warmup - 300);
    ASSERT_TRUE(e.GetSeries(Fingerprint(Sorted(Make(1, 0, 0).labels)), &snap));
    EXPECT_EQ(snap.warmup_remaining, 0u);
    ASSERT_TRUE(e.GetSeries(Fingerprint(Sorted(Make(2, 0, 0).labels)), &snap));
    EXPECT_EQ(snap.warmup_remaining, warmup - 1);
    // Series 0 finishes its warm-up: one series left warming.
    ASSERT_TRUE(e.Submit({Make(0, 300, static_cast<int>(warmup) + 1)}).ok());
    ASSERT_TRUE(e.WaitIdle(30'000));
    EXPECT_EQ(e.stats().series_warming_up, 1u);
    ASSERT_TRUE(e.Checkpoint(&store).ok());
    e.Stop();
  }
  Engine r(Metric({.workers = 2}), nullptr);
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(r.Restore(&store, &restored, &skipped).ok());
  EXPECT_EQ(restored, 3u);
  EXPECT_EQ(r.stats().series_warming_up, 1u);
}

// The restart guarantee: scores after restoring a checkpoint equal those of an uninterrupted run.
TEST_F(EngineTest, RestoredScoresEqualUninterruptedRun) {
  const int kSeries = 20, kSplit = 250, kEnd = 500;
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  Engine a(Metric({.workers = 2}), nullptr);
  a.Start();
  std::vector<TimeSeries> b1;
  for (int s = 0; s < kSeries; ++s) b1.push_back(Make(s, 0, kSplit));
  ASSERT_TRUE(a.Submit(std::move(b1)).ok());
  ASSERT_TRUE(a.WaitIdle(30'000));
  ASSERT_TRUE(a.Checkpoint(&st).ok());
  // Engine `a` continues uninterrupted; engine `b` restarts from the checkpoint.
  Engine b(Metric({.workers = 3}), nullptr);  // a different shard count must not matter
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(b.Restore(&st, &restored, &skipped).ok());
  EXPECT_EQ(restored, static_cast<uint64_t>(kSeries));
  EXPECT_EQ(skipped, 0u);
  b.Start();
  for (int i = kSplit; i < kEnd; ++i) {
    std::vector<TimeSeries> x, y;
    for (int s = 0; s < kSeries; ++s) {
      x.push_back(Make(s, i, i + 1));
      y.push_back(Make(s, i, i + 1));
    }
    ASSERT_TRUE(a.Submit(std::move(x)).ok());
    ASSERT_TRUE(b.Submit(std::move(y)).ok());
    ASSERT_TRUE(a.WaitIdle(30'000));
    ASSERT_TRUE(b.WaitIdle(30'000));
    for (int s = 0; s < kSeries; ++s) {
      const uint64_t fp = Fingerprint(Sorted(Make(s, 0, 0).labels));
      SeriesSnapshot sa, sb;
      ASSERT_TRUE(a.GetSeries(fp, &sa));
      ASSERT_TRUE(b.GetSeries(fp, &sb));
      ASSERT_EQ(sa.result.anomaly_score, sb.result.anomaly_score) << "series " << s << " i " << i;
      ASSERT_EQ(sa.result.yhat, sb.result.yhat);
      ASSERT_EQ(sa.result.yhat_lower, sb.result.yhat_lower);
      ASSERT_EQ(sa.result.is_anomaly, sb.result.is_anomaly);
    }
  }
}

// Gauges and a counter (scored as a rate), `from` to `to`.
std::vector<TimeSeries> Mixed(int from, int to) {
  std::vector<TimeSeries> out;
  for (int s = 0; s < 3; ++s) out.push_back(Make(s, from, to));
  TimeSeries c;
  c.labels = {{"__name__", "reqs_total"}};
  c.kind = MetricKind::kCounter;
  for (int i = from; i < to; ++i) c.samples.push_back({kT0 + i * kStep, i * 10.0 + (i % 5)});
  out.push_back(std::move(c));
  return out;
}

// The kill -9 guarantee at engine level: a checkpoint taken mid-way plus the log of everything
// accepted gives exactly the state of an uninterrupted run; samples the checkpoint already holds
// are skipped silently (not rejected); a checkpoint then truncates the log.
TEST_F(EngineTest, WalReplayOnTopOfCheckpointEqualsUninterruptedRun) {
  const std::string wal_dir = (dir_ / "wal").string();
  const int kEnd = 200, kCheckpointed = 150;
  {  // Run A logs everything and dies without a checkpoint.
    std::unique_ptr<store::Wal> wal;
    ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
    Engine a(Metric({.workers = 2}), nullptr);
    a.SetWal(wal.get());
    a.Start();
    for (int from = 0; from < kEnd; from += 20) ASSERT_TRUE(a.Submit(Mixed(from, from + 20)).ok());
    ASSERT_TRUE(a.WaitIdle(30'000));
    EXPECT_EQ(a.stats().wal_records, static_cast<uint64_t>(kEnd / 20));
  }
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  {  // A checkpoint holding the first kCheckpointed samples of every series.
    Engine b(Metric({.workers = 2}), nullptr);
    b.Start();
    ASSERT_TRUE(b.Submit(Mixed(0, kCheckpointed)).ok());
    ASSERT_TRUE(b.WaitIdle(30'000));
    ASSERT_TRUE(b.Checkpoint(&st).ok());
  }
  Engine ref(Metric({.workers = 1}), nullptr);
  ref.Start();
  ASSERT_TRUE(ref.Submit(Mixed(0, kEnd)).ok());
  ASSERT_TRUE(ref.WaitIdle(30'000));

  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
  Engine c(Metric({.workers = 3}), nullptr);
  c.SetWal(wal.get());
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(c.Restore(&st, &restored, &skipped).ok());
  EXPECT_EQ(restored, 4u);
  c.Start();
  WalReplayResult r;
  std::vector<std::string> problems;
  ASSERT_TRUE(c.ReplayWal(wal.get(), &r, [&](auto&, auto& series, auto& why) {
                 problems.push_back(series + ": " + why);
               }).ok());
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(r.log.records, static_cast<uint64_t>(kEnd / 20));
  EXPECT_EQ(r.samples, 4u * kEnd);
  EXPECT_EQ(r.samples_skipped, 4u * kCheckpointed);
  EXPECT_EQ(c.stats().samples_rejected, 0u);
  ref.ForEachSeries([&](const SeriesSnapshot& want) {
    SeriesSnapshot got;
    ASSERT_TRUE(c.GetSeries(want.fp, &got));
    EXPECT_EQ(got.accepted, want.accepted) << LabelsToString(*want.labels);
    EXPECT_EQ(got.last_ts, want.last_ts);
    EXPECT_EQ(std::bit_cast<uint64_t>(got.result.anomaly_score),
              std::bit_cast<uint64_t>(want.result.anomaly_score));
    EXPECT_EQ(std::bit_cast<uint64_t>(got.result.yhat), std::bit_cast<uint64_t>(want.result.yhat));
    EXPECT_EQ(std::bit_cast<uint64_t>(got.result.yhat_upper),
              std::bit_cast<uint64_t>(want.result.yhat_upper));
  });
  // A checkpoint covers the replayed segments: they are deleted, only the live one is left.
  ASSERT_TRUE(c.Checkpoint(&st).ok());
  EXPECT_EQ(wal->segment_count(), 1u);
  EXPECT_FALSE(std::filesystem::exists(wal->SegmentPath(0)));
}

// Held live samples (LogHeld, for warm start) are in no checkpointed state: checkpoints keep
// their log segment until SubmitLogged queues them; the next checkpoint then deletes it.
TEST_F(EngineTest, CheckpointKeepsSegmentsWithHeldSamplesUntilTheyAreQueued) {
  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open((dir_ / "wal").string(), {}, &wal).ok());
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  Engine e(Metric({.workers = 2}), nullptr);
  e.SetWal(wal.get());
  e.Start();
  std::vector<TimeSeries> held = {Make(1, 0, 5)};
  HeldSegments segments;
  ASSERT_TRUE(e.LogHeld(held, &segments).ok());
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments.begin()->second, 5u);
  const uint64_t held_segment = segments.begin()->first;
  ASSERT_TRUE(e.Submit({Make(2, 0, 5)}).ok());
  for (int i = 0; i < 2; ++i) {  // still held: kept by every checkpoint
    ASSERT_TRUE(e.Checkpoint(&st).ok());
    EXPECT_TRUE(std::filesystem::exists(wal->SegmentPath(held_segment))) << i;
  }
  ASSERT_TRUE(e.SubmitLogged(held, &segments).ok());
  EXPECT_TRUE(segments.empty());
  ASSERT_TRUE(e.Checkpoint(&st).ok());
  EXPECT_FALSE(std::filesystem::exists(wal->SegmentPath(held_segment)));
  EXPECT_EQ(wal->segment_count(), 1u);
  SeriesSnapshot snap;
  ASSERT_TRUE(e.GetSeries(Fingerprint(Sorted(Make(1, 0, 1).labels)), &snap));
  EXPECT_EQ(snap.accepted, 5u);
  e.Stop();
}

// A sample observer that holds samples back (serve's exhaustion warm start) keeps the segment
// of the batch it observes through checkpoints until it releases it; a replayed batch keeps
// every segment (its record is in an older one).
TEST_F(EngineTest, ObserverKeepsTheSegmentOfSamplesItHolds) {
  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open((dir_ / "wal").string(), {}, &wal).ok());
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  Engine e(Metric({.workers = 2}), nullptr);
  e.SetWal(wal.get());
  std::vector<uint64_t> kept;
  e.SetSampleObserver([&](const std::vector<TimeSeries>&) {
    uint64_t segment = 0;
    if (kept.empty() && e.KeepObservedSegment(&segment)) kept.push_back(segment);
  });
  e.Start();
  ASSERT_TRUE(e.Submit({Make(1, 0, 5)}).ok());
  ASSERT_EQ(kept.size(), 1u);
  const uint64_t segment = kept[0];
  ASSERT_TRUE(e.Submit({Make(2, 0, 5)}).ok());
  for (int i = 0; i < 2; ++i) {  // still held: kept by every checkpoint
    ASSERT_TRUE(e.Checkpoint(&st).ok());
    EXPECT_TRUE(std::filesystem::exists(wal->SegmentPath(segment))) << i;
  }
  e.ReleaseObservedSegment(segment);
  ASSERT_TRUE(e.Checkpoint(&st).ok());
  EXPECT_FALSE(std::filesystem::exists(wal->SegmentPath(segment)));
  EXPECT_EQ(wal->segment_count(), 1u);
  e.Stop();

  Engine none(Metric({.workers = 1}), nullptr);  // without a log nothing is kept
  uint64_t segment_none = 0;
  EXPECT_FALSE(none.KeepObservedSegment(&segment_none));
}

// The sample observer (what serve's capacity and exhaustion hang on): every accepted batch once,
// held samples when LogHeld logs them (not again at SubmitLogged), nothing refused for full
// queues, history never; and the replay gives it the log's records with their series in the
// order they were submitted (not shard by shard), so it can rebuild what it saw live.
TEST_F(EngineTest, SampleObserverSeesEveryAcceptedBatchOnceAndTheReplayAgain) {
  struct Seen {
    std::mutex mu;
    std::vector<std::string> ids;  // the `id` label of every non-empty series, in order
    void Add(const std::vector<TimeSeries>& series) {
      std::lock_guard<std::mutex> lock(mu);
      for (const TimeSeries& ts : series) {
        if (!ts.samples.empty()) ids.emplace_back(GetLabel(ts.labels, "id"));
      }
    }
  };
  const std::string wal_dir = (dir_ / "wal").string();
  Seen live;
  {
    std::unique_ptr<store::Wal> wal;
    ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
    Engine e(Metric({.workers = 3, .queue_max_samples = 300}), nullptr);
    e.SetWal(wal.get());
    e.SetSampleObserver([&](const std::vector<TimeSeries>& s) { live.Add(s); });
    // Not started: the queues fill. Six series over three shards, in this order.
    std::vector<TimeSeries> batch;
    for (int id : {5, 0, 4, 1, 3, 2}) batch.push_back(Make(id, 0, 10));
    ASSERT_TRUE(e.Submit(std::move(batch)).ok());
    std::vector<TimeSeries> big = {Make(7, 0, 400)};
    EXPECT_EQ(e.SubmitView(big).code(), Status::Code::kResourceExhausted);  // not observed
    std::vector<TimeSeries> history = {Make(8, 0, 5)};
    ASSERT_TRUE(e.SubmitHistory(history).ok());  // not observed, not logged
    std::vector<TimeSeries> held = {Make(9, 0, 5)};
    HeldSegments segments;
    ASSERT_TRUE(e.LogHeld(held, &segments).ok());
    ASSERT_TRUE(e.SubmitLogged(held, &segments).ok());  // observed at LogHeld only
    e.Start();
    ASSERT_TRUE(e.WaitIdle(30'000));
  }
  EXPECT_EQ(live.ids, (std::vector<std::string>{"5", "0", "4", "1", "3", "2", "9"}));

  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
  Engine r(Metric({.workers = 2}), nullptr);
  Seen replayed;
  r.SetSampleObserver([&](const std::vector<TimeSeries>& s) { replayed.Add(s); });
  r.Start();
  WalReplayResult res;
  ASSERT_TRUE(r.ReplayWal(wal.get(), &res, nullptr).ok());
  EXPECT_EQ(res.samples, 65u);
  EXPECT_EQ(replayed.ids, live.ids);
}

TEST_F(EngineTest, SeriesCapRefusesNewSeriesButKeepsScoringKnownOnes) {
  Engine e(Metric({.workers = 2, .max_series = 5}), nullptr);
  e.Start();
  std::vector<TimeSeries> batch;
  for (int s = 0; s < 5; ++s) batch.push_back(Make(s, 0, 10));
  ASSERT_TRUE(e.Submit(std::move(batch)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  batch.clear();
  for (int s = 0; s < 8; ++s) batch.push_back(Make(s, 10, 20));
  ASSERT_TRUE(e.Submit(std::move(batch)).ok());  // still accepted: refusal is per series
  ASSERT_TRUE(e.WaitIdle(30'000));
  EngineStats st = e.stats();
  EXPECT_EQ(st.series_active, 5u);
  EXPECT_EQ(st.series_refused, 3u);
  EXPECT_EQ(st.samples_refused, 30u);
  EXPECT_EQ(st.samples_processed, 100u);
}

TEST_F(EngineTest, FullQueuesRefuseWholeRequestAndAcceptLater) {
  Engine e(Metric({.workers = 1, .queue_max_samples = 1000}), nullptr);
  // Not started: nothing drains, so the queue fills.
  std::vector<TimeSeries> b;
  b.push_back(Make(0, 0, 800));
  ASSERT_TRUE(e.Submit(std::move(b)).ok());
  b.clear();
  b.push_back(Make(1, 0, 300));
  Status st = e.Submit(std::move(b));
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(e.stats().overload_refusals, 1u);
  EXPECT_EQ(e.stats().queue_samples, 800u);
  e.Start();
  ASSERT_TRUE(e.WaitIdle(30'000));
  b.clear();
  b.push_back(Make(1, 0, 300));
  EXPECT_TRUE(e.Submit(std::move(b)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  EXPECT_EQ(e.stats().samples_processed, 1100u);
}

TEST_F(EngineTest, StaleSeriesAreEvictedAndDeletedFromStore) {
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  Engine e(Metric({.workers = 1, .stale_after_ms = 1}), nullptr);
  e.Start();
  std::vector<TimeSeries> b;
  b.push_back(Make(0, 0, 10));
  ASSERT_TRUE(e.Submit(std::move(b)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  ASSERT_TRUE(e.Checkpoint(&st).ok());
  uint64_t n = 0;
  ASSERT_TRUE(st.CountStates(&n).ok());
  EXPECT_EQ(n, 1u);
  // The worker scans at least once per second when idle.
  for (int i = 0; i < 100 && e.stats().series_evicted == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(e.stats().series_evicted, 1u);
  EXPECT_EQ(e.stats().series_active, 0u);
  ASSERT_TRUE(e.Checkpoint(&st).ok());
  ASSERT_TRUE(st.CountStates(&n).ok());
  EXPECT_EQ(n, 0u);
}

TEST_F(EngineTest, EpisodesStartAndEndAroundAnAnomaly) {
  CollectingSink sink;
  Engine e(Metric({.workers = 2}), &sink);
  e.Start();
  std::vector<TimeSeries> b;
  b.push_back(Make(3, 0, 600));  // Value() has a spike at i == 400
  ASSERT_TRUE(e.Submit(std::move(b)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  // Whatever the detector decides, episode changes must be well formed: start before end,
  // alternating, labels on start.
  auto det = detect::MakeDefaultDetector();
  int expected_starts = 0;
  bool in = false;
  for (int i = 0; i < 600; ++i) {
    detect::DetectionResult r;
    ASSERT_TRUE(det->Update(kT0 + i * kStep, Value(3, i), &r).ok());
    if (r.is_anomaly && !in) {
      in = true;
      ++expected_starts;
    } else if (!r.is_anomaly && !r.warming_up && in) {
      in = false;
    }
  }
  std::lock_guard<std::mutex> lock(sink.mu);
  int starts = 0;
  bool open = false;
  for (const auto& c : sink.changes) {
    if (c.kind == EpisodeChange::Kind::kStart) {
      EXPECT_FALSE(open);
      EXPECT_EQ(GetLabel(c.labels, "id"), "3");
      open = true;
      ++starts;
    } else if (c.kind == EpisodeChange::Kind::kEnd) {
      EXPECT_TRUE(open);
      open = false;
    }
  }
  EXPECT_EQ(starts, expected_starts);
}

TEST_F(EngineTest, RejectedSamplesAreCountedNotFatal) {
  Engine e(Metric({.workers = 1}), nullptr);
  e.Start();
  TimeSeries ts = Make(0, 0, 3);
  ts.samples.push_back({kT0, 1.0});                       // out of order
  ts.samples.push_back({kT0 + 9 * kStep, std::nan("")});  // NaN (staleness marker)
  std::vector<TimeSeries> b;
  b.push_back(ts);
  ASSERT_TRUE(e.Submit(std::move(b)).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  EXPECT_EQ(e.stats().samples_processed, 3u);
  EXPECT_EQ(e.stats().samples_rejected, 2u);
}

// A series record of version 1 (before stream/: the counter flag, detector state and CounterRate
// in the record itself, docs/formats.md section 2) is still restored, scores on bit-identically
// to an uninterrupted counter -> rate -> detector, and the next checkpoint writes version 2.
TEST_F(EngineTest, Version1SeriesRecordIsRestoredAndRewrittenAsVersion2) {
  const int kSplit = 120, kEnd = 160;
  Labels labels = {{"__name__", "reqs_total"}, {"job", "j"}};
  auto sample = [](int i) { return Sample{kT0 + i * kStep, i * 10.0 + (i % 5)}; };
  ingest::CounterRate rate;
  auto det = detect::MakeDefaultDetector();
  detect::DetectionResult last;
  double last_value = 0;
  TimestampNs last_ts = 0;
  auto feed = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      double r;
      if (!rate.Update(sample(i).ts, sample(i).value, &r)) continue;
      ASSERT_TRUE(det->Update(sample(i).ts, r, &last).ok());
      last_value = r;
      last_ts = sample(i).ts;
    }
  };
  feed(0, kSplit);
  std::string v1;
  ByteWriter w(&v1);
  w.PutU8(1);      // version
  w.PutU8(1 | 2);  // counter, has_result
  w.PutI64(last_ts);
  w.PutDouble(last_value);
  w.PutDouble(last.raw_score);
  w.PutDouble(last.anomaly_score);
  w.PutDouble(last.likelihood);
  w.PutU8((last.is_anomaly ? 1 : 0) | (last.warming_up ? 2 : 0));
  w.PutDouble(last.yhat);
  w.PutDouble(last.yhat_lower);
  w.PutDouble(last.yhat_upper);
  w.PutI64(0);     // episode_start_ts
  w.PutDouble(0);  // episode_peak
  std::string det_state;
  det->SaveState(&det_state);
  w.PutString(det_state);
  rate.Save(&w);

  store::StateStore st;
  ASSERT_TRUE(st.Open((dir_ / "s.db").string()).ok());
  const uint64_t fp = Fingerprint(labels);
  ASSERT_TRUE(st.SaveStates({{.key = 1, .fp = fp, .labels = labels, .state = v1}}).ok());
  Engine e(Metric({.workers = 2}), nullptr);
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(e.Restore(&st, &restored, &skipped).ok());
  ASSERT_EQ(restored, 1u);
  ASSERT_EQ(skipped, 0u);
  e.Start();
  TimeSeries ts;
  ts.labels = labels;
  ts.kind = MetricKind::kCounter;
  for (int i = kSplit; i < kEnd; ++i) ts.samples.push_back(sample(i));
  ASSERT_TRUE(e.Submit({ts}).ok());
  ASSERT_TRUE(e.WaitIdle(30'000));
  feed(kSplit, kEnd);
  SeriesSnapshot snap;
  ASSERT_TRUE(e.GetSeries(fp, &snap));
  EXPECT_TRUE(snap.is_counter);
  EXPECT_EQ(snap.accepted, det->stats().accepted);
  EXPECT_EQ(snap.last_value, last_value);
  EXPECT_EQ(snap.result.anomaly_score, last.anomaly_score);
  EXPECT_EQ(snap.result.yhat, last.yhat);
  EXPECT_EQ(snap.result.yhat_upper, last.yhat_upper);

  ASSERT_TRUE(e.Checkpoint(&st).ok());
  std::vector<std::string> states;
  ASSERT_TRUE(st.LoadStates(
                    [&](store::SeriesRecord&& r) {
                      states.push_back(r.state);
                      return Status::OK();
                    },
                    nullptr)
                  .ok());
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0][0], 2);  // rewritten as version 2
  Engine again(Metric({.workers = 1}), nullptr);
  ASSERT_TRUE(again.Restore(&st, &restored, &skipped).ok());
  EXPECT_EQ(restored, 1u);
  ASSERT_TRUE(again.GetSeries(fp, &snap));
  EXPECT_EQ(snap.result.yhat, last.yhat);
  EXPECT_TRUE(snap.is_counter);
}

}  // namespace
}  // namespace backsight::stream
