// The Nezha-layout systems under a data folder, for nezha_to_cases and rca_score: every
// subfolder that holds a `cases_input.tsv` whose header has the Nezha columns (`case_id`,
// `system`, `fault_start_epoch_s`, `metric_dir`, `trace_files`), in name order, so a further
// system in the same layout (e.g. a held-out one) is converted and scored with no code change.
#ifndef BACKSIGHT_BENCH_RCA_NEZHA_SYSTEMS_H_
#define BACKSIGHT_BENCH_RCA_NEZHA_SYSTEMS_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace backsight::bench {

/// Folder names (not paths) of the Nezha-layout systems directly under `data`; `only`, when not
/// empty, is a comma-separated list that replaces the discovery (names are kept as given). An
/// unreadable `data` gives an empty list.
inline std::vector<std::string> NezhaSystems(const std::string& data, const std::string& only) {
  std::vector<std::string> out;
  if (!only.empty()) {
    size_t from = 0;
    while (from <= only.size()) {
      const size_t comma = std::min(only.find(',', from), only.size());
      if (comma > from) out.push_back(only.substr(from, comma - from));
      from = comma + 1;
    }
    return out;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data, ec)) {
    std::ifstream in(entry.path() / "cases_input.tsv");
    std::string header;
    if (!in || !std::getline(in, header)) continue;
    bool nezha = true;
    for (const char* col :
         {"case_id", "system", "fault_start_epoch_s", "metric_dir", "trace_files"}) {
      nezha = nezha && header.find(col) != std::string::npos;
    }
    if (nezha) out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The id prefix of a system's cases: the first case id up to its first '-' ("ob" for "ob-01"),
/// else the folder name.
inline std::string CaseIdPrefix(const std::string& first_case_id, const std::string& folder) {
  const size_t dash = first_case_id.find('-');
  return dash == std::string::npos || dash == 0 ? folder : first_case_id.substr(0, dash);
}

}  // namespace backsight::bench

#endif  // BACKSIGHT_BENCH_RCA_NEZHA_SYSTEMS_H_
