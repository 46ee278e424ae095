#include "backsight/logs/miner.h"

#include <algorithm>

#include "backsight/core/byte_io.h"
#include "backsight/logs/masker.h"

namespace backsight::logs {

const uint64_t TemplateMiner::kWildcardHash = HashBytes(kWildcard);

namespace {
constexpr uint32_t kStateMagic = 0x4D4C5342;  // "BSLM"
// 2: MinerOptions::lock_opens_at, each template's refused words and retired template ids.
// 3: MinerOptions::prefix_opens_at (refused words at the first prefix_tokens positions).
constexpr uint32_t kStateVersion = 3;
constexpr uint32_t kEmptySlot = 0xFFFFFFFFu;
// Slack, far above double rounding on counts <= max_tokens, in the early stop of the similarity
// scan.
constexpr double kSimilarityMargin = 1e-9;
constexpr uint64_t kEmptyValue = ~0ull;
inline uint64_t CacheValue(uint32_t id, uint32_t slot) { return (uint64_t{id} << 32) | slot; }

// Delimiters at which MergeTokens keeps a common prefix or suffix.
inline bool IsDelim(char c) {
  static const std::string_view kDelims = ",!;:=|\"'[](){}.-+@#$%&/\\ ";
  return kDelims.find(c) != std::string_view::npos;
}

// The lengths of the common prefix of `a` and `b` that ends at a delimiter (IsDelim) and of their
// common suffix that starts at one, not overlapping within the shorter word: what MergeTokens
// keeps around its wildcard.
struct DelimitedAffix {
  size_t prefix;
  size_t suffix;
};
DelimitedAffix CommonDelimitedAffix(std::string_view a, std::string_view b) {
  const size_t m = std::min(a.size(), b.size());
  size_t p = 0;
  while (p < m && a[p] == b[p]) ++p;
  while (p > 0 && !IsDelim(a[p - 1])) --p;
  size_t s = 0;
  while (s < m - p && a[a.size() - 1 - s] == b[b.size() - 1 - s]) ++s;
  while (s > 0 && !IsDelim(a[a.size() - s])) --s;
  return {p, s};
}

// Day and month names as C-locale strftime (%a %A %b %B), syslog (RFC 3164) and Java write them;
// a capital first letter is required so that the verb "may" stays a word.
bool IsTimeWord(std::string_view w) {
  static constexpr std::string_view kNames[] = {
      "mon",     "tue",       "wed",       "thu",     "fri",      "sat",     "sun",   "monday",
      "tuesday", "wednesday", "thursday",  "friday",  "saturday", "sunday",  "jan",   "feb",
      "mar",     "apr",       "may",       "jun",     "jul",      "aug",     "sep",   "sept",
      "oct",     "nov",       "dec",       "january", "february", "march",   "april", "june",
      "july",    "august",    "september", "october", "november", "december"};
  if (w.size() < 3 || w.size() > 9 || !(w[0] >= 'A' && w[0] <= 'Z')) return false;
  for (std::string_view n : kNames) {
    if (n.size() != w.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < n.size() && eq; ++i) {
      const char c = w[i] >= 'A' && w[i] <= 'Z' ? static_cast<char>(w[i] + 32) : w[i];
      eq = c == n[i];
    }
    if (eq) return true;
  }
  return false;
}

bool HasDigit(std::string_view s) {
  for (char c : s) {
    if (c >= '0' && c <= '9') return true;
  }
  return false;
}

// A necessary condition for IsValueChange(x, token): the token holds a digit, a '=' or a day or
// month name between non-letters.
bool MayHoldValue(std::string_view token) {
  size_t run = 0;  // start of the current letter run
  for (size_t i = 0; i <= token.size(); ++i) {
    const char c = i < token.size() ? token[i] : ' ';
    if ((c >= '0' && c <= '9') || c == '=') return true;
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (letter) continue;
    if (i > run && IsTimeWord(token.substr(run, i - run))) return true;
    run = i + 1;
  }
  return false;
}

// The first `prefix` and last `suffix` bytes of `word` with a wildcard between them, corrected
// to the Loghub-2.0 canonical form (CorrectTemplate).
std::string WildcardBetween(std::string_view word, size_t prefix, size_t suffix) {
  std::string out(word.substr(0, prefix));
  out.append(kWildcard);
  out.append(word.substr(word.size() - suffix));
  return CorrectTemplate(out);
}

// The variable that covers two different words at a position that gave way to repeated
// different words: their common leading and trailing punctuation is kept (`(java)` + `(postgres)`
// -> `(<*>)`, `com.apple.cloudd:` + `com.apple.bird:` -> `<*>:`), letters and digits are not
// (`chrome.exe` + `firefox.exe` -> `<*>`, which `WINWORD.EXE` also matches).
std::string MergeKeepingPunctuation(std::string_view a, std::string_view b) {
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  const size_t m = std::min(a.size(), b.size());
  size_t p = 0;
  while (p < m && a[p] == b[p] && !alnum(a[p])) ++p;
  size_t s = 0;
  while (s < m - p && a[a.size() - 1 - s] == b[b.size() - 1 - s] && !alnum(a[a.size() - 1 - s])) {
    ++s;
  }
  return WildcardBetween(a, p, s);
}

}  // namespace

bool IsValueChange(std::string_view a, std::string_view b) {
  if (a == b) return false;
  // The differing middles, after the common prefix that ends at a delimiter and the common
  // suffix that starts at one (as MergeTokens keeps them).
  const auto [p, s] = CommonDelimitedAffix(a, b);
  const std::string_view ma = a.substr(p, a.size() - p - s);
  const std::string_view mb = b.substr(p, b.size() - p - s);
  if (ma.empty() || mb.empty()) return false;
  if (p > 0 && a[p - 1] == '=') return true;  // key=value: the value changed, the key did not
  if (HasDigit(ma) && HasDigit(mb)) return true;
  return IsTimeWord(ma) && IsTimeWord(mb);
}

TemplateMiner::TemplateMiner(const MinerOptions& options) : options_(options) {
  if (options_.max_templates < 1) options_.max_templates = 1;
  if (options_.max_cache_entries < 16) options_.max_cache_entries = 16;
  if (options_.max_tokens < 2) options_.max_tokens = 2;
  if (options_.max_token_bytes < 16) options_.max_token_bytes = 16;
  if (!(options_.similarity_threshold > 0)) options_.similarity_threshold = 0.7;
  if (options_.similarity_threshold > 1) options_.similarity_threshold = 1;
  CacheClear();
}

void TemplateMiner::MaskLine(std::string_view content) {
  MaskMessage(content, options_.max_tokens, &arena_, &offsets_, options_.max_token_bytes);
}

bool TemplateMiner::LineValueChange(const LogTemplate& t, size_t i) const {
  return line_maybe_value_[i] && IsValueChange(t.tokens[i], LineToken(i));
}

bool TemplateMiner::ConflictAt(const LogTemplate& t, size_t i) const {
  return t.kinds[i] == 0 && line_kinds_[i] == 0 && t.hashes[i] != line_hashes_[i] &&
         !LineValueChange(t, i);
}

bool TemplateMiner::ConstantConflict(const LogTemplate& t, size_t end) const {
  for (size_t i = 0; i < end; ++i) {
    if (ConflictAt(t, i)) return true;
  }
  return false;
}

bool TemplateMiner::Refuses(uint32_t s, bool locked) {
  const LogTemplate& t = slots_[s].t;
  std::vector<std::pair<uint32_t, uint64_t>>& refused = slots_[s].refused;
  const size_t n =
      locked ? t.hashes.size() : std::min<size_t>(options_.prefix_tokens, t.hashes.size());
  conflicts_.clear();
  for (size_t i = 0; i < n; ++i) {
    if (ConflictAt(t, i)) conflicts_.push_back(static_cast<uint32_t>(i));
  }
  if (conflicts_.empty()) return false;
  // Does every conflicting position give way, the line's word being the k-th different one?
  bool opens = true;
  for (uint32_t i : conflicts_) {
    const uint32_t k = OpensAt(i);
    if (k == 0) return true;
    uint32_t others = 0;
    for (const auto& [pos, hash] : refused) others += pos == i && hash != line_hashes_[i];
    if (others + 1 < k) opens = false;
  }
  if (opens) return false;
  for (uint32_t i : conflicts_) {
    const uint32_t k = OpensAt(i);
    uint32_t at = 0;
    bool known = false;
    for (const auto& [pos, hash] : refused) {
      if (pos != i) continue;
      ++at;
      known = known || hash == line_hashes_[i];
    }
    if (!known && at + 1 < k) refused.emplace_back(i, line_hashes_[i]);
  }
  return true;
}

bool TemplateMiner::OpenedAt(const Slot& x, size_t i) const {
  if (!ConflictAt(x.t, i)) return false;
  for (const auto& r : x.refused) {
    if (r.first == i) return true;
  }
  return false;
}

void TemplateMiner::ReleaseRefused(uint32_t s) {
  Slot& x = slots_[s];
  const LogTemplate& t = x.t;
  if (x.refused.empty()) return;
  std::vector<std::pair<uint32_t, uint64_t>> released;
  std::vector<std::pair<uint32_t, uint64_t>> kept;
  for (const auto& r : x.refused) (t.kinds[r.first] == 0 ? kept : released).push_back(r);
  if (released.empty()) return;
  x.refused = std::move(kept);
  // A younger template that a released word started (it holds that word, or a variable since
  // it took others, at that position) and that is now an instance of `t` (every token equal to
  // or matched by t's) is retired: it takes t's text (a refinement: all its lines are instances
  // of it) and leaves its length bucket and the cache, so it takes no more lines.
  std::vector<uint32_t> drop;
  auto& bucket = by_length_[t.hashes.size()];
  for (size_t b = 0; b < bucket.size();) {
    const uint32_t other = bucket[b];
    Slot& y = slots_[other];
    const LogTemplate& f = y.t;
    bool started = false;
    for (const auto& [pos, hash] : released) {
      started = started || f.hashes[pos] == hash || f.kinds[pos] == 2;
    }
    bool instance = started && f.id > t.id;
    for (size_t j = 0; instance && j < f.tokens.size(); ++j) {
      instance = t.kinds[j] == 2 || t.hashes[j] == f.hashes[j] ||
                 (t.kinds[j] == 1 && TokenMatches(t.tokens[j], f.tokens[j]));
    }
    if (!instance) {
      ++b;
      continue;
    }
    y.refused.clear();
    x.retired.push_back(f.id);
    x.retired.insert(x.retired.end(), y.retired.begin(), y.retired.end());
    y.retired.clear();
    drop.push_back(other);
    bucket[b] = bucket.back();
    bucket.pop_back();
  }
  if (!drop.empty()) CacheDropSlots(drop);
}

void TemplateMiner::RefineRetired(uint32_t s) {
  const LogTemplate* t = &slots_[s].t;
  std::vector<uint32_t>& retired = slots_[s].retired;
  size_t kept = 0;
  for (uint32_t id : retired) {
    auto it = id_to_slot_.find(id);
    if (it == id_to_slot_.end()) continue;  // evicted
    LogTemplate& f = slots_[it->second].t;
    if (f.hashes != t->hashes) {
      f.tokens = t->tokens;
      f.hashes = t->hashes;
      f.kinds = t->kinds;
      RebuildText(&f);
      ++f.refinements;
      ++stats_.refinements;
    }
    retired[kept++] = id;
  }
  retired.resize(kept);
}

void TemplateMiner::CacheDropSlots(const std::vector<uint32_t>& slots) {
  std::vector<uint64_t> keys(cache_keys_.size(), 0);
  std::vector<uint64_t> vals(cache_keys_.size(), kEmptyValue);
  const size_t mask = keys.size() - 1;
  uint32_t size = 0;
  for (size_t j = 0; j < cache_keys_.size(); ++j) {
    if (cache_keys_[j] == 0) continue;
    const uint32_t slot = static_cast<uint32_t>(cache_vals_[j]);
    if (std::find(slots.begin(), slots.end(), slot) != slots.end()) continue;
    size_t i = cache_keys_[j] & mask;
    while (keys[i] != 0) i = (i + 1) & mask;
    keys[i] = cache_keys_[j];
    vals[i] = cache_vals_[j];
    ++size;
  }
  cache_keys_.swap(keys);
  cache_vals_.swap(vals);
  cache_size_ = size;
}

void TemplateMiner::ComputeLineHashes() {
  const size_t n = offsets_.size() - 1;
  line_hashes_.resize(n);
  line_kinds_.resize(n);
  line_maybe_value_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::string_view m = LineToken(i);
    const bool wild = m == kWildcard;
    line_hashes_[i] = wild ? kWildcardHash : HashBytes(m);
    line_kinds_[i] = wild ? 2 : (m.find(kWildcard) != std::string_view::npos ? 1 : 0);
    line_maybe_value_[i] = MayHoldValue(m);
  }
}

