// ExhaustionWarmStart: a new usage series' history is replayed into its estimator before its
// live samples (so it predicts at once), live samples held during the fetch follow in order, a
// failing source leaves the series cold, and capacities pass straight through.
#include "backsight/server/exhaustion_warm_start.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace backsight::server {
namespace {

constexpr int64_t kStep = 300;                       // node-exporter every 5 minutes, seconds
constexpr int64_t kNow = 1'704'067'200 + 3 * 86400;  // the first live sample, unix s
constexpr double kSize = 1e12;
constexpr int64_t kToFull = 18 * 3600;  // /fill is full 18 h after kNow

Labels Fs(const std::string& name, const std::string& mountpoint) {
  Labels l = {{"__name__", name}, {"instance", "host:9100"}, {"mountpoint", mountpoint}};
  SortLabels(&l);
  return l;
}

// Used bytes of `mountpoint` at unix second t: /fill grows linearly from 30 % three days before
// kNow to full at kNow + kToFull; /saw fills 40 % -> 80 % every 6 h and is rotated back.
double Used(const std::string& mountpoint, int64_t t) {
  if (mountpoint == "/fill") {
    const int64_t start = kNow - 3 * 86400;
    return 0.3 * kSize + 0.7 * kSize * static_cast<double>(t - start) / (kNow + kToFull - start);
  }
  return kSize * (0.4 + 0.4 * static_cast<double>(t % (6 * 3600)) / (6 * 3600));
}

// One live request: size and avail of both filesystems at unix second t.
std::vector<TimeSeries> LiveAt(int64_t t) {
  std::vector<TimeSeries> out;
  for (const char* mp : {"/fill", "/saw"}) {
    TimeSeries size, avail;
    size.labels = Fs("node_filesystem_size_bytes", mp);
    size.samples.push_back({t * kNanosPerSecond, kSize});
    avail.labels = Fs("node_filesystem_avail_bytes", mp);
    avail.samples.push_back({t * kNanosPerSecond, kSize - Used(mp, t)});
    out.push_back(size);
    out.push_back(avail);
  }
  return out;
}

// A history source answering from Used() (avail only: capacity history is never asked for),
// optionally waiting on `gate` first, or failing.
class FakeSource : public HistorySource {
 public:
  std::atomic<bool> gate{true}, fail{false};
  std::atomic<int> calls{0};
  std::vector<std::string> asked;  // __name__ of each fetch
  Status Fetch(const Labels& labels, TimestampNs start, TimestampNs end, int64_t step_ms,
               std::vector<Sample>* out) override {
    ++calls;
    while (!gate) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (fail) return Status::InvalidArgument("bad query");
    const std::string mp(GetLabel(labels, "mountpoint"));
    const int64_t step_ns = step_ms * kNanosPerMilli;
    for (TimestampNs ts = (start / step_ns + 1) * step_ns; ts <= end; ts += step_ns) {
      out->push_back({ts, kSize - Used(mp, ts / kNanosPerSecond)});
    }
    return Status::OK();
  }
};

WarmStartOptions Options() {
  WarmStartOptions o;
  o.lookback_ms = 3 * 86'400'000LL;
  o.concurrency = 2;
  o.default_step_ms = kStep * 1000;
  o.max_attempts = 1;
  return o;
}

bool WaitIdle(const ExhaustionWarmStart& ws) {
  for (int i = 0; i < 2000; ++i) {
    if (ws.stats().pending_series == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

const forecast::ExhaustionStatus* Find(const std::vector<forecast::ExhaustionStatus>& snap,
                                       const std::string& mountpoint) {
  for (const auto& s : snap) {
    if (GetLabel(s.labels, "mountpoint") == mountpoint) return &s;
  }
  return nullptr;
}

TEST(ExhaustionWarmStart, HistoryMakesTheFirstLiveSamplePredict) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 100);
  FakeSource source;
  ExhaustionWarmStart ws(Options(), 100, &tracker, &source);
  ws.Start();
  ws.Observe(LiveAt(kNow));
  ASSERT_TRUE(WaitIdle(ws));
  std::vector<forecast::ExhaustionStatus> snap = tracker.Snapshot();
  const forecast::ExhaustionStatus* fill = Find(snap, "/fill");
  const forecast::ExhaustionStatus* saw = Find(snap, "/saw");
  ASSERT_NE(fill, nullptr);
  ASSERT_NE(saw, nullptr);
  ASSERT_TRUE(fill->estimate.foreseen);
  EXPECT_NEAR(fill->estimate.tte_seconds, kToFull, 0.15 * kToFull);
  EXPECT_EQ(fill->ts, kNow * kNanosPerSecond);  // the live sample came last
  EXPECT_FALSE(saw->estimate.foreseen && saw->estimate.tte_seconds < 86400)
      << saw->estimate.tte_seconds;
  EXPECT_EQ(source.calls.load(), 2);  // the two avail series; sizes are not fetched
  ExhaustionWarmStartStats st = ws.stats();
  EXPECT_EQ(st.series_warm, 2u);
  EXPECT_EQ(st.fetches, 2u);
  // The lookback (start, end) at 5 min: both ends excluded.
  EXPECT_EQ(st.history_samples, 2u * (3 * 86400 / kStep - 1));
  EXPECT_EQ(tracker.stats().samples, st.history_samples + 2);
  // Later samples go straight through, without another fetch.
  ws.Observe(LiveAt(kNow + kStep));
  EXPECT_EQ(Find(tracker.Snapshot(), "/fill")->ts, (kNow + kStep) * kNanosPerSecond);
  EXPECT_EQ(source.calls.load(), 2);
}

TEST(ExhaustionWarmStart, SamplesHeldDuringTheFetchFollowTheHistory) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 100);
  FakeSource source;
  source.gate = false;
  ExhaustionWarmStart ws(Options(), 100, &tracker, &source);
  ws.Start();
  for (int i = 0; i < 5; ++i) ws.Observe(LiveAt(kNow + i * kStep));
  EXPECT_EQ(tracker.stats().samples, 0u);  // held
  EXPECT_EQ(ws.stats().pending_series, 2u);
  source.gate = true;
  ASSERT_TRUE(WaitIdle(ws));
  const std::vector<forecast::ExhaustionStatus> snap = tracker.Snapshot();  // outlives fill
  const forecast::ExhaustionStatus* fill = Find(snap, "/fill");
  ASSERT_NE(fill, nullptr);
  EXPECT_EQ(fill->ts, (kNow + 4 * kStep) * kNanosPerSecond);
  // Every history point and every held live sample was accepted (none out of order).
  EXPECT_EQ(tracker.stats().samples, ws.stats().history_samples + 2 * 5);
  ASSERT_TRUE(fill->estimate.foreseen);
}

