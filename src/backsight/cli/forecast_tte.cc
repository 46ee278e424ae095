// `backsight forecast FILE --limit L --tte`: causal time-to-exhaustion replay of one series.
//
// The file is read row by row (ingest::CsvSeriesReader) into a forecast::TteEstimator; each row
// is written at once with the TTE predicted from that row and the ones before it, so the output
// is what a live alert would have said at each moment, and memory does not grow with the input.
#include "backsight/cli/forecast_tte.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "backsight/cli/commands.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/forecast/tte.h"
#include "backsight/ingest/csv_series.h"

namespace backsight::cli {

int RunTteReplay(const TteReplayArgs& args) {
  std::unique_ptr<ingest::CsvSeriesReader> reader;
  Status st = ingest::CsvSeriesReader::Open(args.file, {}, &reader);
  if (!st.ok()) {
    std::fprintf(stderr, "backsight forecast: %s\n", st.message().c_str());
    return st.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
  }
  std::FILE* out = stdout;
  if (args.output != "-") {
    out = std::fopen(args.output.c_str(), "wb");
    if (out == nullptr) {
      std::fprintf(stderr, "backsight forecast: cannot write %s\n", args.output.c_str());
      return kExitIoError;
    }
  }
  std::string buf = args.interval ? "timestamp,value,tte_seconds,tte_low_seconds,tte_high_seconds\n"
                                  : "timestamp,value,tte_seconds\n";
  forecast::TteEstimator est(args.limit);
  uint64_t rejected = 0;
  bool write_ok = true;
  int rc = kExitOk;
  for (;;) {
    ingest::SeriesRow row;
    bool eof = false;
    st = reader->Next(&row, &eof);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight forecast: %s\n", st.message().c_str());
      rc = st.code() == Status::Code::kIoError ? kExitIoError : kExitBadInput;
      break;
    }
    if (eof) break;
    if (est.Update(row.ts, row.value) != forecast::TteUpdate::kAccepted) ++rejected;
    forecast::TteEstimate e = est.Estimate(row.ts);
    AppendTimestamp(&buf, row.ts);
    buf += ',';
    AppendDouble(row.value, &buf);
    buf += ',';
    if (e.foreseen) AppendDouble(std::round(e.tte_seconds), &buf);
    if (args.interval) {
      buf += ',';
      if (e.foreseen) AppendDouble(std::round(e.tte_low_seconds), &buf);
      buf += ',';
      if (e.foreseen && std::isfinite(e.tte_high_seconds)) {
        AppendDouble(std::round(e.tte_high_seconds), &buf);
      }
    }
    buf += '\n';
    if (buf.size() >= (1 << 16)) {
      write_ok = write_ok && std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
      buf.clear();
    }
  }
  write_ok = write_ok && std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  write_ok = std::fflush(out) == 0 && write_ok;
  if (out != stdout) write_ok = std::fclose(out) == 0 && write_ok;
  if (!write_ok) {
    std::fprintf(stderr, "backsight forecast: write error\n");
    return kExitIoError;
  }
  if (rejected > 0) {
    std::fprintf(stderr,
                 "backsight forecast: %llu rows rejected (non-finite value or timestamp not "
                 "after the previous row); their TTE is the previous one\n",
                 static_cast<unsigned long long>(rejected));
  }
  return rc;
}

}  // namespace backsight::cli
