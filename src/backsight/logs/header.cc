#include "backsight/logs/header.h"

#include <nlohmann/json.hpp>

#include "backsight/core/time.h"
#include "backsight/logs/masker.h"

namespace backsight::logs {

struct HeaderLayout::Node {
  enum class Kind { kLiteral, kSpace, kAny, kField, kGroup } kind = Kind::kLiteral;
  std::string text;               // kLiteral
  int field = -1;                 // kField
  bool optional = false;          // kGroup
  std::vector<Node> children;     // kGroup
  std::vector<int> group_fields;  // fields inside a group (to clear when skipped)
};

namespace {

using Node = HeaderLayout::Node;

constexpr long kStepBudget = 200000;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

struct Parser {
  std::string_view f;
  size_t pos = 0;
  std::vector<std::string>* names;

  Status Err(size_t at, const std::string& why) const {
    return Status::InvalidArgument("header layout: byte " + std::to_string(at) + ": " + why);
  }

  void AppendLiteral(std::vector<Node>* seq, char c) {
    if (!seq->empty() && seq->back().kind == Node::Kind::kLiteral) {
      seq->back().text.push_back(c);
      return;
    }
    Node n;
    n.kind = Node::Kind::kLiteral;
    n.text.push_back(c);
    seq->push_back(std::move(n));
  }

  // Parses until ')' (depth > 0) or end.
  Status ParseSeq(std::vector<Node>* seq, int depth, std::vector<int>* fields_here) {
    while (pos < f.size()) {
      char c = f[pos];
      if (c == ')') {
        if (depth == 0) return Err(pos, "unbalanced ')'");
        return Status::OK();
      }
      if (c == '(') {
        size_t open = pos++;
        Node g;
        g.kind = Node::Kind::kGroup;
        BACKSIGHT_RETURN_IF_ERROR(ParseSeq(&g.children, depth + 1, &g.group_fields));
        if (pos >= f.size() || f[pos] != ')') return Err(open, "unbalanced '('");
        ++pos;
        if (pos < f.size() && f[pos] == '?') {
          g.optional = true;
          ++pos;
        }
        if (depth > 64) return Err(open, "groups nested too deeply");
        fields_here->insert(fields_here->end(), g.group_fields.begin(), g.group_fields.end());
        seq->push_back(std::move(g));
        continue;
      }
      if (c == '<') {
        size_t close = f.find('>', pos + 1);
        if (close == std::string_view::npos) return Err(pos, "unterminated '<' field");
        std::string_view name = f.substr(pos + 1, close - pos - 1);
        if (name.empty()) return Err(pos, "empty field name");
        for (char ch : name) {
          if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '_')) {
            return Err(pos, "field name must be letters, digits or '_'");
          }
        }
        for (const std::string& n : *names) {
          if (n == name) return Err(pos, "field <" + std::string(name) + "> repeated");
        }
        Node n;
        n.kind = Node::Kind::kField;
        n.field = static_cast<int>(names->size());
        names->emplace_back(name);
        fields_here->push_back(n.field);
        seq->push_back(std::move(n));
        pos = close + 1;
        continue;
      }
      if (IsSpace(c)) {
        while (pos < f.size() && IsSpace(f[pos])) ++pos;
        Node n;
        n.kind = Node::Kind::kSpace;
        seq->push_back(std::move(n));
        continue;
      }
      if (c == '\\') {
        if (pos + 1 >= f.size()) return Err(pos, "trailing backslash");
        char e = f[pos + 1];
        pos += 2;
        if (e == 's') {
          Node n;
          n.kind = Node::Kind::kSpace;
          seq->push_back(std::move(n));
          continue;
        }
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
          return Err(pos - 2, std::string("unsupported escape '\\") + e + "'");
        }
        AppendLiteral(seq, e);
        continue;
      }
      if (c == '.') {
        Node n;
        n.kind = Node::Kind::kAny;
        seq->push_back(std::move(n));
        ++pos;
        continue;
      }
      if (c == '*' || c == '+' || c == '|' || c == '{' || c == '}' || c == '^' || c == '$' ||
          c == '[' || c == ']' || c == '?') {
        return Err(pos, std::string("unsupported regex syntax '") + c + "' (escape it as '\\" + c +
                            "' for a literal)");
      }
      AppendLiteral(seq, c);
      ++pos;
    }
    if (depth > 0) return Err(pos, "unbalanced '(' (missing ')')");
    return Status::OK();
  }
};

