#include "backsight/db/candidates.h"

#include <algorithm>
#include <map>
#include <optional>

#include "backsight/db/connection.h"

namespace backsight::db {
namespace {

using Json = nlohmann::json;

// A FROM item visible in a scope.
struct Item {
  std::string alias;  // alias, or the table name
  size_t use;         // index into the analyser's uses
};

struct Scope {
  const Scope* parent = nullptr;
  std::vector<Item> items;
};

// A resolved side of a predicate: a plain column or an expression over one FROM item's columns.
struct Ref {
  size_t use;
  std::string key;  // column name or "(expr)"
  bool plain;
};

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

// The member `key` of `j`, or an empty array, by reference (Json::value would copy it).
const Json& Member(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = j.find(key);
  return it == j.end() ? kEmpty : *it;
}

std::string Sval(const Json& j) {
  if (j.contains("String")) return j["String"].value("sval", "");
  return "";
}

// A decimal number as mantissa * 10^-scale (exact for the literals of a statement).
struct Decimal {
  __int128 mantissa = 0;
  int scale = 0;
};

// Largest mantissa kept: 10^30, far inside __int128 (products of two stay below 2^127).
constexpr __int128 kMaxMantissa = static_cast<__int128>(1000000000000000LL) * 1000000000000000LL;

std::optional<Decimal> ParseDecimal(const std::string& text) {
  Decimal d;
  bool point = false, digits = false;
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !point) {
      point = true;
    } else if (c >= '0' && c <= '9') {
      d.mantissa = d.mantissa * 10 + (c - '0');
      if (d.mantissa > kMaxMantissa) return std::nullopt;
      digits = true;
      if (point) ++d.scale;
    } else {
      return std::nullopt;  // exponents and the like: not folded
    }
  }
  if (!digits) return std::nullopt;
  if (negative) d.mantissa = -d.mantissa;
  return d;
}