TEST(ExhaustionWarmStart, FailingSourceLeavesTheSeriesCold) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 100);
  FakeSource source;
  source.fail = true;
  ExhaustionWarmStart ws(Options(), 100, &tracker, &source);
  ws.Start();
  ws.Observe(LiveAt(kNow));
  ASSERT_TRUE(WaitIdle(ws));
  ExhaustionWarmStartStats st = ws.stats();
  EXPECT_EQ(st.fetch_errors, 2u);
  EXPECT_EQ(st.series_cold, 2u);
  EXPECT_EQ(st.series_warm, 0u);
  EXPECT_EQ(tracker.stats().samples, 2u);  // the live samples, cold
  const std::vector<forecast::ExhaustionStatus> snap = tracker.Snapshot();  // outlives fill
  const forecast::ExhaustionStatus* fill = Find(snap, "/fill");
  ASSERT_NE(fill, nullptr);
  EXPECT_FALSE(fill->estimate.foreseen);
}

TEST(ExhaustionWarmStart, TooManyHeldSamplesReleaseCold) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 100);
  FakeSource source;
  source.gate = false;
  WarmStartOptions o = Options();
  o.max_held_per_series = 3;
  ExhaustionWarmStart ws(o, 100, &tracker, &source);
  ws.Start();
  for (int i = 0; i < 4; ++i) ws.Observe(LiveAt(kNow + i * kStep));
  EXPECT_EQ(tracker.stats().samples, 2u * 4);  // fed cold without waiting on the fetch
  EXPECT_EQ(ws.stats().series_cold, 2u);
  source.gate = true;
  ASSERT_TRUE(WaitIdle(ws));
  ws.Stop();
  EXPECT_EQ(ws.stats().history_samples, 0u);  // the late history was dropped
}

// One usage series (avail) of `mountpoint` at unix second t, without its capacity.
std::vector<TimeSeries> AvailAt(const std::string& mountpoint, int64_t t) {
  TimeSeries avail;
  avail.labels = Fs("node_filesystem_avail_bytes", mountpoint);
  avail.samples.push_back({t * kNanosPerSecond, kSize - Used(mountpoint, t)});
  return {avail};
}

// The warm-started set is bounded by max_pending: past it the oldest series is forgotten, so one
// that is still not tracked (here: no capacity) gets a fetch again, while the newest is kept.
TEST(ExhaustionWarmStart, RemembersAtMostMaxPendingSeriesOldestForgottenFirst) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 100);
  FakeSource source;
  ExhaustionWarmStart ws(Options(), 2, &tracker, &source);
  ws.Start();
  for (const char* mp : {"/a", "/b", "/c"}) {
    ws.Observe(AvailAt(mp, kNow));
    ASSERT_TRUE(WaitIdle(ws));
  }
  EXPECT_EQ(source.calls.load(), 3);
  EXPECT_EQ(ws.stats().done_series, 2u);
  ws.Observe(AvailAt("/c", kNow + kStep));  // the newest is remembered: no fetch
  ASSERT_TRUE(WaitIdle(ws));
  EXPECT_EQ(source.calls.load(), 3);
  ws.Observe(AvailAt("/a", kNow + kStep));  // the oldest was forgotten: fetched again
  ASSERT_TRUE(WaitIdle(ws));
  EXPECT_EQ(source.calls.load(), 4);
  EXPECT_EQ(ws.stats().done_series, 2u);
}

// A series the tracker would refuse (max_series tracked) costs no fetch.
TEST(ExhaustionWarmStart, NoFetchForASeriesTheFullTrackerRefuses) {
  forecast::ExhaustionTracker tracker(forecast::DefaultExhaustionRules(), 1);
  FakeSource source;
  ExhaustionWarmStart ws(Options(), 100, &tracker, &source);
  ws.Start();
  std::vector<TimeSeries> live = LiveAt(kNow);  // /fill size, avail, then /saw size, avail
  ws.Observe({live[0], live[1]});
  ASSERT_TRUE(WaitIdle(ws));
  ASSERT_TRUE(tracker.Full());
  ws.Observe({live[2], live[3]});
  ASSERT_TRUE(WaitIdle(ws));
  EXPECT_EQ(source.calls.load(), 1);
  EXPECT_EQ(tracker.stats().series_refused, 1u);
  EXPECT_EQ(ws.stats().series_warm, 1u);
}

}  // namespace
}  // namespace backsight::server
