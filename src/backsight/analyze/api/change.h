// One difference between two OpenAPI documents, as reported by `backsight api diff`.
#ifndef BACKSIGHT_ANALYZE_API_CHANGE_H_
#define BACKSIGHT_ANALYZE_API_CHANGE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace backsight::api {

/// How much a change matters to a client written against the base document: kError = breaking
/// (the client can fail), kWarning = possibly breaking (the documents lack the information to
/// decide), kInfo = worth a changelog line. Ordered: kInfo < kWarning < kError.
enum class Level : uint8_t { kInfo = 0, kWarning = 1, kError = 2 };

/// "error", "warning" or "info".
const char* LevelName(Level level);
/// Parses LevelName's output (also "err", "warn"); false when `text` is none of them.
bool ParseLevel(std::string_view text, Level* out);

/// One reported change. `rule` is oasdiff's rule id where the meaning is the same (see
/// rules.h); `note` an optional oasdiff comment id that qualifies it (e.g.
/// "pattern-added-error-comment"). `operation` is "GET /pets/{id}" (empty for document-wide
/// changes such as a removed security scheme). Locations are "file:line" (empty when the element
/// does not exist on that side).
struct Change {
  std::string rule;
  Level level = Level::kInfo;
  std::string operation;
  std::string base_location;
  std::string revision_location;
  std::string text;
  std::string note;
};

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_CHANGE_H_
