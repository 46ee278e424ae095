// Unit tests of the NAB scorer on tiny hand-made corpora (expected values from SCORING.md).
#include "backsight/evaluate/nab_scorer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace backsight::evaluate {
namespace {

constexpr TimestampNs kStep = 300 * kNanosPerSecond;
constexpr TimestampNs kT0 = 1'400'000'000LL * kNanosPerSecond;

// Scaled sigmoid written independently of the scorer: 2 sigma(-5y) - 1, -1 beyond 3.
double F(double y) { return y > 3 ? -1.0 : 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0; }

std::vector<NabProfile> Profiles() {
  return {{"standard", 1.0, 0.11, 1.0},
          {"reward_low_FP_rate", 1.0, 0.22, 1.0},
          {"reward_low_FN_rate", 1.0, 0.11, 2.0}};
}

NabFile MakeFile(const std::string& key, int rows, const std::vector<std::pair<int, int>>& wins) {
  NabFile f;
  f.key = key;
  for (int i = 0; i < rows; ++i) {
    f.timestamps.push_back(kT0 + i * kStep);
    f.values.push_back(0);
  }
  for (auto [l, r] : wins) f.windows.emplace_back(kT0 + l * kStep, kT0 + r * kStep);
  return f;
}

// One file of 100 rows (probation 15) with one window at rows [40, 49] (W = 10).
NabCorpus OneWindow() {
  NabCorpus c;
  c.profiles = Profiles();
  c.files.push_back(MakeFile("cat/one.csv", 100, {{40, 49}}));
  c.num_windows = 1;
  return c;
}

NabResults Spikes(const NabCorpus& c, std::vector<std::pair<int, double>> spikes, size_t file = 0) {
  NabResults r;
  for (const auto& f : c.files) r.emplace_back(f.timestamps.size(), 0.0);
  for (auto [i, s] : spikes) r[file][i] = s;
  return r;
}

double ScoreAt(const NabCorpus& c, const NabResults& r, double thr, size_t profile = 0) {
  NabScorer scorer;
  EXPECT_TRUE(NabScorer::Create(c, &scorer).ok());
  NabProfileScore s;
  Status st = scorer.ScoreAtThreshold(r, profile, thr, &s);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s.raw_score;
}

TEST(NabScorerTest, ProbationIsFifteenPercentCappedAt750) {
  for (auto [rows, expected] :
       {std::pair{100, 15}, {4032, 604}, {15902, 750}, {5000, 750}, {4999, 749}}) {
    NabCorpus c;
    c.profiles = Profiles();
    c.files.push_back(MakeFile("c/f.csv", rows, {}));
    NabScorer scorer;
    ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
    EXPECT_EQ(scorer.probation(0), expected) << rows;
  }
}

TEST(NabScorerTest, DetectionAtLeftEdgeEarnsExactlyTpWeight) {
  NabCorpus c = OneWindow();
  NabScorer scorer;
  ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
  std::vector<NabProfileScore> out;
  ASSERT_TRUE(scorer.ScoreCorpus(Spikes(c, {{40, 0.9}}), &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (const auto& s : out) {
    EXPECT_DOUBLE_EQ(s.threshold, 0.9) << s.profile;
    EXPECT_NEAR(s.raw_score, 1.0, 1e-12) << s.profile;
    EXPECT_NEAR(s.normalized, 100.0, 1e-9) << s.profile;
    EXPECT_EQ(s.tp, 1);
    EXPECT_EQ(s.fp, 0);
    EXPECT_EQ(s.fn, 9);
    EXPECT_EQ(s.tn, 75);  // 85 scorable rows, 10 in the window
    ASSERT_EQ(s.files.size(), 1u);
    EXPECT_EQ(s.files[0].windows_detected, 1);
    EXPECT_EQ(s.files[0].windows_total, 1);
  }
  EXPECT_DOUBLE_EQ(out[0].null_score, -1.0);
  EXPECT_DOUBLE_EQ(out[2].null_score, -2.0);
  EXPECT_DOUBLE_EQ(out[0].perfect_score, 1.0);
}

TEST(NabScorerTest, LaterDetectionsInWindowEarnLess) {
  NabCorpus c = OneWindow();
  const double max_tp = F(-1.0);
  EXPECT_NEAR(max_tp, 0.98661429815143, 1e-13);
  // Right edge: y = -1/W.
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{49, 0.9}}), 0.5), F(-0.1) / max_tp, 1e-12);
  // Middle: row 45, y = -(49 - 45 + 1)/10.
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{45, 0.9}}), 0.5), F(-0.5) / max_tp, 1e-12);
  // Only the earliest detection in a window counts; later ones add nothing.
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{42, 0.9}, {45, 0.9}, {49, 0.9}}), 0.5), F(-0.8) / max_tp,
              1e-12);
  // Missed window costs A_FN (2 in the low-FN profile).
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {}), 0.5, 0), -1.0, 1e-12);
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {}), 0.5, 2), -2.0, 1e-12);
}

