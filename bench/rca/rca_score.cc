// Scores `backsight rca`'s ranking (incidents/root_cause.h) on the Nezha cases written by
// nezha_to_cases: AC@1, AC@3, AC@5, Avg@5 (RCAEval) overall, per fault type and per system,
// specificity on the normal cases (no row = correct) and time per case (load + rank, one thread).
// Writes OUT_DIR/predictions.tsv and OUT_DIR/cases.tsv in the format of
// shared/tools/rca_score_ref.py, which must print the same figures:
//   python3 ../shared/tools/rca_score_ref.py OUT_DIR/cases.tsv OUT_DIR/predictions.tsv
// The labels (cases.tsv: fault_type, root_cause_service) are read only here, to score.
//
//   rca_score CASES_DIR OUT_DIR [--data DATA_DIR] [--systems a,b] [--sources mltegpq] [--graph]
//             [--verbose]
// Systems: every Nezha-layout folder of DATA_DIR (nezha_systems.h) unless --systems names them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"
#include "backsight/incidents/case_data.h"
#include "backsight/incidents/root_cause.h"
#include "nezha_systems.h"

namespace fs = std::filesystem;
using backsight::SplitDelimited;

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rca_score: %s\n", what.c_str());
  std::exit(4);
}

struct Truth {
  std::string id, system, type, service, pod;
};

std::vector<Truth> ReadTruth(const std::string& path, bool normal) {
  std::string text;
  if (!backsight::ReadFileToString(path, &text).ok()) Die("cannot read " + path);
  std::vector<Truth> out;
  std::vector<std::string> header;
  for (const auto& line : SplitDelimited(text, '\n')) {
    if (line.empty()) continue;
    const auto f = SplitDelimited(line, '\t');
    if (header.empty()) {
      header = f;
      continue;
    }
    auto col = [&](const std::string& name) -> std::string {
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == name && i < f.size()) return f[i];
      }
      return "";
    };
    Truth t{col("case_id"), col("system"), normal ? "noissue" : col("fault_type"),
            col("root_cause_service"), col("root_cause_pod")};
    out.push_back(t);
  }
  return out;
}