uint64_t TemplateMiner::CacheFind(uint64_t key) const {
  const size_t mask = cache_keys_.size() - 1;
  size_t i = key & mask;
  while (true) {
    uint64_t k = cache_keys_[i];
    if (k == key) return cache_vals_[i];
    if (k == 0) return kEmptyValue;
    i = (i + 1) & mask;
  }
}

void TemplateMiner::CacheInsert(uint64_t key, uint64_t value) {
  if (cache_size_ + 1 > options_.max_cache_entries) {
    CacheClear();
    ++stats_.cache_clears;
  }
  if ((cache_size_ + 1) * 2 > cache_keys_.size()) {
    // Grow (load factor <= 1/2).
    std::vector<uint64_t> keys(cache_keys_.size() * 2, 0);
    std::vector<uint64_t> vals(cache_keys_.size() * 2, kEmptyValue);
    const size_t mask = keys.size() - 1;
    for (size_t j = 0; j < cache_keys_.size(); ++j) {
      if (cache_keys_[j] == 0) continue;
      size_t i = cache_keys_[j] & mask;
      while (keys[i] != 0) i = (i + 1) & mask;
      keys[i] = cache_keys_[j];
      vals[i] = cache_vals_[j];
    }
    cache_keys_.swap(keys);
    cache_vals_.swap(vals);
  }
  const size_t mask = cache_keys_.size() - 1;
  size_t i = key & mask;
  while (cache_keys_[i] != 0 && cache_keys_[i] != key) i = (i + 1) & mask;
  if (cache_keys_[i] == 0) ++cache_size_;
  cache_keys_[i] = key;
  cache_vals_[i] = value;
}