std::string FormatDecimal(Decimal d) {
  const bool negative = d.mantissa < 0;
  __int128 m = negative ? -d.mantissa : d.mantissa;
  std::string reversed;  // least significant digit first
  for (int i = 0; m > 0 || i <= d.scale; ++i) {
    if (i == d.scale && d.scale > 0) reversed.push_back('.');
    reversed.push_back(static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  }
  if (negative) reversed.push_back('-');
  return std::string(reversed.rbegin(), reversed.rend());
}

// Folds a numeric constant expression (literals combined with + - *), exactly.
std::optional<Decimal> FoldNumber(const Json& n) {
  if (n.contains("A_Const")) {
    const Json& c = n["A_Const"];
    if (c.contains("ival")) return Decimal{c["ival"].value("ival", 0), 0};
    if (c.contains("fval")) return ParseDecimal(c["fval"].value("fval", ""));
    return std::nullopt;
  }
  if (!n.contains("A_Expr") || n["A_Expr"].value("kind", "") != "AEXPR_OP") return std::nullopt;
  const Json& e = n["A_Expr"];
  if (!e.contains("lexpr") || !e.contains("rexpr") || e["name"].size() != 1) return std::nullopt;
  auto l = FoldNumber(e["lexpr"]), r = FoldNumber(e["rexpr"]);
  if (!l || !r) return std::nullopt;
  const std::string op = Sval(e["name"][0]);
  Decimal out;
  if (op == "*") {
    out = {l->mantissa * r->mantissa, l->scale + r->scale};
  } else if (op == "+" || op == "-") {
    while (l->scale < r->scale) l->mantissa *= 10, ++l->scale;
    while (r->scale < l->scale) r->mantissa *= 10, ++r->scale;
    out = {op == "+" ? l->mantissa + r->mantissa : l->mantissa - r->mantissa, l->scale};
  } else {
    return std::nullopt;
  }
  if (out.mantissa > kMaxMantissa || out.mantissa < -kMaxMantissa) return std::nullopt;
  return out;
}

// A constant of a filter as SQL: a string or number as a quoted literal (see ConstantFilter),
// true/false; nullopt for anything else (parameters, columns, other expressions).
std::optional<std::string> Literal(const Json& n) {
  if (n.contains("A_Const")) {
    const Json& c = n["A_Const"];
    if (c.contains("sval")) return QuoteLiteral(c["sval"].value("sval", ""));
    if (c.contains("boolval")) return c["boolval"].value("boolval", false) ? "true" : "false";
  }
  if (auto d = FoldNumber(n)) return QuoteLiteral(FormatDecimal(*d));
  return std::nullopt;
}

// Walks a statement's parse tree (pg_query JSON) and fills one TableUse per FROM item.
class Analyzer {
 public:
  explicit Analyzer(const Catalog& catalog) : catalog_(catalog) {}

  void Statement(const Json& node, const Scope* parent) {
    if (!node.is_object()) return;
    if (node.contains("SelectStmt")) return Select(node["SelectStmt"], parent);
    // UPDATE / DELETE: the target table is a FROM item of the WHERE clause.
    for (const char* kind : {"UpdateStmt", "DeleteStmt"}) {
      if (!node.contains(kind)) continue;
      const Json& s = node[kind];
      Scope scope{parent, {}};
      if (s.contains("relation")) AddFrom(Json{{"RangeVar", s["relation"]}}, &scope, nullptr);
      for (const char* list : {"fromClause", "usingClause"}) {
        if (s.contains(list)) {
          for (const auto& f : s[list]) AddFrom(f, &scope, nullptr);
        }
      }
      if (s.contains("whereClause")) Where(s["whereClause"], scope);
      if (s.contains("targetList")) Visit(s["targetList"], scope);
    }
  }

  /// Copies the reads counted during the walk into each use.
  void Finish() {
    for (size_t u = 0; u < uses.size(); ++u) uses[u].reads = reads_[u];
  }

  std::vector<TableUse> uses;

 private:
  void Select(const Json& s, const Scope* parent) {
    if (s.contains("withClause")) {
      for (const auto& cte : Member(s["withClause"], "ctes")) {
        if (cte.contains("CommonTableExpr")) Statement(cte["CommonTableExpr"]["ctequery"], parent);
      }
    }
    if (s.value("op", "SETOP_NONE") != "SETOP_NONE") {
      if (s.contains("larg")) Select(s["larg"], parent);
      if (s.contains("rarg")) Select(s["rarg"], parent);
      return;
    }
    Scope scope{parent, {}};
    std::vector<const Json*> quals;
    for (const auto& f : Member(s, "fromClause")) AddFrom(f, &scope, &quals);
    for (const Json* q : quals) Predicate(*q, scope);
    if (s.contains("whereClause")) Where(s["whereClause"], scope);
    if (s.contains("havingClause")) Visit(s["havingClause"], scope);
    if (s.contains("targetList")) Visit(s["targetList"], scope);
    for (const auto& sort : Member(s, "sortClause")) {
      if (sort.contains("SortBy")) Order(sort["SortBy"]["node"], scope);
    }
    for (const auto& g : Member(s, "groupClause")) Order(g, scope);
  }

  void AddFrom(const Json& f, Scope* scope, std::vector<const Json*>* quals) {
    if (f.contains("RangeVar")) {
      const Json& rv = f["RangeVar"];
      const TableInfo* t = catalog_.Find(rv.value("schemaname", ""), rv.value("relname", ""));
      if (t == nullptr) return;  // a CTE, view or unknown name
      TableUse u;
      u.table = t;
      u.alias = rv.contains("alias") ? rv["alias"].value("aliasname", t->name) : t->name;
      scope->items.push_back({u.alias, uses.size()});
      uses.push_back(std::move(u));
    } else if (f.contains("JoinExpr")) {
      const Json& j = f["JoinExpr"];
      if (j.contains("larg")) AddFrom(j["larg"], scope, quals);
      if (j.contains("rarg")) AddFrom(j["rarg"], scope, quals);
      if (j.contains("quals") && quals != nullptr) quals->push_back(&j["quals"]);
    } else if (f.contains("RangeSubselect")) {
      const Json& r = f["RangeSubselect"];
      // A LATERAL subquery sees the FROM items before it; others only the outer scopes.
      Statement(r["subquery"], r.value("lateral", false) ? scope : scope->parent);
    }
  }

  // The FROM item a column reference names, searched from the innermost scope outwards.
  std::optional<Ref> Resolve(const Json& fields, const Scope& scope) const {
    std::vector<std::string> names;
    for (const auto& f : fields) {
      if (!f.contains("String")) return std::nullopt;  // t.* or *
      names.push_back(Sval(f));
    }
    if (names.empty()) return std::nullopt;
    const std::string& column = names.back();
    const std::string qualifier = names.size() >= 2 ? names[names.size() - 2] : "";
    for (const Scope* s = &scope; s != nullptr; s = s->parent) {
      for (const auto& item : s->items) {
        const TableUse& u = uses[item.use];
        if (!qualifier.empty() && item.alias != qualifier) continue;
        const auto& cols = u.table->columns;
        if (std::find(cols.begin(), cols.end(), column) != cols.end()) {
          return Ref{item.use, column, true};
        }
      }
    }
    return std::nullopt;
  }

  // Deparses an expression over plain columns without qualifiers; nullopt when it holds
  // anything else (sub-queries, aggregates, window functions).
  std::optional<std::string> Deparse(const Json& n, const Scope& scope, std::set<size_t>* seen) {
    if (n.contains("ColumnRef")) {
      auto r = Resolve(n["ColumnRef"]["fields"], scope);
      if (!r) return std::nullopt;
      seen->insert(r->use);
      return QuoteIdent(r->key);
    }
    if (n.contains("A_Const")) {
      const Json& c = n["A_Const"];
      if (c.contains("ival")) return std::to_string(c["ival"].value("ival", 0));
      if (c.contains("fval")) return c["fval"].value("fval", "0");
      if (c.contains("sval")) return QuoteLiteral(c["sval"].value("sval", ""));
      if (c.contains("boolval")) return c["boolval"].value("boolval", false) ? "true" : "false";
      return std::nullopt;
    }
    if (n.contains("FuncCall")) {
      const Json& f = n["FuncCall"];
      if (f.value("agg_star", false) || f.value("agg_distinct", false) || f.contains("over")) {
        return std::nullopt;
      }
      std::string name;
      for (const auto& part : Member(f, "funcname")) {
        if (!name.empty()) name += '.';
        name += QuoteIdent(Sval(part));
      }
      std::string args;
      for (const auto& a : Member(f, "args")) {
        auto s = Deparse(a, scope, seen);
        if (!s) return std::nullopt;
        args += (args.empty() ? "" : ", ") + *s;
      }
      return name + "(" + args + ")";
    }
    if (n.contains("TypeCast")) {
      const Json& t = n["TypeCast"];
      auto arg = Deparse(t["arg"], scope, seen);
      if (!arg) return std::nullopt;
      std::string type;
      for (const auto& part : Member(t["typeName"], "names")) {
        if (!type.empty()) type += '.';
        type += QuoteIdent(Sval(part));
      }
      return "(" + *arg + ")::" + type;
    }
    if (n.contains("A_Expr") && n["A_Expr"].value("kind", "") == "AEXPR_OP") {
      const Json& e = n["A_Expr"];
      if (!e.contains("lexpr") || !e.contains("rexpr") || e["name"].size() != 1)
        return std::nullopt;
      auto l = Deparse(e["lexpr"], scope, seen);
      auto r = Deparse(e["rexpr"], scope, seen);
      if (!l || !r) return std::nullopt;
      return "(" + *l + " " + Sval(e["name"][0]) + " " + *r + ")";
    }
    return std::nullopt;
  }

  // A plain column, or an expression over the columns of exactly one FROM item.
  std::optional<Ref> Side(const Json& n, const Scope& scope) {
    if (n.contains("ColumnRef")) return Resolve(n["ColumnRef"]["fields"], scope);
    if (!n.contains("FuncCall") && !n.contains("TypeCast") && !n.contains("A_Expr")) {
      return std::nullopt;
    }
    std::set<size_t> seen;
    auto text = Deparse(n, scope, &seen);
    if (!text || seen.size() != 1) return std::nullopt;
    std::string key = *text;
    if (key.front() != '(' || n.contains("TypeCast")) key = "(" + key + ")";
    return Ref{*seen.begin(), key, false};
  }

  // FROM items (of any scope) whose columns `n` reads.
  void Items(const Json& n, const Scope& scope, std::set<size_t>* out) const {
    if (n.is_object()) {
      if (n.contains("ColumnRef")) {
        if (auto r = Resolve(n["ColumnRef"]["fields"], scope)) out->insert(r->use);
        return;
      }
      if (n.contains("SubLink")) return;  // a sub-query is evaluated apart
      for (const auto& [k, v] : n.items()) Items(v, scope, out);
    } else if (n.is_array()) {
      for (const auto& v : n) Items(v, scope, out);
    }
  }

  // Marks columns as referenced and analyses sub-queries.
  void Visit(const Json& n, const Scope& scope) {
    if (n.is_object()) {
      if (n.contains("ColumnRef")) {
        if (auto r = Resolve(n["ColumnRef"]["fields"], scope)) {
          uses[r->use].referenced.insert(r->key);
          ++reads_[r->use][r->key];
        }
        return;
      }
      if (n.contains("SubLink")) {
        const Json& l = n["SubLink"];
        if (l.contains("testexpr")) Visit(l["testexpr"], scope);
        if (l.contains("subselect")) Statement(l["subselect"], &scope);
        return;
      }
      for (const auto& [k, v] : n.items()) Visit(v, scope);
    } else if (n.is_array()) {
      for (const auto& v : n) Visit(v, scope);
    }
  }

  // Records `side op other`: kind 'e' equality, 'r' range.
  void Compare(const Json& side, const Json* other, char kind, const Scope& scope) {
    auto ref = Side(side, scope);
    if (!ref) return;
    std::set<size_t> others;
    if (other != nullptr) Items(*other, scope, &others);
    if (others.count(ref->use)) return;  // col = f(col of the same item): no index use
    TableUse& u = uses[ref->use];
    if (record_ != nullptr) record_->push_back({ref->use, ref->key});
    if (kind == 'r') {
      AddUnique(&u.range, ref->key);
    } else if (others.empty()) {
      AddUnique(&u.equality, ref->key);
    } else {
      AddUnique(&u.join, ref->key);
    }
  }

  // A WHERE clause: its top-level conjuncts filter every row read.
  void Where(const Json& n, const Scope& scope) {
    const bool saved = conjunct_;
    conjunct_ = true;
    Predicate(n, scope);
    conjunct_ = saved;
  }

  // Records a constant filter of `ref`'s FROM item: into the OR branch being collected
  // (filter_sink_), or on the table use.
  void AddFilter(const Ref& ref, ConstantFilter f) {
    if (filter_sink_ != nullptr) {
      filter_sink_->push_back({ref.use, std::move(f)});
    } else {
      uses[ref.use].constant_filters.push_back(std::move(f));
    }
  }

  // Records `col = literal` / `col IN (literals)` as a constant filter of col's FROM item.
  void ConstantEquality(const Json& col, const Json& rhs, const Scope& scope) {
    if (!conjunct_ || !col.contains("ColumnRef")) return;
    auto ref = Resolve(col["ColumnRef"]["fields"], scope);
    if (!ref) return;
    std::vector<const Json*> items;
    const bool in = rhs.contains("List");
    if (in) {
      for (const auto& item : Member(rhs["List"], "items")) items.push_back(&item);
    } else {
      items.push_back(&rhs);
    }
    std::string list;
    for (const Json* item : items) {
      auto text = Literal(*item);
      if (!text) return;  // a parameter, column or expression
      list += (list.empty() ? "" : ", ") + *text;
    }
    if (items.empty()) return;
    const std::string sql = QuoteIdent(ref->key) + (in ? " IN (" + list + ")" : " = " + list);
    AddFilter(*ref, {ref->key, sql, static_cast<int>(items.size()), false, "", 1});
  }

  // Records `col op literal` (op one of < <= > >=, `literal op col` flipped) or `col BETWEEN
  // literal AND literal` as a constant range filter of col's FROM item.
  void ConstantRange(const Json& e, const Scope& scope) {
    if (!conjunct_) return;
    const std::string kind = e.value("kind", "");
    const Json& l = e["lexpr"];
    const Json& r = e["rexpr"];
    if (kind == "AEXPR_BETWEEN") {
      if (!l.contains("ColumnRef") || !r.contains("List")) return;
      const Json& bounds = Member(r["List"], "items");
      if (bounds.size() != 2) return;
      auto ref = Resolve(l["ColumnRef"]["fields"], scope);
      auto lo = Literal(bounds[0]), hi = Literal(bounds[1]);
      if (!ref || !lo || !hi) return;
      AddFilter(*ref, {ref->key, QuoteIdent(ref->key) + " BETWEEN " + *lo + " AND " + *hi, 0, true,
                       "", 1});
      return;
    }
    std::string op = Sval(e["name"].back());
    const Json* col = &l;
    const Json* value = &r;
    if (!l.contains("ColumnRef")) {  // 5 < col  ==  col > 5
      std::swap(col, value);
      static const std::map<std::string, std::string> kFlip = {
          {"<", ">"}, {">", "<"}, {"<=", ">="}, {">=", "<="}};
      op = kFlip.at(op);
    }
    if (!col->contains("ColumnRef")) return;
    auto ref = Resolve((*col)["ColumnRef"]["fields"], scope);
    if (ref && value->contains("ColumnRef")) {  // a column comparison within one row
      auto other = Resolve((*value)["ColumnRef"]["fields"], scope);
      if (!other || other->use != ref->use || other->key == ref->key) return;
      AddFilter(*ref, {ref->key, QuoteIdent(ref->key) + " " + op + " " + QuoteIdent(other->key), 0,
                       true, other->key});
      return;
    }
    auto text = Literal(*value);
    if (!ref || !text) return;
    AddFilter(*ref, {ref->key, QuoteIdent(ref->key) + " " + op + " " + *text, 0, true, "", 1});
  }

  // The constant filters among the top-level AND conjuncts of `n` (one OR branch).
  void BranchFilters(const Json& n, const Scope& scope) {
    if (n.contains("BoolExpr")) {
      if (n["BoolExpr"].value("boolop", "") != "AND_EXPR") return;
      for (const auto& a : Member(n["BoolExpr"], "args")) BranchFilters(a, scope);
      return;
    }
    if (!n.contains("A_Expr")) return;
    const Json& e = n["A_Expr"];
    const std::string kind = e.value("kind", "");
    const std::string op = e.contains("name") && !e["name"].empty() ? Sval(e["name"].back()) : "";
    if (!e.contains("lexpr") || !e.contains("rexpr")) return;
    if ((kind == "AEXPR_OP" || kind == "AEXPR_IN") && op == "=") {
      ConstantEquality(e["lexpr"], e["rexpr"], scope);
      if (kind == "AEXPR_OP") ConstantEquality(e["rexpr"], e["lexpr"], scope);
    } else if (kind == "AEXPR_BETWEEN" ||
               (kind == "AEXPR_OP" && (op == "<" || op == ">" || op == "<=" || op == ">="))) {
      ConstantRange(e, scope);
    }
  }

  // Filters common to every branch of the OR `args` (same FROM item, same SQL) hold for every
  // row, as the planner factors them out of the OR; they are recorded on their table uses.
  void CommonOrFilters(const Json& args, const Scope& scope) {
    std::vector<std::pair<size_t, ConstantFilter>> common;
    bool first = true;
    for (const auto& a : args) {
      std::vector<std::pair<size_t, ConstantFilter>> branch;
      filter_sink_ = &branch;
      conjunct_ = true;
      BranchFilters(a, scope);
      filter_sink_ = nullptr;
      if (first) {
        common = std::move(branch);
        first = false;
        continue;
      }
      std::erase_if(common, [&](const auto& c) {
        return std::none_of(branch.begin(), branch.end(), [&](const auto& b) {
          return b.first == c.first && b.second.sql == c.second.sql;
        });
      });
    }
    std::set<std::pair<size_t, std::string>> added;
    for (auto& [use, f] : common) {
      if (!added.insert({use, f.sql}).second) continue;
      f.occurrences = static_cast<int>(args.size());  // one read per branch
      uses[use].constant_filters.push_back(std::move(f));
    }
  }

  void Predicate(const Json& n, const Scope& scope) {
    if (n.contains("BoolExpr")) {
      // AND, OR and NOT alike: each branch's columns.
      const Json& b = n["BoolExpr"];
      const bool saved = conjunct_;
      if (b.value("boolop", "") != "AND_EXPR") conjunct_ = false;
      if (b.value("boolop", "") != "OR_EXPR" || record_ != nullptr) {
        for (const auto& a : Member(b, "args")) Predicate(a, scope);
        conjunct_ = saved;
        return;
      }
      // OR: a BitmapOr needs an index per branch; remember each branch's first key.
      if (saved) CommonOrFilters(Member(b, "args"), scope);
      conjunct_ = false;
      std::vector<std::pair<size_t, std::string>> group;
      bool complete = true;
      for (const auto& a : Member(b, "args")) {
        std::vector<std::pair<size_t, std::string>> branch;
        record_ = &branch;
        Predicate(a, scope);
        record_ = nullptr;
        if (branch.empty() || (!group.empty() && branch[0].first != group[0].first)) {
          complete = false;
        } else {
          group.push_back(branch[0]);
        }
      }
      if (complete && group.size() >= 2) {
        std::vector<std::string> keys;
        for (const auto& [use, key] : group) AddUnique(&keys, key);
        if (keys.size() >= 2) uses[group[0].first].or_groups.push_back(keys);
      }
      conjunct_ = saved;
      return;
    }
    if (n.contains("A_Expr")) {
      const Json& e = n["A_Expr"];
      const std::string kind = e.value("kind", "");
      const std::string op = e.contains("name") && !e["name"].empty() ? Sval(e["name"].back()) : "";
      const Json* l = e.contains("lexpr") ? &e["lexpr"] : nullptr;
      const Json* r = e.contains("rexpr") ? &e["rexpr"] : nullptr;
      if (l && r) {
        if (kind == "AEXPR_OP" && op == "=") {
          Compare(*l, r, 'e', scope);
          Compare(*r, l, 'e', scope);
          ConstantEquality(*l, *r, scope);
          ConstantEquality(*r, *l, scope);
        } else if (kind == "AEXPR_OP" && (op == "<" || op == ">" || op == "<=" || op == ">=")) {
          Compare(*l, r, 'r', scope);
          Compare(*r, l, 'r', scope);
          ConstantRange(e, scope);
        } else if (kind == "AEXPR_IN" && op == "=") {
          Compare(*l, r, 'e', scope);
          ConstantEquality(*l, *r, scope);
        } else if (kind == "AEXPR_BETWEEN") {
          Compare(*l, r, 'r', scope);
          ConstantRange(e, scope);
        } else if (kind == "AEXPR_LIKE" && op == "~~" && r->contains("A_Const")) {
          // Only a pattern with a fixed prefix can use a B-tree (C collation or pattern_ops).
          const std::string pattern =
              (*r)["A_Const"].value("sval", Json::object()).value("sval", "");
          if (!pattern.empty() && pattern[0] != '%' && pattern[0] != '_')
            Compare(*l, r, 'r', scope);
        }
      }
      Visit(n, scope);
      return;
    }
    if (n.contains("NullTest")) {
      if (n["NullTest"].value("nulltesttype", "") == "IS_NULL") {
        Compare(n["NullTest"]["arg"], nullptr, 'e', scope);
      }
      Visit(n, scope);
      return;
    }
    if (n.contains("SubLink")) {
      const Json& l = n["SubLink"];
      // x IN (SELECT ...): x is joined to the sub-query's output.
      if (l.value("subLinkType", "") == "ANY_SUBLINK" && l.contains("testexpr")) {
        Compare(l["testexpr"], &l["subselect"], 'e', scope);
      }
    }
    Visit(n, scope);
  }

  void Order(const Json& n, const Scope& scope) {
    if (auto r = Side(n, scope)) AddUnique(&uses[r->use].order, r->key);
    Visit(n, scope);
  }

  const Catalog& catalog_;
  std::vector<std::pair<size_t, std::string>>* record_ = nullptr;  // keys of an OR branch
  bool conjunct_ = false;  // walking a top-level conjunct of a WHERE clause
  std::vector<std::pair<size_t, ConstantFilter>>* filter_sink_ = nullptr;  // an OR branch's
  std::map<size_t, std::map<std::string, int>> reads_;  // column reads per FROM item
};

bool ProvidedByExisting(const IndexCandidate& c, const Catalog& catalog) {
  for (const auto& ix : catalog.indexes) {
    if (ix.table != c.table->name || ix.method != "btree" || ix.partial) continue;
    if (!c.predicate.empty()) continue;  // a full index is bigger: still worth a partial one
    if (c.keys.size() > ix.keys.size()) continue;
    if (!std::equal(c.keys.begin(), c.keys.end(), ix.keys.begin())) continue;
    bool covered = true;
    for (const auto& inc : c.include) {
      covered =
          covered && (std::find(ix.keys.begin(), ix.keys.end(), inc) != ix.keys.end() ||
                      std::find(ix.include.begin(), ix.include.end(), inc) != ix.include.end());
    }
    if (covered) return true;
  }
  return false;
}

}  // namespace

