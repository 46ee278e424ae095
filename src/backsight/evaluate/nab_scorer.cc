// NAB v1.1 scorer; see nab_scorer.h and shared/data/nab/SCORING.md (section numbers below).
#include "backsight/evaluate/nab_scorer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"

namespace backsight::evaluate {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// Calls `row(line_number, fields)` for every non-blank record after the header (fields trimmed);
// `header(fields)` is called first with the header's fields. `path` only names the source in
// error messages (`path:line: reason`).
template <typename HeaderFn, typename RowFn>
Status ForEachCsvRow(std::string_view text, const std::string& path, HeaderFn header, RowFn row) {
  CsvReader reader(text);
  std::vector<std::string_view> fields;
  bool have_header = false;
  for (;;) {
    bool eof = false;
    BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof).WithContext(path));
    if (eof) break;
    for (std::string_view& f : fields) f = Trim(f);
    const std::string where = path + ":" + std::to_string(reader.line());
    if (!have_header) {
      have_header = true;
      BACKSIGHT_RETURN_IF_ERROR(header(fields).WithContext(where));
      continue;
    }
    BACKSIGHT_RETURN_IF_ERROR(row(static_cast<int64_t>(reader.line()), fields).WithContext(where));
  }
  if (!have_header) return Status::InvalidArgument(path + ": empty file (no header line)");
  return Status::OK();
}

// Scaled sigmoid of SCORING.md §3.
double ScaledSigmoid(double y) {
  if (y > 3.0) return -1.0;
  return 2.0 * (1.0 / (1.0 + std::exp(5.0 * y))) - 1.0;
}

}  // namespace

std::string NabFile::Category() const {
  size_t slash = key.find('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

std::string NabFile::Name() const {
  size_t slash = key.rfind('/');
  std::string base = slash == std::string::npos ? key : key.substr(slash + 1);
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".csv") == 0)
    base.resize(base.size() - 4);
  return base;
}

Status ReadTimestampValueCsv(const std::string& path, std::vector<TimestampNs>* timestamps,
                             std::vector<double>* values) {
  timestamps->clear();
  values->clear();
  std::string text;
  BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &text));
  return ParseTimestampValueCsv(text, path, timestamps, values);
}

Status ReadAnomalyScoreCsv(const std::string& path, std::vector<double>* scores) {
  scores->clear();
  std::string text;
  BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &text));
  return ParseAnomalyScoreCsv(text, path, scores);
}

Status ParseTimestampValueCsv(std::string_view text, const std::string& path,
                              std::vector<TimestampNs>* timestamps, std::vector<double>* values) {
  timestamps->clear();
  values->clear();
  auto header = [](const std::vector<std::string_view>& f) -> Status {
    if (f.size() < 2 || f[0] != "timestamp") {
      return Status::InvalidArgument("header must be 'timestamp,value'");
    }
    return Status::OK();
  };
  auto row = [&](int64_t, const std::vector<std::string_view>& f) -> Status {
    if (f.size() != 2) {
      return Status::InvalidArgument("expected 2 fields (timestamp,value), got " +
                                     std::to_string(f.size()));
    }
    TimestampNs ts;
    Status st = ParseTimestamp(f[0], &ts);
    if (!st.ok()) return st.WithContext("field timestamp");
    double v;
    if (!ParseDouble(f[1], &v)) {
      return Status::InvalidArgument("field value: not a number: '" + std::string(f[1]) + "'");
    }
    timestamps->push_back(ts);
    values->push_back(v);
    return Status::OK();
  };
  return ForEachCsvRow(text, path, header, row);
}

Status ParseAnomalyScoreCsv(std::string_view text, const std::string& path,
                            std::vector<double>* scores) {
  scores->clear();
  size_t col = 0, ncols = 0;
  auto header = [&](const std::vector<std::string_view>& f) -> Status {
    ncols = f.size();
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] == "anomaly_score") {
        col = i;
        return Status::OK();
      }
    }
    return Status::InvalidArgument("header has no anomaly_score column");
  };
  auto row = [&](int64_t, const std::vector<std::string_view>& f) -> Status {
    if (f.size() != ncols) {
      return Status::InvalidArgument("expected " + std::to_string(ncols) + " fields, got " +
                                     std::to_string(f.size()));
    }
    double v;
    if (!ParseDouble(f[col], &v) || !std::isfinite(v)) {
      return Status::InvalidArgument("field anomaly_score: not a finite number: '" +
                                     std::string(f[col]) + "'");
    }
    if (v < 0 || v >= 1.1) {
      return Status::InvalidArgument("field anomaly_score: " + std::string(f[col]) +
                                     " outside [0, 1.1)");
    }
    scores->push_back(v);
    return Status::OK();
  };
  return ForEachCsvRow(text, path, header, row);
}

