// `log_files` in a real `backsight serve`: a tailed file's templates and ids are those of
// `backsight logs` on the same file; appends, rotation by rename and copytruncate are followed;
// a restart, also after `kill -9`, resumes at the checkpointed offset without counting a line
// twice, and finishes a file rotated while the server was down.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "backsight/core/byte_io.h"
#include "backsight/logs/log_service.h"
#include "proc_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr const char* kHeader = "<Date> <Time> <Level> <Component>: <Content>";

// `n` records from `from` on, HDFS-like, with stack traces (continuation lines, not records)
// and lines that do not match the header; `*records` gets the number of records.
std::string MakeLines(int from, int n, int* records) {
  std::string out;
  *records = 0;
  for (int i = from; i < from + n; ++i) {
    char ts[64];
    std::snprintf(ts, sizeof ts, "2024-01-%02d %02d:%02d:%02d", 1 + i / 3600, i / 60 % 24, i % 60,
                  i % 60);
    if (i % 50 == 49) {
      out += std::string(ts) + " ERROR dfs.DataXceiver: Exception in receiveBlock for block blk_" +
             std::to_string(i * 31) +
             "\n\tat org.apache.hadoop.Foo.bar(Foo.java:" + std::to_string(i) +
             ")\n\tat org.apache.hadoop.Baz.run(Baz.java:12)\n";
    } else if (i % 17 == 0) {
      out += "garbage without a header " + std::to_string(i) + "\n";
    } else if (i % 7 == 0) {
      out += std::string(ts) +
             " WARN dfs.DataNode: Slow BlockReceiver write packet to mirror took " +
             std::to_string(i % 900) + "ms\n";
    } else if (i % 5 == 1) {
      out += std::string(ts) + " INFO dfs.FSDataset: Deleting block blk_" + std::to_string(i * 3) +
             " file /mnt/hadoop/dfs/data/current/subdir" + std::to_string(i % 60) + "/blk_" +
             std::to_string(i * 3) + "\n";
    } else if (i % 5 == 2) {
      out += std::string(ts) + " INFO dfs.DataNode$PacketResponder: PacketResponder " +
             std::to_string(i % 3) + " for block blk_" + std::to_string(i * 11) + " terminating\n";
    } else if (i % 5 == 3) {
      out += std::string(ts) + " INFO dfs.DataBlockScanner: Verification succeeded for blk_" +
             std::to_string(i * 5) + "\n";
    } else {
      out += std::string(ts) + " INFO dfs.DataNode$PacketResponder: Received block blk_" +
             std::to_string(i * 7919) + " of size " + std::to_string(i * 13) + " from /10.0.0." +
             std::to_string(i % 250) + "\n";
    }
    ++*records;
  }
  return out;
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}

std::string Yaml(const TempDir& dir, const std::string& file, const std::string& header) {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
         "\ncheckpoint_interval: 1h\nlog_files:\n  - path: " + file + "\n    header: '" + header +
         "'\n";
}

// id -> template text of GET /api/v1/log/templates?service=S (all of them).
std::map<uint32_t, std::string> Templates(const ServeProcess& s, const std::string& service,
                                          uint64_t* total) {
  std::map<uint32_t, std::string> out;
  *total = 0;
  auto j = nlohmann::json::parse(s.Get("/api/v1/log/templates?limit=10000&service=" + service),
                                 nullptr, false);
  if (!j.is_object() || !j.contains("templates")) return out;
  for (const auto& t : j["templates"]) {
    out[t["id"].get<uint32_t>()] = t["template"].get<std::string>();
    *total += t["count"].get<uint64_t>();
  }
  return out;
}

