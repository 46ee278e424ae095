#include "backsight/db/statement.h"

#include <pg_query.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>

namespace backsight::db {
namespace {

// Highest ParamRef number in a parse tree.
int MaxParam(const nlohmann::json& j) {
  int best = 0;
  if (j.is_object()) {
    if (auto it = j.find("ParamRef"); it != j.end()) {
      best = std::max(best, it->value("number", 0));
    }
    for (const auto& [k, v] : j.items()) best = std::max(best, MaxParam(v));
  } else if (j.is_array()) {
    for (const auto& v : j) best = std::max(best, MaxParam(v));
  }
  return best;
}

Status ParseError(const PgQueryError* e) {
  return Status::InvalidArgument(Reason::kMalformed, std::string(e->message) + " (position " +
                                                         std::to_string(e->cursorpos) + ")");
}

}  // namespace

Status ParseStatement(std::string_view text, Statement* out) {
  const std::string sql(text);
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error != nullptr) {
    Status st = ParseError(parsed.error);
    pg_query_free_parse_result(parsed);
    return st;
  }
  nlohmann::json tree =
      nlohmann::json::parse(parsed.parse_tree, nullptr, /*allow_exceptions=*/false);
  pg_query_free_parse_result(parsed);
  if (!tree.is_object() || !tree.contains("stmts") || tree["stmts"].empty()) {
    return Status::InvalidArgument(Reason::kMalformed, "empty statement");
  }
  if (tree["stmts"].size() != 1) {
    return Status::InvalidArgument(Reason::kMalformed,
                                   "more than one statement; split the text first");
  }
  PgQueryNormalizeResult norm = pg_query_normalize(sql.c_str());
  if (norm.error != nullptr) {
    Status st = ParseError(norm.error);
    pg_query_free_normalize_result(norm);
    return st;
  }
  PgQueryFingerprintResult fp = pg_query_fingerprint(sql.c_str());
  if (fp.error != nullptr) {
    Status st = ParseError(fp.error);
    pg_query_free_normalize_result(norm);
    pg_query_free_fingerprint_result(fp);
    return st;
  }
  out->text = sql;
  out->normalized = norm.normalized_query;
  out->fingerprint = fp.fingerprint;
  out->fingerprint_hex = fp.fingerprint_str;
  pg_query_free_normalize_result(norm);
  pg_query_free_fingerprint_result(fp);
  out->tree = std::move(tree["stmts"][0]["stmt"]);
  out->param_count = MaxParam(out->tree);
  return Status::OK();
}

void AddStatements(std::string_view name, std::string_view sql, std::vector<Statement>* parsed,
                   std::vector<SkippedStatement>* skipped) {
  const std::string input(sql);
  PgQuerySplitResult split = pg_query_split_with_scanner(input.c_str());
  std::vector<std::pair<int, int>> spans;
  if (split.error != nullptr) {
    skipped->push_back({std::string(name), split.error->cursorpos, split.error->message});
  } else {
    for (int i = 0; i < split.n_stmts; ++i) {
      spans.emplace_back(split.stmts[i]->stmt_location, split.stmts[i]->stmt_len);
    }
  }
  pg_query_free_split_result(split);
  int k = 0;
  for (const auto& [loc, len] : spans) {
    std::string text = input.substr(loc, len == 0 ? std::string::npos : len);
    // Drop surrounding white space and a trailing ';'; skip comment-only pieces.
    const size_t first = text.find_first_not_of(" \t\r\n");
    text.erase(0, first == std::string::npos ? text.size() : first);
    while (!text.empty() &&
           (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back())))) {
      text.pop_back();
    }
    ++k;
    std::string src = std::string(name) + (spans.size() > 1 ? "#" + std::to_string(k) : "");
    Statement st;
    Status s = ParseStatement(text, &st);
    if (!s.ok()) {
      if (s.message().rfind("empty statement", 0) == 0) continue;  // only comments
      PgQueryParseResult again = pg_query_parse(text.c_str());
      int pos = again.error ? again.error->cursorpos : 0;
      pg_query_free_parse_result(again);
      skipped->push_back({src, pos, s.message()});  // position within the statement
      continue;
    }
    bool merged = false;
    for (auto& p : *parsed) {
      if (p.fingerprint == st.fingerprint) {
        p.weight += 1;
        merged = true;
        break;
      }
    }
    if (merged) continue;
    st.source = std::move(src);
    parsed->push_back(std::move(st));
  }
}

}  // namespace backsight::db
