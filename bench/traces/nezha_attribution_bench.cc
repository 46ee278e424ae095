// Latency attribution on the Nezha RCA data (shared/data/nezha_tt, nezha_ob): for every
// network_delay case with trace files, the day's fault-free minute is the baseline and the
// fault-window minute files are the window; the services in AttributeLatency's rows, in order,
// are the ranking. Prints per case the true service's position and AC@1/AC@3 per system.
// The labels (cases.tsv: fault_type, root_cause_service) only select the cases and score them.
//
//   nezha_attribution_bench [DATA_DIR [FAULT_TYPE]]   (default $BACKSIGHT_DATA or
//   /work/shared/data, network_delay; another fault type, e.g. cpu_contention, to see how far the
//   method carries beyond the delays it is meant for)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/traces/attribution.h"
#include "backsight/traces/span_file.h"

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

int Column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  std::fprintf(stderr, "cases.tsv lacks column %s\n", name.c_str());
  std::exit(4);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = argc > 1 ? argv[1] : "";
  if (data.empty()) data = std::getenv("BACKSIGHT_DATA") ? std::getenv("BACKSIGHT_DATA") : "";
  if (data.empty()) data = "/work/shared/data";
  const std::string fault_type = argc > 2 ? argv[2] : "network_delay";
  int total_cases = 0, total_top1 = 0;
  for (const char* system : {"nezha_tt", "nezha_ob"}) {
    const std::string dir = data + "/" + system + "/";
    std::ifstream tsv(dir + "cases.tsv");
    std::string line;
    std::getline(tsv, line);
    const auto header = Split(line, '\t');
    const int c_id = Column(header, "case_id"), c_type = Column(header, "fault_type");
    const int c_truth = Column(header, "root_cause_service"), c_tr = Column(header, "trace_files");
    const int c_norm = Column(header, "normal_trace_files");
    int cases = 0, top1 = 0, top3 = 0;
    while (std::getline(tsv, line)) {
      const auto f = Split(line, '\t');
      if (f[c_type] != fault_type) continue;
      if (f[c_tr].empty() || f[c_norm].empty()) {
        std::printf("%s %-8s no traces (skipped)\n", system, f[c_id].c_str());
        continue;
      }
      backsight::ingest::SpanBatch base, win;
      for (const auto& p : Split(f[c_norm], ';')) {
        auto st = backsight::traces::ReadSpanFile(dir + p, &base);
        if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
      }
      for (const auto& p : Split(f[c_tr], ';')) {
        auto st = backsight::traces::ReadSpanFile(dir + p, &win);
        if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
      }
      const auto a = backsight::traces::AttributeLatency(base.spans, win.spans);
      std::vector<std::string> ranking;
      for (const auto& s : a.suspects) ranking.push_back(s.service);
      int pos = 0;
      for (size_t i = 0; i < ranking.size(); ++i) {
        if (ranking[i] == f[c_truth]) {
          pos = static_cast<int>(i) + 1;
          break;
        }
      }
      ++cases;
      top1 += pos == 1;
      top3 += pos >= 1 && pos <= 3;
      std::printf(
          "%s %-6s truth %-30s pos %d  first %s (top node %s/%s -> %s) share %.2f  (slow %zu of "
          "%zu)\n",
          system, f[c_id].c_str(), f[c_truth].c_str(), pos,
          ranking.empty() ? "-" : ranking[0].c_str(),
          a.rows.empty() ? "-" : a.rows[0].service.c_str(),
          a.rows.empty() ? "-" : a.rows[0].operation.c_str(),
          a.rows.empty() ? "-" : a.rows[0].peer_service.c_str(),
          a.rows.empty() ? 0.0 : a.rows[0].share, a.slow_traces, a.window_traces);
    }
    std::printf("%s %s cases with traces: %d  AC@1 %.3f  AC@3 %.3f\n", system, fault_type.c_str(),
                cases, cases ? static_cast<double>(top1) / cases : 0,
                cases ? static_cast<double>(top3) / cases : 0);
    total_cases += cases;
    total_top1 += top1;
  }
  std::printf("both systems: %d cases  AC@1 %.3f\n", total_cases,
              total_cases ? static_cast<double>(total_top1) / total_cases : 0);
  return 0;
}