// Waits until the service's template counts add up to at least `want`, then a second more (4
// polls) so that a duplicate would show; returns the sum.
uint64_t CountAfterSettling(const ServeProcess& s, const std::string& service, uint64_t want) {
  uint64_t total = 0;
  WaitFor(
      [&] {
        Templates(s, service, &total);
        return total >= want;
      },
      20'000);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Templates(s, service, &total);
  return total;
}

TEST(LogFiles, TemplateIdsMatchBacksightLogsOnTheSameFile) {
  TempDir dir;
  const std::string file = dir.file("hdfs.log");
  int records = 0;
  WriteFile(file, MakeLines(0, 1500, &records));
  ServeProcess s(dir, Yaml(dir, file, kHeader));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  uint64_t total = 0;
  EXPECT_EQ(CountAfterSettling(s, "hdfs.log", records), static_cast<uint64_t>(records));
  const std::map<uint32_t, std::string> served = Templates(s, "hdfs.log", &total);

  const std::string cmd = std::string(BACKSIGHT_BIN) + " logs -q --top 0 --format json --header '" +
                          kHeader + "' " + file;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out.substr(0, 500);
  std::map<uint32_t, std::string> cli;
  uint64_t cli_total = 0;
  for (const auto& t : j["templates"]) {
    cli[t["id"].get<uint32_t>()] = t["template"].get<std::string>();
    cli_total += t["count"].get<uint64_t>();
  }
  EXPECT_GE(cli.size(), 7u);
  EXPECT_EQ(served, cli);
  EXPECT_EQ(total, cli_total);
}

TEST(LogFiles, FollowsAppendsRotationByRenameAndCopytruncate) {
  TempDir dir;
  const std::string file = dir.file("app.log");
  ServeProcess s(dir, Yaml(dir, file, kHeader));  // the file does not exist yet
  ASSERT_TRUE(s.ok()) << s.proc().log();
  int n = 0, sum = 0;
  Append(file, MakeLines(0, 40, &n));
  sum += n;
  EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
  // logrotate's default: rename, then the writer opens a new file.
  Append(file, MakeLines(40, 10, &n));  // last lines of the old file
  sum += n;
  std::filesystem::rename(file, file + ".1");
  Append(file, MakeLines(50, 25, &n));
  sum += n;
  EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
  EXPECT_EQ(s.Metric("backsight_log_file_rotations_total"), 1);
  // copytruncate: copied away, truncated in place, written again from 0.
  std::filesystem::copy_file(file, file + ".2");
  std::filesystem::resize_file(file, 0);
  Append(file, MakeLines(75, 5, &n));
  sum += n;
  EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
  EXPECT_EQ(s.Metric("backsight_log_file_truncations_total"), 1);
  EXPECT_EQ(s.Metric("backsight_log_file_lines_total"), s.Metric("backsight_log_lines_total"));
}

TEST(LogFiles, RestartResumesAtTheCheckpointedOffsetAlsoAfterKill9) {
  TempDir dir;
  const std::string file = dir.file("app.log");
  const std::string yaml = Yaml(dir, file, kHeader);
  int n = 0, sum = 0;
  Append(file, MakeLines(0, 300, &n));
  sum += n;
  std::map<uint32_t, std::string> before;
  {
    ServeProcess s(dir, yaml);
    ASSERT_TRUE(s.ok()) << s.proc().log();
    EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
    ASSERT_EQ(s.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
    Append(file, MakeLines(300, 120, &n));  // mined, not checkpointed
    sum += n;
    uint64_t total = 0;
    EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
    before = Templates(s, "app.log", &total);
    s.proc().Signal(SIGKILL);
    s.proc().Wait(10'000);
  }
  Append(file, MakeLines(420, 30, &n));  // written while down
  sum += n;
  {
    ServeProcess s(dir, yaml, "serve2");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    // The 120 lines after the checkpoint are read again, once; the 30 new ones once.
    EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
    EXPECT_EQ(s.Metric("backsight_log_file_resumed_total"), 1);
    uint64_t total = 0;
    const auto after = Templates(s, "app.log", &total);
    for (const auto& [id, text] : before) EXPECT_EQ(after.count(id) ? after.at(id) : "", text);
    s.proc().Signal(SIGTERM);  // a clean stop checkpoints
    EXPECT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
  }
  // Rotated while down: the old file's last lines are finished, then the new file is read.
  Append(file, MakeLines(450, 10, &n));
  sum += n;
  std::filesystem::rename(file, file + ".1");
  Append(file, MakeLines(460, 15, &n));
  sum += n;
  ServeProcess s(dir, yaml, "serve3");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(CountAfterSettling(s, "app.log", sum), static_cast<uint64_t>(sum));
}

// A logs.state written before log_files (BSLC version 1: no tailed files) is still restored.
TEST(LogFiles, Version1LogStateIsStillRead) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("state"));
  logs::LogService service;
  const std::string msg = "user 42 logged in";
  std::vector<logs::LogEntry> entries(3, logs::LogEntry{1'700'000'000'000'000'000, msg, "info"});
  ASSERT_TRUE(service.Add("shop", entries, nullptr).ok());
  std::string state;
  ByteWriter w(&state);
  w.PutU32(0x434C5342);  // BSLC
  w.PutU32(1);
  w.PutU64(0);  // first write-ahead log segment
  service.SaveState(&state);
  WriteFile(dir.file("state/logs.state"), state);
  ServeProcess s(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  uint64_t total = 0;
  EXPECT_EQ(Templates(s, "shop", &total).size(), 1u);
  EXPECT_EQ(total, 3u);
}

TEST(LogFiles, BadEntriesAreConfigErrors) {
  TempDir dir;
  ServeProcess s(dir, "listen: 127.0.0.1:0\nlog_files:\n  - path: /x.log\n    header: '<Date'\n");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.proc().log().find("log_files[0].header"), std::string::npos) << s.proc().log();
}

}  // namespace
}  // namespace backsight::testing
