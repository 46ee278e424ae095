// Scores the four result sets published with NAB v1.1 and checks the expected normalised scores
// of shared/data/nab/README.md. Skipped when the corpus is absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "backsight/core/file_util.h"
#include "backsight/evaluate/nab_scorer.h"

namespace backsight::evaluate {
namespace {

// $BACKSIGHT_DATA/nab, else ../shared/data/nab relative to the working directory, else relative
// to the source tree (ctest runs in the build directory). Empty if none exists.
std::string NabDir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("BACKSIGHT_DATA"); env != nullptr && *env != '\0') {
    std::string d = DataDir() + "/nab";
    return fs::is_directory(d) ? d : std::string();
  }
  for (std::string base : {DataDir(), std::string(BACKSIGHT_SOURCE_DIR) + "/../shared/data"}) {
    if (fs::is_directory(base + "/nab/data")) return base + "/nab";
  }
  return {};
}

class NabPublishedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(NabDir());
    if (dir_->empty()) return;
    corpus_ = new NabCorpus();
    Status st = LoadNabCorpus(*dir_, corpus_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    scorer_ = new NabScorer();
    st = NabScorer::Create(*corpus_, scorer_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  static void TearDownTestSuite() {
    delete scorer_;
    delete corpus_;
    delete dir_;
  }
  void SetUp() override {
    if (dir_->empty()) GTEST_SKIP() << "NAB corpus not found (set BACKSIGHT_DATA)";
  }
  static NabResults Load(const std::string& det) {
    NabResults r;
    Status st = LoadNabResults(*dir_ + "/results/" + det, det, *corpus_, &r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return r;
  }
  static void Check(const std::string& det, double standard, double low_fp, double low_fn) {
    NabResults r = Load(det);
    std::vector<NabProfileScore> out;
    Status st = scorer_->ScoreCorpus(r, &out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].profile, "standard");
    EXPECT_EQ(out[1].profile, "reward_low_FP_rate");
    EXPECT_EQ(out[2].profile, "reward_low_FN_rate");
    EXPECT_NEAR(out[0].normalized, standard, 0.01) << det;
    EXPECT_NEAR(out[1].normalized, low_fp, 0.01) << det;
    EXPECT_NEAR(out[2].normalized, low_fn, 0.01) << det;
    for (const auto& s : out) {
      EXPECT_EQ(s.tp + s.fp + s.fn + s.tn, 332842) << det << " " << s.profile;
      EXPECT_EQ(s.tp + s.fn, 33495);
      double sum = 0;
      int windows = 0;
      for (const auto& f : s.files) sum += f.score, windows += f.windows_total;
      EXPECT_NEAR(sum, s.raw_score, 1e-9);
      EXPECT_EQ(windows, 116);
    }
  }

  static std::string* dir_;
  static NabCorpus* corpus_;
  static NabScorer* scorer_;
};
std::string* NabPublishedTest::dir_ = nullptr;
NabCorpus* NabPublishedTest::corpus_ = nullptr;
NabScorer* NabPublishedTest::scorer_ = nullptr;

TEST_F(NabPublishedTest, CorpusShape) {
  EXPECT_EQ(corpus_->files.size(), 58u);
  EXPECT_EQ(corpus_->num_windows, 116);
  size_t rows = 0;
  for (const auto& f : corpus_->files) rows += f.timestamps.size();
  EXPECT_EQ(rows, 365558u);
}

TEST_F(NabPublishedTest, Null) { Check("null", 0.0, 0.0, 0.0); }
TEST_F(NabPublishedTest, WindowedGaussian) { Check("windowedGaussian", 39.6495, 20.8680, 47.4100); }
TEST_F(NabPublishedTest, Numenta) { Check("numenta", 70.1011, 63.2092, 74.3202); }
TEST_F(NabPublishedTest, ARTime) { Check("ARTime", 74.8538, 65.1540, 80.3623); }

// SCORING.md §6 example: numenta, standard, stored threshold -> S = 46.634450197137...
TEST_F(NabPublishedTest, NumentaAtStoredThreshold) {
  NabResults r = Load("numenta");
  NabProfileScore s;
  ASSERT_TRUE(scorer_->ScoreAtThreshold(r, 0, 0.5421876907348634, &s).ok());
  EXPECT_NEAR(s.raw_score, 46.634450197137, 1e-9);
  EXPECT_NEAR(s.normalized, 70.10, 0.005);
}

}  // namespace
}  // namespace backsight::evaluate
