// Online log template mining.
//
// Method: the Drain family (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth
// Tree", ICWS 2017; Drain3), changed in five ways that the benchmark in bench/loghub measures:
//   1. Masking is character-level and generic (masker.h): variables inside a token are replaced
//      (`(HWID=<*>)`, `<*>:<*>`), so templates come out in the Loghub-2.0 canonical form and no
//      per-log regexes are needed.
//   2. An exact-sequence cache (as in ULP, Sedki et al. 2022, which groups identical masked
//      sequences first) sends a masked token sequence seen before straight to its template; only
//      new sequences reach the similarity search. This makes the common case a few hash lookups.
//   3. The similarity search is over templates of the same token count. Similarity is the share
//      of positions where template and line agree on a constant, counted over positions that are
//      not variables in both (Drain counts over all positions, which under-merges masked lines);
//      ties go to the lowest template id, so results never depend on container order. As in
//      Drain's prefix tree, the first `prefix_tokens` tokens must agree when both are constants,
//      until `prefix_opens_at` different words have met a template there with the same rest of
//      line (a program or user name leading the message); then that position is a variable, as
//      with the lock below.
//   4. Long-lived constants are locked (the frequency intuition of Brain, Yu et al. 2023): once a
//      template has `lock_after` lines, a line that differs from it in a constant word at a
//      position that never varied does not join it (it starts a new template instead). A slowly
//      changing value (a day or month name, a version, a key's value; IsValueChange) is not such
//      a word: it releases the lock and refines the template, so templates do not fork at
//      midnight. The same evidence relaxes the prefix rule and counts as a variable in the
//      similarity. The lock gives way to repetition: once `lock_opens_at` different words have
//      met it at one position (a user, host or program name: a value written without digits),
//      that position is a variable after all, and the line that brings the last of them joins
//      and refines the template. A template that a refused word started and that is now an
//      instance of the refined one is retired into it: it keeps its id and count (Find,
//      Templates) but takes no more lines, so later lines of that word join the refined template,
//      and its text follows that template's text from then on (lines grouped by text are
//      together).
//   5. When tokens differ, the merge is character-level (`rhost=a.com` + `rhost=b.org` ->
//      `rhost=<*>`), keeping common prefixes/suffixes that end/start at a delimiter.
// Lines are processed once, in arrival order. When a line joins a template and differs from it in
// a constant position, that position becomes `<*>` ("refinement"); the template id stays the same
// and the refinement is reported in ParseResult.
//
// Memory is bounded (a template holds at most max_tokens x max_token_bytes bytes of tokens, about
// 100 bytes typically): at most `max_templates` templates (when a new one would exceed the cap, the
// least recently matched template is evicted; its id is never reused) and at most
// `max_cache_entries` cache entries (when full, the cache is cleared). SaveState/RestoreState
// reproduce the full state, so a restored miner gives identical results on any later input.
#ifndef BACKSIGHT_LOGS_MINER_H_
#define BACKSIGHT_LOGS_MINER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::logs {

/// Options of the miner. The defaults are the product's one generic configuration.
struct MinerOptions {
  /// A line joins the most similar template of its length when similarity >= this (0..1].
  double similarity_threshold = 0.7;
  /// Cap on live templates; the least recently matched one is evicted beyond it (>= 1).
  uint32_t max_templates = 10000;
  /// Cap on exact-sequence cache entries; the cache is cleared when full (>= 16).
  uint32_t max_cache_entries = 1u << 20;
  /// Lines with more whitespace tokens than this keep the first max_tokens - 1 tokens and
  /// fold the rest into one last `<*>` token (>= 2).
  uint32_t max_tokens = 400;
  /// A masked token longer than this many bytes (a blob) becomes `<*>` (>= 16).
  uint32_t max_token_bytes = 256;
  /// Leading tokens that must be equal when constant in both template and line (Drain's
  /// prefix-tree depth minus 2).
  uint32_t prefix_tokens = 2;
  /// A template matched by at least this many lines no longer lets a line with a different
  /// constant word join it at a position that has never varied (0 = off). Long-lived constants
  /// are words of the message, not values (the frequency intuition of Brain, Yu et al. 2023);
  /// a difference that IsValueChange calls a value still joins, at any count.
  uint32_t lock_after = 20;
  /// The lock at one position gives way to the `lock_opens_at`-th different word that meets it
  /// there: the words before it are refused (each starts its own template), that one joins and
  /// the position becomes a variable (0 = never gives way). 2 because one other word at a place
  /// is how two events that share a message differ (`opened` / `closed`, `client
  /// WindowsUpdateAgent` / `client SPP`), while a third different word at the same place is a
  /// value written in letters (a user, host or program name). Counted per template and
  /// position; a line that differs from a locked template at several positions joins only when
  /// each of them gives way.
  uint32_t lock_opens_at = 2;
  /// The prefix rule at one of the first prefix_tokens positions gives way to the
  /// `prefix_opens_at`-th different word that meets a template there while the rest of the line
  /// would join it (similarity >= similarity_threshold): the words before it are refused and
  /// start their own templates, that one joins, the position becomes a variable and the
  /// templates the refused words started are retired into it (0 = never gives way). Leading words
  /// are where a message names its event, and the closed families of event words that share the
  /// rest of a message have at most 9 members: the 8 syslog severities (RFC 5424), the 9 HTTP
  /// methods (RFC 9110 + PATCH), start/stop/restart/reload, accepted/failed, register/unregister,
  /// a handful of configuration keys. A 10th different word with the same rest of line is
  /// therefore a value written in letters: a program, process, user or host name
  /// (`chrome.exe - ...`, `com.apple.xpc.launchd: ...`). Applies at any template count; at these
  /// positions it replaces lock_opens_at.
  uint32_t prefix_opens_at = 10;
  /// Bytes of the first line kept as each template's example (0 = none).
  uint32_t example_bytes = 512;
};

