// Accuracy on the Loghub-2k corpus, when present ($BACKSIGHT_DATA/loghub2k, default
// ../shared/data/loghub2k); skipped otherwise. The bar is Drain's mean scores (README of the data).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"
#include "backsight/logs/header.h"
#include "backsight/logs/miner.h"
#include "backsight/logs/parse_eval.h"

namespace backsight::logs {
namespace {

TEST(LoghubDataTest, MeansBeatDrainWithOneConfiguration) {
  const std::string dir = DataDir() + "/loghub2k/";
  double sum[4] = {};
  for (const LoghubDataset& d : LoghubDatasets()) {
    const char* name = d.name;
    const char* format = d.log_format;
    std::string log, gt;
    const std::string base = dir + name + "/" + name + "_2k.log";
    if (!ReadFileToString(base, &log).ok() ||
        !ReadFileToString(base + "_structured_corrected.csv", &gt).ok()) {
      GTEST_SKIP() << "Loghub-2k data not found under " << dir;
    }
    HeaderLayout h;
    ASSERT_TRUE(HeaderLayout::Parse(format, &h).ok()) << name;
    std::vector<std::vector<std::string>> rows;
    ASSERT_TRUE(ReadCsvRows(gt, &rows).ok()) << name;
    size_t col = 0;
    while (col < rows[0].size() && rows[0][col] != "EventTemplate") ++col;
    ASSERT_LT(col, rows[0].size());
    TemplateMiner miner;
    HeaderFields f;
    std::vector<uint32_t> ids;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
      ASSERT_TRUE(h.Match(line, &f)) << name << ": " << line;
      ids.push_back(miner.Add(f.values[h.content_index()]).template_id);
    }
    std::vector<std::string> truth, parsed;
    for (size_t r = 1; r < rows.size(); ++r) truth.push_back(rows[r][col]);
    for (uint32_t id : ids) parsed.push_back(miner.Find(id)->text);
    ParsingScores s;
    ASSERT_TRUE(EvaluateParsing(truth, parsed, &s).ok()) << name;
    sum[0] += s.ga;
    sum[1] += s.pa;
    sum[2] += s.fga;
    sum[3] += s.fta;
  }
  const double n = static_cast<double>(LoghubDatasets().size());
  EXPECT_GT(sum[0] / n, 0.919);  // Drain GA
  EXPECT_GT(sum[1] / n, 0.444);  // Drain PA
  EXPECT_GT(sum[2] / n, 0.812);  // Drain FGA
  EXPECT_GT(sum[3] / n, 0.358);  // Drain FTA
}

}  // namespace
}  // namespace backsight::logs
