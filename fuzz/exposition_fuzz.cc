// Fuzzes ParseExposition; on success, checks that WriteExposition's output parses again whenever
// all names are in the classic (unquoted) alphabet.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backsight/ingest/exposition.h"
#include "fuzz_util.h"

static bool Classic(const backsight::TimeSeries& s) {
  auto ok = [](std::string_view n, bool colon) {
    if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
    for (char c : n) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || (colon && c == ':'))) {
        return false;
      }
    }
    return true;
  };
  for (const auto& l : s.labels) {
    if (l.name == "__name__" ? !ok(l.value, true) : !ok(l.name, false)) return false;
  }
  return true;
}

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<backsight::TimeSeries> out;
  backsight::Status st = backsight::ingest::ParseExposition(text, 42, &out, 1 << 20);
  if (!st.ok()) {
    if (!out.empty()) std::abort();
    return 0;
  }
  for (const auto& s : out) {
    if (!Classic(s)) return 0;
  }
  std::string written;
  backsight::ingest::WriteExposition(out, &written, {.timestamps = true});
  std::vector<backsight::TimeSeries> again;
  st = backsight::ingest::ParseExposition(written, 42, &again);
  if (!st.ok()) {
    std::fprintf(stderr, "re-parse failed: %s\n--- written:\n%s\n", st.ToString().c_str(),
                 written.c_str());
    std::abort();
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
