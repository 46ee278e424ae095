// api_infer_bench: path-template precision/recall/F1 of `backsight api infer` against the truth
// written by api_loggen, constant siblings collapsed, and throughput (lines/s, one core).
//
//   api_infer_bench --log access.log --truth truth.tsv [--repeat 3] [--show 20]
//                   [--no-enum-rule] [--enum-ignore-statuses]   (InferOptions, infer.h)
//
// Templates are compared with parameter names erased ("/orders/{orderId}" = "/orders/{id}").
// OTLP/JSON trace lines (api_loggen --format otlp) go through the span adapter as in `api infer`
// (requests/s then counts server spans). Throughput: the whole log is read into memory first; the
// timed part is parse + Add + Infer, best of --repeat runs.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/analyze/api/infer.h"
#include "backsight/cli/span_access_log.h"
#include "backsight/ingest/otlp_traces.h"

namespace {

// "/a/{x}/b" -> "/a/{}/b".
std::string EraseNames(const std::string& t) {
  std::string out;
  bool in = false;
  for (char c : t) {
    if (c == '{') {
      in = true;
      out += "{}";
    } else if (c == '}') {
      in = false;
    } else if (!in) {
      out += c;
    }
  }
  return out;
}

struct Score {
  size_t hit = 0;
  double precision = 0, recall = 0, f1 = 0;
};

Score Compare(const std::set<std::string>& inferred, const std::set<std::string>& truth) {
  Score s;
  for (const std::string& t : inferred) s.hit += truth.count(t);
  s.precision = inferred.empty() ? 0 : static_cast<double>(s.hit) / inferred.size();
  s.recall = truth.empty() ? 0 : static_cast<double>(s.hit) / truth.size();
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
  return s;
}

// True when `path` (names erased) is `tmpl` with some "{}" segments filled by literals.
bool Instance(const std::string& path, const std::string& tmpl) {
  size_t a = 0, b = 0;
  while (a < path.size() && b < tmpl.size()) {
    size_t ea = path.find('/', a + 1), eb = tmpl.find('/', b + 1);
    if (ea == std::string::npos) ea = path.size();
    if (eb == std::string::npos) eb = tmpl.size();
    const std::string_view sa(path.data() + a, ea - a), sb(tmpl.data() + b, eb - b);
    if (sb != "/{}" && sa != sb) return false;
    a = ea;
    b = eb;
  }
  return a == path.size() && b == tmpl.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_path, truth_path;
  int repeat = 3;
  size_t show = 20;
  backsight::api::InferOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--log")
      log_path = next();
    else if (a == "--truth")
      truth_path = next();
    else if (a == "--repeat")
      repeat = std::stoi(next());
    else if (a == "--show")
      show = std::stoul(next());
    else if (a == "--no-enum-rule")
      options.min_enum_values = 0;
    else if (a == "--enum-ignore-statuses")
      options.enum_compare_statuses = false;
    else {
      std::fprintf(stderr,
                   "usage: api_infer_bench --log LOG --truth TSV [--repeat N] [--show N] "
                   "[--no-enum-rule] [--enum-ignore-statuses]\n");
      return 2;
    }
  }
  std::ifstream lf(log_path, std::ios::binary), tf(truth_path);
  if (!lf || !tf) {
    std::fprintf(stderr, "api_infer_bench: cannot open --log or --truth\n");
    return 4;
  }
  std::stringstream ss;
  ss << lf.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < data.size();) {
    size_t e = data.find('\n', pos);
    if (e == std::string::npos) e = data.size();
    lines.emplace_back(data.data() + pos, e - pos);
    pos = e + 1;
  }
  std::set<std::string> truth, constants, enum_templates;
  std::string row;
  while (std::getline(tf, row)) {
    std::vector<std::string> f;
    for (size_t pos = 0; pos <= row.size();) {
      size_t e = row.find('\t', pos);
      if (e == std::string::npos) e = row.size();
      f.push_back(row.substr(pos, e - pos));
      pos = e + 1;
    }
    if (f.size() < 2) continue;
    (f[0] == "template" ? truth : constants).insert(EraseNames(f[1]));
    if (f.size() > 2 && f[2] == "enum") enum_templates.insert(EraseNames(f[1]));
  }

  backsight::api::InferredApi api;
  double best_s = 1e300, infer_s = 0;
  uint64_t bad = 0;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    backsight::api::AccessLogParser parser;
    backsight::api::ApiInferrer inferrer(options);
    backsight::api::AccessRecord rec;
    bad = 0;
    backsight::ingest::SpanBatch spans;
    backsight::cli::SpanCounts span_counts;
    for (std::string_view line : lines) {
      if (backsight::cli::LooksLikeOtlpTracesLine(line)) {  // as `api infer --format auto`
        spans.Clear();
        if (backsight::ingest::DecodeOtlpTracesJson(line, &spans).ok()) {
          backsight::cli::AddServerSpans(spans, &inferrer, &span_counts);
        } else {
          ++bad;
        }
      } else if (parser.Parse(line, &rec).ok()) {
        inferrer.Add(rec);
      } else {
        ++bad;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    api = inferrer.Infer();
    infer_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best_s) best_s = s;
  }

  std::set<std::string> inferred;
  for (const auto& op : api.operations) inferred.insert(EraseNames(op.path));
  const Score all = Compare(inferred, truth);
  // Without the enum templates: drop them from the truth, and drop the inferred paths that are
  // one of their instances (an enum value in a parameter's place).
  std::set<std::string> truth_ne, inferred_ne;
  for (const std::string& t : truth) {
    if (!enum_templates.count(t)) truth_ne.insert(t);
  }
  for (const std::string& t : inferred) {
    bool instance = false;
    for (const std::string& e : enum_templates) instance |= Instance(t, e);
    if (!instance || truth_ne.count(t)) inferred_ne.insert(t);
  }
  const Score ne = Compare(inferred_ne, truth_ne);
  size_t collapsed = 0;
  std::vector<std::string> collapsed_list;
  for (const std::string& c : constants) {
    bool kept = false;
    for (const std::string& t : inferred) {
      kept |= t.rfind(c, 0) == 0 && (t.size() == c.size() || t[c.size()] == '/');
    }
    if (!kept) {
      ++collapsed;
      collapsed_list.push_back(c);
    }
  }
  std::printf("lines %zu (malformed %llu), requests %llu, operations %zu\n", lines.size(),
              static_cast<unsigned long long>(bad), static_cast<unsigned long long>(api.requests),
              api.operations.size());
  std::printf(
      "all templates:        truth %zu, inferred %zu, matched %zu: precision %.4f  "
      "recall %.4f  F1 %.4f\n",
      truth.size(), inferred.size(), all.hit, all.precision, all.recall, all.f1);
  std::printf(
      "without %zu enum ones: truth %zu, inferred %zu, matched %zu: precision %.4f  "
      "recall %.4f  F1 %.4f\n",
      enum_templates.size(), truth_ne.size(), inferred_ne.size(), ne.hit, ne.precision, ne.recall,
      ne.f1);
  std::printf("constant siblings collapsed: %zu of %zu\n", collapsed, constants.size());
  std::printf(
      "throughput: %.2f M lines/s, %.2f M requests/s (parse + infer, best of %d, one core; "
      "Infer() %.1f ms)\n",
      static_cast<double>(lines.size()) / best_s / 1e6,
      static_cast<double>(api.requests) / best_s / 1e6, repeat, infer_s * 1e3);
  size_t shown = 0;
  for (const std::string& t : inferred) {
    if (!truth.count(t) && shown++ < show) std::printf("  extra:  %s\n", t.c_str());
  }
  shown = 0;
  for (const std::string& t : truth) {
    if (!inferred.count(t) && shown++ < show) std::printf("  missed: %s\n", t.c_str());
  }
  for (const std::string& c : collapsed_list) std::printf("  collapsed: %s\n", c.c_str());
  return 0;
}