std::string IndexCandidate::CreateSql() const {
  std::string sql = "CREATE INDEX ON ";
  if (!table->visible) sql += QuoteIdent(table->schema) + ".";
  sql += QuoteIdent(table->name) + " (";
  for (size_t i = 0; i < keys.size(); ++i) {
    sql += (i ? ", " : "") + (keys[i].front() == '(' ? keys[i] : QuoteIdent(keys[i]));
  }
  sql += ")";
  if (!include.empty()) {
    sql += " INCLUDE (";
    for (size_t i = 0; i < include.size(); ++i) sql += (i ? ", " : "") + QuoteIdent(include[i]);
    sql += ")";
  }
  if (!predicate.empty()) sql += " WHERE " + predicate;
  return sql;
}

std::string IndexCandidate::Id() const {
  std::string id = table->schema + "." + table->name + "(";
  for (size_t i = 0; i < keys.size(); ++i) id += (i ? "," : "") + keys[i];
  id += ")";
  if (!include.empty()) {
    id += "+(";
    for (size_t i = 0; i < include.size(); ++i) id += (i ? "," : "") + include[i];
    id += ")";
  }
  if (!predicate.empty()) id += "|" + predicate;
  return id;
}

std::vector<TableUse> AnalyzeStatement(const Statement& stmt, const Catalog& catalog) {
  Analyzer a(catalog);
  a.Statement(stmt.tree, nullptr);
  a.Finish();
  return std::move(a.uses);
}