Status LoadNabCorpus(const std::string& nab_dir, NabCorpus* corpus) {
  *corpus = NabCorpus();
  // Profiles.
  {
    const std::string path = nab_dir + "/config/profiles.json";
    std::string text;
    BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &text));
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::InvalidArgument(path + ": not a JSON object");
    }
    for (auto& [name, prof] : j.items()) {
      const auto* cm =
          prof.is_object() && prof.contains("CostMatrix") ? &prof["CostMatrix"] : nullptr;
      NabProfile p;
      p.name = name;
      for (auto [field, dst] : {std::pair<const char*, double*>{"tpWeight", &p.tp_weight},
                                {"fpWeight", &p.fp_weight},
                                {"fnWeight", &p.fn_weight}}) {
        if (cm == nullptr || !cm->is_object() || !cm->contains(field) ||
            !(*cm)[field].is_number()) {
          return Status::InvalidArgument(path + ": profile " + name +
                                         ": missing number CostMatrix." + field);
        }
        *dst = (*cm)[field].get<double>();
      }
      corpus->profiles.push_back(std::move(p));
    }
    if (corpus->profiles.empty()) return Status::InvalidArgument(path + ": no profiles");
  }
  // Windows and data.
  const std::string path = nab_dir + "/labels/combined_windows.json";
  std::string text;
  BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &text));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);  // std::map: sorted keys
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(path + ": not a JSON object");
  }
  for (auto& [key, wins] : j.items()) {
    NabFile file;
    file.key = key;
    if (!wins.is_array()) return Status::InvalidArgument(path + ": " + key + ": not an array");
    for (const auto& w : wins) {
      if (!w.is_array() || w.size() != 2 || !w[0].is_string() || !w[1].is_string()) {
        return Status::InvalidArgument(path + ": " + key + ": window is not [start, end]");
      }
      TimestampNs a, b;
      Status st = ParseTimestamp(w[0].get<std::string>(), &a);
      if (st.ok()) st = ParseTimestamp(w[1].get<std::string>(), &b);
      if (!st.ok()) return st.WithContext(path + ": " + key);
      file.windows.emplace_back(a, b);
    }
    corpus->num_windows += static_cast<int64_t>(file.windows.size());
    BACKSIGHT_RETURN_IF_ERROR(
        ReadTimestampValueCsv(nab_dir + "/data/" + key, &file.timestamps, &file.values));
    corpus->files.push_back(std::move(file));
  }
  return Status::OK();
}

Status LoadNabResults(const std::string& detector_dir, std::string_view detector_name,
                      const NabCorpus& corpus, NabResults* results) {
  results->assign(corpus.files.size(), {});
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const NabFile& file = corpus.files[f];
    std::string path = detector_dir + "/" + file.Category() + "/" + std::string(detector_name) +
                       "_" + file.Name() + ".csv";
    BACKSIGHT_RETURN_IF_ERROR(ReadAnomalyScoreCsv(path, &(*results)[f]));
    if ((*results)[f].size() != file.timestamps.size()) {
      return Status::InvalidArgument(path + ": has " + std::to_string((*results)[f].size()) +
                                     " rows but data file " + file.key + " has " +
                                     std::to_string(file.timestamps.size()));
    }
  }
  return Status::OK();
}

