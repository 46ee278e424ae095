#include "backsight/analyze/api/differ.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/analyze/api/operations.h"
#include "backsight/analyze/api/rules.h"
#include "backsight/core/hash.h"

namespace backsight::api {
namespace {

// Schema comparisons per diff before the differ stops descending (a DAG of shared schemas can
// be exponential in paths; 200k is far above any real document and a few ms of work).
constexpr int kMaxSchemaComparisons = 200'000;
// Depth of property nesting compared (deeper levels of a recursive schema repeat the same pairs).
constexpr int kMaxSchemaDepth = 64;

// What a change does to the set of values a schema accepts; drives the level of a rule that is
// not in the catalogue (request: narrowing breaks; response: widening breaks).
enum class Effect { kNarrows, kWidens, kNeutral, kUnknown };

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseNumber(const Node* n, double* out) {
  if (n == nullptr || !n->IsScalar() || n->scalar.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(n->scalar.c_str(), &end);
  return end != nullptr && *end == '\0';
}

// Canonical text of a scalar/sequence/map for value comparisons (enum values, defaults).
std::string ValueText(const Node* n, int depth = 0) {
  if (n == nullptr) return "~";
  if (depth > 32) return "...";
  switch (n->kind) {
    case Node::Kind::kNull:
      return "null";
    case Node::Kind::kScalar:
      return n->scalar;
    case Node::Kind::kSeq: {
      std::string s = "[";
      for (const Node* c : n->seq) s += ValueText(c, depth + 1) + ",";
      return s + "]";
    }
    case Node::Kind::kMap: {
      std::vector<std::string> parts;
      for (const auto& [k, v] : n->map) parts.push_back(k + ":" + ValueText(v, depth + 1));
      std::sort(parts.begin(), parts.end());
      std::string s = "{";
      for (const auto& p : parts) s += p + ",";
      return s + "}";
    }
  }
  return "";
}

std::vector<std::string> ScalarList(const Node* n) {
  std::vector<std::string> out;
  if (n == nullptr) return out;
  if (n->IsScalar()) {
    out.push_back(n->scalar);
  } else if (n->IsSeq()) {
    for (const Node* c : n->seq) out.push_back(ValueText(c));
  }
  return out;
}

// Is this media type loosely typed (XML, forms, plain text), where object <-> string is no
// real type change? Source: oasdiff's "type-change-loosely-typed-comment".
bool LooselyTyped(std::string_view media) {
  return media.find("xml") != std::string_view::npos ||
         media.find("x-www-form-urlencoded") != std::string_view::npos ||
         media.find("multipart/") != std::string_view::npos ||
         media.find("text/plain") != std::string_view::npos;
}

// Keywords that only annotate a schema (no effect on what it accepts).
bool IsAnnotation(std::string_view key) {
  return key == "title" || key == "description" || key == "example" || key == "examples" ||
         key == "deprecated" || key == "externalDocs" || key == "$comment" || key == "xml" ||
         key.substr(0, 2) == "x-";
}

// The date of an `x-sunset` value ("2025-08-10" or RFC 3339 "2025-08-10T00:00:00Z") as
// "YYYY-MM-DD"; empty when it is no such date.
std::string SunsetDate(const Node* n) {
  if (n == nullptr || !n->IsScalar() || n->scalar.size() < 10) return "";
  std::string d = n->scalar.substr(0, 10);
  for (size_t i = 0; i < d.size(); ++i) {
    bool dash = i == 4 || i == 7;
    if (dash ? d[i] != '-' : !std::isdigit(static_cast<unsigned char>(d[i]))) return "";
  }
  if (n->scalar.size() > 10 && n->scalar[10] != 'T' && n->scalar[10] != ' ') return "";
  return d;
}

std::string TodayUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

using OpEntry = SpecOperation;

struct Param {
  const Node* node = nullptr;  // dereferenced
  bool path_level = false;
};

// Where a schema sits: decides the rule prefix ("request-body", "response-property", ...).
struct SchemaCtx {
  bool request = true;
  enum class Area { kBody, kParameter, kHeader } area = Area::kBody;
  bool top = true;
  std::string path;  // property path below the top ("/items/name")
  std::string media;
};

class Differ {
 public:
  Differ(const Spec& base, const Spec& rev, const DiffOptions& o) : base_(base), rev_(rev), o_(o) {
    if (o_.today.empty()) o_.today = TodayUtc();
  }

  // Sunset rules shared by operations and parameters (oasdiff's policy): removing something
  // deprecated before its sunset date, dropping the sunset date, or moving it earlier, breaks.
  // `removed_before` etc. are the rule ids; returns true when a removal was reported.
  bool RemovedBeforeSunset(const Node* b, const std::string& id, const std::string& op,
                           const std::string& what, bool request) {
    if (b == nullptr || !b->Flag("deprecated")) return false;
    std::string date = SunsetDate(b->Get("x-sunset"));
    if (date.empty() || date <= o_.today) return false;
    Emit(id, op, b, nullptr, what + " removed before its sunset date " + date, Effect::kNarrows,
         request);
    return true;
  }

  void SunsetChanged(const Node* b, const Node* r, const std::string& deleted_id,
                     const std::string& smaller_id, const std::string& op, const std::string& what,
                     bool request) {
    if (!b->Flag("deprecated") || !r->Flag("deprecated")) return;
    std::string bd = SunsetDate(b->Get("x-sunset")), rd = SunsetDate(r->Get("x-sunset"));
    if (!bd.empty() && r->Get("x-sunset") == nullptr) {
      Emit(deleted_id, op, b, r, what + ": sunset date " + bd + " deleted", Effect::kNarrows,
           request);
    } else if (!bd.empty() && !rd.empty() && rd < bd) {
      Emit(smaller_id, op, b, r, what + ": sunset date moved earlier, from " + bd + " to " + rd,
           Effect::kNarrows, request);
    }
  }

  std::vector<Change> Run() {
    const Node* b = base_.root().root();
    const Node* r = rev_.root().root();
    if (b == nullptr || r == nullptr) return std::move(out_);
    ComparePaths(b, r);
    CompareGlobalSecurity(b, r);
    CompareSecuritySchemes(b, r);
    CompareWebhooks(b, r);
    CompareComponentSchemas(b, r);
    return std::move(out_);
  }

 private:
  const Node* D(const Node* n) const { return o_.follow_refs ? Deref(n) : n; }

  void Emit(const std::string& id, const std::string& op, const Node* b, const Node* r,
            std::string text, Effect effect, bool request, std::string note = {}) {
    Change c;
    c.rule = std::string(OasdiffId(id));
    if (const Rule* rule = FindRule(c.rule); rule != nullptr) {
      c.level = rule->level;
    } else if (effect == Effect::kUnknown) {
      c.level = Level::kWarning;
    } else if (effect == Effect::kNeutral) {
      c.level = Level::kInfo;
    } else {
      bool breaks = request ? effect == Effect::kNarrows : effect == Effect::kWidens;
      c.level = breaks ? Level::kError : Level::kInfo;
    }
    c.operation = op;
    if (b != nullptr) c.base_location = b->Where();
    if (r != nullptr) c.revision_location = r->Where();
    c.text = std::move(text);
    c.note = std::move(note);
    out_.push_back(std::move(c));
  }

  // ---- paths and operations ----

  std::map<std::string, OpEntry> Operations(const Node* root) const {
    OperationListOptions lo;
    lo.follow_refs = o_.follow_refs;
    lo.join_server_prefix = o_.join_server_prefix;
    lo.positional_path_params = o_.positional_path_params;
    return ListOperations(root, lo);
  }

  void ComparePaths(const Node* b, const Node* r) {
    auto bops = Operations(b);
    auto rops = Operations(r);
    std::set<std::string> bpaths, rpaths;
    for (const auto& [k, e] : bops) bpaths.insert(k.substr(k.find(' ') + 1));
    for (const auto& [k, e] : rops) rpaths.insert(k.substr(k.find(' ') + 1));
    for (const auto& [key, be] : bops) {
      std::string method = key.substr(0, key.find(' '));
      std::string pkey = key.substr(key.find(' ') + 1);
      std::string opname = Upper(method) + " " + be.display;
      auto it = rops.find(key);
      bool webhook = pkey.rfind("webhook:", 0) == 0;  // reported by CompareWebhooks
      if (it == rops.end() && webhook) continue;
      if (it == rops.end()) {
        bool deprecated = be.op->Flag("deprecated");
        bool path_gone = rpaths.count(pkey) == 0;
        std::string id = path_gone ? (deprecated ? "api-path-removed-with-deprecation"
                                                 : "api-path-removed-without-deprecation")
                                   : (deprecated ? "api-removed-with-deprecation"
                                                 : "api-removed-without-deprecation");
        if (RemovedBeforeSunset(
                be.op, path_gone ? "api-path-removed-before-sunset" : "api-removed-before-sunset",
                opname, "operation", true)) {
          continue;
        }
        Emit(id, opname, be.op, nullptr, "operation removed", Effect::kNarrows, true);
        continue;
      }
      const OpEntry& re = it->second;
      CompareOperation(be, re, Upper(method) + " " + re.display, bpaths.count(pkey) > 0);
    }
    for (const auto& [key, re] : rops) {
      if (bops.count(key) != 0 || key.find(" webhook:") != std::string::npos) continue;
      std::string method = key.substr(0, key.find(' '));
      Emit("endpoint-added", Upper(method) + " " + re.display, nullptr, re.op, "operation added",
           Effect::kWidens, true);
    }
  }

  // Parameters of an operation keyed by location and name (path parameters by position).
  std::map<std::string, Param> Params(const OpEntry& e, bool include_path_level) {
    std::map<std::string, Param> out;
    auto add = [&](const Node* list, bool path_level) {
      if (list == nullptr || !list->IsSeq()) return;
      for (const Node* raw : list->seq) {
        const Node* p = D(raw);
        if (p == nullptr || !p->IsMap()) continue;
        std::string in(p->Str("in"));
        std::string name(p->Str("name"));
        std::string key;
        if (in == "path" && o_.positional_path_params) {
          auto pos = std::find(e.param_names.begin(), e.param_names.end(), name);
          key = "path:{" + std::to_string(pos - e.param_names.begin()) + "}";
        } else if (in == "header") {
          key = "header:" + Lower(name);
        } else {
          key = in + ":" + name;
        }
        out[key] = Param{p, path_level};
      }
    };
    if (include_path_level) add(e.path_item->Get("parameters"), true);
    add(e.op->Get("parameters"), false);
    return out;
  }

  void CompareOperation(const OpEntry& be, const OpEntry& re, const std::string& op,
                        bool path_existed) {
    const Node* b = be.op;
    const Node* r = re.op;
    // Lifecycle.
    bool bd = b->Flag("deprecated"), rd = r->Flag("deprecated");
    if (!bd && rd) {
      const Node* sunset = r->Get("x-sunset");
      if (sunset != nullptr && SunsetDate(sunset).empty()) {
        Emit("api-deprecated-sunset-parse", op, b, r,
             "operation deprecated with a sunset that is no date: '" + ValueText(sunset) + "'",
             Effect::kUnknown, true);
      } else {
        Emit(sunset != nullptr ? "endpoint-deprecated-with-sunset" : "endpoint-deprecated", op, b,
             r, "operation deprecated", Effect::kNeutral, true);
      }
    } else if (bd && !rd) {
      Emit("endpoint-reactivated", op, b, r, "operation no longer deprecated", Effect::kNeutral,
           true);
    }
    SunsetChanged(b, r, "sunset-deleted", "api-sunset-date-changed-too-small", op, "operation",
                  true);
    // operationId and tags.
    std::string bid(b->Str("operationId")), rid(r->Str("operationId"));
    if (bid != rid) {
      if (!bid.empty()) {
        Emit("api-operation-id-removed", op, b, r, "operationId '" + bid + "' removed",
             Effect::kNeutral, true);
      }
      if (!rid.empty()) {
        Emit("api-operation-id-added", op, b, r, "operationId '" + rid + "' added",
             Effect::kNeutral, true);
      }
    }
    auto btags = ScalarList(b->Get("tags")), rtags = ScalarList(r->Get("tags"));
    for (const auto& t : btags) {
      if (std::find(rtags.begin(), rtags.end(), t) == rtags.end()) {
        Emit("api-tag-removed", op, b, r, "tag '" + t + "' removed", Effect::kNeutral, true);
      }
    }
    for (const auto& t : rtags) {
      if (std::find(btags.begin(), btags.end(), t) == btags.end()) {
        Emit("api-tag-added", op, b, r, "tag '" + t + "' added", Effect::kNeutral, true);
      }
    }
    CompareSecurity(b->Get("security"), r->Get("security"), op, "api-security");
    CompareParameters(be, re, op, path_existed);
    CompareRequestBody(D(b->Get("requestBody")), D(r->Get("requestBody")), op, b, r);
    CompareResponses(D(b->Get("responses")), D(r->Get("responses")), op);
  }

  // ---- security ----

  // Requirement -> scopes per scheme, keyed by the sorted scheme names of the requirement.
  static std::map<std::string, std::map<std::string, std::set<std::string>>> Requirements(
      const Node* list) {
    std::map<std::string, std::map<std::string, std::set<std::string>>> out;
    if (list == nullptr || !list->IsSeq()) return out;
    for (const Node* req : list->seq) {
      if (req == nullptr || !req->IsMap()) continue;
      std::map<std::string, std::set<std::string>> schemes;
      for (const auto& [name, scopes] : req->map) {
        auto v = ScalarList(scopes);
        schemes[name] = std::set<std::string>(v.begin(), v.end());
      }
      std::string key;
      for (const auto& [name, s] : schemes) key += name + " ";
      out[key] = std::move(schemes);
    }
    return out;
  }

  void CompareSecurity(const Node* b, const Node* r, const std::string& op,
                       const std::string& prefix) {
    auto bq = Requirements(b), rq = Requirements(r);
    for (const auto& [key, schemes] : bq) {
      auto it = rq.find(key);
      if (it == rq.end()) {
        Emit(prefix + "-removed", op, b, r, "security requirement '" + key + "' removed",
             Effect::kWidens, true);
        continue;
      }
      for (const auto& [scheme, scopes] : schemes) {
        const auto& rs = it->second.at(scheme);
        for (const auto& s : scopes) {
          if (rs.count(s) == 0) {
            Emit(prefix + "-scope-removed", op, b, r,
                 "scope '" + s + "' removed from security scheme '" + scheme + "'",
                 Effect::kNeutral, true);
          }
        }
        for (const auto& s : rs) {
          if (scopes.count(s) == 0) {
            Emit(prefix + "-scope-added", op, b, r,
                 "scope '" + s + "' added to security scheme '" + scheme + "'", Effect::kNeutral,
                 true);
          }
        }
      }
    }
    for (const auto& [key, schemes] : rq) {
      if (bq.count(key) == 0) {
        Emit(prefix + "-added", op, b, r, "security requirement '" + key + "' added",
             Effect::kNarrows, true);
      }
    }
  }

  void CompareGlobalSecurity(const Node* b, const Node* r) {
    CompareSecurity(b->Get("security"), r->Get("security"), "", "api-global-security");
  }

  void CompareSecuritySchemes(const Node* b, const Node* r) {
    auto schemes = [&](const Node* root) -> const Node* {
      const Node* c = D(root->Get("components"));
      return c != nullptr ? D(c->Get("securitySchemes")) : nullptr;
    };
    const Node* bs = schemes(b);
    const Node* rs = schemes(r);
    if (bs != nullptr && bs->IsMap()) {
      for (const auto& [name, bn] : bs->map) {
        const Node* rn = rs != nullptr ? D(rs->Get(name)) : nullptr;
        if (rn == nullptr) {
          Emit("api-security-component-removed", "", D(bn), nullptr,
               "security scheme '" + name + "' removed", Effect::kNeutral, true);
          continue;
        }
        const Node* bd = D(bn);
        if (bd == nullptr || !bd->IsMap() || !rn->IsMap()) continue;
        if (bd->Str("type") != rn->Str("type")) {
          Emit("api-security-component-type-changed", "", bd, rn,
               "security scheme '" + name + "' type changed", Effect::kNeutral, true);
        }
        CompareOAuthFlows(name, D(bd->Get("flows")), D(rn->Get("flows")));
      }
    }
    if (rs != nullptr && rs->IsMap()) {
      for (const auto& [name, rn] : rs->map) {
        if (bs == nullptr || bs->Get(name) == nullptr) {
          Emit("api-security-component-added", "", nullptr, D(rn),
               "security scheme '" + name + "' added", Effect::kNeutral, true);
        }
      }
    }
  }

  void CompareOAuthFlows(const std::string& name, const Node* b, const Node* r) {
    if (b == nullptr || r == nullptr || !b->IsMap() || !r->IsMap()) return;
    for (const auto& [flow, bf_raw] : b->map) {
      const Node* bf = D(bf_raw);
      const Node* rf = D(r->Get(flow));
      if (bf == nullptr || rf == nullptr || !bf->IsMap() || !rf->IsMap()) continue;
      if (bf->Str("authorizationUrl") != rf->Str("authorizationUrl")) {
        Emit("api-security-component-oauth-url-changed", "", bf, rf,
             "security scheme '" + name + "' authorizationUrl changed", Effect::kNeutral, true);
      }
      if (bf->Str("tokenUrl") != rf->Str("tokenUrl")) {
        Emit("api-security-component-oauth-token-url-changed", "", bf, rf,
             "security scheme '" + name + "' tokenUrl changed", Effect::kNeutral, true);
      }
      const Node* bsc = bf->Get("scopes");
      const Node* rsc = rf->Get("scopes");
      if (bsc != nullptr && bsc->IsMap()) {
        for (const auto& [s, d] : bsc->map) {
          const Node* rd = rsc != nullptr ? rsc->Get(s) : nullptr;
          if (rd == nullptr) {
            Emit("api-security-component-oauth-scope-removed", "", bf, rf,
                 "scope '" + s + "' removed from security scheme '" + name + "'", Effect::kNeutral,
                 true);
          } else if (ValueText(d) != ValueText(rd)) {
            Emit("api-security-component-oauth-scope-changed", "", bf, rf,
                 "scope '" + s + "' of security scheme '" + name + "' changed", Effect::kNeutral,
                 true);
          }
        }
      }
      if (rsc != nullptr && rsc->IsMap()) {
        for (const auto& [s, d] : rsc->map) {
          if (bsc == nullptr || bsc->Get(s) == nullptr) {
            Emit("api-security-component-oauth-scope-added", "", bf, rf,
                 "scope '" + s + "' added to security scheme '" + name + "'", Effect::kNeutral,
                 true);
          }
        }
      }
    }
  }

  void CompareWebhooks(const Node* b, const Node* r) {
    const Node* bw = D(b->Get("webhooks"));
    const Node* rw = D(r->Get("webhooks"));
    if (bw != nullptr && bw->IsMap()) {
      for (const auto& [name, n] : bw->map) {
        if (rw == nullptr || rw->Get(name) == nullptr) {
          Emit("webhook-removed", "", n, nullptr, "webhook '" + name + "' removed",
               Effect::kNarrows, true);
        }
      }
    }
    if (rw != nullptr && rw->IsMap()) {
      for (const auto& [name, n] : rw->map) {
        if (bw == nullptr || bw->Get(name) == nullptr) {
          Emit("webhook-added", "", nullptr, n, "webhook '" + name + "' added", Effect::kWidens,
               true);
        }
      }
    }
  }

  void CompareComponentSchemas(const Node* b, const Node* r) {
    auto schemas = [&](const Node* root) -> const Node* {
      const Node* c = D(root->Get("components"));
      return c != nullptr ? D(c->Get("schemas")) : nullptr;
    };
    const Node* bs = schemas(b);
    const Node* rs = schemas(r);
    if (bs == nullptr || !bs->IsMap()) return;
    for (const auto& [name, n] : bs->map) {
      if (rs == nullptr || rs->Get(name) == nullptr) {
        Emit("api-schema-removed", "", n, nullptr, "component schema '" + name + "' removed",
             Effect::kNeutral, true);
      }
    }
  }

  // ---- parameters ----

  // The schema of a parameter or header: `schema`, else the first `content` entry's schema.
  const Node* ParamSchema(const Node* p) {
    if (p == nullptr) return nullptr;
    if (const Node* s = p->Get("schema"); s != nullptr) return s;
    const Node* content = D(p->Get("content"));
    if (content != nullptr && content->IsMap() && !content->map.empty()) {
      const Node* mt = D(content->map.front().second);
      return mt != nullptr ? mt->Get("schema") : nullptr;
    }
    return nullptr;
  }

  void CompareParameters(const OpEntry& be, const OpEntry& re, const std::string& op,
                         bool path_existed) {
    std::map<std::string, Param> bp, rp;
    if (o_.merge_path_parameters) {
      bp = Params(be, true);
      rp = Params(re, true);
    } else {
      bp = Params(be, false);
      rp = Params(re, false);
      // Unmerged: path-level parameters compared on their own, as written.
      OpEntry bpe = be, rpe = re;
      bpe.op = be.path_item;
      rpe.op = re.path_item;
      auto bpl = Params(bpe, false), rpl = Params(rpe, false);
      for (auto& [k, v] : bpl) bp.emplace("pathlevel " + k, v);
      for (auto& [k, v] : rpl) rp.emplace("pathlevel " + k, v);
    }
    for (const auto& [key, b] : bp) {
      std::string name(b.node->Str("name"));
      std::string in(b.node->Str("in"));
      auto it = rp.find(key);
      if (it == rp.end()) {
        bool dep = b.node->Flag("deprecated");
        if (RemovedBeforeSunset(b.node, "request-parameter-removed-before-sunset", op,
                                in + " parameter '" + name + "'", true)) {
          continue;
        }
        Emit(dep ? "request-parameter-removed-with-deprecation" : "request-parameter-removed", op,
             b.node, nullptr, in + " parameter '" + name + "' removed", Effect::kUnknown, true);
        continue;
      }
      const Node* r = it->second.node;
      bool breq = b.node->Flag("required") || in == "path";
      bool rreq = r->Flag("required") || r->Str("in") == "path";
      if (!breq && rreq) {
        Emit("request-parameter-became-required", op, b.node, r,
             in + " parameter '" + name + "' became required", Effect::kNarrows, true);
      } else if (breq && !rreq) {
        Emit("request-parameter-became-optional", op, b.node, r,
             in + " parameter '" + name + "' became optional", Effect::kWidens, true);
      }
      SunsetChanged(b.node, r, "request-parameter-sunset-deleted",
                    "request-parameter-sunset-date-changed-too-small", op,
                    in + " parameter '" + name + "'", true);
      bool bd = b.node->Flag("deprecated"), rd = r->Flag("deprecated");
      if (!bd && rd) {
        Emit("request-parameter-deprecated", op, b.node, r,
             in + " parameter '" + name + "' deprecated", Effect::kNeutral, true);
      } else if (bd && !rd) {
        Emit("request-parameter-reactivated", op, b.node, r,
             in + " parameter '" + name + "' no longer deprecated", Effect::kNeutral, true);
      }
      SchemaCtx ctx;
      ctx.request = true;
      ctx.area = SchemaCtx::Area::kParameter;
      ctx.path = in + " parameter '" + name + "'";
      CompareSchemaRoot(ParamSchema(b.node), ParamSchema(r), ctx, op);
    }
    for (const auto& [key, r] : rp) {
      if (bp.count(key) != 0) continue;
      std::string name(r.node->Str("name"));
      std::string in(r.node->Str("in"));
      bool required = r.node->Flag("required");
      std::string id;
      if (in == "path") {
        id = "new-request-path-parameter";
      } else if (r.path_level && path_existed) {
        id = required ? "new-required-request-default-parameter-to-existing-path"
                      : "new-optional-request-default-parameter-to-existing-path";
      } else {
        id = required ? "new-required-request-parameter" : "new-optional-request-parameter";
      }
      Emit(id, op, nullptr, r.node, in + " parameter '" + name + "' added",
           required || in == "path" ? Effect::kNarrows : Effect::kWidens, true);
    }
  }

  // ---- request bodies and responses ----

  void CompareContent(const Node* b, const Node* r, const std::string& op, bool request,
                      const Node* bowner, const Node* rowner) {
    std::string prefix = request ? "request-body" : "response";
    if (b != nullptr && b->IsMap()) {
      for (const auto& [media, bm] : b->map) {
        const Node* rm = r != nullptr ? r->Get(media) : nullptr;
        if (rm == nullptr) {
          Emit(prefix + "-media-type-removed", op, D(bm), rowner,
               "media type " + media + " removed", Effect::kNarrows, request);
          continue;
        }
        const Node* bs = D(bm) != nullptr ? D(bm)->Get("schema") : nullptr;
        const Node* rs = D(rm) != nullptr ? D(rm)->Get("schema") : nullptr;
        std::string body = request ? "request-body" : "response-body";
        if (bs == nullptr && rs != nullptr) {
          Emit(body + "-media-type-schema-added", op, D(bm), D(rm),
               "schema added to media type " + media, Effect::kNarrows, request);
        } else if (bs != nullptr && rs == nullptr) {
          Emit(body + "-media-type-schema-removed", op, D(bm), D(rm),
               "schema removed from media type " + media, Effect::kWidens, request);
        }
        SchemaCtx ctx;
        ctx.request = request;
        ctx.area = SchemaCtx::Area::kBody;
        ctx.media = media;
        CompareSchemaRoot(bs, rs, ctx, op);
      }
    }
    if (r != nullptr && r->IsMap()) {
      for (const auto& [media, rm] : r->map) {
        if (b == nullptr || b->Get(media) == nullptr) {
          Emit(prefix + "-media-type-added", op, bowner, D(rm), "media type " + media + " added",
               Effect::kWidens, request);
        }
      }
    }
  }

  void CompareRequestBody(const Node* b, const Node* r, const std::string& op, const Node* bop,
                          const Node* rop) {
    if (b == nullptr && r == nullptr) return;
    if (b == nullptr) {
      bool req = r->Flag("required");
      Emit(req ? "request-body-added-required" : "request-body-added-optional", op, bop, r,
           "request body added", req ? Effect::kNarrows : Effect::kWidens, true);
      return;
    }
    if (r == nullptr) {
      Emit("request-body-removed", op, b, rop, "request body removed", Effect::kNarrows, true);
      return;
    }
    bool breq = b->Flag("required"), rreq = r->Flag("required");
    if (!breq && rreq) {
      Emit("request-body-became-required", op, b, r, "request body became required",
           Effect::kNarrows, true);
    } else if (breq && !rreq) {
      Emit("request-body-became-optional", op, b, r, "request body became optional",
           Effect::kWidens, true);
    }
    CompareContent(D(b->Get("content")), D(r->Get("content")), op, true, b, r);
  }

  static bool Success(std::string_view status) {
    return !status.empty() && (status[0] == '1' || status[0] == '2' || status[0] == '3');
  }

  void CompareResponses(const Node* b, const Node* r, const std::string& op) {
    if (b == nullptr || r == nullptr || !b->IsMap() || !r->IsMap()) return;
    for (const auto& [status, bresp_raw] : b->map) {
      const Node* bresp = D(bresp_raw);
      const Node* rresp = D(r->Get(status));
      if (rresp == nullptr) {
        Emit(Success(status) ? "response-success-status-removed"
                             : "response-non-success-status-removed",
             op, bresp, r, "response " + status + " removed", Effect::kNarrows, false);
        continue;
      }
      if (bresp == nullptr || !bresp->IsMap() || !rresp->IsMap()) continue;
      CompareContent(D(bresp->Get("content")), D(rresp->Get("content")), op + " " + status, false,
                     bresp, rresp);
      CompareHeaders(D(bresp->Get("headers")), D(rresp->Get("headers")), op + " " + status, bresp,
                     rresp);
    }
    for (const auto& [status, rresp] : r->map) {
      if (b->Get(status) == nullptr) {
        Emit(
            Success(status) ? "response-success-status-added" : "response-non-success-status-added",
            op, b, D(rresp), "response " + status + " added", Effect::kWidens, false);
      }
    }
  }

  void CompareHeaders(const Node* b, const Node* r, const std::string& op, const Node* bowner,
                      const Node* rowner) {
    std::map<std::string, std::pair<std::string, const Node*>> bh, rh;
    if (b != nullptr && b->IsMap()) {
      for (const auto& [n, h] : b->map) bh[Lower(n)] = {n, D(h)};
    }
    if (r != nullptr && r->IsMap()) {
      for (const auto& [n, h] : r->map) rh[Lower(n)] = {n, D(h)};
    }
    for (const auto& [key, bv] : bh) {
      const auto& [name, h] = bv;
      auto it = rh.find(key);
      bool breq = h != nullptr && h->Flag("required");
      if (it == rh.end()) {
        Emit(breq ? "required-response-header-removed" : "optional-response-header-removed", op, h,
             rowner, "response header '" + name + "' removed", Effect::kNarrows, false);
        continue;
      }
      const Node* rhn = it->second.second;
      bool rreq = rhn != nullptr && rhn->Flag("required");
      if (breq && !rreq) {
        Emit("response-header-became-optional", op, h, rhn,
             "response header '" + name + "' became optional", Effect::kWidens, false);
      }
      SchemaCtx ctx;
      ctx.request = false;
      ctx.area = SchemaCtx::Area::kHeader;
      ctx.path = "header '" + name + "'";
      CompareSchemaRoot(ParamSchema(h), ParamSchema(rhn), ctx, op);
    }
    for (const auto& [key, rv] : rh) {
      if (bh.count(key) == 0) {
        Emit("response-header-added", op, bowner, rv.second,
             "response header '" + rv.first + "' added", Effect::kWidens, false);
      }
    }
  }

  // ---- schemas ----

  // Structural hash of a schema: `$ref`s followed, map keys unordered, allOf/anyOf/oneOf/
  // required/enum/type lists unordered; a node already on the path hashes as a back-reference.
  // With `named_parts`, a composition part that is a `$ref` also hashes its component name
  // (oasdiff matches oneOf/anyOf/allOf parts by name; a discriminator maps by it).
  uint64_t Hash(const Node* n, bool named_parts = false) {
    std::vector<const Node*> stack;
    return HashRec(n, &stack, named_parts);
  }

  static std::string_view RefName(const Node* n) {
    std::string_view t = n != nullptr ? n->ref_text : std::string_view();
    size_t slash = t.rfind('/');
    return slash == std::string_view::npos ? t : t.substr(slash + 1);
  }

  uint64_t HashRec(const Node* raw, std::vector<const Node*>* stack, bool named) {
    const Node* n = D(raw);
    if (n == nullptr) return 0x9e3779b97f4a7c15ULL;
    auto& memo = named ? named_hash_memo_ : hash_memo_;
    if (auto it = memo.find(n); it != memo.end()) return it->second;
    if (std::find(stack->begin(), stack->end(), n) != stack->end() ||
        stack->size() > kMaxSchemaDepth) {
      return 0xc0ffee;
    }
    auto mix = [](uint64_t h, uint64_t v) { return HashCombine(h, v); };
    uint64_t h = static_cast<uint64_t>(n->kind) + 1;
    stack->push_back(n);
    switch (n->kind) {
      case Node::Kind::kNull:
        break;
      case Node::Kind::kScalar:
        h = mix(h, std::hash<std::string>()(n->scalar));
        break;
      case Node::Kind::kSeq:
        for (const Node* c : n->seq) h = mix(h, HashRec(c, stack, named));
        break;
      case Node::Kind::kMap: {
        uint64_t acc = 0;
        for (const auto& [k, v] : n->map) {
          if (k == "$ref" && o_.follow_refs) continue;
          uint64_t vh;
          bool unordered = (k == "required" || k == "enum" || k == "type" || k == "anyOf" ||
                            k == "oneOf" || (k == "allOf" && o_.unordered_all_of));
          if (unordered && v != nullptr && v->IsSeq()) {
            vh = 0;
            bool parts = named && k != "required" && k != "enum" && k != "type";
            for (const Node* c : v->seq) {
              uint64_t ch = HashRec(c, stack, named);
              if (parts) ch = mix(ch, std::hash<std::string_view>()(RefName(c)));
              vh += ch * 0x100000001b3ULL;
            }
          } else {
            vh = HashRec(v, stack, named);
          }
          acc += mix(std::hash<std::string>()(k), vh);  // order-free sum over keys
        }
        if (!o_.follow_refs && n->Get("$ref") != nullptr) {
          acc += std::hash<std::string>()(std::string(n->Str("$ref")));
        }
        h = mix(h, acc);
        break;
      }
    }
    stack->pop_back();
    if (stack->empty()) memo[n] = h;
    return h;
  }

  std::string Prefix(const SchemaCtx& c) const {
    std::string side = c.request ? "request-" : "response-";
    switch (c.area) {
      case SchemaCtx::Area::kBody:
        return side + (c.top ? "body" : "property");
      case SchemaCtx::Area::kParameter:
        return side + (c.top ? "parameter" : "parameter-property");
      case SchemaCtx::Area::kHeader:
        return side + (c.top ? "header" : "header-property");
    }
    return side + "body";
  }

  std::string Where(const SchemaCtx& c) const {
    if (c.path.empty()) return c.request ? "request body" : "response body";
    return c.path;
  }

  void CompareSchemaRoot(const Node* b, const Node* r, SchemaCtx ctx, const std::string& op) {
    stack_.clear();
    CompareSchema(b, r, ctx, op);
  }

  void SchemaEmit(const SchemaCtx& c, const std::string& op, const std::string& what, const Node* b,
                  const Node* r, const std::string& text, Effect e, std::string note = {}) {
    Emit(Prefix(c) + "-" + what, op, b, r, Where(c) + ": " + text, e, c.request, std::move(note));
  }

  // A keyword that cannot apply to the schema's (single, unchanged) type constrains nothing
  // (JSON Schema validation, section 6: maxItems applies to arrays, maxLength to strings, ...).
  static bool Inapplicable(std::string_view key, const Node* b, const Node* r) {
    std::string_view t = b->Str("type");
    if (t.empty() || t != r->Str("type")) return false;
    if (key.find("Items") != std::string_view::npos ||
        key.find("Contains") != std::string_view::npos) {
      return t != "array";
    }
    if (key.find("Length") != std::string_view::npos) return t != "string";
    if (key.find("Properties") != std::string_view::npos) return t != "object";
    if (key.find("imum") != std::string_view::npos) return t != "number" && t != "integer";
    return false;
  }

  static bool HasKey(const Node* n, std::string_view k) { return n->Get(k) != nullptr; }

  void CompareSchema(const Node* braw, const Node* rraw, const SchemaCtx& c,
                     const std::string& op) {
    const Node* b = D(braw);
    const Node* r = D(rraw);
    if (b == nullptr || r == nullptr || !b->IsMap() || !r->IsMap()) return;
    if (++comparisons_ > kMaxSchemaComparisons || stack_.size() > kMaxSchemaDepth) return;
    if (std::find(stack_.begin(), stack_.end(), std::make_pair(b, r)) != stack_.end()) return;
    if (!o_.follow_refs && ValueText(braw->Get("$ref")) != ValueText(rraw->Get("$ref"))) {
      SchemaEmit(c, op, "type-changed", b, r, "schema reference changed", Effect::kUnknown);
      return;
    }
    if (Hash(b, true) == Hash(r, true)) return;
    stack_.emplace_back(b, r);
    CompareType(b, r, c, op);
    CompareNullable(b, r, c, op);
    CompareEnum(b, r, c, op);
    CompareBounds(b, r, c, op);
    ComparePattern(b, r, c, op);
    CompareValues(b, r, c, op);
    CompareProperties(b, r, c, op);
    CompareComposition(b, r, c, op);
    CompareDiscriminator(b, r, c, op);
    CompareJsonSchema2020(b, r, c, op);
    // Nested schemas.
    SchemaCtx child = c;
    child.top = false;
    child.path = Where(c) + "/items";
    child.top = c.top && c.area == SchemaCtx::Area::kParameter;  // oasdiff: a parameter's items
    CompareSchema(b->Get("items"), r->Get("items"), child, op);
    child.top = false;
    child.path = Where(c) + "/not";
    CompareSchema(b->Get("not"), r->Get("not"), child, op);
    const Node* bap = b->Get("additionalProperties");
    const Node* rap = r->Get("additionalProperties");
    if (bap != nullptr && rap != nullptr && D(bap)->IsMap() && D(rap)->IsMap()) {
      child.path = Where(c) + "/additionalProperties";
      CompareSchema(bap, rap, child, op);
    }
    stack_.pop_back();
  }

  // The types a schema admits, "null" left out (it is nullability): `type` as a scalar or a list,
  // else the types of bare-typed oneOf/anyOf parts (oasdiff's "list of types"). *composed is set
  // when they came from parts; empty when unknown.
  std::vector<std::string> EffectiveTypes(const Node* s, bool* composed) {
    *composed = false;
    std::vector<std::string> out;
    if (const Node* t = s->Get("type"); t != nullptr) {
      for (auto& v : ScalarList(t)) {
        if (v != "null") out.push_back(v);
      }
      return out;
    }
    for (std::string_view key : {"oneOf", "anyOf"}) {
      const Node* parts = s->Get(key);
      if (parts == nullptr || !parts->IsSeq()) continue;
      for (const Node* p : parts->seq) {
        const Node* d = D(p);
        const Node* t = d != nullptr ? d->Get("type") : nullptr;
        if (t == nullptr || !t->IsScalar()) return {};
        if (std::find(out.begin(), out.end(), t->scalar) == out.end()) out.push_back(t->scalar);
      }
      *composed = true;
    }
    return out;
  }

  static bool TypeListHasNull(const Node* s) {
    for (auto& v : ScalarList(s->Get("type"))) {
      if (v == "null") return true;
    }
    return false;
  }

  // Keywords that constrain the value, other than its type (a query parameter turned into an
  // array is "generalized" only when its items add none of them).
  static bool HasConstraints(const Node* s) {
    if (s == nullptr || !s->IsMap()) return false;
    for (const auto& [k, v] : s->map) {
      if (k == "pattern" || k == "enum" || k == "const" || k == "format" || k == "minimum" ||
          k == "maximum" || k == "minLength" || k == "maxLength" || k == "exclusiveMinimum" ||
          k == "exclusiveMaximum" || k == "multipleOf") {
        return true;
      }
    }
    return false;
  }

  void CompareType(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    bool bcomp = false, rcomp = false;
    auto btypes = EffectiveTypes(b, &bcomp), rtypes = EffectiveTypes(r, &rcomp);
    // A query/header parameter that becomes an array of what it was (form/explode style):
    // every old single value is still a valid one-element array.
    if (c.area == SchemaCtx::Area::kParameter && c.top && r->Str("type") == "array" &&
        !btypes.empty() && std::find(btypes.begin(), btypes.end(), "array") == btypes.end()) {
      const Node* items = D(r->Get("items"));
      bool plain = items != nullptr && !HasConstraints(items);
      SchemaEmit(c, op, plain ? "type-generalized" : "type-changed", b, r,
                 "became an array" + std::string(plain ? "" : " with constrained items"),
                 plain ? Effect::kWidens : Effect::kUnknown);
      return;
    }
    bool list = btypes.size() > 1 || rtypes.size() > 1 || bcomp || rcomp;
    if (list && !btypes.empty() && !rtypes.empty()) {
      std::set<std::string> bs(btypes.begin(), btypes.end()), rs(rtypes.begin(), rtypes.end());
      bool added = false, removed = false;
      for (const auto& t : rs) added |= bs.count(t) == 0;
      for (const auto& t : bs) removed |= rs.count(t) == 0;
      if (added) {
        SchemaEmit(c, op, "list-of-types-widened", b, r, "types widened", Effect::kWidens);
      }
      if (removed) {
        SchemaEmit(c, op, "list-of-types-narrowed", b, r, "types narrowed", Effect::kNarrows);
      }
      if (added || removed) return;
    }
    // Same admitted types: compare the `type` keywords as written (a type dropped in favour of
    // a oneOf of the same type is still a generalisation of the schema itself).
    btypes = ScalarList(b->Get("type"));
    rtypes = ScalarList(r->Get("type"));
    std::string bty = btypes.empty() ? "" : btypes[0];
    std::string rty = rtypes.empty() ? "" : rtypes[0];
    std::string bf(b->Str("format")), rf(r->Str("format"));
    if (bty == rty && bf == rf) return;
    std::string text = "type/format changed from '" + bty + (bf.empty() ? "" : "/" + bf) +
                       "' to '" + rty + (rf.empty() ? "" : "/" + rf) + "'";
    bool widened = (bty == "integer" && rty == "number" && rf.empty()) ||
                   (!bty.empty() && rty.empty()) || (bty == rty && !bf.empty() && rf.empty());
    bool narrowed = (bty == "number" && rty == "integer") || (bty.empty() && !rty.empty()) ||
                    (bty == rty && bf.empty() && !rf.empty());
    if (bty != rty && !bty.empty() && !rty.empty() && LooselyTyped(c.media) &&
        (bty == "object" || rty == "object" || bty == "string" || rty == "string")) {
      SchemaEmit(c, op, "type-compatible", b, r, text, Effect::kNeutral,
                 "type-change-loosely-typed-comment");
    } else if (widened) {
      SchemaEmit(c, op, "type-generalized", b, r, text, Effect::kWidens);
    } else if (narrowed && !c.request) {
      SchemaEmit(c, op, "type-specialized", b, r, text, Effect::kNarrows);
    } else {
      SchemaEmit(c, op, "type-changed", b, r, text, Effect::kUnknown);
    }
  }

  void CompareNullable(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    bool bn = b->Flag("nullable") || TypeListHasNull(b);
    bool rn = r->Flag("nullable") || TypeListHasNull(r);
    if (!bn && rn) {
      SchemaEmit(c, op, "became-nullable", b, r, "became nullable", Effect::kWidens);
    } else if (bn && !rn) {
      SchemaEmit(c, op, "became-not-nullable", b, r, "became not nullable", Effect::kNarrows);
    }
  }

  void CompareEnum(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    for (std::string_view key : {"enum", "x-extensible-enum"}) {
      bool ext = key == "x-extensible-enum";
      const Node* be = b->Get(key);
      const Node* re = r->Get(key);
      if (be == nullptr && re == nullptr) continue;
      if (be == nullptr) {
        if (!ext) SchemaEmit(c, op, "became-enum", b, r, "became an enum", Effect::kNarrows);
        continue;
      }
      if (re == nullptr) {
        if (!ext) SchemaEmit(c, op, "enum-removed", b, r, "is no longer an enum", Effect::kWidens);
        continue;
      }
      auto bv = ScalarList(be), rv = ScalarList(re);
      std::string pre = ext ? "x-extensible-enum-" : "enum-";
      for (const auto& v : bv) {
        if (std::find(rv.begin(), rv.end(), v) == rv.end()) {
          SchemaEmit(c, op, pre + "value-removed", be, re, "enum value '" + v + "' removed",
                     Effect::kNarrows);
        }
      }
      for (const auto& v : rv) {
        if (std::find(bv.begin(), bv.end(), v) == bv.end()) {
          SchemaEmit(c, op, pre + "value-added", be, re, "enum value '" + v + "' added",
                     Effect::kWidens);
        }
      }
    }
  }

  void CompareBounds(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    static constexpr Bound kBounds[] = {
        {"minimum", "min", false},
        {"maximum", "max", true},
        {"exclusiveMinimum", "exclusive-min", false},
        {"exclusiveMaximum", "exclusive-max", true},
        {"minLength", "min-length", false},
        {"maxLength", "max-length", true},
        {"minItems", "min-items", false},
        {"maxItems", "max-items", true},
        {"minContains", "min-contains", false},
        {"maxContains", "max-contains", true},
        {"minProperties", "min-properties", false},
        {"maxProperties", "max-properties", true},
    };
    for (const Bound& bd : kBounds) {
      size_t before = out_.size();
      EmitBound(bd, b, r, c, op);
      if (Inapplicable(bd.key, b, r)) {
        for (size_t i = before; i < out_.size(); ++i) {
          out_[i].level = Level::kInfo;
          out_[i].text += " (no effect: the keyword does not apply to type " +
                          std::string(b->Str("type")) + ")";
        }
      }
    }
  }

  struct Bound {
    std::string_view key, name;
    bool upper;
  };

  void EmitBound(const Bound& bd, const Node* b, const Node* r, const SchemaCtx& c,
                 const std::string& op) {
    {
      double bv = 0, rv = 0;
      bool bh = ParseNumber(b->Get(bd.key), &bv), rh = ParseNumber(r->Get(bd.key), &rv);
      std::string name(bd.name);
      if (!bh && !rh) return;
      if (!bh) {
        SchemaEmit(c, op, name + "-set", b, r, name + " set to " + r->Str(bd.key).data(),
                   Effect::kNarrows);
      } else if (!rh) {
        SchemaEmit(c, op, name + "-unset", b, r, name + " removed", Effect::kWidens);
      } else if (bv != rv) {
        bool increased = rv > bv;
        bool narrows = bd.upper ? !increased : increased;
        SchemaEmit(c, op, name + (increased ? "-increased" : "-decreased"), b, r,
                   name + " changed from " + std::string(b->Str(bd.key)) + " to " +
                       std::string(r->Str(bd.key)),
                   narrows ? Effect::kNarrows : Effect::kWidens);
      }
    }
  }

  void ComparePattern(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    std::string bp(b->Str("pattern")), rp(r->Str("pattern"));
    if (bp == rp) return;
    if (bp.empty()) {
      SchemaEmit(c, op, "pattern-added", b, r, "pattern '" + rp + "' added", Effect::kNarrows,
                 c.request ? "pattern-added-error-comment" : "");
    } else if (rp.empty()) {
      SchemaEmit(c, op, "pattern-removed", b, r, "pattern '" + bp + "' removed", Effect::kWidens);
    } else if (rp == ".*" || rp == "^.*$" || rp == "^.*" || rp == ".*$") {
      SchemaEmit(c, op, "pattern-generalized", b, r,
                 "pattern changed from '" + bp + "' to any string", Effect::kWidens);
    } else {
      SchemaEmit(c, op, "pattern-changed", b, r,
                 "pattern changed from '" + bp + "' to '" + rp + "'", Effect::kUnknown);
    }
  }

  void CompareValues(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    for (std::string_view key : {"default", "const"}) {
      const Node* bv = b->Get(key);
      const Node* rv = r->Get(key);
      std::string name = key == "default" ? "default-value" : "const";
      if (bv == nullptr && rv == nullptr) continue;
      if (bv == nullptr) {
        SchemaEmit(c, op, name + "-added", b, r, std::string(key) + " added",
                   key == "const" ? Effect::kNarrows : Effect::kNeutral);
      } else if (rv == nullptr) {
        SchemaEmit(c, op, name + "-removed", b, r, std::string(key) + " removed",
                   key == "const" ? Effect::kWidens : Effect::kNeutral);
      } else if (ValueText(bv) != ValueText(rv)) {
        SchemaEmit(
            c, op, name + "-changed", b, r,
            std::string(key) + " changed from '" + ValueText(bv) + "' to '" + ValueText(rv) + "'",
            Effect::kUnknown);
      }
    }
  }

  static std::set<std::string> Required(const Node* s) {
    auto v = ScalarList(s->Get("required"));
    return {v.begin(), v.end()};
  }

  void CompareProperties(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    const Node* bp = D(b->Get("properties"));
    const Node* rp = D(r->Get("properties"));
    auto breq = Required(b), rreq = Required(r);
    std::string side = c.request ? "request" : "response";
    SchemaCtx child = c;
    child.top = false;
    auto path = [&](const std::string& name) {
      return c.path.empty() && c.top ? name : Where(c) + "/" + name;
    };
    if (bp != nullptr && bp->IsMap()) {
      for (const auto& [name, bs] : bp->map) {
        const Node* rs = rp != nullptr && rp->IsMap() ? rp->Get(name) : nullptr;
        const Node* bsd = D(bs);
        if (rs == nullptr) {
          if (c.request) {
            Emit("request-property-removed", op, bsd, r, "property '" + path(name) + "' removed",
                 Effect::kUnknown, true);
            if (breq.count(name) > 0 && rreq.count(name) == 0) {
              Emit("request-property-became-optional", op, bsd, r,
                   "property '" + path(name) + "' became optional", Effect::kWidens, true);
            }
          } else {
            bool wo = bsd != nullptr && bsd->Flag("writeOnly");
            std::string id = breq.count(name)
                                 ? (wo ? "response-required-write-only-property-removed"
                                       : "response-required-property-removed")
                                 : (wo ? "response-optional-write-only-property-removed"
                                       : "response-optional-property-removed");
            Emit(id, op, bsd, r, "property '" + path(name) + "' removed", Effect::kNarrows, false);
          }
          continue;
        }
        const Node* rsd = D(rs);
        bool was = breq.count(name) > 0, is = rreq.count(name) > 0;
        if (!was && is) {
          Emit(side + "-property-became-required", op, bsd, rsd,
               "property '" + path(name) + "' became required", Effect::kNarrows, c.request);
        } else if (was && !is) {
          Emit(side + "-property-became-optional", op, bsd, rsd,
               "property '" + path(name) + "' became optional", Effect::kWidens, c.request);
        }
        if (bsd != nullptr && rsd != nullptr && bsd->IsMap() && rsd->IsMap()) {
          // readOnly / writeOnly flips: oasdiff's "<side>-<required|optional>-property-became-
          // [not-]<read|write>-only" (info, but a required response property that is no longer
          // write-only is a warning: clients now get it).
          for (std::string_view flag : {"readOnly", "writeOnly"}) {
            bool bf = bsd->Flag(flag), rf = rsd->Flag(flag);
            if (bf == rf) continue;
            std::string what = flag == "readOnly" ? "read-only" : "write-only";
            std::string id = side + (is ? "-required" : "-optional") + "-property-became-" +
                             (rf ? "" : "not-") + what;
            Emit(id, op, bsd, rsd,
                 "property '" + path(name) + "' became " + (rf ? "" : "not ") + what,
                 Effect::kNeutral, c.request);
          }
          bool bd = bsd->Flag("deprecated"), rd = rsd->Flag("deprecated");
          if (!bd && rd) {
            Emit(side + "-property-deprecated", op, bsd, rsd,
                 "property '" + path(name) + "' deprecated", Effect::kNeutral, c.request);
          } else if (bd && !rd) {
            Emit(side + "-property-reactivated", op, bsd, rsd,
                 "property '" + path(name) + "' no longer deprecated", Effect::kNeutral, c.request);
          }
        }
        child.path = path(name);
        CompareSchema(bs, rs, child, op);
      }
    }
    if (rp != nullptr && rp->IsMap()) {
      for (const auto& [name, rs] : rp->map) {
        if (bp != nullptr && bp->IsMap() && bp->Get(name) != nullptr) continue;
        const Node* rsd = D(rs);
        bool req = rreq.count(name) > 0;
        std::string id;
        if (c.request) {
          id = req ? "new-required-request-property" : "new-optional-request-property";
          if (req && rsd != nullptr && rsd->Flag("readOnly")) id = "new-optional-request-property";
        } else {
          bool wo = rsd != nullptr && rsd->Flag("writeOnly");
          id = req ? (wo ? "response-required-write-only-property-added"
                         : "response-required-property-added")
                   : (wo ? "response-optional-write-only-property-added"
                         : "response-optional-property-added");
        }
        Emit(id, op, b, rsd, "property '" + path(name) + "' added",
             req ? Effect::kNarrows : Effect::kWidens, c.request);
      }
    }
  }

  // Matches the parts of a composition (oneOf/anyOf/allOf): equal parts first (by structural
  // hash, so a part moved to a component or reordered still matches), then, position by
  // position, parts that share a `$ref` name or a type. Returns the pairs; unmatched parts are
  // left in `bonly`/`ronly`.
  std::vector<std::pair<const Node*, const Node*>> MatchParts(const Node* bl, const Node* rl,
                                                              bool by_content,
                                                              std::vector<const Node*>* bonly,
                                                              std::vector<const Node*>* ronly) {
    std::vector<const Node*> bs, rs;
    if (bl != nullptr && bl->IsSeq()) bs = bl->seq;
    if (rl != nullptr && rl->IsSeq()) rs = rl->seq;
    std::vector<std::pair<const Node*, const Node*>> pairs;
    std::vector<bool> rused(rs.size(), false), bused(bs.size(), false);
    if (!by_content) {
      size_t n = std::min(bs.size(), rs.size());
      for (size_t i = 0; i < n; ++i) pairs.emplace_back(bs[i], rs[i]);
      for (size_t i = n; i < bs.size(); ++i) bonly->push_back(bs[i]);
      for (size_t i = n; i < rs.size(); ++i) ronly->push_back(rs[i]);
      return pairs;
    }
    for (size_t i = 0; i < bs.size(); ++i) {
      for (size_t j = 0; j < rs.size(); ++j) {
        bool both_named = !RefName(bs[i]).empty() && !RefName(rs[j]).empty();
        if (!rused[j] && Hash(bs[i]) == Hash(rs[j]) &&
            (!both_named || RefName(bs[i]) == RefName(rs[j]))) {
          rused[j] = bused[i] = true;
          break;
        }
      }
    }
    auto ref_name = [](const Node* n) { return RefName(n); };
    for (size_t i = 0; i < bs.size(); ++i) {
      if (bused[i]) continue;
      for (size_t j = 0; j < rs.size(); ++j) {
        if (rused[j]) continue;
        const Node* bd = D(bs[i]);
        const Node* rd = D(rs[j]);
        bool same_ref = !ref_name(bs[i]).empty() && ref_name(bs[i]) == ref_name(rs[j]);
        bool same_type = bd != nullptr && rd != nullptr && bd->IsMap() && rd->IsMap() &&
                         ref_name(bs[i]).empty() && ref_name(rs[j]).empty() &&
                         bd->Str("type") == rd->Str("type") && bd->Str("title") == rd->Str("title");
        if (same_ref || same_type) {
          rused[j] = bused[i] = true;
          pairs.emplace_back(bs[i], rs[j]);
          break;
        }
      }
    }
    for (size_t i = 0; i < bs.size(); ++i) {
      if (!bused[i]) bonly->push_back(bs[i]);
    }
    for (size_t j = 0; j < rs.size(); ++j) {
      if (!rused[j]) ronly->push_back(rs[j]);
    }
    return pairs;
  }

  bool AnnotationOnly(const Node* raw) {
    const Node* n = D(raw);
    if (n == nullptr || !n->IsMap()) return false;
    for (const auto& [k, v] : n->map) {
      if (!IsAnnotation(k)) return false;
    }
    return true;
  }

  void CompareComposition(const Node* b, const Node* r, const SchemaCtx& c, const std::string& op) {
    for (std::string_view key : {"oneOf", "anyOf", "allOf"}) {
      std::string name = key == "oneOf" ? "one-of" : key == "anyOf" ? "any-of" : "all-of";
      const Node* bl = b->Get(key);
      const Node* rl = r->Get(key);
      if (bl == nullptr && rl == nullptr) continue;
      if (key == "oneOf" && bl == nullptr && rl != nullptr &&
          (HasKey(b, "type") || HasKey(b, "properties"))) {
        SchemaEmit(c, op, "wrapped-in-one-of", b, r, "wrapped in oneOf", Effect::kUnknown);
      }
      std::vector<const Node*> bonly, ronly;
      bool by_content = key != "allOf" || o_.unordered_all_of;
      auto pairs = MatchParts(bl, rl, by_content, &bonly, &ronly);
      for (const Node* p : ronly) {
        SchemaEmit(c, op, name + "-added", b, D(p), std::string(key) + " part added",
                   key == "allOf" ? Effect::kNarrows : Effect::kWidens);
        if (key == "allOf" && AnnotationOnly(p)) {
          SchemaEmit(c, op, name + "-added-annotation-only", b, D(p),
                     "allOf part with annotations only added", Effect::kNeutral);
        }
      }
      for (const Node* p : bonly) {
        SchemaEmit(c, op, name + "-removed", D(p), r, std::string(key) + " part removed",
                   key == "allOf" ? Effect::kWidens : Effect::kNarrows);
        if (key == "allOf" && AnnotationOnly(p)) {
          SchemaEmit(c, op, name + "-removed-annotation-only", D(p), r,
                     "allOf part with annotations only removed", Effect::kNeutral);
        }
      }
      for (const auto& [bp, rp] : pairs) CompareSchema(bp, rp, c, op);
    }
  }

  void CompareDiscriminator(const Node* b, const Node* r, const SchemaCtx& c,
                            const std::string& op) {
    const Node* bd = b->Get("discriminator");
    const Node* rd = r->Get("discriminator");
    if (bd == nullptr && rd == nullptr) return;
    if (bd == nullptr) {
      SchemaEmit(c, op, "discriminator-added", b, rd, "discriminator added", Effect::kNeutral);
      return;
    }
    if (rd == nullptr) {
      SchemaEmit(c, op, "discriminator-removed", bd, r, "discriminator removed", Effect::kNeutral);
      return;
    }
    if (bd->Str("propertyName") != rd->Str("propertyName")) {
      SchemaEmit(c, op, "discriminator-property-name-changed", bd, rd,
                 "discriminator property name changed", Effect::kNeutral);
    }
    const Node* bm = bd->Get("mapping");
    const Node* rm = rd->Get("mapping");
    if (bm != nullptr && bm->IsMap()) {
      for (const auto& [k, v] : bm->map) {
        const Node* rv = rm != nullptr ? rm->Get(k) : nullptr;
        if (rv == nullptr) {
          SchemaEmit(c, op, "discriminator-mapping-deleted", bd, rd,
                     "discriminator mapping '" + k + "' deleted", Effect::kNeutral);
        } else if (ValueText(v) != ValueText(rv)) {
          SchemaEmit(c, op, "discriminator-mapping-changed", bd, rd,
                     "discriminator mapping '" + k + "' changed", Effect::kNeutral);
        }
      }
    }
    if (rm != nullptr && rm->IsMap()) {
      for (const auto& [k, v] : rm->map) {
        if (bm == nullptr || bm->Get(k) == nullptr) {
          SchemaEmit(c, op, "discriminator-mapping-added", bd, rd,
                     "discriminator mapping '" + k + "' added", Effect::kNeutral);
        }
      }
    }
  }

  // JSON Schema 2020-12 keywords of OpenAPI 3.1.
  void CompareJsonSchema2020(const Node* b, const Node* r, const SchemaCtx& c,
                             const std::string& op) {
    struct Presence {
      std::string_view key, name;
      Effect added;  // adding the keyword narrows (a new constraint) or is neutral
    };
    static constexpr Presence kPresence[] = {
        {"prefixItems", "prefix-items", Effect::kNarrows},
        {"if", "if", Effect::kNarrows},
        {"then", "then", Effect::kNarrows},
        {"else", "else", Effect::kNarrows},
        {"contains", "contains", Effect::kNarrows},
        {"propertyNames", "property-names", Effect::kNarrows},
        {"unevaluatedItems", "unevaluated-items", Effect::kNarrows},
        {"unevaluatedProperties", "unevaluated-properties", Effect::kNarrows},
        {"contentSchema", "content-schema", Effect::kNarrows},
    };
    SchemaCtx child = c;
    child.top = false;
    for (const Presence& p : kPresence) {
      const Node* bv = b->Get(p.key);
      const Node* rv = r->Get(p.key);
      std::string name(p.name);
      if (bv == nullptr && rv != nullptr) {
        SchemaEmit(c, op, name + "-added", b, rv, std::string(p.key) + " added", p.added);
      } else if (bv != nullptr && rv == nullptr) {
        SchemaEmit(c, op, name + "-removed", bv, r, std::string(p.key) + " removed",
                   Effect::kWidens);
      } else if (bv != nullptr && rv != nullptr && p.key != "prefixItems") {
        child.path = Where(c) + "/" + std::string(p.key);
        CompareSchema(bv, rv, child, op);
      }
    }
    for (std::string_view key : {"contentMediaType", "contentEncoding"}) {
      std::string bv(b->Str(key)), rv(r->Str(key));
      if (bv != rv) {
        SchemaEmit(
            c, op,
            key == "contentMediaType" ? "content-media-type-changed" : "content-encoding-changed",
            b, r, std::string(key) + " changed from '" + bv + "' to '" + rv + "'",
            Effect::kUnknown);
      }
    }
    // Keyed keywords: an entry added narrows, removed widens.
    struct Keyed {
      std::string_view key, name;
    };
    static constexpr Keyed kKeyed[] = {{"dependentRequired", "dependent-required"},
                                       {"dependentSchemas", "dependent-schema"},
                                       {"patternProperties", "pattern-property"}};
    for (const Keyed& k : kKeyed) {
      const Node* bm = D(b->Get(k.key));
      const Node* rm = D(r->Get(k.key));
      std::string name(k.name);
      if (bm != nullptr && bm->IsMap()) {
        for (const auto& [entry, bv] : bm->map) {
          const Node* rv = rm != nullptr ? rm->Get(entry) : nullptr;
          if (rv == nullptr) {
            SchemaEmit(c, op, name + "-removed", bm, rm,
                       std::string(k.key) + " '" + entry + "' removed", Effect::kWidens);
          } else if (k.key == "dependentRequired" && ValueText(bv) != ValueText(rv)) {
            SchemaEmit(c, op, name + "-changed", bv, rv,
                       std::string(k.key) + " '" + entry + "' changed", Effect::kUnknown);
          } else if (k.key != "dependentRequired") {
            child.path = Where(c) + "/" + std::string(k.key) + "/" + entry;
            CompareSchema(bv, rv, child, op);
          }
        }
      }
      if (rm != nullptr && rm->IsMap()) {
        for (const auto& [entry, rv] : rm->map) {
          if (bm == nullptr || !bm->IsMap() || bm->Get(entry) == nullptr) {
            SchemaEmit(c, op, name + "-added", bm, rv,
                       std::string(k.key) + " '" + entry + "' added", Effect::kNarrows);
          }
        }
      }
    }
  }

  const Spec& base_;
  const Spec& rev_;
  DiffOptions o_;
  std::vector<Change> out_;
  std::vector<std::pair<const Node*, const Node*>> stack_;
  std::unordered_map<const Node*, uint64_t> hash_memo_;
  std::unordered_map<const Node*, uint64_t> named_hash_memo_;
  int comparisons_ = 0;
};

}  // namespace

std::vector<Change> DiffSpecs(const Spec& base, const Spec& revision, const DiffOptions& options) {
  return Differ(base, revision, options).Run();
}

}  // namespace backsight::api
