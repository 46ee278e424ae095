#include "backsight/server/warm_start.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "backsight/server/metric_model.h"

namespace backsight::server {
namespace {

constexpr int64_t kStep = 15 * kNanosPerSecond;
constexpr int64_t kT0 = 1'700'000'000LL * kNanosPerSecond;
constexpr int kHistoryPoints = 1000;  // past the detector's 500-sample warm-up

double Normal(int i) { return 50 + 5 * std::sin(i * 0.2) + (i % 5) * 0.3; }

const Labels& SeriesLabels() {
  static const Labels labels = {{"__name__", "m"}, {"job", "w"}};
  return labels;
}

TimeSeries Live(int from, int to) {
  TimeSeries ts;
  ts.labels = SeriesLabels();
  ts.kind = MetricKind::kGauge;
  for (int i = from; i < to; ++i) ts.samples.push_back({kT0 + i * kStep, Normal(i)});
  return ts;
}

// A history source answering with `fn`.
class FakeSource : public HistorySource {
 public:
  std::function<Status(const Labels&, TimestampNs, TimestampNs, std::vector<Sample>*)> fn;
  std::atomic<int> calls{0};
  Status Fetch(const Labels& labels, TimestampNs start, TimestampNs end, int64_t,
               std::vector<Sample>* out) override {
    ++calls;
    return fn(labels, start, end, out);
  }
};

class CountingSink : public EpisodeSink {
 public:
  void OnEpisodeChange(EpisodeChange&&) override { ++changes; }
  std::atomic<int> changes{0};
};

bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

uint64_t Accepted(Engine* e) {
  SeriesSnapshot s;
  return e->GetSeries(Fingerprint(SeriesLabels()), &s) ? s.accepted : 0;
}

// Options of an engine running the metric model, as `backsight serve` does.
EngineOptions MetricEngineOptions(int workers) {
  EngineOptions o;
  o.workers = workers;
  o.model_factory = MakeMetricModelFactory(/*counters_as_rates=*/true);
  return o;
}

// Intercept as the ingest endpoints call it (the fingerprints are for Engine::SubmitView).
Status Intercept(WarmStart* ws, std::vector<TimeSeries>* req) {
  std::vector<uint64_t> fps;
  Status st = ws->Intercept(req, &fps);
  if (st.ok() && fps.size() != req->size()) return Status::Internal("fingerprints misaligned");
  return st;
}

WarmStartOptions FastOptions() {
  WarmStartOptions o;
  o.concurrency = 2;
  o.backoff_base_ms = 1;
  o.backoff_max_ms = 2;
  o.max_attempts = 3;
  return o;
}

TEST(WarmStartTest, HistoryWarmsTheDetectorBeforeItsFirstLiveScoreAndRaisesNoEpisode) {
  CountingSink sink;
  Engine engine(MetricEngineOptions(2), &sink);
  engine.Start();
  FakeSource src;
  src.fn = [](const Labels& labels, TimestampNs start, TimestampNs end, std::vector<Sample>* out) {
    EXPECT_EQ(labels, SeriesLabels());
    EXPECT_LT(end, kT0 + kHistoryPoints * kStep);  // only the past before the first live sample
    for (int i = 0; i < kHistoryPoints; ++i) {
      const TimestampNs ts = kT0 + i * kStep;
      // A huge spike in the past: anomalous, but history raises no episode.
      if (ts >= start) out->push_back({ts, i == 800 ? 1e6 : Normal(i)});
    }
    return Status::OK();
  };
  WarmStart ws(FastOptions(), &engine, &src);
  ws.Start();
  std::vector<TimeSeries> req = {Live(kHistoryPoints, kHistoryPoints + 1)};
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_EQ(req.size(), 1u);
  EXPECT_TRUE(req[0].samples.empty()) << "a new series' samples are held";
  ASSERT_TRUE(WaitFor([&] { return Accepted(&engine) == kHistoryPoints + 1; }));
  SeriesSnapshot s;
  ASSERT_TRUE(engine.GetSeries(Fingerprint(SeriesLabels()), &s));
  EXPECT_EQ(s.last_ts, kT0 + kHistoryPoints * kStep) << "the live sample is scored last";
  EXPECT_EQ(s.warmup_remaining, 0u);
  EXPECT_FALSE(s.result.warming_up) << "the first live score is a warm one";
  engine.WaitIdle(10'000);
  EXPECT_EQ(sink.changes, 0) << "replayed history must not open episodes";
  const WarmStartStats st = ws.stats();
  EXPECT_EQ(st.fetches_succeeded, 1u);
  EXPECT_EQ(st.series_warm, 1u);
  EXPECT_EQ(st.history_samples, static_cast<uint64_t>(kHistoryPoints));
  // Once released, the series is known: later samples pass straight through, no second fetch.
  ASSERT_TRUE(WaitFor([&] { return ws.stats().pending_series == 0; }));
  req = {Live(kHistoryPoints + 1, kHistoryPoints + 2)};
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].samples.size(), 1u);
  EXPECT_EQ(src.calls, 1);
  ws.Stop();
  engine.Stop();
}

TEST(WarmStartTest, FailingSourceIsRetriedThenHeldSamplesAreScoredCold) {
  Engine engine(MetricEngineOptions(1), nullptr);
  engine.Start();
  FakeSource src;
  src.fn = [](const Labels&, TimestampNs, TimestampNs, std::vector<Sample>*) {
    return Status::Unavailable("connection refused");
  };
  WarmStart ws(FastOptions(), &engine, &src);
  ws.Start();
  std::vector<TimeSeries> req = {Live(0, 3)};
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_TRUE(WaitFor([&] { return Accepted(&engine) == 3; }));
  const WarmStartStats st = ws.stats();
  EXPECT_EQ(src.calls, 3);  // max_attempts
  EXPECT_EQ(st.fetch_retries, 2u);
  EXPECT_EQ(st.fetches_failed, 1u);
  EXPECT_EQ(st.cold_fetch_failed, 1u);
  ws.Stop();
  engine.Stop();
}

TEST(WarmStartTest, TooManyHeldSamplesScoreTheSeriesColdWhileItsFetchHangs) {
  Engine engine(MetricEngineOptions(1), nullptr);
  engine.Start();
  FakeSource src;
  std::atomic<bool> go{false};
  src.fn = [&](const Labels&, TimestampNs, TimestampNs, std::vector<Sample>* out) {
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    out->push_back({0, 1.0});  // arrives too late: discarded
    return Status::OK();
  };
  WarmStartOptions o = FastOptions();
  o.max_held_per_series = 5;
  WarmStart ws(o, &engine, &src);
  ws.Start();
  std::vector<TimeSeries> req = {Live(0, 4)};
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_TRUE(WaitFor([&] { return src.calls == 1; }));
  req = {Live(4, 6)};  // Intercept returns while the fetch hangs
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_TRUE(WaitFor([&] { return Accepted(&engine) == 6; }));
  EXPECT_EQ(ws.stats().cold_held_overflow, 1u);
  go = true;
  ASSERT_TRUE(WaitFor([&] { return ws.stats().fetches_succeeded == 1; }));
  engine.WaitIdle(10'000);
  EXPECT_EQ(Accepted(&engine), 6u) << "history arriving after a cold start is dropped";
  EXPECT_EQ(ws.stats().history_samples, 0u);
  ws.Stop();
  engine.Stop();
}

// Held live samples are in the write-ahead log once (before the request is acknowledged), the
// history never: after a crash the log replays exactly the live samples.
TEST(WarmStartTest, HeldSamplesAreLoggedOnceAndHistoryNever) {
  const std::string wal_dir = (std::filesystem::temp_directory_path() /
                               ("backsight_warm_start_test_" + std::to_string(getpid())))
                                  .string();
  std::filesystem::remove_all(wal_dir);
  {
    std::unique_ptr<store::Wal> wal;
    ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
    Engine a(MetricEngineOptions(2), nullptr);
    a.SetWal(wal.get());
    a.Start();
    FakeSource src;
    src.fn = [](const Labels&, TimestampNs, TimestampNs, std::vector<Sample>* out) {
      for (int i = 0; i < kHistoryPoints; ++i) out->push_back({kT0 + i * kStep, Normal(i)});
      return Status::OK();
    };
    WarmStart ws(FastOptions(), &a, &src);
    ws.Start();
    std::vector<TimeSeries> req = {Live(kHistoryPoints, kHistoryPoints + 3)};
    ASSERT_TRUE(Intercept(&ws, &req).ok());
    ASSERT_TRUE(WaitFor([&] { return Accepted(&a) == kHistoryPoints + 3; }));
    EXPECT_EQ(a.stats().wal_records, 1u);
    ws.Stop();
    a.Stop();
  }  // "crash": no checkpoint
  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open(wal_dir, {}, &wal).ok());
  Engine c(MetricEngineOptions(1), nullptr);
  c.SetWal(wal.get());
  c.Start();
  WalReplayResult r;
  ASSERT_TRUE(c.ReplayWal(wal.get(), &r, nullptr).ok());
  EXPECT_EQ(r.samples, 3u);
  EXPECT_EQ(Accepted(&c), 3u);
  c.Stop();
  std::filesystem::remove_all(wal_dir);
}

// A checkpoint while a series' history is fetched must not delete the log segment holding its
// held live samples (they are in no checkpointed state): after a crash they are replayed.
TEST(WarmStartTest, HeldSamplesSurviveACheckpointDuringTheFetchAndACrash) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("backsight_warm_start_ckpt_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir / "s.db").string()).ok());
  {
    std::unique_ptr<store::Wal> wal;
    ASSERT_TRUE(store::Wal::Open((dir / "wal").string(), {}, &wal).ok());
    Engine a(MetricEngineOptions(2), nullptr);
    a.SetWal(wal.get());
    a.Start();
    FakeSource src;
    std::atomic<bool> go{false};
    src.fn = [&](const Labels&, TimestampNs, TimestampNs, std::vector<Sample>*) {
      while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status::Unavailable("history source down");
    };
    WarmStartOptions o = FastOptions();
    o.max_attempts = 1;
    WarmStart ws(o, &a, &src);
    ws.Start();
    std::vector<TimeSeries> req = {Live(0, 3)};
    ASSERT_TRUE(Intercept(&ws, &req).ok());
    ASSERT_TRUE(req[0].samples.empty());
    ASSERT_TRUE(WaitFor([&] { return src.calls == 1; }));
    ASSERT_TRUE(a.Checkpoint(&st).ok());  // during the hold
    go = true;                            // the fetch fails: scored cold, no checkpoint after
    ASSERT_TRUE(WaitFor([&] { return Accepted(&a) == 3; }));
    ws.Stop();
    a.Stop();
  }  // "crash"
  std::unique_ptr<store::Wal> wal;
  ASSERT_TRUE(store::Wal::Open((dir / "wal").string(), {}, &wal).ok());
  Engine c(MetricEngineOptions(1), nullptr);
  c.SetWal(wal.get());
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(c.Restore(&st, &restored, &skipped).ok());
  EXPECT_EQ(restored, 0u);
  c.Start();
  WalReplayResult r;
  ASSERT_TRUE(c.ReplayWal(wal.get(), &r, nullptr).ok());
  EXPECT_EQ(r.samples, 3u);
  EXPECT_EQ(Accepted(&c), 3u) << "held samples lost with a segment the checkpoint deleted";
  c.Stop();
  std::filesystem::remove_all(dir);
}

TEST(WarmStartTest, SeriesTheEngineKnowsPassThrough) {
  Engine engine(MetricEngineOptions(1), nullptr);
  engine.Start();
  std::vector<TimeSeries> first = {Live(0, 1)};
  ASSERT_TRUE(engine.Submit(std::move(first)).ok());
  ASSERT_TRUE(engine.WaitIdle(10'000));
  FakeSource src;
  src.fn = [](const Labels&, TimestampNs, TimestampNs, std::vector<Sample>*) {
    return Status::OK();
  };
  WarmStart ws(FastOptions(), &engine, &src);
  ws.Start();
  std::vector<TimeSeries> req = {Live(1, 2)};
  ASSERT_TRUE(Intercept(&ws, &req).ok());
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0].samples.size(), 1u);
  ws.Stop();
  EXPECT_EQ(src.calls, 0);
  engine.Stop();
}

// The fetch threads' wait: the oldest queued fingerprint first; once stopping, nothing more is
// popped even with fingerprints still queued.
TEST(WarmStartTest, WaitPopFetchPopsOldestFirstAndNothingOnceStopping) {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::deque<uint64_t> queue = {7, 9};
  uint64_t fp = 0;
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(WaitPopFetch(&lock, &cv, stopping, &queue, &fp));
  EXPECT_EQ(fp, 7u);
  stopping = true;
  EXPECT_FALSE(WaitPopFetch(&lock, &cv, stopping, &queue, &fp));
  EXPECT_EQ(fp, 7u);
  EXPECT_EQ(queue.size(), 1u);
  lock.unlock();
  EXPECT_FALSE(SleepUnlessStopping(&mu, &cv, stopping, 60'000));  // returns at once
}

}  // namespace
}  // namespace backsight::server