TEST(NabScorerTest, FalsePositiveWeights) {
  NabCorpus c = OneWindow();
  // Before the first window has ended: -A_FP.
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{20, 0.9}}), 0.5, 0), -1.0 - 0.11, 1e-12);
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{20, 0.9}}), 0.5, 1), -1.0 - 0.22, 1e-12);
  // After the window: y = (i - R') / (W' - 1), weight A_FP * f(y).
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{50, 0.9}}), 0.5, 0), -1.0 + 0.11 * F(1.0 / 9), 1e-12);
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{58, 0.9}}), 0.5, 0), -1.0 + 0.11 * F(1.0), 1e-12);
  // Far after (y > 3): -A_FP.
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{80, 0.9}}), 0.5, 1), -1.0 - 0.22, 1e-12);
  // Every FP counts (no de-duplication).
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{20, 0.9}, {21, 0.9}, {22, 0.9}}), 0.5, 0), -1.0 - 0.33, 1e-12);
}

TEST(NabScorerTest, OnlyThePrecedingWindowShapesAnFalsePositive) {
  NabCorpus c;
  c.profiles = Profiles();
  c.files.push_back(MakeFile("c/two.csv", 100, {{40, 49}, {62, 71}}));
  c.num_windows = 2;
  // Row 60 is 2 rows before the second window; its weight depends only on the first one.
  NabResults r = Spikes(c, {{60, 0.9}, {40, 0.9}, {62, 0.9}});
  EXPECT_NEAR(ScoreAt(c, r, 0.5), 2.0 + 0.11 * F(11.0 / 9), 1e-12);
  // Row 90 follows the second window: y = (90 - 71) / 9.
  r = Spikes(c, {{90, 0.9}});
  EXPECT_NEAR(ScoreAt(c, r, 0.5), -2.0 + 0.11 * F(19.0 / 9), 1e-12);
}

TEST(NabScorerTest, ProbationRowsAreIgnored) {
  NabCorpus c = OneWindow();
  NabScorer scorer;
  ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
  NabProfileScore s;
  ASSERT_TRUE(scorer.ScoreAtThreshold(Spikes(c, {{0, 0.9}, {14, 0.9}}), 0, 0.5, &s).ok());
  EXPECT_NEAR(s.raw_score, -1.0, 1e-12);
  EXPECT_EQ(s.fp, 0);
  EXPECT_EQ(s.tp + s.fp + s.fn + s.tn, 85);
  // Row 15 is the first scored row.
  ASSERT_TRUE(scorer.ScoreAtThreshold(Spikes(c, {{15, 0.9}}), 0, 0.5, &s).ok());
  EXPECT_EQ(s.fp, 1);
  EXPECT_NEAR(s.raw_score, -1.11, 1e-12);
  // A high score during probation must not become the chosen threshold either.
  std::vector<NabProfileScore> out;
  ASSERT_TRUE(scorer.ScoreCorpus(Spikes(c, {{3, 0.99}, {40, 0.9}}), &out).ok());
  EXPECT_DOUBLE_EQ(out[0].threshold, 0.9);
}

