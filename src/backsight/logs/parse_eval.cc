#include "backsight/logs/parse_eval.h"

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace backsight::logs {

Status EvaluateParsing(const std::vector<std::string>& truth,
                       const std::vector<std::string>& parsed, ParsingScores* out) {
  if (truth.size() != parsed.size()) {
    return Status::InvalidArgument("evaluate: " + std::to_string(truth.size()) +
                                   " truth rows but " + std::to_string(parsed.size()) +
                                   " parsed rows");
  }
  if (truth.empty()) return Status::InvalidArgument("evaluate: no rows");
  const size_t n = truth.size();
  ParsingScores s;
  // Rows per truth template; parsed template counts.
  std::unordered_map<std::string_view, std::vector<size_t>> by_truth;
  std::unordered_map<std::string_view, size_t> parsed_count;
  for (size_t i = 0; i < n; ++i) {
    by_truth[truth[i]].push_back(i);
    ++parsed_count[parsed[i]];
  }
  size_t correct_groups = 0;
  size_t correct_rows = 0;
  for (const auto& [g, rows] : by_truth) {
    std::string_view p = parsed[rows[0]];
    bool same = true;
    for (size_t i : rows) {
      if (parsed[i] != p) {
        same = false;
        break;
      }
    }
    if (same && parsed_count[p] == rows.size()) {
      ++correct_groups;
      correct_rows += rows.size();
    }
  }
  size_t pa_rows = 0;
  for (size_t i = 0; i < n; ++i) pa_rows += truth[i] == parsed[i] ? 1 : 0;
  // Template accuracy: parsed template p is correct iff every row of p has truth exactly p.
  std::unordered_map<std::string_view, bool> p_ok;
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = p_ok.emplace(parsed[i], true);
    if (truth[i] != parsed[i]) it->second = false;
  }
  size_t correct_templates = 0;
  for (const auto& [p, ok] : p_ok) correct_templates += ok ? 1 : 0;

  s.truth_templates = by_truth.size();
  s.parsed_templates = parsed_count.size();
  s.ga = static_cast<double>(correct_rows) / n;
  s.pa = static_cast<double>(pa_rows) / n;
  s.pga = static_cast<double>(correct_groups) / s.parsed_templates;
  s.rga = static_cast<double>(correct_groups) / s.truth_templates;
  s.fga = (s.pga + s.rga) > 0 ? 2 * s.pga * s.rga / (s.pga + s.rga) : 0;
  s.pta = static_cast<double>(correct_templates) / s.parsed_templates;
  s.rta = static_cast<double>(correct_templates) / s.truth_templates;
  s.fta = (s.pta + s.rta) > 0 ? 2 * s.pta * s.rta / (s.pta + s.rta) : 0;
  *out = s;
  return Status::OK();
}

namespace {
const LoghubDataset kLoghubDatasets[] = {
    {"HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>", {0.998, 0.354, 0.867, 0.267}},
    {"Hadoop",
     "<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>",
     {0.948, 0.269, 0.820, 0.276}},
    {"Spark", "<Date> <Time> <Level> <Component>: <Content>", {0.922, 0.362, 0.870, 0.493}},
    {"Zookeeper",
     "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\] - <Content>",
     {0.967, 0.497, 0.854, 0.354}},
    {"BGL",
     "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>",
     {0.963, 0.342, 0.833, 0.211}},
    {"HPC",
     "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>",
     {0.887, 0.635, 0.753, 0.366}},
    {"Windows",
     "<Date> <Time>, <Level>                  <Component>    <Content>",
     {0.997, 0.462, 0.932, 0.408}},
    {"Android",
     "<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>",
     {0.857, 0.530, 0.770, 0.516}},
    {"HealthApp", "<Time>\\|<Component>\\|<Pid>\\|<Content>", {0.780, 0.231, 0.351, 0.109}},
    {"Apache", "\\[<Time>\\] \\[<Level>\\] <Content>", {1.000, 0.694, 1.000, 0.500}},
    {"OpenSSH",
     "<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: <Content>",
     {0.789, 0.508, 0.880, 0.440}},
};

}  // namespace

std::span<const LoghubDataset> LoghubDatasets() { return kLoghubDatasets; }

}  // namespace backsight::logs
