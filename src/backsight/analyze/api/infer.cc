#include "backsight/analyze/api/infer.h"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace backsight::api {

namespace {

// Heterogeneous lookup so a string_view segment finds its child without a temporary string.
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct MethodStats {
  std::string method;
  uint64_t requests = 0;
  std::vector<std::pair<int, uint64_t>> statuses;             // few per operation: linear search
  std::vector<std::pair<std::string, uint64_t>> query_names;  // idem
};

template <typename K, typename V, typename Q>
V& FindOrAdd(std::vector<std::pair<K, V>>* v, const Q& key) {
  for (auto& [k, val] : *v) {
    if (k == key) return val;
  }
  v->emplace_back(K(key), V());
  return v->back().second;
}

}  // namespace

struct ApiInferrer::Node {
  uint64_t hits = 0;  // requests through this node (ending here or below)
  std::unordered_map<std::string, std::unique_ptr<Node>, SvHash, std::equal_to<>> children;
  std::vector<MethodStats> ops;  // requests ending here, by method
};

namespace {
using Node = ApiInferrer::Node;
}  // namespace

ApiInferrer::ApiInferrer(InferOptions options)
    : options_(options), root_(std::make_unique<Node>()) {}
ApiInferrer::~ApiInferrer() = default;

void ApiInferrer::Add(const AccessRecord& r) {
  ++requests_;
  if (r.time_ns >= 0) {
    if (first_ns_ < 0 || r.time_ns < first_ns_) first_ns_ = r.time_ns;
    if (r.time_ns > last_ns_) last_ns_ = r.time_ns;
  }
  Node* n = root_.get();
  ++n->hits;
  std::string_view p = r.path;
  size_t pos = 0;
  while (pos < p.size()) {
    size_t e = p.find('/', pos);
    if (e == std::string_view::npos) e = p.size();
    if (e > pos) {
      std::string_view seg = p.substr(pos, e - pos);
      auto it = n->children.find(seg);
      if (it == n->children.end()) {
        it = n->children.emplace(std::string(seg), std::make_unique<Node>()).first;
      }
      n = it->second.get();
      ++n->hits;
    }
    pos = e + 1;
  }
  MethodStats* m = nullptr;
  for (MethodStats& s : n->ops) {
    if (s.method == r.method) m = &s;
  }
  if (m == nullptr) {
    n->ops.emplace_back();
    m = &n->ops.back();
    m->method = r.method;
  }
  ++m->requests;
  ++FindOrAdd(&m->statuses, r.status);
  // Query parameter names: "a=1&b&c=" -> a, b, c; a name repeated in one query counts once.
  std::string_view q = r.query;
  pos = 0;
  while (pos < q.size()) {
    size_t e = q.find('&', pos);
    if (e == std::string_view::npos) e = q.size();
    std::string_view kv = q.substr(pos, e - pos);
    std::string_view name = kv.substr(0, kv.find('='));
    bool repeated = false;
    for (size_t p2 = 0; p2 < pos && !repeated;) {
      size_t e2 = q.find('&', p2);
      std::string_view kv2 = q.substr(p2, e2 - p2);
      repeated = kv2.substr(0, kv2.find('=')) == name;
      p2 = e2 + 1;
    }
    if (!name.empty() && !repeated) ++FindOrAdd(&m->query_names, name);
    pos = e + 1;
  }
}

namespace {

// A templated tree: constants by segment, at most one parameter child, operations by method.
struct TNode {
  std::map<std::string, TNode> constants;
  std::unique_ptr<TNode> param;
  SegmentKind param_kind = SegmentKind::kWord;
  uint64_t param_values = 0;
  std::map<std::string, MethodStats> ops;
};

// Disjoint sets over word-children indices (path halving).
struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t Find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Union(size_t a, size_t b) { parent[Find(a)] = Find(b); }
};

// The continuation key "the path ends here" (no segment can be empty, see Add).
constexpr std::string_view kEndsHere = "";
// The continuation key of every identifier-like next segment.
constexpr std::string_view kAnyIdentifier = "{}";