TEST(NabScorerTest, TiesGoToTheHigherThreshold) {
  NabCorpus c = OneWindow();
  NabScorer scorer;
  ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
  std::vector<NabProfileScore> out;
  // 0.9 and 0.8 give the same score (row 45 adds nothing once row 40 is detected).
  ASSERT_TRUE(scorer.ScoreCorpus(Spikes(c, {{40, 0.9}, {45, 0.8}}), &out).ok());
  EXPECT_DOUBLE_EQ(out[0].threshold, 0.9);
  // Swapped, 0.8 is strictly better than 0.9.
  ASSERT_TRUE(scorer.ScoreCorpus(Spikes(c, {{40, 0.8}, {45, 0.9}}), &out).ok());
  EXPECT_DOUBLE_EQ(out[0].threshold, 0.8);
  EXPECT_NEAR(out[0].raw_score, 1.0, 1e-12);
  // A constant score (the null detector): detecting nothing (1.1) beats detecting everything.
  NabResults null_r = Spikes(c, {});
  for (double& v : null_r[0]) v = 0.5;
  ASSERT_TRUE(scorer.ScoreCorpus(null_r, &out).ok());
  for (const auto& s : out) {
    EXPECT_DOUBLE_EQ(s.threshold, 1.1);
    EXPECT_DOUBLE_EQ(s.normalized, 0.0);
  }
}

TEST(NabScorerTest, SweepMatchesBruteForceOnRandomCorpus) {
  NabCorpus c;
  c.profiles = Profiles();
  c.files.push_back(MakeFile("a/x.csv", 300, {{60, 80}, {150, 190}, {250, 260}}));
  c.files.push_back(MakeFile("a/y.csv", 200, {}));
  c.files.push_back(MakeFile("b/z.csv", 500, {{100, 149}}));
  c.num_windows = 4;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> level(0, 40);  // coarse levels make many ties
  NabResults r;
  std::set<double> candidates = {1.1};
  for (const auto& f : c.files) {
    r.emplace_back();
    for (size_t i = 0; i < f.timestamps.size(); ++i) {
      r.back().push_back(level(rng) / 40.0 * (level(rng) > 35 ? 1.0 : 0.7));
      candidates.insert(r.back().back());
    }
  }
  NabScorer scorer;
  ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
  std::vector<NabProfileScore> out;
  ASSERT_TRUE(scorer.ScoreCorpus(r, &out).ok());
  for (size_t p = 0; p < out.size(); ++p) {
    double best = -1e300, best_thr = 0;
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
      NabProfileScore s;
      ASSERT_TRUE(scorer.ScoreAtThreshold(r, p, *it, &s).ok());
      if (s.raw_score > best + 1e-9) best = s.raw_score, best_thr = *it;
    }
    EXPECT_NEAR(out[p].raw_score, best, 1e-9) << out[p].profile;
    EXPECT_DOUBLE_EQ(out[p].threshold, best_thr) << out[p].profile;
    double sum = 0;
    for (const auto& fs : out[p].files) sum += fs.score;
    EXPECT_NEAR(sum, out[p].raw_score, 1e-9);
  }
}

TEST(NabScorerTest, WindowEdgeMustBeADataTimestamp) {
  NabCorpus c = OneWindow();
  c.files[0].windows[0].first += 1;  // 1 ns off
  NabScorer scorer;
  Status st = NabScorer::Create(c, &scorer);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("cat/one.csv"), std::string::npos) << st.message();
}

TEST(NabScorerTest, OverlappingWindowsAreRejected) {
  NabCorpus c;
  c.profiles = Profiles();
  c.files.push_back(MakeFile("c/f.csv", 100, {{40, 60}, {50, 70}}));
  NabScorer scorer;
  EXPECT_EQ(NabScorer::Create(c, &scorer).code(), Status::Code::kInvalidArgument);
}

