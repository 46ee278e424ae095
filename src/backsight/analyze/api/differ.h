// Breaking-change detection between two OpenAPI 3.0/3.1 documents (`backsight api diff`).
#ifndef BACKSIGHT_ANALYZE_API_DIFFER_H_
#define BACKSIGHT_ANALYZE_API_DIFFER_H_

#include <string>
#include <vector>

#include "backsight/analyze/api/change.h"
#include "backsight/analyze/api/document.h"

namespace backsight::api {

/// Switches for the normalisations that make equivalent documents compare equal. All on by
/// default; tests switch one off to show that it is what keeps a refactor quiet.
struct DiffOptions {
  /// Operations keyed by path with parameter names replaced by their position, so renaming
  /// `{id}` to `{petId}` is no change.
  bool positional_path_params = true;
  /// Path-level and operation-level parameters merged before comparing.
  bool merge_path_parameters = true;
  /// The path part of the first server URL (`servers[0].url`) joined in front of every path.
  bool join_server_prefix = true;
  /// `$ref` followed before comparing, so an inline schema equals the component it was moved to.
  bool follow_refs = true;
  /// `allOf` parts matched by content, not by position.
  bool unordered_all_of = true;
  /// Today as "YYYY-MM-DD" for sunset dates (`x-sunset`); empty: the system clock's UTC date.
  std::string today;
};

/// Compares `base` with `revision` and returns every change, ordered by operation, then by where
/// it was found. Levels follow oasdiff's policy: a change is kError when a client written against
/// `base` can fail against `revision` (request side: the revision accepts less; response side: it
/// may return more), kWarning when the documents lack the information to decide, else kInfo.
/// Never fails: anything it does not understand is compared as written. Circular schemas are
/// compared once per pair of nodes on the current path.
std::vector<Change> DiffSpecs(const Spec& base, const Spec& revision,
                              const DiffOptions& options = {});

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_DIFFER_H_
