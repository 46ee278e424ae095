// store_bench: time to checkpoint and load N series states through store::StateStore
// (SQLite, WAL), in batches like Engine::Checkpoint, and to reopen the file: at the current
// schema version, and stamped back to version 0 (the migration of a file from before the version,
// formats.md §3). Usage: store_bench [N] [state_bytes]
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "backsight/store/state_store.h"

using namespace backsight;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  const int state_bytes = argc > 2 ? std::atoi(argv[2]) : 120;
  const std::string dir = std::filesystem::temp_directory_path() / "backsight_store_bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  store::StateStore st;
  if (!st.Open(dir + "/b.db").ok()) return 1;
  std::mt19937_64 rng(1);
  std::vector<store::SeriesRecord> batch;
  auto t0 = Clock::now();
  for (int pass = 0; pass < 2; ++pass) {
    auto tp = Clock::now();
    std::mt19937_64 keys(42);
    for (int i = 0; i < n; ++i) {
      store::SeriesRecord r;
      r.key = static_cast<uint64_t>(i);
      r.fp = keys();
      r.labels = {{"__name__", "bench_metric"},
                  {"instance", "host-1:9100"},
                  {"job", "bench"},
                  {"series", std::to_string(i)}};
      r.state.assign(state_bytes, static_cast<char>(rng()));
      batch.push_back(std::move(r));
      if (batch.size() == 4096 || i == n - 1) {
        if (!st.SaveStates(batch).ok()) return 1;
        batch.clear();
      }
    }
    std::printf("checkpoint pass %d (%s): %d states in %.2f s\n", pass,
                pass == 0 ? "insert" : "replace", n,
                std::chrono::duration<double>(Clock::now() - tp).count());
  }
  (void)t0;
  auto tl = Clock::now();
  uint64_t loaded = 0;
  const Status ls = st.LoadStates(
      [&](store::SeriesRecord&&) {
        ++loaded;
        return Status::OK();
      },
      static_cast<uint64_t*>(nullptr));
  if (!ls.ok()) {
    std::fprintf(stderr, "store_bench: load: %s\n", ls.ToString().c_str());
    return 1;
  }
  std::printf("load: %llu states in %.2f s\n", static_cast<unsigned long long>(loaded),
              std::chrono::duration<double>(Clock::now() - tl).count());
  st.Close();
  for (const bool stamp_zero : {false, true}) {
    if (stamp_zero) {
      sqlite3* db = nullptr;
      if (sqlite3_open((dir + "/b.db").c_str(), &db) != SQLITE_OK ||
          sqlite3_exec(db, "PRAGMA user_version=0", nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "store_bench: cannot stamp version 0: %s\n", sqlite3_errmsg(db));
        return 1;
      }
      sqlite3_close(db);
    }
    const auto to = Clock::now();
    const Status os = st.Open(dir + "/b.db");
    if (!os.ok()) {
      std::fprintf(stderr, "store_bench: reopen: %s\n", os.ToString().c_str());
      return 1;
    }
    std::printf("open %s: %.2f ms\n", stamp_zero ? "version 0 (migrated)" : "current version",
                std::chrono::duration<double, std::milli>(Clock::now() - to).count());
    st.Close();
  }
  std::filesystem::remove_all(dir);
}