struct Frame {
  const std::vector<Node>* seq;
  size_t idx;
  const Frame* next;
};

struct Matcher {
  std::string_view line;
  std::vector<std::string_view>* values;
  long steps = 0;

  bool M(const Frame* fr, size_t pos) {
    if (++steps > kStepBudget) return false;
    if (fr == nullptr) return pos == line.size();
    if (fr->idx == fr->seq->size()) return M(fr->next, pos);
    const Node& n = (*fr->seq)[fr->idx];
    Frame nf{fr->seq, fr->idx + 1, fr->next};
    switch (n.kind) {
      case Node::Kind::kLiteral:
        if (line.size() - pos >= n.text.size() && line.compare(pos, n.text.size(), n.text) == 0) {
          return M(&nf, pos + n.text.size());
        }
        return false;
      case Node::Kind::kAny:
        return pos < line.size() && M(&nf, pos + 1);
      case Node::Kind::kSpace: {
        size_t e = pos;
        while (e < line.size() && IsSpace(line[e])) ++e;
        for (size_t k = e; k > pos; --k) {  // greedy, then backtrack
          if (M(&nf, k)) return true;
          if (steps > kStepBudget) return false;
        }
        return false;
      }
      case Node::Kind::kField: {
        // Look at what follows to skip impossible ends: end of layout, or a literal.
        const Frame* nx = &nf;
        while (nx != nullptr && nx->idx == nx->seq->size()) nx = nx->next;
        if (nx == nullptr) {
          (*values)[n.field] = line.substr(pos);
          return M(&nf, line.size());
        }
        const Node& follow = (*nx->seq)[nx->idx];
        if (follow.kind == Node::Kind::kLiteral) {
          for (size_t e = line.find(follow.text, pos); e != std::string_view::npos;
               e = line.find(follow.text, e + 1)) {  // lazy: shortest first
            (*values)[n.field] = line.substr(pos, e - pos);
            if (M(&nf, e)) return true;
            if (steps > kStepBudget) return false;
          }
          return false;
        }
        for (size_t e = pos; e <= line.size(); ++e) {  // lazy
          (*values)[n.field] = line.substr(pos, e - pos);
          if (M(&nf, e)) return true;
          if (steps > kStepBudget) return false;
        }
        return false;
      }
      case Node::Kind::kGroup: {
        Frame inner{&n.children, 0, &nf};
        if (M(&inner, pos)) return true;
        if (!n.optional || steps > kStepBudget) return false;
        for (int f : n.group_fields) (*values)[f] = std::string_view();
        return M(&nf, pos);
      }
    }
    return false;
  }
};

}  // namespace

Status HeaderLayout::Parse(std::string_view format, HeaderLayout* out) {
  // The matcher recurses once per layout node; a bound on the layout keeps the stack small.
  if (format.size() > 4096) {
    return Status::InvalidArgument("header layout: longer than 4096 bytes (" +
                                   std::to_string(format.size()) + ")");
  }
  HeaderLayout h;
  auto nodes = std::make_shared<std::vector<Node>>();
  Parser p{format, 0, &h.names_};
  std::vector<int> fields;
  BACKSIGHT_RETURN_IF_ERROR(p.ParseSeq(nodes.get(), 0, &fields));
  h.content_ = h.FieldIndex("Content");
  if (h.content_ < 0) return Status::InvalidArgument("header layout: no <Content> field");
  h.level_ = h.FieldIndex("Level");
  if (h.level_ < 0) h.level_ = h.FieldIndex("Severity");
  h.nodes_ = std::move(nodes);
  h.kind_ = Kind::kPattern;
  *out = std::move(h);
  return Status::OK();
}

