// The rule catalogue: every rule id the differ can report, with its level, direction and area.
#ifndef BACKSIGHT_ANALYZE_API_RULES_H_
#define BACKSIGHT_ANALYZE_API_RULES_H_

#include <string_view>

#include "backsight/analyze/api/change.h"

namespace backsight::api {

/// One rule. `direction` is "Request", "Response" or "None"; `area` and `kind` as in oasdiff's
/// catalogue (Schema, Parameters, ... / Existence, Type, Constraints, ...).
struct Rule {
  std::string_view id;
  Level level;
  std::string_view direction;
  std::string_view area;
  std::string_view kind;
};

/// The rule with this id: oasdiff's 509 rules (rules.tsv, same ids and levels) followed by
/// Backsight's own rules for what oasdiff's catalogue lacks. nullptr for an unknown id.
const Rule* FindRule(std::string_view id);

/// Backsight's name for a change -> oasdiff's id, where the two differ (the one mapping table;
/// e.g. an enum value removed from a whole response body is oasdiff's
/// "response-mediatype-enum-value-removed"). Returns `id` itself when no entry exists.
std::string_view OasdiffId(std::string_view id);

/// Number of rules in the catalogue (oasdiff's and Backsight's).
int RuleCount();

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_RULES_H_
