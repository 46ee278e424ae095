// The throw-away PostgreSQL 15 of tests/db: the ctest fixture's cluster (pg_fixture.sh), or one
// started for this process when a test binary is run by hand.
#ifndef BACKSIGHT_TESTS_DB_PG_TEST_UTIL_H_
#define BACKSIGHT_TESTS_DB_PG_TEST_UTIL_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace backsight::db {

inline constexpr char kInitdb[] = "/usr/lib/postgresql/15/bin/initdb";

/// Runs `cmd` and returns the last line of its standard output ("" on failure).
inline std::string LastLine(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string line, last;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) {
    line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return pclose(p) == 0 ? last : "";
}

/// The cluster's URI ("" when PostgreSQL 15 or pg_scratch.sh is missing, or it failed to
/// start); *dir receives the folder of a cluster started here (to stop), else "".
inline std::string TestPgUri(std::string* dir) {
  dir->clear();
  if (!std::filesystem::exists(kInitdb) || !std::filesystem::exists(BACKSIGHT_PG_SCRATCH))
    return "";
  // Under ctest, the db_pg fixture has started one cluster for every test (pg_fixture.sh).
  if (const char* f = std::getenv("BACKSIGHT_TEST_PG_URI_FILE")) {
    std::string uri = LastLine(std::string("cat ") + f);
    if (!uri.empty()) return uri;
  }
  *dir = "/tmp/bs-dbtest-" + std::to_string(getpid());
  return LastLine(std::string(BACKSIGHT_PG_SCRATCH) + " start " + *dir + " --schema " +
                  BACKSIGHT_DB_TESTDATA + "/schema.sql 2>" + *dir + ".log");
}

/// Stops a cluster TestPgUri started (its log is kept when it failed to start).
inline void StopTestPg(const std::string& dir, const std::string& uri) {
  if (dir.empty()) return;
  (void)std::system(
      (std::string(BACKSIGHT_PG_SCRATCH) + " stop " + dir + " --rm 2>/dev/null").c_str());
  if (!uri.empty()) std::filesystem::remove(dir + ".log");
}

}  // namespace backsight::db

#endif  // BACKSIGHT_TESTS_DB_PG_TEST_UTIL_H_
