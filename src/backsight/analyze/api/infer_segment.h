// What a single path segment looks like: an identifier of some kind, or a word. Used by the path
// templater (infer.h) to decide which positions are parameters.
#ifndef BACKSIGHT_ANALYZE_API_INFER_SEGMENT_H_
#define BACKSIGHT_ANALYZE_API_INFER_SEGMENT_H_

#include <cstdint>
#include <string_view>

namespace backsight::api {

/// Kinds of path segment, from most to least specific. Everything but kWord is "identifier-like":
/// a value that names one instance, never a route of its own.
enum class SegmentKind : uint8_t {
  kInteger,  // 1-19 decimal digits: "3", "1048576"
  kUuid,     // RFC 9562 text form 8-4-4-4-12 hex digits, either case
  kDate,     // ISO 8601 calendar date "2024-05-01", optionally with a time "...T10:00:00Z"
  kEmail,    // local@domain.tld (also with '@' percent-encoded as %40)
  kBoolean,  // "true" or "false": a value (a JSON/YAML literal), never a route name
  kHex,      // >= kMinHexIdLength hex digits with at least one digit and one letter (object ids,
             // hashes: MongoDB ObjectId is 24, git SHA-1 40)
  kToken,    // >= kMinTokenIdLength of [A-Za-z0-9_-] with letters and digits that change class
             // (lower/upper/digit) often: base64url ids, nanoid, Stripe-like "cus_9s6XKzkNRiz8i3"
  kWord,     // anything else: "me", "new", "export", "security-score", "v2"
};

/// Shortest hex string read as an id: 8 digits (a CRC32 / short git hash); shorter runs such as
/// "cafe" or "be" are too easily words.
inline constexpr size_t kMinHexIdLength = 8;
/// Shortest mixed letter/digit token read as an id: 10 characters (nanoid's shortest common
/// setting; base64url of a 64-bit value is 11). "v2", "utf8", "oauth2" are shorter.
inline constexpr size_t kMinTokenIdLength = 10;
/// A token needs one change of character class (lower, upper, digit; '-' and '_' skipped) per this
/// many characters. Random base64url changes class at ~65 % of positions (1 -
/// (26^2+26^2+10^2)/64^2) and random lower-case alphanumerics at ~42 %; slugs such as
/// "release-2024-notes" (2 changes in 18) or "oauth2callback" (2 in 14) stay words.
inline constexpr size_t kTokenCharsPerClassChange = 4;

/// Classifies one path segment (between '/'s, still percent-encoded).
SegmentKind ClassifySegment(std::string_view s);

/// True for an API version segment as URI versioning writes it: 'v' or 'V', digits, optional
/// ".digits" parts and an optional lower-case pre-release tag with digits ("v1", "v2.1",
/// "v1beta1", "v2alpha"; Kubernetes API versions). Not "v", "vip", "v1-x".
bool IsVersionSegment(std::string_view s);

/// True for every kind except kWord.
inline bool IsIdentifierKind(SegmentKind k) { return k != SegmentKind::kWord; }

/// The narrowest kind covering both a and b: equal kinds stay; integer/hex/token mixes widen to
/// kToken; any other mix (or a word) widens to kWord (a plain string parameter).
SegmentKind WidenKind(SegmentKind a, SegmentKind b);

/// Stable lower-case name: "integer", "uuid", "date", "email", "boolean", "hex", "token",
/// "word".
const char* SegmentKindName(SegmentKind k);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_INFER_SEGMENT_H_
