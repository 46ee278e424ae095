// Header layouts: split a raw log line into header fields and the message (`Content`).
//
// The layout syntax is Loghub's `log_format` (Zhu et al., "Tools and Benchmarks for Automated Log
// Parsing", ICSE-SEIP 2019; logpai/logparser): `<Field>` is a lazy capture of any text, a run of
// spaces matches one or more whitespace characters, `\x` is the literal character x, `(...)?` is
// an optional group, `(...)` a plain group and `.` any one character; everything else is literal.
// The whole layout must match the whole line (after stripping surrounding whitespace), as Loghub's
// `^...$`. Matching is a hand-written backtracking matcher with a step budget, so a pathological
// line can never hang it: over budget the line counts as not matching.
#ifndef BACKSIGHT_LOGS_HEADER_H_
#define BACKSIGHT_LOGS_HEADER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::logs {

/// Field values of one matched line: views into the line (or into `owned` for JSON lines).
struct HeaderFields {
  std::vector<std::string_view> values;  ///< One per HeaderLayout::fields(), same order.
  std::vector<std::string> owned;        ///< Storage for decoded values (JSON preset).
};

/// A compiled header layout.
class HeaderLayout {
 public:
  /// Compiles a Loghub log_format string (at most 4096 bytes). It must contain a `<Content>`
  /// field. Returns InvalidArgument naming the byte offset for unbalanced groups, unterminated
  /// `<...>`, an empty or repeated field name, or unsupported regex syntax (`* + | { } ^ $ [ ]`
  /// unescaped, `?` not after a group).
  static Status Parse(std::string_view format, HeaderLayout* out);

  /// A named preset: "raw" (the whole line is Content), "syslog"
  /// (`<Month> <Day> <Time> <Host> <Component>(\[<Pid>\])?: <Content>`, RFC 3164 style), or "json"
  /// (one JSON object per line; Content from "message"/"msg"/"log", Level from
  /// "level"/"severity", Time from "time"/"timestamp"/"@timestamp"/"ts"). InvalidArgument for
  /// other names.
  static Status Preset(std::string_view name, HeaderLayout* out);

  /// Matches one line. On success fills `*fields` and returns true; returns false when the line
  /// does not match the layout (or the matcher's step budget is spent).
  bool Match(std::string_view line, HeaderFields* fields) const;

  /// Field names in layout order.
  const std::vector<std::string>& fields() const { return names_; }
  /// Index of a field by name (case-insensitive), or -1.
  int FieldIndex(std::string_view name) const;
  /// Index of the Content field (always >= 0 for a compiled layout).
  int content_index() const { return content_; }
  /// Index of the level field ("Level", "Severity" or "Type"), or -1.
  int level_index() const { return level_; }

 public:
  struct Node;  ///< Compiled layout node (defined in header.cc).

 private:
  std::vector<std::string> names_;
  std::shared_ptr<const std::vector<Node>> nodes_;  // immutable once compiled
  int content_ = -1;
  int level_ = -1;
  enum class Kind { kPattern, kRaw, kJson } kind_ = Kind::kRaw;
};

/// The line's time from its header fields: the first of `Timestamp`, `Date`+` `+`Time`, `Time`,
/// `Date` that core's ParseTimestamp accepts (ISO 8601 / RFC 3339; bare epoch numbers only in a
/// `Timestamp` field). Returns false when none parses.
bool ExtractTimestamp(const HeaderLayout& layout, const HeaderFields& fields, int64_t* ts_ns);

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_HEADER_H_