/// One template (a cluster of lines).
struct LogTemplate {
  uint32_t id = 0;                  ///< Stable id, 1-based, never reused.
  std::string text;                 ///< Canonical template text, variables written `<*>`.
  std::vector<std::string> tokens;  ///< Masked tokens (`<*>` for a variable position).
  std::vector<uint64_t> hashes;     ///< Hash of each token; kWildcardHash for `<*>`.
  std::vector<uint8_t> kinds;       ///< Per token: 0 constant, 1 contains `<*>`, 2 is `<*>`.
  uint64_t count = 0;               ///< Lines matched so far.
  uint64_t first_line = 0;          ///< 0-based index (in Add order) of the first line.
  uint64_t last_line = 0;           ///< Index of the latest line.
  uint32_t refinements = 0;         ///< Times the text was generalised.
  std::string example;              ///< First line's content (truncated to example_bytes).
};

/// The outcome of Add for one line.
struct ParseResult {
  uint32_t template_id = 0;
  bool created = false;     ///< The line started a new template.
  bool refined = false;     ///< The line generalised an existing template (its text changed).
  uint32_t evicted_id = 0;  ///< Id of a template evicted to make room (0 = none).
};

/// Counters.
struct MinerStats {
  uint64_t lines = 0;
  uint64_t cache_hits = 0;
  uint64_t templates_created = 0;
  uint64_t refinements = 0;
  uint64_t evictions = 0;
  uint64_t cache_clears = 0;
};

/// Streaming template miner. Not thread-safe. Add() allocates only when a template is created or
/// refined or the cache grows.
class TemplateMiner {
 public:
  explicit TemplateMiner(const MinerOptions& options = {});

  /// Parses one message (the Content part of a log line, without its header) and returns its
  /// template id. Never fails; any bytes are accepted.
  ParseResult Add(std::string_view content);

  /// The template with this id, or nullptr if unknown or evicted. Valid until the next Add.
  const LogTemplate* Find(uint32_t id) const;

  /// All live templates, in id order. Pointers valid until the next Add/RestoreState.
  std::vector<const LogTemplate*> Templates() const;

  size_t num_templates() const { return live_; }
  const MinerStats& stats() const { return stats_; }
  const MinerOptions& options() const { return options_; }

  /// Appends the complete state (options included) to `*out`.
  void SaveState(std::string* out) const;
  /// Replaces the state by one produced by SaveState. Returns Corruption naming the byte offset
  /// and field on truncated, foreign or inconsistent bytes; then the miner is unchanged.
  Status RestoreState(std::string_view in);

  /// Hash used for the wildcard token.
  static const uint64_t kWildcardHash;