Status HeaderLayout::Preset(std::string_view name, HeaderLayout* out) {
  if (name == "raw" || name == "none") {
    HeaderLayout h;
    h.names_ = {"Content"};
    h.content_ = 0;
    h.kind_ = Kind::kRaw;
    *out = std::move(h);
    return Status::OK();
  }
  if (name == "syslog") {
    return Parse("<Month> <Day> <Time> <Host> <Component>(\\[<Pid>\\])?: <Content>", out);
  }
  if (name == "json") {
    HeaderLayout h;
    h.names_ = {"Time", "Level", "Content"};
    h.content_ = 2;
    h.level_ = 1;
    h.kind_ = Kind::kJson;
    *out = std::move(h);
    return Status::OK();
  }
  return Status::InvalidArgument("unknown header preset '" + std::string(name) +
                                 "' (known: raw, syslog, json)");
}

int HeaderLayout::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (IEquals(names_[i], name)) return static_cast<int>(i);
  }
  return -1;
}

bool HeaderLayout::Match(std::string_view line, HeaderFields* fields) const {
  fields->values.assign(names_.size(), std::string_view());
  fields->owned.clear();
  // Strip surrounding whitespace, as Loghub's loader does.
  size_t b = 0, e = line.size();
  while (b < e && IsSpace(line[b])) ++b;
  while (e > b && IsSpace(line[e - 1])) --e;
  line = line.substr(b, e - b);
  switch (kind_) {
    case Kind::kRaw:
      fields->values[0] = line;
      return true;
    case Kind::kJson: {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return false;
      auto pick = [&](std::initializer_list<const char*> keys) -> std::string {
        for (const char* k : keys) {
          auto it = j.find(k);
          if (it == j.end()) continue;
          if (it->is_string()) return it->get<std::string>();
          return it->dump();
        }
        return std::string();
      };
      fields->owned.reserve(3);
      fields->owned.push_back(pick({"time", "timestamp", "@timestamp", "ts"}));
      fields->owned.push_back(pick({"level", "severity", "lvl", "loglevel"}));
      if (j.contains("message") || j.contains("msg") || j.contains("log")) {
        fields->owned.push_back(pick({"message", "msg", "log"}));
      } else {
        return false;
      }
      for (size_t i = 0; i < 3; ++i) fields->values[i] = fields->owned[i];
      return true;
    }
    case Kind::kPattern: {
      Matcher m{line, &fields->values};
      Frame root{nodes_.get(), 0, nullptr};
      if (m.M(&root, 0)) return true;
      fields->values.assign(names_.size(), std::string_view());
      return false;
    }
  }
  return false;
}

bool ExtractTimestamp(const HeaderLayout& layout, const HeaderFields& fields, int64_t* ts_ns) {
  auto field = [&](const char* name) -> std::string_view {
    int i = layout.FieldIndex(name);
    return i < 0 ? std::string_view() : fields.values[i];
  };
  auto try_parse = [&](std::string_view text) {
    return !text.empty() && TryParseTimestamp(text, ts_ns);
  };
  // Only a field named Timestamp may be a bare epoch number; "203615" in a Time field is a
  // clock time, not seconds since 1970.
  auto not_bare = [](std::string_view t) {
    return t.find_first_not_of("0123456789.") != std::string_view::npos;
  };
  if (try_parse(field("Timestamp"))) return true;
  std::string_view date = field("Date"), time = field("Time");
  if (!date.empty() && !time.empty() && date.size() + time.size() < 128) {
    char buf[128];  // "Date Time" joined on the stack: this runs once per log line
    date.copy(buf, date.size());
    buf[date.size()] = ' ';
    time.copy(buf + date.size() + 1, time.size());
    const std::string_view joined(buf, date.size() + 1 + time.size());
    if (not_bare(joined) && try_parse(joined)) return true;
  }
  return (not_bare(time) && try_parse(time)) || (not_bare(date) && try_parse(date));
}

}  // namespace backsight::logs