void MergeOps(const std::vector<MethodStats>& src, std::map<std::string, MethodStats>* dst) {
  for (const MethodStats& s : src) {
    MethodStats& d = (*dst)[s.method];
    d.method = s.method;
    d.requests += s.requests;
    for (const auto& [code, n] : s.statuses) FindOrAdd(&d.statuses, code) += n;
    for (const auto& [name, n] : s.query_names) FindOrAdd(&d.query_names, name) += n;
  }
}

// Templates the union of `group` (raw nodes standing at the same templated position).
TNode Template(const std::vector<const ApiInferrer::Node*>& group, const InferOptions& o) {
  TNode t;
  // Children of the whole group, by segment.
  std::map<std::string_view, std::vector<const Node*>> kids;
  for (const Node* n : group) {
    MergeOps(n->ops, &t.ops);
    for (const auto& [seg, child] : n->children) kids[seg].push_back(child.get());
  }
  if (kids.empty()) return t;

  std::vector<const Node*> param_group;
  bool have_kind = false;
  auto join_param = [&](const std::vector<const Node*>& nodes, SegmentKind kind) {
    param_group.insert(param_group.end(), nodes.begin(), nodes.end());
    t.param_kind = have_kind ? WidenKind(t.param_kind, kind) : kind;
    have_kind = true;
    ++t.param_values;
  };

  // 1. Identifier-like values; collect the words.
  std::vector<std::pair<std::string_view, const std::vector<const Node*>*>> words;
  for (const auto& [seg, nodes] : kids) {
    SegmentKind k = ClassifySegment(seg);
    if (IsIdentifierKind(k)) {
      join_param(nodes, k);
    } else {
      words.emplace_back(seg, &nodes);
    }
  }

  // 2. Words joined by a shared continuation key.
  std::vector<bool> is_param(words.size(), false);
  if (words.size() >= o.min_word_values) {
    UnionFind uf(words.size());
    std::unordered_map<std::string_view, size_t> first_with_key;
    auto link = [&](std::string_view key, size_t i) {
      auto [it, fresh] = first_with_key.emplace(key, i);
      if (!fresh) uf.Union(i, it->second);
    };
    for (size_t i = 0; i < words.size(); ++i) {
      for (const Node* n : *words[i].second) {
        if (!n->ops.empty()) link(kEndsHere, i);
        for (const auto& [seg, child] : n->children) {
          link(IsIdentifierKind(ClassifySegment(seg)) ? kAnyIdentifier : std::string_view(seg), i);
        }
      }
    }
    std::unordered_map<size_t, std::pair<size_t, uint64_t>> comp;  // root -> (values, hits)
    std::vector<uint64_t> hits(words.size(), 0);
    for (size_t i = 0; i < words.size(); ++i) {
      for (const Node* n : *words[i].second) hits[i] += n->hits;
      auto& c = comp[uf.Find(i)];
      ++c.first;
      c.second += hits[i];
    }
    std::vector<uint64_t> param_hits;  // hits of each word joined by cardinality
    for (size_t i = 0; i < words.size(); ++i) {
      const auto& [values, comp_hits] = comp[uf.Find(i)];
      if (values < o.min_word_values) continue;
      const bool heavy =
          static_cast<double>(hits[i]) >= o.heavy_hitter_share * static_cast<double>(comp_hits);
      if (!heavy) {
        is_param[i] = true;
        param_hits.push_back(hits[i]);
      }
    }
    // Once the position is a parameter, a word outside the group that draws no more requests than
    // the group's median value is one more instance seen too rarely to share a continuation (a
    // rare name whose only next segment is another rare name), not a route of its own.
    if (!param_hits.empty()) {
      std::nth_element(param_hits.begin(), param_hits.begin() + param_hits.size() / 2,
                       param_hits.end());
      const uint64_t median = param_hits[param_hits.size() / 2];
      for (size_t i = 0; i < words.size(); ++i) {
        if (!is_param[i] && comp[uf.Find(i)].first < o.min_word_values && hits[i] <= median) {
          is_param[i] = true;
        }
      }
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (is_param[i]) {
      join_param(*words[i].second, SegmentKind::kWord);
    } else {
      t.constants.emplace(std::string(words[i].first), Template(*words[i].second, o));
    }
  }
  if (!param_group.empty()) t.param = std::make_unique<TNode>(Template(param_group, o));
  return t;
}

std::string Singular(std::string_view w) {
  std::string s(w);
  if (s.size() > 3 && s.ends_with("ies")) return s.substr(0, s.size() - 3) + "y";
  if (s.size() > 3 &&
      (s.ends_with("ses") || s.ends_with("xes") || s.ends_with("ches") || s.ends_with("shes"))) {
    return s.substr(0, s.size() - 2);
  }
  if (s.size() > 1 && s.ends_with('s') && !s.ends_with("ss")) return s.substr(0, s.size() - 1);
  return s;
}

// "security-score" -> "securityScore"; characters other than letters and digits are dropped.
std::string CamelCase(std::string_view w) {
  std::string out;
  bool upper = false;
  for (char c : w) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      upper = !out.empty();
      continue;
    }
    if (out.empty() && c >= '0' && c <= '9') continue;  // a name starts with a letter
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

// Appends the operations of `t` (at templated `path`, under constant segment `parent`, or none
// under a parameter) to *out.
void Flatten(const TNode& t, const std::string& path, std::string_view parent,
             std::vector<InferredParameter>* params, double span_s,
             std::vector<InferredOperation>* out) {
  for (const auto& [method, s] : t.ops) {
    InferredOperation op;
    op.method = method;
    op.path = path.empty() ? "/" : path;
    op.parameters = *params;
    op.requests = s.requests;
    for (const auto& [code, n] : s.statuses) op.status_counts[code] += n;
    for (const auto& [name, n] : s.query_names) {
      op.query.push_back({name, n, n == s.requests});
    }
    std::sort(op.query.begin(), op.query.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    if (span_s > 0) op.rate_per_second = static_cast<double>(s.requests) / span_s;
    out->push_back(std::move(op));
  }
  for (const auto& [seg, child] : t.constants) {
    Flatten(child, path + "/" + seg, seg, params, span_s, out);
  }
  if (t.param) {
    std::string name = ParameterName(parent, t.param_kind);
    // Unique within the path: userId, userId2, ...
    std::string unique = name;
    for (int i = 2;; ++i) {
      bool clash = false;
      for (const InferredParameter& p : *params) clash |= p.name == unique;
      if (!clash) break;
      unique = name + std::to_string(i);
    }
    params->push_back({unique, t.param_kind, t.param_values});
    // Under a parameter the next name comes from this one's stem ("userId" -> "user...").
    Flatten(*t.param, path + "/{" + unique + "}", std::string_view(), params, span_s, out);
    params->pop_back();
  }
}

}  // namespace

std::string ParameterName(std::string_view parent, SegmentKind kind) {
  std::string base = CamelCase(Singular(parent));
  const char* suffix = "Id";
  switch (kind) {
    case SegmentKind::kDate:
      suffix = "Date";
      break;
    case SegmentKind::kEmail:
      suffix = "Email";
      break;
    case SegmentKind::kWord:
      suffix = "Name";
      break;
    default:
      break;
  }
  if (base.empty()) {
    std::string s = suffix;
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s == "name" ? "param" : s;
  }
  return base + suffix;
}

InferredApi ApiInferrer::Infer() const {
  InferredApi api;
  api.requests = requests_;
  api.first_time_ns = first_ns_;
  api.last_time_ns = last_ns_;
  TNode root = Template({root_.get()}, options_);
  const double span_s =
      last_ns_ > first_ns_ ? static_cast<double>(last_ns_ - first_ns_) / 1e9 : 0.0;
  std::vector<InferredParameter> params;
  Flatten(root, "", std::string_view(), &params, span_s, &api.operations);
  std::sort(api.operations.begin(), api.operations.end(), [](const auto& a, const auto& b) {
    return a.path != b.path ? a.path < b.path : a.method < b.method;
  });
  return api;
}

}  // namespace backsight::api