void TemplateMiner::CacheClear() {
  cache_keys_.assign(64, 0);
  cache_vals_.assign(64, kEmptyValue);
  cache_size_ = 0;
}

void TemplateMiner::LruUnlink(uint32_t s) {
  Slot& x = slots_[s];
  if (x.lru_prev != kNone)
    slots_[x.lru_prev].lru_next = x.lru_next;
  else
    lru_head_ = x.lru_next;
  if (x.lru_next != kNone)
    slots_[x.lru_next].lru_prev = x.lru_prev;
  else
    lru_tail_ = x.lru_prev;
  x.lru_prev = x.lru_next = kNone;
}

void TemplateMiner::LruPushFront(uint32_t s) {
  Slot& x = slots_[s];
  x.lru_prev = kNone;
  x.lru_next = lru_head_;
  if (lru_head_ != kNone) slots_[lru_head_].lru_prev = s;
  lru_head_ = s;
  if (lru_tail_ == kNone) lru_tail_ = s;
}

void TemplateMiner::Touch(uint32_t s) {
  if (lru_head_ == s) return;
  LruUnlink(s);
  LruPushFront(s);
}

uint32_t TemplateMiner::Evict() {
  uint32_t s = lru_tail_;
  LruUnlink(s);
  Slot& x = slots_[s];
  auto& bucket = by_length_[x.t.hashes.size()];
  auto it = std::find(bucket.begin(), bucket.end(), s);
  if (it != bucket.end()) {
    *it = bucket.back();
    bucket.pop_back();
  }
  uint32_t id = x.t.id;
  id_to_slot_.erase(id);
  x.alive = false;
  x.t = LogTemplate();
  x.refused.clear();
  x.retired.clear();
  free_slots_.push_back(s);
  --live_;
  ++stats_.evictions;
  return id;
}