TEST(NabScorerTest, WindowsUseFirstOccurrenceOfDuplicatedTimestamps) {
  NabCorpus c = OneWindow();
  // Row 30 repeats row 29's timestamp: rows keep their positions, windows stay at rows 40..49.
  c.files[0].timestamps[30] = c.files[0].timestamps[29];
  EXPECT_NEAR(ScoreAt(c, Spikes(c, {{40, 0.9}}), 0.5), 1.0, 1e-12);
}

TEST(NabScorerTest, BadResultsAreRejected) {
  NabCorpus c = OneWindow();
  NabScorer scorer;
  ASSERT_TRUE(NabScorer::Create(c, &scorer).ok());
  std::vector<NabProfileScore> out;
  NabResults r = Spikes(c, {});
  r[0].pop_back();
  EXPECT_EQ(scorer.ScoreCorpus(r, &out).code(), Status::Code::kInvalidArgument);
  r = Spikes(c, {{50, std::nan("")}});
  EXPECT_EQ(scorer.ScoreCorpus(r, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(scorer.ScoreCorpus(NabResults{}, &out).code(), Status::Code::kInvalidArgument);
}

TEST(NabCsvTest, ParsesTimestampValueWithCrLf) {
  std::vector<TimestampNs> ts;
  std::vector<double> v;
  Status st = ParseTimestampValueCsv(
      "timestamp,value\r\n2014-04-01 00:00:00,1.5\r\n2014-04-01 00:05:00,-2e3\r\n\r\n", "x.csv",
      &ts, &v);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[1] - ts[0], kStep);
  EXPECT_DOUBLE_EQ(v[0], 1.5);
  EXPECT_DOUBLE_EQ(v[1], -2000);
}

TEST(NabCsvTest, ErrorsNameFileLineAndField) {
  std::vector<TimestampNs> ts;
  std::vector<double> v;
  Status st = ParseTimestampValueCsv(
      "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,x\n", "d.csv", &ts, &v);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("d.csv:3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("value"), std::string::npos) << st.message();
  st = ParseTimestampValueCsv("timestamp,value\nnot-a-time,1\n", "d.csv", &ts, &v);
  EXPECT_NE(st.message().find("d.csv:2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("timestamp"), std::string::npos) << st.message();
  st = ParseTimestampValueCsv("timestamp,value\n2014-04-01 00:00:00,1,2\n", "d.csv", &ts, &v);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = ParseTimestampValueCsv("", "d.csv", &ts, &v);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = ParseTimestampValueCsv("time,value\n", "d.csv", &ts, &v);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = ReadTimestampValueCsv("/nonexistent/nab.csv", &ts, &v);
  EXPECT_EQ(st.code(), Status::Code::kIoError);
}

TEST(NabCsvTest, AnomalyScoreColumnByName) {
  std::vector<double> s;
  Status st = ParseAnomalyScoreCsv("timestamp,value,anomaly_score,label\nA,1,0.25,0\nB,2,1,1\n",
                                   "r.csv", &s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(s, (std::vector<double>{0.25, 1.0}));
  st = ParseAnomalyScoreCsv("timestamp,score\nA,1\n", "r.csv", &s);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = ParseAnomalyScoreCsv("timestamp,anomaly_score\nA,0.5\nB,nan\n", "r.csv", &s);
  EXPECT_NE(st.message().find("r.csv:3"), std::string::npos) << st.message();
  st = ParseAnomalyScoreCsv("timestamp,anomaly_score\nA,1.5\n", "r.csv", &s);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = ParseAnomalyScoreCsv("timestamp,anomaly_score\nA,-0.1\n", "r.csv", &s);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
}

TEST(NabFileTest, CategoryAndName) {
  NabFile f;
  f.key = "realKnownCause/nyc_taxi.csv";
  EXPECT_EQ(f.Category(), "realKnownCause");
  EXPECT_EQ(f.Name(), "nyc_taxi");
}

}  // namespace
}  // namespace backsight::evaluate
