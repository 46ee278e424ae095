// Scores `backsight api diff` on the oasdiff corpus (../shared/data/oasdiff, README there):
//   recall   = cases whose expected rule ids are all reported / cases with an id (also: any id);
//   NONE     = cases that must report nothing at error/warning level;
//   load     = files of data/ that fail to load (there should be none);
//   verdict  = the verdict (report.h: no-change / compatible / breaking) against the expected
//              id's level: ERR or WARN -> breaking; INFO -> a change, compatible unless another
//              change of the pair breaks (many pairs share one schema between request and
//              response, so the reverse direction breaks); NONE -> not breaking;
//   speed    = data/checker/<rule>_base.yaml + _revision.yaml pairs loaded and diffed per second
//              on one core (parsing included).
// Usage: oasdiff_cases [OASDIFF_DIR] [--verbose]   (default $BACKSIGHT_DATA/oasdiff)
// Prints every missed case with the ids that were reported. Cases whose base and revision are
// the same file are counted but flagged: oasdiff's Go test edits the document in code there.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backsight/analyze/api/differ.h"
#include "backsight/analyze/api/document.h"
#include "backsight/analyze/api/report.h"
#include "backsight/analyze/api/rules.h"
#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"

namespace fs = std::filesystem;
using backsight::api::Change;
using backsight::api::Level;
using backsight::api::Spec;

namespace {}  // namespace