void TemplateMiner::RebuildText(LogTemplate* t) {
  std::string joined;
  for (size_t i = 0; i < t->tokens.size(); ++i) {
    if (i) joined.push_back(' ');
    joined.append(t->tokens[i]);
  }
  t->text = CorrectTemplate(joined);
}

ParseResult TemplateMiner::Add(std::string_view content) {
  ParseResult r;
  const uint64_t line_no = stats_.lines++;
  MaskLine(content);
  const size_t n = offsets_.size() - 1;
  uint64_t key = HashBytes(arena_);
  if (key == 0) key = 1;

  // 1. Exact masked sequence seen before: its template (which can only have generalised since)
  //    is still alive in the same slot.
  const uint64_t v = CacheFind(key);
  if (v != kEmptyValue) {
    const uint32_t s = static_cast<uint32_t>(v);
    const uint32_t id = static_cast<uint32_t>(v >> 32);
    if (s < slots_.size() && slots_[s].alive && slots_[s].t.id == id) {
      ++stats_.cache_hits;
      LogTemplate& t = slots_[s].t;
      ++t.count;
      t.last_line = line_no;
      Touch(s);
      r.template_id = t.id;
      return r;
    }
  }
  ComputeLineHashes();

  // 2. Most similar template of the same length.
  if (by_length_.size() <= n) by_length_.resize(n + 1);
  uint32_t best = kEmptySlot;
  double best_sim = -1;
  uint32_t best_id = 0;
  const size_t prefix = std::min<size_t>(options_.prefix_tokens, n);
  for (uint32_t cand : by_length_[n]) {
    const LogTemplate& t = slots_[cand].t;
    const bool has_prefix_conflict = ConstantConflict(t, prefix);
    if (has_prefix_conflict && options_.prefix_opens_at == 0) continue;
    // Similarity: share of agreeing constants among the positions that are not variables in
    // both. A position where the two differ only in a value (IsValueChange: a day or month name,
    // a version, a key's value) counts as a variable, as it would once merged, but only when the
    // line agrees with the template on some constant: a value is known by the words around it.
    // The scan stops once the constants still to come could not lift the similarity to the
    // threshold (the margin keeps rounding from stopping a candidate that would reach it).
    const double th_sim = options_.similarity_threshold;
    int eq = 0;
    int denom = 0;
    int values = 0;
    bool hopeless = false;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t th = t.hashes[i];
      const uint64_t lh = line_hashes_[i];
      if (th == lh) {
        if (t.kinds[i] == 0) {
          ++eq;
          ++denom;
        }
        continue;
      }
      if (t.kinds[i] == 1 && TokenMatches(t.tokens[i], LineToken(i))) continue;
      if (t.kinds[i] == 2 && line_kinds_[i] != 0) continue;
      if (t.kinds[i] != 2 && LineValueChange(t, i)) {
        ++values;
        continue;
      }
      ++denom;
      const double best_eq = eq + static_cast<double>(n - i - 1);
      if (best_eq * (1 - th_sim) < th_sim * (denom - eq) - kSimilarityMargin) {
        hopeless = true;
        break;
      }
    }
    if (hopeless) continue;
    double sim = denom == 0 ? (values > 0 && eq == 0 ? 0.0 : 1.0) : static_cast<double>(eq) / denom;
    // Only a candidate that would win is checked further (same outcome, fewer calls).
    if (sim < options_.similarity_threshold) continue;
    if (!(sim > best_sim || (sim == best_sim && t.id < best_id))) continue;
    // Locked template: a constant that never varied over lock_after lines is a word of the
    // message, so a line with another word there is another event. A value that changes slowly
    // (the day, the month, a version) looks locked the same way until it changes; it is told
    // apart by the tokens themselves (IsValueChange) and releases the lock instead of forking the
    // template, whatever its age. A value written in letters is told apart by repetition: the
    // lock_opens_at-th different word at one position opens it (Refuses).
    // Drain's prefix tree: the leading constants must agree, except where only a value differs
    // (Drain sends tokens with digits down its `<*>` branch for the same reason) or where so many
    // different words met the template there with the same rest of line that the position is a
    // value (prefix_opens_at).
    const bool locked = options_.lock_after > 0 && t.count >= options_.lock_after;
    if ((locked || has_prefix_conflict) && Refuses(cand, locked)) continue;
    best_sim = sim;
    best = cand;
    best_id = t.id;
  }
  if (best != kEmptySlot) {
    LogTemplate& t = slots_[best].t;
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (t.hashes[i] == kWildcardHash || t.hashes[i] == line_hashes_[i]) continue;
      if (t.kinds[i] == 1 && TokenMatches(t.tokens[i], LineToken(i))) continue;
      // A position that gave way to repeated different words (Refuses) keeps only its
      // punctuation: the refused words are kept only as hashes, and each must be an instance of
      // it so that the templates they started are retired into this one.
      std::string merged = OpenedAt(slots_[best], i)
                               ? MergeKeepingPunctuation(t.tokens[i], LineToken(i))
                               : MergeTokens(t.tokens[i], LineToken(i));
      if (merged == t.tokens[i]) continue;
      t.tokens[i] = std::move(merged);
      const bool wild = t.tokens[i] == kWildcard;
      t.hashes[i] = wild ? kWildcardHash : HashBytes(t.tokens[i]);
      t.kinds[i] = wild ? 2 : 1;
      changed = true;
    }
    if (changed) {
      RebuildText(&t);
      ReleaseRefused(best);
      RefineRetired(best);
      ++t.refinements;
      ++stats_.refinements;
      r.refined = true;
    }
    ++t.count;
    t.last_line = line_no;
    Touch(best);
    CacheInsert(key, CacheValue(t.id, best));
    r.template_id = t.id;
    return r;
  }

  // 3. New template.
  if (live_ >= options_.max_templates) r.evicted_id = Evict();
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& x = slots_[slot];
  x.alive = true;
  LogTemplate& t = x.t;
  t.id = next_id_++;
  t.tokens.clear();
  t.tokens.reserve(n);
  for (size_t i = 0; i < n; ++i) t.tokens.emplace_back(LineToken(i));
  t.hashes = line_hashes_;
  t.kinds = line_kinds_;
  t.count = 1;
  t.first_line = t.last_line = line_no;
  t.refinements = 0;
  t.example.assign(content.substr(0, std::min<size_t>(content.size(), options_.example_bytes)));
  RebuildText(&t);
  by_length_[n].push_back(slot);
  id_to_slot_[t.id] = slot;
  LruPushFront(slot);
  ++live_;
  ++stats_.templates_created;
  CacheInsert(key, CacheValue(t.id, slot));
  r.template_id = t.id;
  r.created = true;
  return r;
}

