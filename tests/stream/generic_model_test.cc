// The stream engine is generic over its model: a counting model from a factory of its own runs
// through sharding, episodes, checkpoint and restore like the metric model does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "backsight/core/byte_io.h"
#include "backsight/stream/engine.h"
#include "stream_test_util.h"

namespace backsight::stream {
namespace {

using testing::CollectingSink;
using testing::kStep;
using testing::kT0;
constexpr uint8_t kCountingStateVersion = 7;

// Counts samples and sums them; `result.yhat` is the running sum, the scored value the running
// count. A negative value is anomalous; no warm-up. State: u8 version, u64 count, f64 sum,
// u64 refused. Refuses NaN like a detector does.
class CountingModel : public Model {
 public:
  Status Update(TimestampNs, double value, ModelOutput* out) override {
    if (value != value) {
      ++refused_;
      return Status::InvalidArgument(Reason::kNotFinite, "NaN");
    }
    ++count_;
    sum_ += value;
    out->scored = true;
    out->value = static_cast<double>(count_);
    out->result.yhat = sum_;
    out->result.anomaly_score = value < 0 ? 2 : 0;
    out->result.is_anomaly = value < 0;
    out->result.warming_up = false;
    return Status::OK();
  }
  void SaveState(std::string* out) const override {
    ByteWriter w(out);
    w.PutU8(kCountingStateVersion);
    w.PutU64(count_);
    w.PutDouble(sum_);
    w.PutU64(refused_);
  }
  Status RestoreState(std::string_view in) override {
    ByteReader r(in);
    uint8_t version;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&version, "version"));
    if (version != kCountingStateVersion) return Status::Corruption("not a counting state");
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&count_, "count"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&sum_, "sum"));
    return r.GetU64(&refused_, "refused");
  }
  uint64_t accepted() const override { return count_; }
  uint64_t rejected() const override { return refused_; }

 private:
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t refused_ = 0;
};

// Makes counting models, except for keys labelled refuse="yes"; counts its calls.
class CountingFactory : public ModelFactory {
 public:
  std::unique_ptr<Model> Create(const Labels& labels, MetricKind) const override {
    ++created;
    if (GetLabel(labels, "refuse") == "yes") return nullptr;
    return std::make_unique<CountingModel>();
  }
  mutable std::atomic<int> created{0};
};

TimeSeries Key(const std::string& id, int from, int to, double value) {
  TimeSeries ts;
  ts.labels = {{"template", id}, {"__name__", "log_lines"}};
  for (int i = from; i < to; ++i) ts.samples.push_back({kT0 + i * kStep, value});
  return ts;
}

uint64_t Fp(const std::string& id) {
  Labels l = Key(id, 0, 0, 0).labels;
  SortLabels(&l);
  return Fingerprint(l);
}

TEST(GenericModelTest, CountingModelRunsCheckpointsAndRestores) {
  std::string name = "backsight_generic_model_test_";
  name += std::to_string(getpid());
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto factory = std::make_shared<CountingFactory>();
  CollectingSink sink;
  store::StateStore st;
  ASSERT_TRUE(st.Open((dir / "s.db").string()).ok());
  {
    Engine e({.workers = 2, .model_factory = factory}, &sink);
    e.Start();
    std::vector<TimeSeries> batch;
    for (int k = 0; k < 6; ++k) {
      std::string id = "t";  // built in two steps: GCC 12 -Wrestrict false positive on "t" + s
      id += std::to_string(k);
      batch.push_back(Key(id, 0, 10 + k, 1.5));
    }
    TimeSeries refused = Key("r", 0, 5, 1);
    refused.labels.push_back({"refuse", "yes"});
    batch.push_back(std::move(refused));
    batch.push_back(Key("neg", 0, 3, -1));  // anomalous: opens an episode
    ASSERT_TRUE(e.Submit(std::move(batch)).ok());
    std::vector<TimeSeries> nan_batch = {Key("t0", 10, 11, std::nan(""))};
    ASSERT_TRUE(e.SubmitView(nan_batch).ok());
    ASSERT_TRUE(e.WaitIdle(30'000));
    const EngineStats s = e.stats();
    EXPECT_EQ(s.series_active, 7u);
    EXPECT_EQ(s.series_refused, 1u);
    EXPECT_EQ(s.samples_refused, 5u);
    EXPECT_EQ(s.samples_rejected, 1u);
    EXPECT_EQ(s.series_warming_up, 0u);
    SeriesSnapshot snap;
    ASSERT_TRUE(e.GetSeries(Fp("t3"), &snap));
    EXPECT_EQ(snap.accepted, 13u);
    EXPECT_EQ(snap.last_value, 13.0);
    EXPECT_EQ(snap.result.yhat, 13 * 1.5);
    EXPECT_EQ(snap.warmup_remaining, 0u);
    EXPECT_FALSE(snap.is_counter);
    ASSERT_TRUE(e.GetSeries(Fp("t0"), &snap));
    EXPECT_EQ(snap.rejected, 1u);
    ASSERT_TRUE(e.GetSeries(Fp("neg"), &snap));
    EXPECT_TRUE(snap.in_episode);
    ASSERT_TRUE(e.Checkpoint(&st).ok());
    e.Stop();
  }
  {
    std::lock_guard<std::mutex> lock(sink.mu);
    ASSERT_EQ(sink.changes.size(), 1u);
    EXPECT_EQ(sink.changes[0].kind, EpisodeChange::Kind::kStart);
    EXPECT_EQ(sink.changes[0].fp, Fp("neg"));
  }
  // A new engine with the same factory restores every key's count and sum, and continues.
  Engine r({.workers = 3, .model_factory = factory}, nullptr);
  uint64_t restored = 0, skipped = 0;
  ASSERT_TRUE(r.Restore(&st, &restored, &skipped).ok());
  EXPECT_EQ(restored, 7u);
  EXPECT_EQ(skipped, 0u);
  r.Start();
  ASSERT_TRUE(r.Submit({Key("t3", 13, 15, 2.0)}).ok());
  ASSERT_TRUE(r.WaitIdle(30'000));
  SeriesSnapshot snap;
  ASSERT_TRUE(r.GetSeries(Fp("t3"), &snap));
  EXPECT_EQ(snap.accepted, 15u);
  EXPECT_EQ(snap.result.yhat, 13 * 1.5 + 2 * 2.0);
  ASSERT_TRUE(r.GetSeries(Fp("t0"), &snap));
  EXPECT_EQ(snap.rejected, 1u);
  r.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace backsight::stream
