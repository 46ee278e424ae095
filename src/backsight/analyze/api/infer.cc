#include "backsight/analyze/api/infer.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "backsight/analyze/api/infer_trie.h"

namespace backsight::api {

namespace {

struct MethodStats {
  uint32_t method = 0;  // index into Counts::methods
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

struct ApiInferrer::Counts {
  SegmentTrie trie;
  std::vector<std::string> methods;           // method names seen, interned (a handful)
  std::vector<std::vector<MethodStats>> ops;  // by trie payload: requests ending at the node
};

ApiInferrer::ApiInferrer(InferOptions options)
    : options_(options), counts_(std::make_unique<Counts>()) {}
ApiInferrer::~ApiInferrer() = default;

void ApiInferrer::Add(const AccessRecord& r) {
  ++requests_;
  if (r.time_ns >= 0) {
    if (first_ns_ < 0 || r.time_ns < first_ns_) first_ns_ = r.time_ns;
    if (r.time_ns > last_ns_) last_ns_ = r.time_ns;
  }
  SegmentTrie& trie = counts_->trie;
  uint32_t n = SegmentTrie::kRoot;
  trie.AddHit(n);
  std::string_view p = r.path;
  size_t pos = 0;
  while (pos < p.size()) {
    size_t e = p.find('/', pos);
    if (e == std::string_view::npos) e = p.size();
    if (e > pos) {
      n = trie.Child(n, p.substr(pos, e - pos));
      trie.AddHit(n);
    }
    pos = e + 1;
  }
  if (trie.payload(n) == SegmentTrie::kNone) {
    trie.set_payload(n, static_cast<uint32_t>(counts_->ops.size()));
    counts_->ops.emplace_back();
  }
  std::vector<MethodStats>& ops = counts_->ops[trie.payload(n)];
  uint32_t method = 0;
  while (method < counts_->methods.size() && counts_->methods[method] != r.method) ++method;
  if (method == counts_->methods.size()) counts_->methods.emplace_back(r.method);
  MethodStats* m = nullptr;
  for (MethodStats& s : ops) {
    if (s.method == method) m = &s;
  }
  if (m == nullptr) {
    ops.emplace_back();
    m = &ops.back();
    m->method = method;
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
  TNode() = default;
  TNode(TNode&&) = default;
  TNode& operator=(TNode&&) = default;
  std::map<std::string, TNode> constants;
  std::unique_ptr<TNode> param;
  SegmentKind param_kind = SegmentKind::kWord;
  uint64_t param_values = 0;
  std::map<uint32_t, MethodStats> ops;  // by method index
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

void MergeOps(const std::vector<MethodStats>& src, std::map<uint32_t, MethodStats>* dst) {
  for (const MethodStats& s : src) {
    MethodStats& d = (*dst)[s.method];
    d.method = s.method;
    d.requests += s.requests;
    for (const auto& [code, n] : s.statuses) FindOrAdd(&d.statuses, code) += n;
    for (const auto& [name, n] : s.query_names) FindOrAdd(&d.query_names, name) += n;
  }
}

// The shape of a templated subtree: per node its methods (with their status sets when
// options.enum_compare_statuses), its constant continuations by name and its parameter,
// recursively; the values of parameters and the request counts are left out.
void AppendShape(const TNode& t, const InferOptions& o, std::string* out) {
  out->push_back('(');
  for (const auto& [method, s] : t.ops) {
    *out += std::to_string(method);
    if (o.enum_compare_statuses) {
      std::vector<int> codes;
      for (const auto& [code, n] : s.statuses) codes.push_back(code);
      std::sort(codes.begin(), codes.end());
      for (int c : codes) {
        out->push_back(':');
        *out += std::to_string(c);
      }
    }
    out->push_back(';');
  }
  for (const auto& [seg, child] : t.constants) {
    *out += seg;
    AppendShape(child, o, out);
  }
  if (t.param) {
    *out += "{}";
    AppendShape(*t.param, o, out);
  }
  out->push_back(')');
}

std::string Shape(const TNode& t, const InferOptions& o) {
  std::string s;
  AppendShape(t, o, &s);
  return s;
}

// Can `t` be the subtree of an enum value? It must say more than a single-method route (a
// continuation, or two methods: two plain routes look alike), and it must not hold a collection's
// items (an identifier right below, `/teams/{teamId}`): sibling collections often share one CRUD
// shape, enum values select a variant (`/reports/daily/summary`).
bool EnumValueShape(const TNode& t) {
  if (t.param && IsIdentifierKind(t.param_kind)) return false;
  return !t.constants.empty() || t.param || t.ops.size() >= 2;
}

// What Template reads: the trie and the per-method counts of its nodes.
struct TrieView {
  const SegmentTrie& trie;
  const std::vector<std::vector<MethodStats>>& ops;
  const InferOptions& o;
  bool has_ops(uint32_t n) const { return trie.payload(n) != SegmentTrie::kNone; }
};

// Templates the union of `group` (trie nodes standing at the same templated position).
TNode Template(const std::vector<uint32_t>& group, const TrieView& v) {
  const bool at_root = group.size() == 1 && group[0] == SegmentTrie::kRoot;
  const SegmentTrie& trie = v.trie;
  const InferOptions& o = v.o;
  TNode t;
  // Children of the whole group, sorted by segment so equal segments form runs.
  std::vector<std::pair<std::string_view, uint32_t>> all_kids;
  for (uint32_t n : group) {
    if (v.has_ops(n)) MergeOps(v.ops[trie.payload(n)], &t.ops);
    for (uint32_t c = trie.first_child(n); c != SegmentTrie::kNone; c = trie.next_sibling(c)) {
      all_kids.emplace_back(trie.segment(c), c);
    }
  }
  std::sort(all_kids.begin(), all_kids.end());
  std::vector<std::pair<std::string_view, std::vector<uint32_t>>> kids;
  for (const auto& [seg, c] : all_kids) {
    if (kids.empty() || kids.back().first != seg) kids.emplace_back(seg, std::vector<uint32_t>());
    kids.back().second.push_back(c);
  }
  if (kids.empty()) return t;

  std::vector<uint32_t> param_group;
  bool have_kind = false;
  auto join_param = [&](const std::vector<uint32_t>& nodes, SegmentKind kind) {
    param_group.insert(param_group.end(), nodes.begin(), nodes.end());
    t.param_kind = have_kind ? WidenKind(t.param_kind, kind) : kind;
    have_kind = true;
    ++t.param_values;
  };

  // 1. Identifier-like values; collect the words.
  std::vector<std::pair<std::string_view, const std::vector<uint32_t>*>> words;
  bool has_identifiers = false;
  for (const auto& [seg, nodes] : kids) {
    SegmentKind k = ClassifySegment(seg);
    if (IsIdentifierKind(k)) {
      has_identifiers = true;
      join_param(nodes, k);
    } else {
      words.emplace_back(seg, &nodes);
    }
  }

  // 2. Words joined by a shared continuation key.
  std::vector<bool> is_param(words.size(), false);
  if (words.size() >= o.min_word_values) {
    UnionFind uf(words.size());
    // Keys: the next segment (identifiers as one), and the segment after it (words whose next
    // segments differ but lead to the same place, as /api/{owner}/{repo}/issues: with sparse
    // traffic two owners rarely share a repo name, but their repos share "issues").
    std::unordered_map<std::string_view, size_t> first_with_key, first_with_key2;
    auto link = [&](std::unordered_map<std::string_view, size_t>* keys, std::string_view key,
                    size_t i) {
      auto [it, fresh] = keys->emplace(key, i);
      if (!fresh) uf.Union(i, it->second);
    };
    auto key_of = [&](uint32_t node) {
      const std::string_view seg = trie.segment(node);
      return IsIdentifierKind(ClassifySegment(seg)) ? kAnyIdentifier : seg;
    };
    for (size_t i = 0; i < words.size(); ++i) {
      for (uint32_t n : *words[i].second) {
        if (v.has_ops(n)) link(&first_with_key, kEndsHere, i);
        for (uint32_t c = trie.first_child(n); c != SegmentTrie::kNone; c = trie.next_sibling(c)) {
          link(&first_with_key, key_of(c), i);
          for (uint32_t g = trie.first_child(c); g != SegmentTrie::kNone;
               g = trie.next_sibling(g)) {
            link(&first_with_key2, key_of(g), i);
          }
        }
      }
    }
    std::unordered_map<size_t, std::pair<size_t, uint64_t>> comp;  // root -> (values, hits)
    std::vector<uint64_t> hits(words.size(), 0);
    for (size_t i = 0; i < words.size(); ++i) {
      for (uint32_t n : *words[i].second) hits[i] += trie.hits(n);
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
  // 3. Enum-like words: at a position without identifiers, below the first segment, words whose
  // templated subtrees have the same shape (continuations, methods, status sets; Shape) are
  // values of one parameter (`/zones/basement/quiet`, `/zones/attic/quiet`). Kept apart: shapes
  // that are a single-method route or a collection (EnumValueShape), version segments ("v2":
  // copies of an API under URI versioning), and first segments (mounts, services, versions, as a
  // gateway routes them). A constant beside ids (`/users/me`) is never at such a position.
  std::vector<std::unique_ptr<TNode>> trees(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    if (!is_param[i]) trees[i] = std::make_unique<TNode>(Template(*words[i].second, v));
  }
  if (o.min_enum_values > 0 && !has_identifiers && !at_root) {
    std::map<std::string, std::vector<size_t>> by_shape;
    for (size_t i = 0; i < words.size(); ++i) {
      if (!is_param[i] && !IsVersionSegment(words[i].first) && EnumValueShape(*trees[i])) {
        by_shape[Shape(*trees[i], o)].push_back(i);
      }
    }
    for (const auto& [shape, members] : by_shape) {
      if (members.size() < o.min_enum_values) continue;
      for (size_t i : members) is_param[i] = true;
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (is_param[i]) {
      join_param(*words[i].second, SegmentKind::kWord);
    } else {
      t.constants.emplace(std::string(words[i].first), std::move(*trees[i]));
    }
  }
  if (!param_group.empty()) t.param = std::make_unique<TNode>(Template(param_group, v));
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

// What Flatten needs besides the tree: the time span (s; 0 = unknown) and the method names.
struct FlattenContext {
  double span_s;
  const std::vector<std::string>& methods;
};

// Appends the operations of `t` (at templated `path`, under constant segment `parent`, or none
// under a parameter) to *out.
void Flatten(const TNode& t, const std::string& path, std::string_view parent,
             std::vector<InferredParameter>* params, const FlattenContext& ctx,
             std::vector<InferredOperation>* out) {
  for (const auto& [method, s] : t.ops) {
    InferredOperation op;
    op.method = ctx.methods[method];
    op.path = path.empty() ? "/" : path;
    op.parameters = *params;
    op.requests = s.requests;
    for (const auto& [code, n] : s.statuses) op.status_counts[code] += n;
    for (const auto& [name, n] : s.query_names) {
      op.query.push_back({name, n, n == s.requests});
    }
    std::sort(op.query.begin(), op.query.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    if (ctx.span_s > 0) op.rate_per_second = static_cast<double>(s.requests) / ctx.span_s;
    out->push_back(std::move(op));
  }
  for (const auto& [seg, child] : t.constants) {
    Flatten(child, path + "/" + seg, seg, params, ctx, out);
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
    Flatten(*t.param, path + "/{" + unique + "}", std::string_view(), params, ctx, out);
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
  const TrieView view{counts_->trie, counts_->ops, options_};
  TNode root = Template({SegmentTrie::kRoot}, view);
  const double span_s =
      last_ns_ > first_ns_ ? static_cast<double>(last_ns_ - first_ns_) / 1e9 : 0.0;
  std::vector<InferredParameter> params;
  Flatten(root, "", std::string_view(), &params, FlattenContext{span_s, counts_->methods},
          &api.operations);
  std::sort(api.operations.begin(), api.operations.end(), [](const auto& a, const auto& b) {
    return a.path != b.path ? a.path < b.path : a.method < b.method;
  });
  return api;
}

}  // namespace backsight::api