const LogTemplate* TemplateMiner::Find(uint32_t id) const {
  auto it = id_to_slot_.find(id);
  return it == id_to_slot_.end() ? nullptr : &slots_[it->second].t;
}

std::vector<const LogTemplate*> TemplateMiner::Templates() const {
  std::vector<const LogTemplate*> out;
  out.reserve(live_);
  for (const Slot& x : slots_) {
    if (x.alive) out.push_back(&x.t);
  }
  std::sort(out.begin(), out.end(),
            [](const LogTemplate* a, const LogTemplate* b) { return a->id < b->id; });
  return out;
}

void TemplateMiner::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  w.PutDouble(options_.similarity_threshold);
  w.PutU32(options_.max_templates);
  w.PutU32(options_.max_cache_entries);
  w.PutU32(options_.max_tokens);
  w.PutU32(options_.example_bytes);
  w.PutU32(options_.prefix_tokens);
  w.PutU32(options_.lock_after);
  w.PutU32(options_.max_token_bytes);
  w.PutU32(options_.lock_opens_at);
  w.PutU32(options_.prefix_opens_at);
  w.PutU64(stats_.lines);
  w.PutU64(stats_.cache_hits);
  w.PutU64(stats_.templates_created);
  w.PutU64(stats_.refinements);
  w.PutU64(stats_.evictions);
  w.PutU64(stats_.cache_clears);
  w.PutU32(next_id_);
  w.PutVarint(slots_.size());
  for (const Slot& x : slots_) {
    w.PutU8(x.alive ? 1 : 0);
    if (!x.alive) continue;
    const LogTemplate& t = x.t;
    w.PutU32(t.id);
    w.PutVarint(t.tokens.size());
    for (const std::string& tok : t.tokens) w.PutString(tok);
    w.PutU64(t.count);
    w.PutU64(t.first_line);
    w.PutU64(t.last_line);
    w.PutU32(t.refinements);
    w.PutString(t.example);
    w.PutVarint(x.refused.size());
    for (const auto& [pos, hash] : x.refused) {
      w.PutVarint(pos);
      w.PutU64(hash);
    }
    w.PutVarint(x.retired.size());
    for (uint32_t id : x.retired) w.PutU32(id);
  }
  w.PutVarint(free_slots_.size());
  for (uint32_t f : free_slots_) w.PutU32(f);
  // LRU order, most recent first.
  w.PutVarint(live_);
  for (uint32_t s = lru_head_; s != kNone; s = slots_[s].lru_next) w.PutU32(s);
  // Length buckets in order (their order is irrelevant to results but kept for exactness).
  w.PutVarint(by_length_.size());
  for (const auto& b : by_length_) {
    w.PutVarint(b.size());
    for (uint32_t s : b) w.PutU32(s);
  }
  // Cache entries sorted by key, so equal contents give equal bytes whatever the table layout.
  std::vector<std::pair<uint64_t, uint64_t>> entries;
  entries.reserve(cache_size_);
  for (size_t i = 0; i < cache_keys_.size(); ++i) {
    if (cache_keys_[i] != 0) entries.emplace_back(cache_keys_[i], cache_vals_[i]);
  }
  std::sort(entries.begin(), entries.end());
  w.PutVarint(entries.size());
  for (const auto& [k, v] : entries) {
    w.PutU64(k);
    w.PutU64(v);
  }
}

