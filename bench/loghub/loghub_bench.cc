// Loghub-2k log-parsing benchmark: runs the template miner with its one default configuration on
// the 11 datasets of ../shared/data/loghub2k, prints GA/PA/FGA/FTA per dataset and their means next
// to Drain's published figures (README.md of the data set), then measures single-core mining
// throughput on a >= 1,000,000-line input made by concatenating the datasets' messages.
//
// Usage: loghub_bench [--data DIR] [--lines N] [--show-errors DATASET] [--order O] [--seed N]
//                     [--rename WORD=NEW]...
//   --data DIR          the loghub2k directory (default $BACKSIGHT_DATA/loghub2k, else
//                       ../shared/data/loghub2k)
//   --lines N           lines for the throughput run (default 1000000; 0 skips the throughput
//                       and cold-start runs)
//   --order O           order in which each dataset's lines reach the miner: original (default),
//                       reversed, or shuffled (std::mt19937_64 seeded by --seed, default 1). A
//                       proxy for unseen logs: a general rule should not depend on which variant
//                       of a template comes first. The BGL anomaly part always uses the original
//                       order (it scores time).
//   --show-errors D     print the lines of dataset D whose template differs from the truth
//   --rename WORD=NEW   (repeatable) replace WORD, where it stands between non-alphanumeric
//                       characters, by NEW in every message before mining. A proxy for values
//                       the masker does not know: `--rename root=operator --rename admin=guest`
//                       turns the user names that Loghub-2.0's US rule masks into plain words
//                       (the ground truth has `<*>` there either way).
//   --lead-with FIELD   write the value of header field FIELD (e.g. Component) in front of each
//                       message, `VALUE - message`, and `<*> - ` in front of its true template: a
//                       stand-in for logs whose program, class or host name leads the message
//                       (datasets without that field are left as they are)
//   --bucket-seconds S, --warmup-lines N   override LogAnomalyOptions for the BGL part
//   --threshold X, --prefix N, --lock N, --lock-opens-at K, --prefix-opens-at K
//                       override MinerOptions (ablation only; the defaults are the reported
//                       configuration)
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backsight/core/file_util.h"
#include "backsight/logs/header.h"
#include "backsight/logs/log_anomaly.h"
#include "backsight/logs/miner.h"
#include "backsight/logs/parse_eval.h"

namespace {

using backsight::Status;
using namespace backsight::logs;

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) e = text.size();
    std::string l = text.substr(pos, e - pos);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    pos = e + 1;
  }
  return lines;
}

// CPU time of the calling thread (robust to other processes sharing the cores), seconds.
double ThreadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// The order in which a dataset's lines are fed to the miner (--order).
enum class LineOrder { kOriginal, kReversed, kShuffled };

// Permutation of [0, n) for `order`; shuffled is std::shuffle with std::mt19937_64(seed), so a
// seed gives the same order on every platform that implements the standard's mt19937_64 and
// libstdc++'s shuffle.
std::vector<size_t> LinePermutation(size_t n, LineOrder order, uint64_t seed) {
  std::vector<size_t> p(n);
  std::iota(p.begin(), p.end(), size_t{0});
  if (order == LineOrder::kReversed) std::reverse(p.begin(), p.end());
  if (order == LineOrder::kShuffled) {
    std::mt19937_64 rng(seed);
    std::shuffle(p.begin(), p.end(), rng);
  }
  return p;
}

// Replaces each occurrence of `from` in `*text` that has no letter or digit on either side by
// `to` (--rename).
void RenameWord(std::string_view from, std::string_view to, std::string* text) {
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  size_t pos = 0;
  while ((pos = text->find(from, pos)) != std::string::npos) {
    const size_t end = pos + from.size();
    if ((pos > 0 && alnum((*text)[pos - 1])) || (end < text->size() && alnum((*text)[end]))) {
      pos = end;
      continue;
    }
    text->replace(pos, from.size(), to);
    pos += to.size();
  }
}

