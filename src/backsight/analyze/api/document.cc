#include "backsight/analyze/api/document.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "backsight/core/file_util.h"

namespace backsight::api {

const Node* Node::Get(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : map) {
    if (k == key) return v;
  }
  return nullptr;
}

std::string_view Node::Str(std::string_view key, std::string_view fallback) const {
  const Node* v = Get(key);
  return v != nullptr && v->IsScalar() ? std::string_view(v->scalar) : fallback;
}

bool Node::Flag(std::string_view key) const {
  const Node* v = Get(key);
  return v != nullptr && v->IsScalar() && v->scalar == "true";
}

std::string Node::Where() const {
  return (doc != nullptr ? doc->path() : std::string("?")) + ":" + std::to_string(line);
}

const Node* Deref(const Node* n) {
  for (int hop = 0; n != nullptr && n->ref != nullptr && hop < kMaxRefHops; ++hop) n = n->ref;
  return n;
}

namespace {

Status Malformed(const std::string& file, int line, int column, const std::string& why) {
  return Status::InvalidArgument(Reason::kMalformed, file + ":" + std::to_string(line) + ":" +
                                                         std::to_string(column) + ": " + why);
}

// Deepest flow/block nesting, found without recursion before yaml-cpp (whose recursive-descent
// parser has no depth limit) sees the text. Brackets inside quoted scalars are skipped; block
// nesting is bounded by indentation columns (one level per deeper indentation). Returns the line
// of the first excess, or 0 when within kMaxNestingDepth.
int FindExcessNesting(std::string_view text) {
  int depth = 0, line = 1, indent = 0;
  bool at_line_start = true;
  char quote = 0;
  for (char c : text) {
    if (c == '\n') {
      ++line;
      at_line_start = true;
      indent = 0;
      if (quote == '"' || quote == '\'') continue;  // multi-line quoted scalars
      continue;
    }
    if (at_line_start) {
      if (c == ' ' || c == '-') {
        if (++indent > kMaxNestingDepth * 8) return line;
        continue;
      }
      at_line_start = false;
    }
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNestingDepth) return line;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return 0;
}

}  // namespace

/// Parses files into Documents and resolves references (friend of Document and Spec).
class SpecLoader {
 public:
  SpecLoader(Spec* spec, bool allow_files) : spec_(spec), allow_files_(allow_files) {}