Status TemplateMiner::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "miner state"));
  TemplateMiner m;
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&m.options_.similarity_threshold, "similarity_threshold"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.max_templates, "max_templates"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.max_cache_entries, "max_cache_entries"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.max_tokens, "max_tokens"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.example_bytes, "example_bytes"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.prefix_tokens, "prefix_tokens"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.lock_after, "lock_after"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.max_token_bytes, "max_token_bytes"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.lock_opens_at, "lock_opens_at"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.options_.prefix_opens_at, "prefix_opens_at"));
  if (m.options_.max_templates < 1 || m.options_.max_cache_entries < 16 ||
      m.options_.max_tokens < 2 || m.options_.max_token_bytes < 16 ||
      !(m.options_.similarity_threshold > 0) || m.options_.similarity_threshold > 1) {
    return Status::Corruption("miner state: options out of range");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.lines, "lines"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.cache_hits, "cache_hits"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.templates_created, "templates_created"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.refinements, "refinements"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.evictions, "evictions"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&m.stats_.cache_clears, "cache_clears"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&m.next_id_, "next_id"));
  uint64_t nslots = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nslots, "slot_count"));
  if (nslots > r.remaining()) return Status::Corruption("miner state: slot count too large");
  m.slots_.resize(nslots);
  for (uint64_t i = 0; i < nslots; ++i) {
    uint8_t alive = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&alive, "slot_alive"));
    if (alive > 1) return Status::Corruption("miner state: bad alive flag");
    if (!alive) continue;
    Slot& x = m.slots_[i];
    x.alive = true;
    LogTemplate& t = x.t;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&t.id, "template_id"));
    if (t.id == 0 || t.id >= m.next_id_) return Status::Corruption("miner state: bad template id");
    uint64_t ntok = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&ntok, "token_count"));
    if (ntok > r.remaining() || ntok > m.options_.max_tokens) {
      return Status::Corruption("miner state: token count too large");
    }
    t.tokens.resize(ntok);
    t.hashes.resize(ntok);
    t.kinds.resize(ntok);
    for (uint64_t k = 0; k < ntok; ++k) {
      BACKSIGHT_RETURN_IF_ERROR(r.GetString(&t.tokens[k], "token"));
      const bool wild = t.tokens[k] == kWildcard;
      t.hashes[k] = wild ? kWildcardHash : HashBytes(t.tokens[k]);
      t.kinds[k] = wild ? 2 : (t.tokens[k].find(kWildcard) != std::string::npos ? 1 : 0);
    }
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&t.count, "count"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&t.first_line, "first_line"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&t.last_line, "last_line"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&t.refinements, "refinements"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&t.example, "example"));
    uint64_t nrefused = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nrefused, "refused_count"));
    const uint64_t opens_at = std::max(m.options_.lock_opens_at, m.options_.prefix_opens_at);
    if (nrefused > r.remaining() / 9 || nrefused > ntok * opens_at) {
      return Status::Corruption("miner state: refused word count too large");
    }
    x.refused.resize(nrefused);
    for (auto& [pos, hash] : x.refused) {
      uint64_t p = 0;
      BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&p, "refused_position"));
      BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&hash, "refused_hash"));
      if (p >= ntok || t.kinds[p] != 0) {
        return Status::Corruption("miner state: refused word at a bad position");
      }
      pos = static_cast<uint32_t>(p);
    }
    uint64_t nretired = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nretired, "retired_count"));
    if (nretired > r.remaining() / 4) {
      return Status::Corruption("miner state: retired template count too large");
    }
    x.retired.resize(nretired);
    for (uint32_t& id : x.retired) {
      BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&id, "retired_id"));
      if (id <= t.id || id >= m.next_id_) {
        return Status::Corruption("miner state: bad retired template id");
      }
    }
    m.RebuildText(&t);
    if (!m.id_to_slot_.emplace(t.id, static_cast<uint32_t>(i)).second) {
      return Status::Corruption("miner state: duplicate template id");
    }
    ++m.live_;
  }
  uint64_t nfree = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nfree, "free_count"));
  if (nfree > nslots) return Status::Corruption("miner state: free count too large");
  for (uint64_t i = 0; i < nfree; ++i) {
    uint32_t f = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&f, "free_slot"));
    if (f >= nslots || m.slots_[f].alive) return Status::Corruption("miner state: bad free slot");
    m.free_slots_.push_back(f);
  }
  uint64_t nlru = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nlru, "lru_count"));
  if (nlru != m.live_) return Status::Corruption("miner state: LRU size mismatch");
  std::vector<uint32_t> lru(nlru);
  std::vector<uint8_t> seen(nslots, 0);
  for (uint64_t i = 0; i < nlru; ++i) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&lru[i], "lru_slot"));
    if (lru[i] >= nslots || !m.slots_[lru[i]].alive || seen[lru[i]]) {
      return Status::Corruption("miner state: bad LRU slot");
    }
    seen[lru[i]] = 1;
  }
  for (size_t i = lru.size(); i-- > 0;) m.LruPushFront(lru[i]);
  uint64_t nb = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nb, "bucket_count"));
  if (nb > m.options_.max_tokens + 1ull || nb > r.remaining()) {
    return Status::Corruption("miner state: bucket count");
  }
  m.by_length_.resize(nb);
  uint64_t in_buckets = 0;
  for (uint64_t b = 0; b < nb; ++b) {
    uint64_t len = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&len, "bucket_size"));
    if (len > nslots) return Status::Corruption("miner state: bucket too large");
    for (uint64_t i = 0; i < len; ++i) {
      uint32_t s = 0;
      BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&s, "bucket_slot"));
      if (s >= nslots || !m.slots_[s].alive || m.slots_[s].t.hashes.size() != b) {
        return Status::Corruption("miner state: bad bucket slot");
      }
      m.by_length_[b].push_back(s);
      ++in_buckets;
    }
  }
  // Live templates absent from the buckets were retired (ReleaseRefused).
  if (in_buckets > m.live_) return Status::Corruption("miner state: bucket/live mismatch");
  uint64_t ncache = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&ncache, "cache_count"));
  if (ncache > m.options_.max_cache_entries || ncache > r.remaining() / 16) {
    return Status::Corruption("miner state: cache size");
  }
  for (uint64_t i = 0; i < ncache; ++i) {
    uint64_t k = 0;
    uint64_t v = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&k, "cache_key"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU64(&v, "cache_value"));
    if (k == 0) return Status::Corruption("miner state: zero cache key");
    // Insert without triggering the clear rule (sizes are within the cap).
    uint32_t saved = m.options_.max_cache_entries;
    m.options_.max_cache_entries = 0xFFFFFFFFu;
    m.CacheInsert(k, v);
    m.options_.max_cache_entries = saved;
  }
  if (!r.done())
    return Status::Corruption("miner state: trailing bytes at byte " +
                              std::to_string(r.position()));
  *this = std::move(m);
  return Status::OK();
}

