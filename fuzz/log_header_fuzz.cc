// Fuzzes the log header-layout compiler, the line matcher, masking and the template miner.
// Input: a layout, a NUL byte, then log lines separated by '\n'. Without a NUL the whole input is
// lines for the "raw" and "json" presets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/logs/header.h"
#include "backsight/logs/masker.h"
#include "backsight/logs/miner.h"
#include "fuzz_util.h"

using namespace backsight::logs;

static int FuzzOne(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<HeaderLayout> layouts;
  std::string_view lines = in;
  size_t nul = in.find('\0');
  if (nul != std::string_view::npos) {
    HeaderLayout h;
    if (HeaderLayout::Parse(in.substr(0, nul), &h).ok()) layouts.push_back(std::move(h));
    lines = in.substr(nul + 1);
  }
  for (const char* p : {"raw", "json", "syslog"}) {
    HeaderLayout h;
    if (HeaderLayout::Preset(p, &h).ok()) layouts.push_back(std::move(h));
  }
  MinerOptions o;
  o.max_templates = 8;
  o.max_cache_entries = 16;
  TemplateMiner miner(o);
  HeaderFields f;
  std::vector<std::string> params;
  size_t pos = 0;
  while (pos <= lines.size()) {
    size_t e = lines.find('\n', pos);
    if (e == std::string_view::npos) e = lines.size();
    std::string_view line = lines.substr(pos, e - pos);
    for (const HeaderLayout& h : layouts) {
      if (h.Match(line, &f)) {
        if (f.values.size() != h.fields().size()) __builtin_trap();
        ParseResult r = miner.Add(f.values[h.content_index()]);
        const LogTemplate* t = miner.Find(r.template_id);
        if (t == nullptr) __builtin_trap();
        ExtractParameters(t->text, f.values[h.content_index()], &params);
        int64_t ts;
        ExtractTimestamp(h, f, &ts);
      }
    }
    std::string c = CorrectTemplate(line);
    if (CorrectTemplate(c) != c) __builtin_trap();  // idempotent
    pos = e + 1;
  }
  std::string state;
  miner.SaveState(&state);
  TemplateMiner restored;
  if (!restored.RestoreState(state).ok()) __builtin_trap();
  (void)restored.RestoreState(lines);  // arbitrary bytes must be rejected or accepted, never crash
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