Status NabScorer::Create(const NabCorpus& corpus, NabScorer* scorer) {
  *scorer = NabScorer();
  scorer->profiles_ = corpus.profiles;
  scorer->num_windows_ = corpus.num_windows;
  int32_t next_window_id = 0;
  for (const NabFile& file : corpus.files) {
    FileGeom g;
    g.key = file.key;
    g.rows = static_cast<int64_t>(file.timestamps.size());
    // §2: P = min(floor(0.15 N), 0.15 * 5000).
    g.probation = std::min<int64_t>(static_cast<int64_t>(std::floor(0.15 * g.rows)), 750);
    // §1: first row whose timestamp equals each edge.
    std::unordered_map<TimestampNs, int64_t> first_row;
    first_row.reserve(file.timestamps.size());
    for (int64_t i = 0; i < g.rows; ++i) first_row.emplace(file.timestamps[i], i);
    for (const auto& [start, end] : file.windows) {
      auto a = first_row.find(start), b = first_row.find(end);
      if (a == first_row.end() || b == first_row.end()) {
        return Status::InvalidArgument(file.key + ": window edge " +
                                       FormatTimestamp(a == first_row.end() ? start : end) +
                                       " is not a timestamp of the data file");
      }
      Window w{a->second, b->second};
      if (w.right < w.left || (!g.windows.empty() && w.left <= g.windows.back().right)) {
        return Status::InvalidArgument(file.key + ": window [" + FormatTimestamp(start) + ", " +
                                       FormatTimestamp(end) +
                                       "] is reversed or overlaps/precedes the previous one");
      }
      g.windows.push_back(w);
    }
    g.first_window_id = next_window_id;
    next_window_id += static_cast<int32_t>(g.windows.size());
    for (const Window& w : g.windows) {
      if (w.right >= g.probation) ++scorer->scorable_windows_;
    }
    // §3: per-row base weights.
    g.window_of_row.assign(g.rows, -1);
    g.base_weight.assign(g.rows, -1.0);
    size_t k = 0;       // next window not yet ended
    int64_t prev = -1;  // index of the most recent window that ended before i
    for (int64_t i = 0; i < g.rows; ++i) {
      while (k < g.windows.size() && g.windows[k].right < i) prev = static_cast<int64_t>(k++);
      if (k < g.windows.size() && g.windows[k].left <= i) {
        const Window& w = g.windows[k];
        const double width = static_cast<double>(w.right - w.left + 1);
        const double y = -static_cast<double>(w.right - i + 1) / width;
        g.window_of_row[i] = static_cast<int32_t>(k);
        g.base_weight[i] = ScaledSigmoid(y);
      } else if (prev >= 0) {
        const Window& w = g.windows[prev];
        const double denom = static_cast<double>(w.right - w.left);  // W' - 1
        g.base_weight[i] =
            denom > 0 ? ScaledSigmoid(static_cast<double>(i - w.right) / denom) : -1.0;
      }
    }
    scorer->files_.push_back(std::move(g));
  }
  return Status::OK();
}

Status NabScorer::CheckResults(const NabResults& results) const {
  if (results.size() != files_.size()) {
    return Status::InvalidArgument("results for " + std::to_string(results.size()) +
                                   " files, corpus has " + std::to_string(files_.size()));
  }
  for (size_t f = 0; f < files_.size(); ++f) {
    if (static_cast<int64_t>(results[f].size()) != files_[f].rows) {
      return Status::InvalidArgument(files_[f].key + ": " + std::to_string(results[f].size()) +
                                     " scores for " + std::to_string(files_[f].rows) + " rows");
    }
    for (size_t i = 0; i < results[f].size(); ++i) {
      if (std::isnan(results[f][i])) {
        return Status::InvalidArgument(files_[f].key + ": row " + std::to_string(i) +
                                       ": score is NaN");
      }
    }
  }
  return Status::OK();
}

