// End-to-end tests of `backsight rca`: a case directory in, the TSV / JSON / text ranking out,
// no rows on a normal case, bad input exit codes with file:line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"

namespace backsight::testing {
namespace {

constexpr long long kAlert = 1700000000;

// CPU of three services a minute apart for an hour and four minutes; `hot` (if any) runs at 90 %
// from the alert on.
std::string Metrics(const std::string& hot) {
  std::string s = "timestamp,service,instance,metric,value\n";
  const char* services[] = {"web", "api", "db"};
  for (int m = -60; m <= 3; ++m) {
    for (int i = 0; i < 3; ++i) {
      const std::string svc = services[i];
      const double v = svc == hot && m >= 0 ? 90 : 10 + ((m + 60) * 37 + i * 11) % 7 * 0.2;
      s += std::to_string(kAlert + 60 * m) + "," + svc + "," + svc + "-0,CpuUsageRate(%)," +
           std::to_string(v) + "\n";
    }
  }
  return s;
}

class RcaCliTest : public CliTest {
 protected:
  std::string MakeCase(const std::string& name, const std::string& metrics) {
    Shell("mkdir -p '" + dir_ + "/" + name + "'");
    Write(name + "/case.json", "{\"alert_time\": " + std::to_string(kAlert) + "}");
    Write(name + "/metrics.csv", metrics);
    return dir_ + "/" + name;
  }
};

TEST_F(RcaCliTest, RanksTheHotServiceFirstInTsvJsonAndText) {
  const std::string c = MakeCase("hot", Metrics("db"));
  CliResult r = Run("rca '" + c + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "rank\tservice\tscore\tindicator\texplanation");
  EXPECT_EQ(r.out.find("\n1\tdb\t"), r.out.find('\n')) << r.out;

  r = Run("rca --format json --top 1 '" + c + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["causes"].size(), 1u);
  EXPECT_EQ(j["causes"][0]["service"], "db");
  EXPECT_EQ(j["causes"][0]["indicator"], "CpuUsageRate(%)");

  r = Run("rca --format text '" + c + "'");
  EXPECT_EQ(r.out.rfind("1. db: CpuUsageRate(%) of db-0 rose to 90", 0), 0u) << r.out;
}

TEST_F(RcaCliTest, NormalCaseHasHeaderOnly) {
  const std::string c = MakeCase("calm", Metrics(""));
  const CliResult r = Run("rca '" + c + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "rank\tservice\tscore\tindicator\texplanation\n");
}

TEST_F(RcaCliTest, BadInputNamesFileAndLine) {
  const std::string c =
      MakeCase("bad", "timestamp,service,instance,metric,value\nyesterday,db,db-0,cpu,1\n");
  CliResult r = Run("rca '" + c + "'");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("metrics.csv:2: bad timestamp 'yesterday'"), std::string::npos) << r.err;
  EXPECT_EQ(Run("rca '" + dir_ + "/missing'").rc, 4);
  EXPECT_EQ(Run("rca --format xml '" + c + "'").rc, 2);
}

}  // namespace
}  // namespace backsight::testing