 private:
  struct Slot {
    LogTemplate t;
    bool alive = false;
    uint32_t lru_prev = kNone;
    uint32_t lru_next = kNone;
    // Words the prefix rule or the lock refused, as (position, HashBytes of the masked word): at
    // most OpensAt(position) - 1 per position, dropped when the position becomes a variable. Kept
    // out of LogTemplate, after the fields every cache hit touches.
    std::vector<std::pair<uint32_t, uint64_t>> refused;
    // Ids of the templates retired into this one (younger, started by refused words); they take
    // this template's text at each of its refinements and no lines of their own.
    std::vector<uint32_t> retired;
  };
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  void MaskLine(std::string_view content);
  void ComputeLineHashes();
  uint64_t CacheFind(uint64_t key) const;
  void CacheInsert(uint64_t key, uint64_t value);
  void CacheClear();
  void LruUnlink(uint32_t s);
  void LruPushFront(uint32_t s);
  std::string_view LineToken(size_t i) const {
    return std::string_view(arena_.data() + offsets_[i], offsets_[i + 1] - offsets_[i] - 1);
  }
  // IsValueChange(t.tokens[i], line token i), skipping the call when the line token cannot be
  // value-like.
  bool LineValueChange(const LogTemplate& t, size_t i) const;
  // True when constant i of `t` meets a different constant of the line that is not a value
  // change: the line is another event at that position.
  bool ConflictAt(const LogTemplate& t, size_t i) const;
  // True when, among the first `end` positions, a constant of `t` meets a different constant of
  // the line that is not a value change: the line is another event at that position.
  bool ConstantConflict(const LogTemplate& t, size_t end) const;
  // The prefix rule and, when `locked` (the template is old enough), the lock of the template in
  // slot `s` against the current line: true when the line must not join it. A conflicting
  // position gives way when the line's word would be the OpensAt-th different word seen there;
  // otherwise the line's words are recorded in `refused` and the line is refused.
  bool Refuses(uint32_t s, bool locked);
  // Different words at which position `i` gives way: prefix_opens_at among the first
  // prefix_tokens positions, lock_opens_at after them (0 = never).
  uint32_t OpensAt(size_t i) const {
    return i < options_.prefix_tokens ? options_.prefix_opens_at : options_.lock_opens_at;
  }
  // True when the current line joins the template in slot `x` because position `i` gave way in
  // Refuses: the line has another constant there, and words were refused there before.
  bool OpenedAt(const Slot& x, size_t i) const;
  // After template `s` was refined: drops the refused words of positions that are no longer
  // constants, and retires the templates those words started (same length, the word at that
  // position) that are now instances of `s`: out of their length bucket and the cache, so their
  // later lines join `s`.
  void ReleaseRefused(uint32_t s);
  // Gives the live templates retired into the template in slot `s` its tokens and text (a
  // refinement of each); forgets the evicted ones.
  void RefineRetired(uint32_t s);
  // Removes the cache entries that point to any slot in `slots`.
  void CacheDropSlots(const std::vector<uint32_t>& slots);
  void Touch(uint32_t s);
  uint32_t Evict();
  void RebuildText(LogTemplate* t);

  MinerOptions options_;
  MinerStats stats_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint32_t, uint32_t> id_to_slot_;
  std::vector<std::vector<uint32_t>> by_length_;  // token count -> live slots
  uint32_t lru_head_ = kNone;
  uint32_t lru_tail_ = kNone;
  uint32_t next_id_ = 1;
  size_t live_ = 0;
  // Open-addressing cache: key (sequence hash, never 0) -> slot; power-of-two capacity.
  std::vector<uint64_t> cache_keys_;
  std::vector<uint64_t> cache_vals_;  // (template id << 32) | slot
  uint32_t cache_size_ = 0;
  // Scratch (reused across lines).
  std::string arena_;
  std::vector<uint32_t> offsets_;
  std::vector<uint64_t> line_hashes_;
  std::vector<uint8_t> line_kinds_;
  // Per line token: 1 when it holds a digit, '=' or a day/month name, which IsValueChange needs.
  std::vector<uint8_t> line_maybe_value_;
  std::vector<uint8_t> diff_;
  std::vector<uint32_t> conflicts_;
};

/// Merges two different masked tokens into the most specific pattern covering both: the common
/// prefix up to a delimiter and the common suffix from a delimiter are kept, the middle becomes
/// `<*>` (`rhost=a.com` + `rhost=<*>` -> `rhost=<*>`); canonicalised by CorrectTemplate.
std::string MergeTokens(std::string_view a, std::string_view b);

/// True when masked token `token` is an instance of `pattern`, where each `<*>` in the pattern
/// matches any (possibly empty) run of characters.
bool TokenMatches(std::string_view pattern, std::string_view token);

/// True when masked tokens `a` and `b` differ in a value rather than in a word: once their common
/// prefix ending at a delimiter and common suffix starting at one are set aside (as in
/// MergeTokens), the differing middles are both value-like. Value-like means: the middle follows
/// a `=` (a key=value whose key is unchanged), both middles hold a digit (versions `v1.<*>` ->
/// `v2.<*>`, `ssh1` -> `ssh2`), or both are day or month names (`Mon` -> `Tue`, `Dec` -> `Jan`,
/// capitalised as strftime and syslog write them). Two different alphabetic words (`opened` /
/// `closed`, `GET` / `POST`) are not a value change: log writers put event keywords in words.
bool IsValueChange(std::string_view a, std::string_view b);

/// Extracts the values of the `<*>` slots of `template_text` from `content` (whitespace runs in
/// the content count as one space). Returns false, leaving `*params` empty, when the template
/// does not match the content.
bool ExtractParameters(std::string_view template_text, std::string_view content,
                       std::vector<std::string>* params);

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_MINER_H_