Status NabScorer::ScoreCorpus(const NabResults& results, std::vector<NabProfileScore>* out) const {
  BACKSIGHT_RETURN_IF_ERROR(CheckResults(results));
  out->clear();
  static const double kMaxTp = ScaledSigmoid(-1.0);
  // Pool the scorable rows of all files.
  struct Row {
    double score;
    double base;
    int32_t window;  // global window id, -1 outside
  };
  std::vector<Row> rows;
  int64_t in_window = 0, outside = 0;
  for (size_t f = 0; f < files_.size(); ++f) {
    const FileGeom& g = files_[f];
    for (int64_t i = g.probation; i < g.rows; ++i) {
      int32_t w = g.window_of_row[i];
      rows.push_back({results[f][i], g.base_weight[i], w < 0 ? -1 : g.first_window_id + w});
      (w < 0 ? outside : in_window) += 1;
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.score > b.score; });
  int32_t total_window_ids = 0;
  for (const FileGeom& g : files_) total_window_ids += static_cast<int32_t>(g.windows.size());

  for (size_t p = 0; p < profiles_.size(); ++p) {
    const NabProfile& prof = profiles_[p];
    // §4 sweep.
    std::vector<double> parts(total_window_ids, -prof.fn_weight);
    double windows_sum = -prof.fn_weight * static_cast<double>(scorable_windows_);
    double fp_sum = 0;
    int64_t tp = 0, fp = 0, fn = in_window, tn = outside;
    double threshold = 1.1;
    NabProfileScore best;
    best.profile = prof.name;
    bool have_best = false;
    auto record = [&] {
      double s = fp_sum + windows_sum;
      if (!have_best || s > best.raw_score) {  // records come in descending threshold order
        have_best = true;
        best.threshold = threshold;
        best.raw_score = s;
        best.tp = tp, best.fp = fp, best.fn = fn, best.tn = tn;
      }
    };
    for (const Row& r : rows) {
      if (r.score != threshold) {
        record();
        threshold = r.score;
      }
      if (r.window >= 0) {
        double w = r.base * prof.tp_weight / kMaxTp;
        double& part = parts[r.window];
        if (w > part) {
          windows_sum += w - part;
          part = w;
        }
        ++tp, --fn;
      } else {
        fp_sum += prof.fp_weight * r.base;
        ++fp, --tn;
      }
    }
    record();
    // §6 normalisation.
    best.null_score = -prof.fn_weight * static_cast<double>(num_windows_);
    best.perfect_score = prof.tp_weight * static_cast<double>(num_windows_);
    best.normalized =
        100.0 * (best.raw_score - best.null_score) / (best.perfect_score - best.null_score);
    // Per-file breakdown at theta*.
    NabProfileScore at;
    BACKSIGHT_RETURN_IF_ERROR(ScoreAtThreshold(results, p, best.threshold, &at));
    best.files = std::move(at.files);
    out->push_back(std::move(best));
  }
  return Status::OK();
}

Status NabScorer::ScoreAtThreshold(const NabResults& results, size_t profile_index,
                                   double threshold, NabProfileScore* out) const {
  BACKSIGHT_RETURN_IF_ERROR(CheckResults(results));
  if (profile_index >= profiles_.size()) {
    return Status::InvalidArgument("profile index " + std::to_string(profile_index) +
                                   " out of range");
  }
  static const double kMaxTp = ScaledSigmoid(-1.0);
  const NabProfile& prof = profiles_[profile_index];
  *out = NabProfileScore();
  out->profile = prof.name;
  out->threshold = threshold;
  std::vector<double> best;
  std::vector<char> scorable;
  for (size_t f = 0; f < files_.size(); ++f) {
    const FileGeom& g = files_[f];
    NabFileScore fs;
    fs.key = g.key;
    best.assign(g.windows.size(), -prof.fn_weight);
    scorable.assign(g.windows.size(), 0);
    for (size_t k = 0; k < g.windows.size(); ++k) scorable[k] = g.windows[k].right >= g.probation;
    std::vector<char> hit(g.windows.size(), 0);
    double fp_sum = 0;
    for (int64_t i = g.probation; i < g.rows; ++i) {
      const bool detected = results[f][i] >= threshold;
      const int32_t k = g.window_of_row[i];
      if (k >= 0) {
        if (detected) {
          ++out->tp;
          hit[k] = 1;
          best[k] = std::max(best[k], g.base_weight[i] * prof.tp_weight / kMaxTp);
        } else {
          ++out->fn;
        }
      } else if (detected) {
        ++out->fp;
        ++fs.fp_rows;
        fp_sum += prof.fp_weight * g.base_weight[i];
      } else {
        ++out->tn;
      }
    }
    fs.score = fp_sum;
    for (size_t k = 0; k < g.windows.size(); ++k) {
      if (!scorable[k]) continue;
      ++fs.windows_total;
      fs.windows_detected += hit[k];
      fs.score += best[k];
    }
    out->raw_score += fs.score;
    out->files.push_back(std::move(fs));
  }
  out->null_score = -prof.fn_weight * static_cast<double>(num_windows_);
  out->perfect_score = prof.tp_weight * static_cast<double>(num_windows_);
  out->normalized =
      100.0 * (out->raw_score - out->null_score) / (out->perfect_score - out->null_score);
  return Status::OK();
}

}  // namespace backsight::evaluate
