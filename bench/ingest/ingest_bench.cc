// CSV series reading throughput (end-to-end: file -> parsed rows), printed as rows/s and MB/s.
//
//   ingest_bench [--rows N] [--dir DIR] [FILE...]
// Without FILE, writes three synthetic files of N rows (default 5,000,000) to DIR (default /tmp):
// ISO timestamps (`2014-07-01 00:00:00,73.96732207`), epoch seconds, and epoch ms with a quoted
// extra column; each is read 3 times and the best run is printed. With FILE, reads those files.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backsight/ingest/csv_series.h"

namespace {

using backsight::Status;
using backsight::ingest::CsvSeriesReader;
using backsight::ingest::SeriesRow;

bool WriteSynthetic(const std::string& path, int64_t rows, int kind) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  std::fputs(kind == 2 ? "host,timestamp,value\n" : "timestamp,value\n", f);
  int64_t t = 1404172800;  // 2014-07-01
  uint64_t x = 88172645463325252ULL;
  for (int64_t i = 0; i < rows; ++i, t += 60) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const double v = 50.0 + static_cast<double>(x % 1000000) / 9973.0;
    if (kind == 0) {
      const int64_t day = t / 86400, sod = t % 86400;
      // Days to civil (H. Hinnant), enough for a benchmark file.
      int64_t z = day + 719468;
      const int64_t era = z / 146097;
      const int64_t doe = z - era * 146097;
      const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      const int64_t mp = (5 * doy + 2) / 153;
      const int64_t d = doy - (153 * mp + 2) / 5 + 1;
      const int64_t m = mp < 10 ? mp + 3 : mp - 9;
      const int64_t y = yoe + era * 400 + (m <= 2);
      std::fprintf(f,
                   "%04" PRId64 "-%02" PRId64 "-%02" PRId64 " %02" PRId64 ":%02" PRId64
                   ":%02" PRId64 ",%.8f\n",
                   y, m, d, sod / 3600, sod / 60 % 60, sod % 60, v);
    } else if (kind == 1) {
      std::fprintf(f, "%" PRId64 ",%.6f\n", t, v);
    } else {
      std::fprintf(f, "\"web-%d\",%" PRId64 "000,%.6f\n", static_cast<int>(i % 16), t, v);
    }
  }
  return std::fclose(f) == 0;
}

// Reads the whole file; returns rows, or -1 on error. Sets *seconds and *bytes.
int64_t ReadAll(const std::string& path, double* seconds, uint64_t* bytes) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<CsvSeriesReader> r;
  Status st = CsvSeriesReader::Open(path, {}, &r);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return -1;
  }
  int64_t rows = 0;
  double sum = 0;
  SeriesRow row;
  for (;;) {
    bool eof = false;
    st = r->Next(&row, &eof);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return -1;
    }
    if (eof) break;
    sum += row.value;
    ++rows;
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *bytes = r->bytes_read();
  if (sum == 42.0) std::printf(" ");  // keep the loop observable
  return rows;
}

void Report(const std::string& label, const std::string& path, int repeats) {
  double best = 1e300;
  int64_t rows = 0;
  uint64_t bytes = 0;
  for (int i = 0; i < repeats; ++i) {
    double s = 0;
    rows = ReadAll(path, &s, &bytes);
    if (rows < 0) std::exit(1);
    best = std::min(best, s);
  }
  std::printf("%-28s %10" PRId64 " rows %8.1f MB  %7.3f s  %6.2f M rows/s  %7.1f MB/s\n",
              label.c_str(), rows, bytes / 1e6, best, rows / best / 1e6, bytes / best / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 5'000'000;
  std::string dir = "/tmp";
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::atoll(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      files.push_back(a);
    }
  }
  std::printf("CSV series reader throughput (best of 3, file in page cache)\n");
  if (!files.empty()) {
    for (const auto& f : files) Report(f, f, 3);
    return 0;
  }
  const char* labels[] = {"ISO 'YYYY-MM-DD HH:MM:SS'", "epoch seconds", "epoch ms + quoted column"};
  for (int kind = 0; kind < 3; ++kind) {
    const std::string path = dir + "/backsight_ingest_bench_" + std::to_string(kind) + ".csv";
    if (!WriteSynthetic(path, rows, kind)) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    Report(labels[kind], path, 3);
    std::remove(path.c_str());
  }
  return 0;
}