std::string MergeTokens(std::string_view a, std::string_view b) {
  if (a == b) return std::string(a);
  if (a == kWildcard || b == kWildcard) return std::string(kWildcard);
  const auto [p, s] = CommonDelimitedAffix(a, b);
  if (p == 0 && s == 0) return std::string(kWildcard);
  return WildcardBetween(a, p, s);
}

bool TokenMatches(std::string_view pattern, std::string_view token) {
  size_t f = pattern.find(kWildcard);
  if (f == std::string_view::npos) return pattern == token;
  std::string_view head = pattern.substr(0, f);
  if (token.substr(0, head.size()) != head) return false;
  size_t at = head.size();
  size_t pos = f + kWildcard.size();
  while (true) {
    size_t g = pattern.find(kWildcard, pos);
    if (g == std::string_view::npos) {
      std::string_view tail = pattern.substr(pos);
      return token.size() >= at + tail.size() && token.substr(token.size() - tail.size()) == tail;
    }
    std::string_view mid = pattern.substr(pos, g - pos);
    size_t h = token.find(mid, at);
    if (h == std::string_view::npos) return false;
    at = h + mid.size();
    pos = g + kWildcard.size();
  }
}

bool ExtractParameters(std::string_view template_text, std::string_view content,
                       std::vector<std::string>* params) {
  params->clear();
  // Normalise the content's whitespace like the template's (DS rule).
  std::string c;
  c.reserve(content.size());
  {
    bool space = false;
    for (char ch : content) {
      if (IsSpace(ch)) {
        space = !c.empty();
        continue;
      }
      if (space) c.push_back(' ');
      space = false;
      c.push_back(ch);
    }
  }
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  while (true) {
    size_t f = template_text.find(kWildcard, pos);
    if (f == std::string_view::npos) {
      pieces.push_back(template_text.substr(pos));
      break;
    }
    pieces.push_back(template_text.substr(pos, f - pos));
    pos = f + kWildcard.size();
  }
  std::string_view cv(c);
  if (pieces.size() == 1) return cv == pieces[0];
  if (cv.substr(0, pieces[0].size()) != pieces[0]) return false;
  size_t at = pieces[0].size();
  std::vector<std::string> out;
  for (size_t i = 1; i + 1 < pieces.size(); ++i) {
    // A variable takes at least one character (when the next literal is non-empty).
    size_t f = pieces[i].empty() ? at : cv.find(pieces[i], at + 1 <= cv.size() ? at + 1 : at);
    if (f == std::string_view::npos) return false;
    out.emplace_back(cv.substr(at, f - at));
    at = f + pieces[i].size();
  }
  const std::string_view last = pieces.back();
  if (cv.size() < at + last.size() || cv.substr(cv.size() - last.size()) != last) return false;
  out.emplace_back(cv.substr(at, cv.size() - last.size() - at));
  *params = std::move(out);
  return true;
}

}  // namespace backsight::logs