struct Tally {
  int n = 0;
  int hit[6] = {0, 0, 0, 0, 0, 0};  // hit[k]: pos <= k
  void Add(int pos) {
    ++n;
    for (int k = 1; k <= 5; ++k) hit[k] += pos >= 1 && pos <= k;
  }
  double Ac(int k) const { return n ? static_cast<double>(hit[k]) / n : 0; }
  double Avg5() const { return (Ac(1) + Ac(2) + Ac(3) + Ac(4) + Ac(5)) / 5; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    Die("usage: rca_score CASES_DIR OUT_DIR [--data DIR] [--systems a,b] [--sources mltegpq] "
        "[--graph]");
  const std::string cases_dir = argv[1], out_dir = argv[2];
  std::string data = std::getenv("BACKSIGHT_DATA") ? std::getenv("BACKSIGHT_DATA") : "";
  if (data.empty()) data = "../shared/data";
  std::string only;  // --systems
  backsight::incidents::RcaOptions options;
  bool verbose = false;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) {
      data = argv[++i];
    } else if (a == "--systems" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--sources" && i + 1 < argc) {
      const std::string s = argv[++i];
      options.use_metrics = s.find('m') != std::string::npos;
      options.use_logs = s.find('l') != std::string::npos;
      options.use_traces = s.find('t') != std::string::npos;
      options.use_calls = s.find('e') != std::string::npos;
      options.use_missing_logs = s.find('g') != std::string::npos;
      options.use_stop_points = s.find('p') != std::string::npos;
      options.use_quiet_callees = s.find('q') != std::string::npos;
    } else if (a == "--graph") {
      options.use_graph = true;
    } else if (a == "--verbose") {
      verbose = true;
    } else {
      Die("unknown argument " + a);
    }
  }
  fs::create_directories(out_dir);
  std::string preds = "case_id\trank\tservice\tindicator\n";
  std::string truth_tsv = "case_id\tsystem\tfault_type\troot_cause_service\troot_cause_pod\n";
  std::map<std::string, Tally> tally;
  std::map<std::string, std::pair<int, int>> normal;  // group -> (correct, n)
  double total_s = 0, max_s = 0;
  int cases = 0;
  const std::vector<std::string> systems = backsight::bench::NezhaSystems(data, only);
  if (systems.empty()) Die("no Nezha-layout system (a folder with cases_input.tsv) in " + data);
  for (const std::string& sys : systems) {
    std::vector<Truth> all = ReadTruth(data + "/" + sys + "/cases.tsv", false);
    const std::string normal_path = cases_dir + "/" + sys + "/normal_cases.tsv";
    if (fs::exists(normal_path)) {
      for (auto& t : ReadTruth(normal_path, true)) all.push_back(t);
    }
    for (const auto& t : all) {
      const std::string dir = cases_dir + "/" + sys + "/" + t.id;
      if (!fs::exists(dir)) Die("missing case " + dir + " (run nezha_to_cases first)");
      const auto t0 = std::chrono::steady_clock::now();
      backsight::incidents::CaseData c;
      auto st = backsight::incidents::LoadCase(dir, &c);
      if (!st.ok()) Die(st.ToString());
      const auto r = backsight::incidents::RankRootCauses(c, options);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      total_s += secs, max_s = std::max(max_s, secs), ++cases;
      truth_tsv += t.id + "\t" + t.system + "\t" + t.type + "\t" + t.service + "\t" + t.pod + "\n";
      int pos = 0;
      for (size_t i = 0; i < r.causes.size(); ++i) {
        std::string ind = r.causes[i].indicator;
        for (char& ch : ind) {
          if (ch == '\t' || ch == '\n') ch = ' ';
        }
        preds +=
            t.id + "\t" + std::to_string(i + 1) + "\t" + r.causes[i].service + "\t" + ind + "\n";
        if (pos == 0 && r.causes[i].service == t.service) pos = static_cast<int>(i) + 1;
      }
      if (t.service.empty()) {
        for (const std::string& g : {std::string("overall"), "system=" + t.system}) {
          normal[g].first += r.causes.empty();
          normal[g].second += 1;
        }
        if (verbose && !r.causes.empty()) {
          std::printf("%-28s normal, named %s (%s)\n", t.id.c_str(), r.causes[0].service.c_str(),
                      r.causes[0].explanation.c_str());
        }
        continue;
      }
      for (const std::string& g :
           {std::string("overall"), "type=" + t.type, "system=" + t.system}) {
        tally[g].Add(pos);
      }
      if (verbose) {
        std::string srcs;
        for (const auto& s : r.sources) {
          int p = 0;
          for (size_t i = 0; i < s.strengths.size(); ++i) {
            if (s.strengths[i].first == t.service) p = static_cast<int>(i) + 1;
          }
          srcs += std::string(" ") + "mltscegpq"[static_cast<int>(s.kind)] +
                  (s.significant ? "*" : "") + std::to_string(p);
          char m[32];
          std::snprintf(m, sizeof m, "(%.2g)", s.margin);
          srcs += m;
        }
        if (verbose && pos != 1) {
          for (const auto& s : r.sources) {
            std::printf("   %c%s:", "mltscegpq"[static_cast<int>(s.kind)],
                        s.significant ? "*" : "");
            for (size_t i = 0; i < s.strengths.size() && i < 4; ++i) {
              std::printf(" %s %.3g", s.strengths[i].first.c_str(), s.strengths[i].second);
            }
            std::printf("\n");
          }
        }
        std::printf("%-7s %-15s %-30s pos %d  srcs%s  first %s\n", t.id.c_str(), t.type.c_str(),
                    t.service.c_str(), pos, srcs.c_str(),
                    r.causes.empty() ? "-" : r.causes[0].service.c_str());
      }
    }
  }
  std::ofstream(out_dir + "/predictions.tsv") << preds;
  std::ofstream(out_dir + "/cases.tsv") << truth_tsv;
  std::printf("%-34s%6s%8s%8s%8s%8s\n", "group", "n", "AC@1", "AC@3", "AC@5", "Avg@5");
  auto print = [&](const std::string& g) {
    const Tally& t = tally[g];
    std::printf("%-34s%6d%8.3f%8.3f%8.3f%8.3f\n", g.c_str(), t.n, t.Ac(1), t.Ac(3), t.Ac(5),
                t.Avg5());
  };
  print("overall");
  for (const auto& [g, t] : tally) {
    if (g.rfind("type=", 0) == 0) print(g);
  }
  for (const auto& [g, t] : tally) {
    if (g.rfind("system=", 0) == 0) print(g);
  }
  for (const auto& [g, v] : normal) {
    std::printf("normal cases %s: n=%d specificity=%.3f\n", g.c_str(), v.second,
                v.second ? static_cast<double>(v.first) / v.second : 0);
  }
  std::printf("time per case (load + rank, one thread): mean %.3f s, max %.3f s over %d cases\n",
              cases ? total_s / cases : 0, max_s, cases);
  return 0;
}
