#include "backsight/analyze/api/rules.h"

#include <string>
#include <unordered_map>

namespace backsight::api {
namespace {

constexpr Rule kRules[] = {
#include "backsight/analyze/api/rule_catalogue.inc"
    // Backsight's own rules: what oasdiff's catalogue does not name. Levels follow the same
    // policy: request changes break when they narrow what clients may send, response changes
    // when they widen what the server may return.
    {"request-body-enum-removed", Level::kInfo, "Request", "Schema", "Values"},
    {"request-property-enum-removed", Level::kInfo, "Request", "Schema", "Values"},
    {"request-parameter-enum-removed", Level::kInfo, "Request", "Parameters", "Values"},
    {"response-body-enum-removed", Level::kError, "Response", "Schema", "Values"},
    {"response-property-enum-removed", Level::kError, "Response", "Schema", "Values"},
    {"response-body-became-enum", Level::kInfo, "Response", "Schema", "Values"},
    {"response-property-became-enum", Level::kInfo, "Response", "Schema", "Values"},
    {"response-body-enum-value-added", Level::kWarning, "Response", "Schema", "Values"},
    // oasdiff reports every response pattern change as INFO; generalising one is too.
    {"response-body-pattern-generalized", Level::kInfo, "Response", "Schema", "Constraints"},
    {"response-property-pattern-generalized", Level::kInfo, "Response", "Schema", "Constraints"},
    // `api infer --spec`: the API as served against the API as documented (conformance.h). An
    // undocumented success status breaks a client of the contract; the rest is drift to review.
    {"api-path-undocumented", Level::kWarning, "None", "Paths", "Existence"},
    {"api-operation-undocumented", Level::kWarning, "None", "Paths", "Existence"},
    {"api-path-never-called", Level::kInfo, "None", "Paths", "Existence"},
    {"api-operation-never-called", Level::kInfo, "None", "Paths", "Existence"},
    {"response-success-status-undocumented", Level::kError, "Response", "Responses", "Existence"},
    {"response-non-success-status-undocumented", Level::kWarning, "Response", "Responses",
     "Existence"},
};

// Backsight name -> oasdiff id, where they differ.
constexpr std::pair<std::string_view, std::string_view> kToOasdiff[] = {
    {"response-body-enum-value-removed", "response-mediatype-enum-value-removed"},
};

const std::unordered_map<std::string_view, const Rule*>& Index() {
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, const Rule*>();
    for (const Rule& r : kRules) m->emplace(r.id, &r);
    return m;
  }();
  return *index;
}

}  // namespace

const Rule* FindRule(std::string_view id) {
  auto it = Index().find(OasdiffId(id));
  return it == Index().end() ? nullptr : it->second;
}

std::string_view OasdiffId(std::string_view id) {
  for (const auto& [ours, theirs] : kToOasdiff) {
    if (ours == id) return theirs;
  }
  return id;
}

int RuleCount() { return static_cast<int>(std::size(kRules)); }

const char* LevelName(Level level) {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarning:
      return "warning";
    case Level::kInfo:
      return "info";
  }
  return "info";
}

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "error" || text == "err") {
    *out = Level::kError;
  } else if (text == "warning" || text == "warn") {
    *out = Level::kWarning;
  } else if (text == "info") {
    *out = Level::kInfo;
  } else {
    return false;
  }
  return true;
}

}  // namespace backsight::api
