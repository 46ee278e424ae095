// Change reports for people and CI: text, JSON, Markdown, JUnit XML, GitHub Actions annotations;
// and the ignore file of accepted changes.
#ifndef BACKSIGHT_ANALYZE_API_REPORT_H_
#define BACKSIGHT_ANALYZE_API_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "backsight/analyze/api/change.h"
#include "backsight/core/status.h"

namespace backsight::api {

enum class ReportFormat { kText, kJson, kMarkdown, kJunit, kGithub };

/// Parses "text", "json", "markdown", "junit" or "github"; false otherwise.
bool ParseReportFormat(std::string_view text, ReportFormat* out);

/// The one-word summary of a change list, as other checkers give it (openapi-diff: "no
/// differences" / "backward compatible" / "broke backward compatibility"; oasdiff's `breaking`
/// command lists its ERR and WARN changes together).
enum class Verdict { kNoChange, kCompatible, kBreaking };

/// kBreaking when some change is at warning level or above (a warning is "possibly breaking":
/// the documents lack the information to rule a failure out), kCompatible when there are only
/// info changes, kNoChange when `changes` is empty.
Verdict Summarise(const std::vector<Change>& changes);

/// "no-change", "compatible" or "breaking".
const char* VerdictName(Verdict verdict);

/// Renders `changes` (all of them; `fail_on` marks which ones fail: JUnit <failure>, GitHub
/// ::error/::warning vs ::notice). Formats: text, one line per change
/// "LEVEL RULE OPERATION: TEXT [base FILE:LINE -> revision FILE:LINE]", a count line and
/// "verdict: V"; JSON, an object {"verdict", "counts": {error, warning, info}, "changes": [objects
/// with the Change fields]}; Markdown, a table and the verdict; JUnit XML, one testcase per change;
/// GitHub, one workflow command per change ("::error file=F,line=L,title=RULE::TEXT"), located in
/// the revision (else the base).
std::string RenderReport(const std::vector<Change>& changes, ReportFormat format, Level fail_on);

/// True when `check_fail_on` is set and some change in `changes` is at level `fail_on` or above
/// (the `--fail-on` rule of `backsight api diff` and `api infer --spec`: exit 1).
bool FailsAt(const std::vector<Change>& changes, bool check_fail_on, Level fail_on);

/// Accepted changes: one per line, "RULE-ID" (any operation) or "RULE-ID METHOD /path"; path
/// parameter names do not matter ("/pets/{id}" matches "/pets/{petId}"); '#' starts a comment.
class IgnoreList {
 public:
  /// Parses the text of an ignore file named `name` (for errors "name:line: why").
  Status Parse(std::string_view text, const std::string& name);
  /// True when `c` is accepted by some entry.
  bool Matches(const Change& c) const;

 private:
  struct Entry {
    std::string rule;
    std::string operation;  // normalised, empty for any
  };
  std::vector<Entry> entries_;
};

/// "GET /pets/{petId} 200" -> "GET /pets/{}" (method upper-case, parameter names dropped, a
/// trailing response status or more dropped). Used to match operations across documents.
std::string NormaliseOperation(std::string_view operation);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_REPORT_H_
