#include "backsight/analyze/api/conformance.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "backsight/analyze/api/operations.h"
#include "backsight/analyze/api/rules.h"

namespace backsight::api {
namespace {

// HTTP statuses that say the server does not serve a path or method (RFC 9110, 15.5.5 and
// 15.5.6): a served path answered only with these is not an endpoint.
constexpr int kNotFound = 404;
constexpr int kMethodNotAllowed = 405;

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One documented path (all its methods), with its segments as keyed (parameter names erased).
struct DocPath {
  std::string display;
  std::vector<std::vector<std::string>> variants;       // with and without the server prefix
  std::map<std::string, const SpecOperation*> methods;  // lower-case method -> operation
  std::set<std::string> called;                         // methods seen in the logs
};

// Literal segments matched when `doc` matches `served` segment by segment; -1 when it does not.
int MatchScore(const std::vector<std::string>& doc, const std::vector<std::string>& served) {
  if (doc.size() != served.size()) return -1;
  int literal = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string& d = doc[i];
    const std::string& s = served[i];
    size_t open = d.find("{}");
    if (d == "{}") continue;
    if (open == std::string::npos) {
      if (d != s) return -1;
      ++literal;
      continue;
    }
    if (s == "{}") continue;  // mixed documented segment, templated served one
    std::string_view prefix(d.data(), open);
    std::string_view suffix = std::string_view(d).substr(d.rfind("{}") + 2);
    if (s.size() < prefix.size() + suffix.size() || s.compare(0, prefix.size(), prefix) != 0 ||
        s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return -1;
    }
  }
  return literal;
}

// Does `responses` (an operation's map) allow `status`? Exact code, a range such as "4XX", or
// "default" (OpenAPI 3.0.3, "Responses Object").
bool StatusAllowed(const Node* responses, int status) {
  if (responses == nullptr || !responses->IsMap()) return false;
  const std::string code = std::to_string(status);
  for (const auto& [key, value] : responses->map) {
    if (key == code || key == "default") return true;
    if (key.size() == 3 && key[0] == code[0] && std::toupper(key[1]) == 'X' &&
        std::toupper(key[2]) == 'X') {
      return true;
    }
  }
  return false;
}

// A change of rule `id` at the level of the rule table (rules.cc).
Change Make(std::string_view id) {
  Change c;
  c.rule = std::string(id);
  const Rule* r = FindRule(id);
  c.level = r != nullptr ? r->level : Level::kWarning;
  return c;
}

std::string StatusList(const std::map<int, uint64_t>& counts) {
  std::string out;
  for (const auto& [status, n] : counts) {
    if (!out.empty()) out += ", ";
    out += std::to_string(status) + " x" + std::to_string(n);
  }
  return out;
}

}  // namespace

std::vector<Change> CompareServedWithSpec(const InferredApi& served, const Spec& documented,
                                          const std::string& served_name) {
  const Node* root = documented.root().root();
  std::vector<Change> out;
  if (root == nullptr) return out;
  auto ops = ListOperations(root);
  OperationListOptions unprefixed_options;
  unprefixed_options.join_server_prefix = false;
  std::map<const Node*, std::string> unprefixed;  // operation node -> key without the prefix
  for (const auto& [key, op] : ListOperations(root, unprefixed_options)) unprefixed[op.op] = key;

  std::map<std::string, DocPath> paths;  // by key path ("/v1/pets/{}")
  for (const auto& [key, op] : ops) {
    if (key.find(" webhook:") != std::string::npos) continue;  // called by the API, not served
    const size_t space = key.find(' ');
    DocPath& p = paths[key.substr(space + 1)];
    if (p.variants.empty()) {
      p.display = op.display;
      p.variants.push_back(Segments(key.substr(space + 1)));
      if (auto it = unprefixed.find(op.op); it != unprefixed.end()) {
        auto segs = Segments(it->second.substr(it->second.find(' ') + 1));
        if (segs != p.variants[0]) p.variants.push_back(std::move(segs));
      }
    }
    p.methods[key.substr(0, space)] = &op;
  }

  for (const InferredOperation& s : served.operations) {
    const std::string served_op = s.method + " " + s.path;
    const std::vector<std::string> segs = Segments(TemplateKey(s.path, nullptr));
    DocPath* best = nullptr;
    int best_score = -1;
    for (auto& [key, p] : paths) {
      for (const auto& v : p.variants) {
        int score = MatchScore(v, segs);
        if (score > best_score) best_score = score, best = &p;
      }
    }
    std::string method = s.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const SpecOperation* op = nullptr;
    std::string doc_method = method;
    if (best != nullptr) {
      auto mit = best->methods.find(method);
      if (mit == best->methods.end() && method == "head") {
        doc_method = "get";  // HEAD is GET without the body (RFC 9110, 9.3.2)
        mit = best->methods.find(doc_method);
      }
      if (mit != best->methods.end()) op = mit->second;
    }
    if (op == nullptr) {
      bool served_any = false;
      for (const auto& [status, n] : s.status_counts) {
        served_any |= status != kNotFound && status != kMethodNotAllowed;
      }
      if (!served_any) continue;
      Change c = Make(best == nullptr ? "api-path-undocumented" : "api-operation-undocumented");
      c.operation = served_op;
      c.revision_location = served_name;
      c.text =
          std::to_string(s.requests) + " requests served (" + StatusList(s.status_counts) + "); " +
          (best == nullptr ? std::string("no documented path matches")
                           : "the path " + best->display + " is documented without " + s.method);
      if (best != nullptr) c.base_location = best->methods.begin()->second->path_item->Where();
      out.push_back(std::move(c));
      continue;
    }
    best->called.insert(doc_method);
    const Node* responses = Deref(op->op->Get("responses"));
    for (const auto& [status, n] : s.status_counts) {
      if (StatusAllowed(responses, status)) continue;
      const bool success = status >= 200 && status < 300;
      Change c = Make(success ? "response-success-status-undocumented"
                              : "response-non-success-status-undocumented");
      c.operation = Upper(doc_method) + " " + op->display;
      c.base_location = (responses != nullptr ? responses : op->op)->Where();
      c.revision_location = served_name;
      std::string allowed;
      if (responses != nullptr && responses->IsMap()) {
        for (const auto& [key, value] : responses->map)
          allowed += (allowed.empty() ? "" : ", ") + key;
      }
      c.text = "status " + std::to_string(status) + " served " + std::to_string(n) + " times (as " +
               served_op + "); the contract allows " + (allowed.empty() ? "none" : allowed);
      out.push_back(std::move(c));
    }
  }

  for (const auto& [key, p] : paths) {
    for (const auto& [method, op] : p.methods) {
      if (p.called.count(method) != 0) continue;
      Change c = Make(p.called.empty() ? "api-path-never-called" : "api-operation-never-called");
      c.operation = Upper(method) + " " + op->display;
      c.base_location = op->op->Where();
      c.text = p.called.empty() ? "documented; no request to this path in the logs"
                                : "documented; the path was called, this method never";
      out.push_back(std::move(c));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    const std::string_view ao(a.operation), bo(b.operation);
    return std::pair(ao.substr(ao.find(' ') + 1), ao) < std::pair(bo.substr(bo.find(' ') + 1), bo);
  });
  return out;
}

}  // namespace backsight::api