int main(int argc, char** argv) {
  std::string dir = backsight::DataDir() + "/oasdiff";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose") {
      verbose = true;
    } else {
      dir = a;
    }
  }
  std::ifstream cases(dir + "/cases.tsv");
  if (!cases) {
    std::fprintf(stderr, "oasdiff_cases: cannot open %s/cases.tsv\n", dir.c_str());
    return 4;
  }
  std::string line;
  std::getline(cases, line);  // header
  int with_id = 0, hit_all = 0, hit_any = 0, none_cases = 0, none_quiet = 0, same_file = 0;
  std::map<std::string, int> missed_ids;
  int verdict_cases = 0, verdict_right = 0;  // cases whose sides are different files
  int info_cases = 0, info_compatible = 0;   // INFO-level expected ids: strictly compatible
  while (std::getline(cases, line)) {
    auto f = backsight::SplitDelimited(line, '\t');
    if (f.size() < 5) continue;
    const std::string &test = f[1], &base = f[2], &rev = f[3], &expected = f[4];
    Spec b, r;
    backsight::Status sb = backsight::api::LoadSpec(dir + "/data/" + base, &b);
    backsight::Status sr = backsight::api::LoadSpec(dir + "/data/" + rev, &r);
    std::vector<Change> changes;
    if (sb.ok() && sr.ok()) changes = backsight::api::DiffSpecs(b, r);
    std::set<std::string> got;
    bool loud = false;
    for (const Change& c : changes) {
      got.insert(c.rule);
      if (!c.note.empty()) got.insert(c.note);
      loud |= c.level >= Level::kWarning;
    }
    auto dump = [&] {
      std::string s;
      for (const Change& c : changes) {
        s += "      " + std::string(backsight::api::LevelName(c.level)) + " " + c.rule + " [" +
             c.operation + "] " + c.text + "\n";
      }
      return s;
    };
    // Verdict expected from the asserted id's level (the most severe when several).
    const backsight::api::Verdict verdict = backsight::api::Summarise(changes);
    if (base != rev) {
      bool right;
      std::string want;
      if (expected == "NONE") {
        right = verdict != backsight::api::Verdict::kBreaking;
        want = "not breaking";
      } else {
        Level top = Level::kInfo;
        for (const auto& id : backsight::SplitDelimited(expected, ';')) {
          const backsight::api::Rule* rule = backsight::api::FindRule(id);
          if (rule != nullptr && rule->level > top) top = rule->level;
        }
        if (top >= Level::kWarning) {
          right = verdict == backsight::api::Verdict::kBreaking;
          want = "breaking";
        } else {
          right = verdict != backsight::api::Verdict::kNoChange;
          want = "a change";
          ++info_cases;
          info_compatible += verdict == backsight::api::Verdict::kCompatible;
        }
      }
      ++verdict_cases;
      verdict_right += right;
      if (!right) {
        std::printf("VERDICT %s (%s -> %s) expected %s: %s, want %s\n%s", test.c_str(),
                    base.c_str(), rev.c_str(), expected.c_str(),
                    backsight::api::VerdictName(verdict), want.c_str(), dump().c_str());
      }
    }
    if (expected == "NONE") {
      ++none_cases;
      if (!loud) {
        ++none_quiet;
      } else {
        std::printf("NONE-LOUD %s (%s -> %s)\n%s", test.c_str(), base.c_str(), rev.c_str(),
                    dump().c_str());
      }
      continue;
    }
    ++with_id;
    bool same = base == rev;
    same_file += same;
    auto ids = backsight::SplitDelimited(expected, ';');
    int found = 0;
    for (const auto& id : ids) {
      if (got.count(id)) {
        ++found;
      } else {
        ++missed_ids[id];
      }
    }
    hit_all += found == static_cast<int>(ids.size());
    hit_any += found > 0;
    if (found != static_cast<int>(ids.size()) || verbose) {
      std::printf("%s %s%s (%s -> %s) expected %s\n%s", found == (int)ids.size() ? "OK" : "MISS",
                  test.c_str(), same ? " [same file]" : "", base.c_str(), rev.c_str(),
                  expected.c_str(), dump().c_str());
    }
  }
  // Every file of data/ must load.
  int files = 0, load_errors = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/data")) {
    std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml" && ext != ".json")) continue;
    ++files;
    Spec s;
    backsight::Status st = backsight::api::LoadSpec(e.path().string(), &s);
    if (!st.ok()) {
      ++load_errors;
      std::printf("LOAD-ERROR %s\n", st.ToString().c_str());
    }
  }
  // Speed on the checker pairs.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& e : fs::directory_iterator(dir + "/data/checker")) {
    std::string p = e.path().string();
    const std::string suffix = "_base.yaml";
    if (p.size() > suffix.size() &&
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string rev = p.substr(0, p.size() - suffix.size()) + "_revision.yaml";
      if (fs::exists(rev)) pairs.emplace_back(p, rev);
    }
  }
  size_t done = 0, changes_total = 0;
  auto t0 = std::chrono::steady_clock::now();
  double secs = 0;
  while (secs < 2.0 && !pairs.empty()) {
    for (const auto& [bp, rp] : pairs) {
      Spec b, r;
      if (backsight::api::LoadSpec(bp, &b).ok() && backsight::api::LoadSpec(rp, &r).ok()) {
        changes_total += backsight::api::DiffSpecs(b, r).size();
      }
      ++done;
    }
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("\nmissed ids:");
  for (const auto& [id, n] : missed_ids) std::printf(" %s(%d)", id.c_str(), n);
  std::printf("\n");
  std::printf(
      "recall (all expected ids found): %d / %d = %.1f %%  (%d of these cases use one "
      "file for both sides)\n",
      hit_all, with_id, 100.0 * hit_all / std::max(with_id, 1), same_file);
  std::printf("recall (any expected id found):  %d / %d = %.1f %%\n", hit_any, with_id,
              100.0 * hit_any / std::max(with_id, 1));
  std::printf("NONE cases quiet at error/warning: %d / %d\n", none_quiet, none_cases);
  std::printf(
      "verdict right (ERR/WARN id -> breaking, INFO -> not no-change, NONE -> not "
      "breaking): %d / %d = %.1f %%; INFO cases verdict compatible: %d / %d (the rest "
      "carry a breaking change beside the asserted one)\n",
      verdict_right, verdict_cases, 100.0 * verdict_right / std::max(verdict_cases, 1),
      info_compatible, info_cases);
  std::printf("files loaded: %d, errors or crashes: %d\n", files, load_errors);
  std::printf("speed: %zu checker pairs in %.2f s = %.0f pairs/s on one core (%zu changes)\n", done,
              secs, done / std::max(secs, 1e-9), changes_total);
  return 0;
}
