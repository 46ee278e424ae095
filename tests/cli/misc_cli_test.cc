// End-to-end tests of what a newcomer meets first: unknown subcommands, directories given as
// files, `serve --help`, and the plot's value-axis label.
#include <gtest/gtest.h>

#include <string>

#include "cli_util.h"

namespace backsight::testing {
namespace {

using MiscCliTest = CliTest;

TEST_F(MiscCliTest, UnknownSubcommandIsNamedExit2) {
  CliResult r = Run("frobnicate");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'; see backsight --help"), std::string::npos)
      << r.err;
  // Known subcommands and top-level options still parse.
  EXPECT_EQ(Run("--version").rc, 0);
  EXPECT_EQ(Run("logs --help").rc, 0);
}

TEST_F(MiscCliTest, DetectOnADirectoryIsExit4IsADirectory) {
  CliResult r = Run("detect '" + dir_ + "'");
  EXPECT_EQ(r.rc, 4);
  EXPECT_NE(r.err.find("'" + dir_ + "': is a directory"), std::string::npos) << r.err;
}

TEST_F(MiscCliTest, ServeHelpListsConfigKeysAndDefaults) {
  CliResult r = Run("serve --help");
  EXPECT_EQ(r.rc, 0);
  for (const char* want : {"checkpoint_interval: 60s",
                           "listen: 127.0.0.1:9465",
                           "state_dir: backsight-state",
                           "max_active: 1000000",
                           "stale_after: 1h",
                           "bearer_token_file",
                           "alertmanager_url",
                           "for: 1m",
                           "resend_interval: 1m",
                           "scrape_interval: 15s",
                           "scrape_timeout: 10s",
                           "scrape_configs",
                           "static_configs",
                           "output_remote_write",
                           "counters_as_rates: true",
                           "max_body_bytes",
                           "max_decompressed_bytes",
                           "queue_max_samples",
                           "workers: 0",
                           "Exit codes"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
  }
}

TEST_F(MiscCliTest, PlotValueAxisCarriesColumnNameAndUnit) {
  std::string csv = "timestamp,request_latency_seconds\n";
  for (int i = 0; i < 50; ++i) {
    csv += std::to_string(1404172800 + 60 * i) + "," + std::to_string(0.1 + (i % 5) * 0.01) + "\n";
  }
  const std::string path = Write("lat.csv", csv);
  CliResult r = Run("detect -q -o /dev/null --plot '" + dir_ + "/p.html' '" + path + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(ReadWholeFile(dir_ + "/p.html").find("values: request_latency_seconds (seconds)"),
            std::string::npos);
}

}  // namespace
}  // namespace backsight::testing
