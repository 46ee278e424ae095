// OpenAPI documents as a plain tree with source positions, and `$ref` resolution across files.
#ifndef BACKSIGHT_ANALYZE_API_DOCUMENT_H_
#define BACKSIGHT_ANALYZE_API_DOCUMENT_H_

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::api {

class Document;

/// One YAML/JSON node with the position it was read from (1-based line and column). Maps keep
/// their keys in document order. A map holding `$ref` has `ref` set to the node it points to
/// (nullptr when the target is remote or missing; `ref_text` keeps the reference as written).
struct Node {
  enum class Kind : uint8_t { kNull, kScalar, kMap, kSeq };
  Kind kind = Kind::kNull;
  bool quoted = false;  // a quoted scalar ("1" is a string, 1 a number)
  std::string scalar;
  std::vector<std::pair<std::string, const Node*>> map;
  std::vector<const Node*> seq;
  int line = 0;
  int column = 0;
  const Document* doc = nullptr;
  const Node* ref = nullptr;
  std::string_view ref_text;

  bool IsMap() const { return kind == Kind::kMap; }
  bool IsSeq() const { return kind == Kind::kSeq; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  /// The value of `key` in a map, or nullptr (also for non-maps).
  const Node* Get(std::string_view key) const;
  /// The scalar of `key`, or `fallback` when absent or not a scalar.
  std::string_view Str(std::string_view key, std::string_view fallback = {}) const;
  /// True when `key` is the scalar `true`.
  bool Flag(std::string_view key) const;
  /// "file:line" of this node.
  std::string Where() const;
};

/// Follows `$ref` links from `n` (at most kMaxRefHops, so a reference cycle ends) and returns the
/// first node that is not a resolved reference. nullptr stays nullptr.
const Node* Deref(const Node* n);

/// One parsed file: its path (as given), its nodes and root.
class Document {
 public:
  explicit Document(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  const Node* root() const { return root_; }

 private:
  friend class SpecLoader;
  std::string path_;
  std::deque<Node> nodes_;  // stable addresses
  const Node* root_ = nullptr;
};

/// A root document and every file its `$ref`s reach, with all local and cross-file references
/// resolved (`Node::ref`). Immutable after loading; movable.
class Spec {
 public:
  const Document& root() const { return *docs_.front(); }
  const std::vector<std::unique_ptr<Document>>& documents() const { return docs_; }

 private:
  friend class SpecLoader;
  std::vector<std::unique_ptr<Document>> docs_;
};

/// Limits that keep hostile input from exhausting memory or the stack.
inline constexpr int kMaxNestingDepth = 256;    // flow/block nesting, checked before parsing
inline constexpr size_t kMaxNodes = 4'000'000;  // nodes after alias expansion, per spec
inline constexpr int kMaxRefHops = 64;          // $ref -> $ref chains
inline constexpr size_t kMaxDocuments = 256;    // files reached through $ref

/// Loads the OpenAPI (or any YAML/JSON) file at `path` and the files its `$ref`s name (relative to
/// the referring file), resolving every JSON-pointer reference. Remote (http) references stay
/// unresolved. Errors (InvalidArgument, Reason::kMalformed) say "file:line:column: why": YAML
/// syntax, nesting deeper than kMaxNestingDepth, a `$ref` whose file or pointer does not exist;
/// IoError for a root file that cannot be read.
Status LoadSpec(const std::string& path, Spec* out);

/// As LoadSpec, for text already in memory named `name`; references to other files are an error
/// unless `allow_files` (they are read relative to `name`).
Status LoadSpecText(std::string_view text, const std::string& name, Spec* out,
                    bool allow_files = false);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_DOCUMENT_H_
