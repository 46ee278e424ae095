// Fuzzes the `backsight rca` case directory readers (LoadCase: spans.csv, baseline/spans.csv,
// metrics.csv, calls.csv, logs.csv) and RankRootCauses on whatever they accept. The input is split
// at NUL bytes into the bodies of those files, in that order (each gets its header line, so the
// fuzzer spends its time on rows); case.json is fixed (alert at 1000 s).
// Oracles: no exception, no crash, no hang on hostile rows and span trees (parent cycles, a span
// its own parent, huge fan-out, NaN and absurd numbers); a loaded case always ranks.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "backsight/incidents/case_data.h"
#include "backsight/incidents/root_cause.h"
#include "fuzz_util.h"

namespace {

const std::filesystem::path& CaseDir() {
  static const std::filesystem::path dir = [] {
    auto d =
        std::filesystem::temp_directory_path() / ("backsight_rca_fuzz_" + std::to_string(getpid()));
    std::filesystem::create_directories(d / "baseline");
    std::ofstream(d / "case.json") << "{\"alert_time\": 1000}\n";
    return d;
  }();
  return dir;
}

int FuzzOne(const uint8_t* data, size_t size) {
  static const std::pair<const char*, const char*> kFiles[] = {
      {"spans.csv",
       "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,"
       "end_unix_nano,status\n"},
      {"baseline/spans.csv",
       "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,"
       "end_unix_nano,status\n"},
      {"metrics.csv", "timestamp,service,instance,metric,value\n"},
      {"calls.csv", "timestamp,caller,callee,metric,value\n"},
      {"logs.csv", "timestamp_unix_nano,service,instance,trace_id,span_id,body\n"},
  };
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (const auto& [name, header] : kFiles) {
    const size_t nul = rest.find('\0');
    const std::string_view body = rest.substr(0, nul);
    std::ofstream(CaseDir() / name, std::ios::binary | std::ios::trunc) << header << body;
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  backsight::incidents::CaseData c;
  if (!backsight::incidents::LoadCase(CaseDir().string(), &c).ok()) return 0;
  backsight::incidents::RcaOptions options;
  options.use_graph = true;  // the graph rule too
  (void)backsight::incidents::RankRootCauses(c, options);
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