namespace {

// The candidates of GenerateCandidates for `use` without its partial ones, each `WHERE
// predicate` ("" for full indexes).
std::vector<IndexCandidate> KeyCandidates(const TableUse& use, const Catalog& catalog,
                                          const std::string& predicate) {
  std::vector<std::string> eq = use.equality;
  for (const auto& j : use.join) AddUnique(&eq, j);
  if (eq.size() > kMaxEqualityKeys) eq.resize(kMaxEqualityKeys);
  std::vector<std::string> range;
  for (const auto& r : use.range) {
    if (std::find(eq.begin(), eq.end(), r) == eq.end()) AddUnique(&range, r);
  }
  if (range.size() > kMaxRangeKeys) range.resize(kMaxRangeKeys);

  std::vector<std::vector<std::string>> keysets;
  for (const auto& e : eq) keysets.push_back({e});
  for (const auto& r : range) keysets.push_back({r});
  if (!use.order.empty()) {
    keysets.push_back({use.order[0]});
    if (use.order.size() > 1) keysets.push_back(use.order);
  }
  for (const auto& e1 : eq) {
    for (const auto& e2 : eq) {
      if (e1 == e2) continue;
      keysets.push_back({e1, e2});
      for (const auto& r : range) keysets.push_back({e1, e2, r});
    }
    for (const auto& r : range) keysets.push_back({e1, r});
    if (!use.order.empty() &&
        std::find(use.order.begin(), use.order.end(), e1) == use.order.end()) {
      std::vector<std::string> k{e1};
      k.insert(k.end(), use.order.begin(), use.order.end());
      keysets.push_back(k);
    }
  }

  std::vector<IndexCandidate> out;
  std::set<std::string> ids;
  auto add = [&](IndexCandidate c) {
    c.predicate = predicate;
    if (ProvidedByExisting(c, catalog)) return;
    if (ids.insert(c.Id()).second) out.push_back(std::move(c));
  };
  for (const auto& keys : keysets) {
    IndexCandidate c{use.table, keys, {}, ""};
    add(c);
    bool plain = std::none_of(keys.begin(), keys.end(),
                              [](const std::string& k) { return k.front() == '('; });
    if (!plain) continue;
    std::vector<std::string> rest;
    for (const auto& col : use.referenced) {  // std::set: sorted
      if (std::find(keys.begin(), keys.end(), col) == keys.end()) rest.push_back(col);
    }
    if (!rest.empty() && rest.size() <= kMaxIncludeColumns) {
      c.include = rest;
      add(c);
    }
  }

  return out;
}

}  // namespace

