// The oasdiff corpus (README there) as a regression guard: every case whose base and revision
// are different files reports its expected rule ids, and every NONE case stays quiet at
// error/warning level. bench/api/oasdiff_cases prints the figures and each miss.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/analyze/api/differ.h"
#include "backsight/analyze/api/report.h"
#include "backsight/analyze/api/rules.h"
#include "backsight/core/csv.h"
#include "test_data.h"

namespace backsight::api {
namespace {

TEST(OasdiffCorpusTest, ExpectedIdsFoundAndNoneCasesQuiet) {
  std::string dir = OasdiffDir();
  if (dir.empty()) GTEST_SKIP() << "oasdiff corpus not found (set BACKSIGHT_DATA)";
  std::ifstream in(dir + "/cases.tsv");
  std::string line;
  std::getline(in, line);
  int cases = 0;
  while (std::getline(in, line)) {
    auto f = backsight::SplitDelimited(line, '\t');
    if (f.size() < 5 || f[2] == f[3]) continue;  // same file: oasdiff's test edits it in code
    ++cases;
    Spec b, r;
    ASSERT_TRUE(LoadSpec(dir + "/data/" + f[2], &b).ok()) << f[2];
    ASSERT_TRUE(LoadSpec(dir + "/data/" + f[3], &r).ok()) << f[3];
    std::set<std::string> got;
    bool loud = false;
    for (const Change& c : DiffSpecs(b, r)) {
      got.insert(c.rule);
      if (!c.note.empty()) got.insert(c.note);
      loud |= c.level >= Level::kWarning;
    }
    if (f[4] == "NONE") {
      EXPECT_FALSE(loud) << f[1];
      continue;
    }
    for (const auto& id : backsight::SplitDelimited(f[4], ';'))
      EXPECT_EQ(got.count(id), 1u) << f[1] << ": " << id;
  }
  EXPECT_GE(cases, 170);
}

// The verdict (report.h) of every case whose sides are different files: breaking when an
// expected id is at ERR or WARN level, a change (compatible, or breaking when another change of
// the pair breaks: many pairs share one schema between request and response) when it is INFO,
// not breaking for NONE.
TEST(OasdiffCorpusTest, VerdictsFollowTheExpectedLevels) {
  std::string dir = OasdiffDir();
  if (dir.empty()) GTEST_SKIP() << "oasdiff corpus not found (set BACKSIGHT_DATA)";
  // `maximum` on an array parameter: oasdiff says ERR, the differ says the keyword cannot apply
  // to the type and reports it at info (README, `backsight api diff`).
  const std::set<std::string> kDisagreements = {"TestRequestParameterMaxDecreased"};
  std::ifstream in(dir + "/cases.tsv");
  std::string line;
  std::getline(in, line);
  int cases = 0, breaking = 0, compatible = 0;
  while (std::getline(in, line)) {
    auto f = backsight::SplitDelimited(line, '\t');
    if (f.size() < 5 || f[2] == f[3] || kDisagreements.count(f[1]) != 0) continue;
    ++cases;
    Spec b, r;
    ASSERT_TRUE(LoadSpec(dir + "/data/" + f[2], &b).ok()) << f[2];
    ASSERT_TRUE(LoadSpec(dir + "/data/" + f[3], &r).ok()) << f[3];
    const Verdict v = Summarise(DiffSpecs(b, r));
    breaking += v == Verdict::kBreaking;
    compatible += v == Verdict::kCompatible;
    if (f[4] == "NONE") {
      EXPECT_NE(v, Verdict::kBreaking) << f[1];
      continue;
    }
    Level top = Level::kInfo;
    for (const auto& id : backsight::SplitDelimited(f[4], ';')) {
      const Rule* rule = FindRule(id);  // nullptr: a comment id such as "pattern-added-..."
      if (rule != nullptr) top = std::max(top, rule->level);
    }
    if (top >= Level::kWarning) {
      EXPECT_EQ(v, Verdict::kBreaking) << f[1] << ": " << f[4];
    } else {
      EXPECT_NE(v, Verdict::kNoChange) << f[1] << ": " << f[4];
    }
  }
  EXPECT_GE(cases, 170);
  EXPECT_GT(compatible, 30);  // the verdict is not "breaking" everywhere
  EXPECT_GT(breaking, 100);
}

}  // namespace
}  // namespace backsight::api