long PeakRssKb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = backsight::DataDir() + "/loghub2k";
  long target_lines = 1000000;
  std::string show_errors;
  MinerOptions opts;
  LogAnomalyOptions aopts;
  LineOrder order = LineOrder::kOriginal;
  std::string order_name = "original";
  std::string lead_with;
  uint64_t seed = 1;
  std::vector<std::pair<std::string, std::string>> renames;
  bool bad_args = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc)
      data = argv[++i];
    else if (a == "--lines" && i + 1 < argc)
      target_lines = std::atol(argv[++i]);
    else if (a == "--show-errors" && i + 1 < argc)
      show_errors = argv[++i];
    else if (a == "--threshold" && i + 1 < argc)
      opts.similarity_threshold = std::atof(argv[++i]);
    else if (a == "--prefix" && i + 1 < argc)
      opts.prefix_tokens = std::atoi(argv[++i]);
    else if (a == "--lock" && i + 1 < argc)
      opts.lock_after = std::atoi(argv[++i]);
    else if (a == "--lock-opens-at" && i + 1 < argc)
      opts.lock_opens_at = std::atoi(argv[++i]);
    else if (a == "--lead-with" && i + 1 < argc)
      lead_with = argv[++i];
    else if (a == "--prefix-opens-at" && i + 1 < argc)
      opts.prefix_opens_at = std::atoi(argv[++i]);
    else if (a == "--bucket-seconds" && i + 1 < argc)
      aopts.bucket_ns = std::atoll(argv[++i]) * backsight::kNanosPerSecond;
    else if (a == "--warmup-lines" && i + 1 < argc)
      aopts.warmup_lines = std::atoll(argv[++i]);
    else if (a == "--rename" && i + 1 < argc) {
      const std::string r = argv[++i];
      const size_t eq = r.find('=');
      if (eq == 0 || eq == std::string::npos) bad_args = true;
      if (!bad_args) renames.emplace_back(r.substr(0, eq), r.substr(eq + 1));
    } else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--order" && i + 1 < argc) {
      order_name = argv[++i];
      if (order_name == "original")
        order = LineOrder::kOriginal;
      else if (order_name == "reversed")
        order = LineOrder::kReversed;
      else if (order_name == "shuffled")
        order = LineOrder::kShuffled;
      else
        bad_args = true;
    } else {
      bad_args = true;
    }
    if (bad_args) {
      std::fprintf(stderr,
                   "usage: %s [--data DIR] [--lines N] [--show-errors DATASET] [--threshold X] "
                   "[--prefix N] [--lock N] [--lock-opens-at K] [--prefix-opens-at K] "
                   "[--bucket-seconds S] [--warmup-lines N] "
                   "[--order original|reversed|shuffled] [--seed N] [--rename WORD=NEW] "
                   "[--lead-with FIELD]\n",
                   argv[0]);
      return 2;
    }
  }

  std::printf("Loghub-2k, one generic configuration (MinerOptions defaults), data %s, order %s",
              data.c_str(), order_name.c_str());
  if (order == LineOrder::kShuffled) {
    std::printf(" (seed %llu)", static_cast<unsigned long long>(seed));
  }
  for (const auto& [from, to] : renames) std::printf(", %s renamed %s", from.c_str(), to.c_str());
  if (!lead_with.empty()) std::printf(", messages led by %s", lead_with.c_str());
  std::printf("\n\n");
  std::printf("%-10s %6s %6s %6s %6s | %6s %6s %6s %6s | %5s %5s %7s\n", "dataset", "GA", "PA",
              "FGA", "FTA", "D.GA", "D.PA", "D.FGA", "D.FTA", "#gt", "#ours", "unmatch");
  double sum[4] = {}, dsum[4] = {}, osum[4] = {};
  int nds = 0;
  std::vector<std::string> all_contents;
  for (const LoghubDataset& d : LoghubDatasets()) {
    std::string dir = data + "/" + d.name + "/";
    std::string log_text, gt_text;
    if (!backsight::ReadFileToString(dir + d.name + "_2k.log", &log_text).ok() ||
        !backsight::ReadFileToString(dir + d.name + "_2k.log_structured_corrected.csv", &gt_text)
             .ok()) {
      std::fprintf(stderr, "cannot read dataset %s under %s\n", d.name, data.c_str());
      return 4;
    }
    HeaderLayout layout;
    Status st = HeaderLayout::Parse(d.log_format, &layout);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", d.name, st.ToString().c_str());
      return 4;
    }
    std::vector<std::vector<std::string>> rows;
    st = ParseCsv(gt_text, &rows);
    if (!st.ok() || rows.empty()) {
      std::fprintf(stderr, "%s: ground truth: %s\n", d.name, st.ToString().c_str());
      return 4;
    }
    int col = -1;
    for (size_t c = 0; c < rows[0].size(); ++c) {
      if (rows[0][c] == "EventTemplate") col = static_cast<int>(c);
    }
    std::vector<std::string> truth;
    for (size_t r = 1; r < rows.size(); ++r) truth.push_back(rows[r].at(col));

    std::vector<std::string> lines;
    {
      std::vector<std::string> in_file = SplitLines(log_text);
      if (in_file.size() != truth.size()) {
        std::fprintf(stderr, "%s: %zu log lines but %zu ground-truth rows\n", d.name,
                     in_file.size(), truth.size());
        return 4;
      }
      std::vector<std::string> truth_in_file = std::move(truth);
      truth.clear();
      for (size_t k : LinePermutation(in_file.size(), order, seed)) {
        lines.push_back(std::move(in_file[k]));
        truth.push_back(std::move(truth_in_file[k]));
      }
    }
    const int lead = lead_with.empty() ? -1 : layout.FieldIndex(lead_with);
    if (lead >= 0) {
      for (std::string& t : truth) t = "<*> - " + t;
    }
    TemplateMiner miner(opts);
    HeaderFields f;
    std::vector<uint32_t> ids;
    std::vector<std::string> contents;
    std::vector<std::string> online;
    size_t unmatched = 0;
    for (const std::string& line : lines) {
      std::string content;
      if (layout.Match(line, &f)) {
        content.assign(f.values[layout.content_index()]);
        if (lead >= 0) content = std::string(f.values[lead]) + " - " + content;
      } else {
        ++unmatched;
        content = line;
      }
      for (const auto& [from, to] : renames) RenameWord(from, to, &content);
      ids.push_back(miner.Add(content).template_id);
      online.push_back(miner.Find(ids.back())->text);  // what a streaming consumer sees now
      contents.push_back(content);
      all_contents.push_back(content);
    }
    std::vector<std::string> parsed;
    for (uint32_t id : ids) parsed.push_back(miner.Find(id)->text);
    ParsingScores s;
    st = EvaluateParsing(truth, parsed, &s);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", d.name, st.ToString().c_str());
      return 4;
    }
    ParsingScores so;
    st = EvaluateParsing(truth, online, &so);
    if (!st.ok()) {
      std::fprintf(stderr, "%s (online): %s\n", d.name, st.ToString().c_str());
      return 4;
    }
    osum[0] += so.ga;
    osum[1] += so.pa;
    osum[2] += so.fga;
    osum[3] += so.fta;
    double v[4] = {s.ga, s.pa, s.fga, s.fta};
    for (int k = 0; k < 4; ++k) {
      sum[k] += v[k];
      dsum[k] += d.drain[k];
    }
    ++nds;
    std::printf("%-10s %6.3f %6.3f %6.3f %6.3f | %6.3f %6.3f %6.3f %6.3f | %5zu %5zu %7zu\n",
                d.name, v[0], v[1], v[2], v[3], d.drain[0], d.drain[1], d.drain[2], d.drain[3],
                s.truth_templates, s.parsed_templates, unmatched);
    if (show_errors == d.name) {
      std::map<std::pair<std::string, std::string>, std::pair<int, std::string>> diff;
      for (size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] != parsed[i]) {
          auto& e = diff[{truth[i], parsed[i]}];
          if (e.first++ == 0) e.second = contents[i];
        }
      }
      for (const auto& [k, e] : diff) {
        std::printf("  x%-4d truth : %s\n        ours  : %s\n        line  : %s\n", e.first,
                    k.first.c_str(), k.second.c_str(), e.second.c_str());
      }
    }
  }
  std::printf("%-10s %6.3f %6.3f %6.3f %6.3f | %6.3f %6.3f %6.3f %6.3f\n", "mean", sum[0] / nds,
              sum[1] / nds, sum[2] / nds, sum[3] / nds, dsum[0] / nds, dsum[1] / nds, dsum[2] / nds,
              dsum[3] / nds);

  std::printf(
      "%-10s %6.3f %6.3f %6.3f %6.3f   (online: each line scored with the template text "
      "as reported when it was parsed)\n",
      "mean@line", osum[0] / nds, osum[1] / nds, osum[2] / nds, osum[3] / nds);

  // Log anomalies on BGL: the first column labels alert lines ('-' is normal). It is read here
  // only to score the result; the scorer sees the message's template, time and level.
  {
    const LoghubDataset& d = LoghubDatasets()[4];
    std::string log_text;
    if (!backsight::ReadFileToString(data + "/BGL/BGL_2k.log", &log_text).ok()) return 4;
    HeaderLayout layout;
    if (Status ls = HeaderLayout::Parse(d.log_format, &layout); !ls.ok()) {
      std::fprintf(stderr, "BGL: %s\n", ls.ToString().c_str());
      return 4;
    }
    TemplateMiner miner(opts);
    LogAnomalyScorer scorer(aopts);
    HeaderFields f;
    size_t tp = 0, fp = 0, fn = 0, tn = 0;
    std::map<std::string, std::pair<size_t, size_t>> by_reason;  // reason -> (tp, fp)
    int64_t ts = 0;
    std::vector<std::pair<double, bool>> scored;
    for (const std::string& line : SplitLines(log_text)) {
      if (!layout.Match(line, &f)) continue;
      bool alert = f.values[layout.FieldIndex("Label")] != "-";
      ExtractTimestamp(layout, f, &ts);
      ParseResult pr = miner.Add(f.values[layout.content_index()]);
      LineScores ls =
          scorer.Observe(ts, pr.template_id, LevelClass(f.values[layout.level_index()]));
      scored.emplace_back(ls.score, alert);
      if (ls.is_anomaly) {
        (alert ? tp : fp)++;
        auto& br = by_reason[ls.reason];
        (alert ? br.first : br.second)++;
      } else {
        (alert ? fn : tn)++;
      }
    }
    scorer.Finish();
    double prec = tp + fp ? static_cast<double>(tp) / (tp + fp) : 0;
    double rec = tp + fn ? static_cast<double>(tp) / (tp + fn) : 0;
    std::printf(
        "\nBGL_2k anomaly lines (bucket %lld s, warm-up %llu lines; label column not "
        "used): "
        "%zu alert lines, %zu flagged; precision %.3f recall %.3f F1 %.3f "
        "(tp %zu fp %zu fn %zu tn %zu)\n",
        static_cast<long long>(aopts.bucket_ns / backsight::kNanosPerSecond),
        static_cast<unsigned long long>(aopts.warmup_lines), tp + fn, tp + fp, prec, rec,
        prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0, tp, fp, fn, tn);
    // Threshold-free separation: ROC AUC of the line score (ties get the average rank).
    std::sort(scored.begin(), scored.end());
    double rank_sum = 0, npos = 0;
    for (size_t i = 0; i < scored.size();) {
      size_t j = i;
      while (j < scored.size() && scored[j].first == scored[i].first) ++j;
      const double avg_rank = (i + 1 + j) / 2.0;
      for (size_t k = i; k < j; ++k) {
        if (scored[k].second) {
          rank_sum += avg_rank;
          ++npos;
        }
      }
      i = j;
    }
    const double nneg = scored.size() - npos;
    std::printf("  ROC AUC of the line score: %.3f\n",
                npos > 0 && nneg > 0 ? (rank_sum - npos * (npos + 1) / 2) / (npos * nneg) : 0.0);
    for (const auto& [reason, c] : by_reason) {
      std::printf("  flagged by %-6s tp %zu fp %zu\n", reason.c_str(), c.first, c.second);
    }
    std::printf("  template rate events (metric detector per template): %zu\n",
                scorer.rate_events().size());
  }

  if (target_lines <= 0) return 0;
  // Throughput: the datasets' messages concatenated and repeated up to target_lines.
  std::vector<std::string_view> input;
  size_t bytes = 0;
  while (static_cast<long>(input.size()) < target_lines) {
    for (const std::string& c : all_contents) {
      if (static_cast<long>(input.size()) >= target_lines) break;
      input.push_back(c);
      bytes += c.size() + 1;
    }
  }
  long rss_before = PeakRssKb();
  TemplateMiner miner(opts);
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = ThreadCpuSeconds();
  uint64_t check = 0;
  for (std::string_view c : input) check += miner.Add(c).template_id;
  const double cpu = ThreadCpuSeconds() - cpu0;
  auto t1 = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "\nthroughput: %zu lines (%.1f MB of messages) mined on one thread: %.3f s CPU = "
      "%.0f lines/s (%.1f MB/s); wall %.3f s = %.0f lines/s; %zu templates, cache hits "
      "%.1f%% (checksum %llu)\n",
      input.size(), bytes / 1e6, cpu, input.size() / cpu, bytes / 1e6 / cpu, secs,
      input.size() / secs, miner.num_templates(),
      100.0 * miner.stats().cache_hits / std::max<uint64_t>(1, miner.stats().lines),
      static_cast<unsigned long long>(check));
  // Cold start: fresh miners over the 22,000 distinct messages (every template is new, most
  // lines miss the cache at first), repeated to get a measurable time.
  {
    const int reps = 20;
    const double c0 = ThreadCpuSeconds();
    uint64_t misses = 0;
    for (int r = 0; r < reps; ++r) {
      TemplateMiner cold(opts);
      for (const std::string& c : all_contents) cold.Add(c);
      misses += cold.stats().lines - cold.stats().cache_hits;
    }
    double cs = ThreadCpuSeconds() - c0;
    std::printf(
        "cold start: %d x %zu lines through fresh miners in %.3f s CPU = %.0f lines/s "
        "(%.1f%% cache misses)\n",
        reps, all_contents.size(), cs, reps * all_contents.size() / cs,
        100.0 * misses / (reps * all_contents.size()));
  }
  std::string state;
  miner.SaveState(&state);
  std::printf(
      "memory: peak RSS of the process %.1f MB (%.1f MB before the throughput run, "
      "which holds the 22,000 messages and views of them); miner state %zu bytes\n",
      PeakRssKb() / 1024.0, rss_before / 1024.0, state.size());
  return 0;
}