std::vector<IndexCandidate> GenerateCandidates(const TableUse& use, const Catalog& catalog) {
  std::vector<IndexCandidate> out = KeyCandidates(use, catalog, "");
  // Partial candidates: the other columns' candidates, WHERE the low-cardinality filters.
  std::string predicate;
  std::set<std::string> filtered, sqls;
  std::map<std::string, int> predicate_reads;  // column reads the predicate accounts for
  auto take = [&](const ConstantFilter& f) {
    if (!sqls.insert(f.sql).second) return;
    predicate += (predicate.empty() ? "" : " AND ") + f.sql;
    predicate_reads[f.column] += f.occurrences;
    if (!f.column2.empty()) predicate_reads[f.column2] += f.occurrences;
  };
  for (const auto& f : use.constant_filters) {
    if (!f.column2.empty()) continue;
    auto nd = use.table->n_distinct.find(f.column);
    if (nd == use.table->n_distinct.end() || nd->second > kMaxPartialDistinct) continue;
    if (!f.range && f.values > kMaxPartialFraction * nd->second) continue;
    filtered.insert(f.column);
    take(f);
  }
  if (predicate.empty()) return out;
  for (const auto& f : use.constant_filters) {
    if (!f.column2.empty()) take(f);
  }
  TableUse rest = use;
  rest.constant_filters.clear();
  auto drop = [&](std::vector<std::string>* v) {
    v->erase(std::remove_if(v->begin(), v->end(),
                            [&](const std::string& c) { return filtered.count(c) > 0; }),
             v->end());
  };
  drop(&rest.equality);
  drop(&rest.join);
  drop(&rest.range);
  // A column only the predicate reads need not be stored (PostgreSQL 9.6+ index-only scans).
  for (const auto& [c, n] : predicate_reads) {
    auto r = use.reads.find(c);
    if (r == use.reads.end() || r->second <= n) rest.referenced.erase(c);
  }
  for (auto& c : KeyCandidates(rest, catalog, predicate)) out.push_back(std::move(c));
  return out;
}

}  // namespace backsight::db

namespace backsight::db {

std::vector<std::vector<IndexCandidate>> GenerateOrBundles(const TableUse& use,
                                                           const Catalog& catalog) {
  std::vector<std::vector<IndexCandidate>> out;
  for (const auto& group : use.or_groups) {
    std::vector<IndexCandidate> bundle;
    for (const auto& key : group) {
      IndexCandidate c{use.table, {key}, {}, ""};
      if (!ProvidedByExisting(c, catalog)) bundle.push_back(std::move(c));
    }
    if (bundle.size() >= 2) out.push_back(std::move(bundle));
  }
  return out;
}

}  // namespace backsight::db