  Status AddText(std::string_view text, const std::string& path) {
    if (spec_->docs_.size() >= kMaxDocuments) {
      return Status::InvalidArgument(
          Reason::kTooLarge,
          path + ": more than " + std::to_string(kMaxDocuments) + " files reached through $ref");
    }
    if (int line = FindExcessNesting(text); line != 0) {
      return Malformed(path, line, 1,
                       "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    }
    auto doc = std::make_unique<Document>(path);
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return Malformed(path, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    Document* d = doc.get();
    index_[Key(path)] = d;
    spec_->docs_.push_back(std::move(doc));
    Status st = Convert(root, d, 0, &d->root_);
    return st;
  }

  Status AddFile(const std::string& path) {
    std::string text;
    BACKSIGHT_RETURN_IF_ERROR(ReadFileToString(path, &text));
    return AddText(text, path);
  }

  // Resolves every reference of every document, loading referenced files as they are met.
  Status ResolveAll() {
    for (size_t i = 0; i < spec_->docs_.size(); ++i) {
      Document* d = spec_->docs_[i].get();
      for (Node& n : d->nodes_) {
        if (n.kind != Node::Kind::kMap) continue;
        const Node* r = n.Get("$ref");
        if (r == nullptr || !r->IsScalar()) continue;
        n.ref_text = r->scalar;
        BACKSIGHT_RETURN_IF_ERROR(Resolve(d, r, &n.ref));
      }
    }
    return Status::OK();
  }

 private:
  static std::string Key(const std::string& path) {
    return std::filesystem::path(path).lexically_normal().string();
  }

  Status Convert(const YAML::Node& y, Document* d, int depth, const Node** out) {
    if (++nodes_ > kMaxNodes) {
      return Status::InvalidArgument(
          Reason::kTooLarge,
          d->path_ + ": more than " + std::to_string(kMaxNodes) + " nodes (alias expansion?)");
    }
    if (depth > kMaxNestingDepth) {
      return Malformed(d->path_, y.Mark().line + 1, y.Mark().column + 1, "nesting too deep");
    }
    Node& n = d->nodes_.emplace_back();
    n.doc = d;
    n.line = y.Mark().line + 1;
    n.column = y.Mark().column + 1;
    *out = &n;
    switch (y.Type()) {
      case YAML::NodeType::Scalar:
        n.kind = Node::Kind::kScalar;
        n.scalar = y.Scalar();
        n.quoted = y.Tag() == "!";
        break;
      case YAML::NodeType::Sequence:
        n.kind = Node::Kind::kSeq;
        for (const auto& item : y) {
          const Node* c = nullptr;
          BACKSIGHT_RETURN_IF_ERROR(Convert(item, d, depth + 1, &c));
          n.seq.push_back(c);
        }
        break;
      case YAML::NodeType::Map:
        n.kind = Node::Kind::kMap;
        for (const auto& kv : y) {
          const Node* c = nullptr;
          BACKSIGHT_RETURN_IF_ERROR(Convert(kv.second, d, depth + 1, &c));
          n.map.emplace_back(kv.first.IsScalar() ? kv.first.Scalar() : std::string(), c);
        }
        break;
      default:
        n.kind = Node::Kind::kNull;
    }
    return Status::OK();
  }

  // Resolves the reference written at `r` (a scalar inside document `d`).
  Status Resolve(Document* d, const Node* r, const Node** target) {
    const std::string& ref = r->scalar;
    size_t hash = ref.find('#');
    std::string file = ref.substr(0, hash);
    std::string pointer = hash == std::string::npos ? std::string() : ref.substr(hash + 1);
    if (file.find("://") != std::string::npos) return Status::OK();  // remote: left unresolved
    const Document* td = d;
    if (!file.empty()) {
      if (!allow_files_) {
        return Malformed(d->path_, r->line, r->column, "$ref to another file: '" + ref + "'");
      }
      std::string path =
          (std::filesystem::path(d->path_).parent_path() / file).lexically_normal().string();
      auto it = index_.find(Key(path));
      if (it == index_.end()) {
        Status st = AddFile(path);
        if (!st.ok()) {
          return Malformed(d->path_, r->line, r->column, "$ref '" + ref + "': " + st.message());
        }
        it = index_.find(Key(path));
      }
      td = it->second;
    }
    const Node* n = td->root_;
    size_t pos = 0;
    if (!pointer.empty() && pointer[0] == '/') pos = 1;
    while (n != nullptr && pos <= pointer.size() && !pointer.empty()) {
      size_t slash = pointer.find('/', pos);
      std::string tok = Unescape(
          pointer.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
      if (n->IsSeq()) {
        char* end = nullptr;
        unsigned long idx = std::strtoul(tok.c_str(), &end, 10);
        n = (!tok.empty() && *end == '\0' && idx < n->seq.size()) ? n->seq[idx] : nullptr;
      } else {
        n = n->Get(tok);
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    if (n == nullptr) {
      return Malformed(d->path_, r->line, r->column, "$ref '" + ref + "' points to nothing");
    }
    *target = n;
    return Status::OK();
  }

  // JSON pointer token: percent-decoding (URI fragment), then ~1 -> '/', ~0 -> '~' (RFC 6901).
  static std::string Unescape(const std::string& tok) {
    std::string pct;
    for (size_t i = 0; i < tok.size(); ++i) {
      if (tok[i] == '%' && i + 2 < tok.size() + 0 && std::isxdigit((unsigned char)tok[i + 1]) &&
          std::isxdigit((unsigned char)tok[i + 2])) {
        pct.push_back(static_cast<char>(std::stoi(tok.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        pct.push_back(tok[i]);
      }
    }
    std::string out;
    for (size_t i = 0; i < pct.size(); ++i) {
      if (pct[i] == '~' && i + 1 < pct.size() && (pct[i + 1] == '0' || pct[i + 1] == '1')) {
        out.push_back(pct[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        out.push_back(pct[i]);
      }
    }
    return out;
  }

  Spec* spec_;
  bool allow_files_;
  size_t nodes_ = 0;
  std::unordered_map<std::string, Document*> index_;
};

Status LoadSpec(const std::string& path, Spec* out) {
  *out = Spec();
  SpecLoader loader(out, /*allow_files=*/true);
  BACKSIGHT_RETURN_IF_ERROR(loader.AddFile(path));
  return loader.ResolveAll();
}

Status LoadSpecText(std::string_view text, const std::string& name, Spec* out, bool allow_files) {
  *out = Spec();
  SpecLoader loader(out, allow_files);
  BACKSIGHT_RETURN_IF_ERROR(loader.AddText(text, name));
  return loader.ResolveAll();
}

}  // namespace backsight::api
