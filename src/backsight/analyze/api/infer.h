// ApiInferrer: the HTTP API as access logs show it. Requests go into a trie of path segments;
// Infer() turns positions whose values are identifiers, or many words with a shared continuation,
// into parameters (`/orders/3`, `/orders/7` -> `/orders/{orderId}`) while constants such as
// `/users/me` stay constants, and gathers methods, status codes, query parameters and rates.
#ifndef BACKSIGHT_ANALYZE_API_INFER_H_
#define BACKSIGHT_ANALYZE_API_INFER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/analyze/api/infer_segment.h"

namespace backsight::api {

/// Thresholds of the templater. Identifier-like segments (infer_segment.h) are parameters at any
/// count; these govern positions whose values are plain words.
struct InferOptions {
  /// Fewest distinct words that share a continuation (see Infer) for their position to be read as
  /// a parameter by cardinality alone. 24: a hand-written resource rarely has more fixed sub-routes
  /// with the same continuation under one parent (the largest GitHub REST resources have about 20
  /// leaf GETs per parent), while name-like ids (user names, slugs) reach it quickly.
  size_t min_word_values = 24;
  /// Within such a position, a word that alone draws at least this share of the position's
  /// requests stays a constant: a fixed route (`/users/me`) draws a handler's worth of traffic,
  /// one instance of a parameter a small part (a share of 1/5 would need a single name to be as
  /// busy as the four next-busiest handlers together).
  double heavy_hitter_share = 0.2;
  /// Fewest words at a position without identifiers whose subtrees have the same distinctive shape
  /// (see Infer, step 3) for them to be read as values of an enum parameter; 0 turns the rule off.
  /// 2: an enum has at least two values.
  size_t min_enum_values = 2;
  /// Whether that shape includes each method's set of status codes (else methods and
  /// continuations only).
  bool enum_compare_statuses = true;
};

/// One path parameter of an inferred template.
struct InferredParameter {
  std::string name;          // from the parent segment: "orderId", "userId", "reportDate"
  SegmentKind kind;          // narrowest kind covering every value seen
  uint64_t distinct_values;  // values seen at this position
};

/// One query parameter name seen on an operation.
struct InferredQueryParameter {
  std::string name;
  uint64_t requests;  // requests that carried it
  bool required;      // carried by every request of the operation
};

/// One operation (method + path template) as served.
struct InferredOperation {
  std::string method;                         // "GET"
  std::string path;                           // "/orders/{orderId}"
  std::vector<InferredParameter> parameters;  // path parameters, left to right
  uint64_t requests = 0;
  std::map<int, uint64_t> status_counts;      // HTTP status -> requests
  std::vector<InferredQueryParameter> query;  // by name
  double rate_per_second = -1;  // requests / observed time span; -1 when the log has no times
};

/// The inferred API: operations sorted by path, then method.
struct InferredApi {
  std::vector<InferredOperation> operations;
  uint64_t requests = 0;
  int64_t first_time_ns = -1, last_time_ns = -1;  // span of the request times seen (-1: none)
};

/// Streaming accumulator: Add() every request, then Infer() (any number of times). Memory grows
/// with the number of distinct raw paths. Not thread-safe.
class ApiInferrer {
 public:
  explicit ApiInferrer(InferOptions options = {});
  ~ApiInferrer();
  ApiInferrer(const ApiInferrer&) = delete;
  ApiInferrer& operator=(const ApiInferrer&) = delete;

  /// Counts one request. The path is split at '/', empty segments are skipped (so "/a/" = "/a").
  void Add(const AccessRecord& r);

  /// Templates the paths seen so far. Per position, top-down over the trie (all methods share it,
  /// so a position's evidence is every request through it):
  ///  1. identifier-like values (numbers, UUIDs, dates, hex, tokens, e-mails) become the parameter;
  ///  2. the other values are joined when they share a continuation (a next segment, with
  ///     identifiers seen as one, "the path ends here", or the segment after the next); a group of
  ///     at least options.min_word_values values joins the parameter, except its heavy hitters;
  ///  3. at a position with no parameter from 1-2, words whose own templated subtrees have the
  ///     same shape (methods, status sets, continuations, recursively) join one parameter when
  ///     there are at least options.min_enum_values of them and the shape is more than a
  ///     single-method route (an enum: `/zones/basement/quiet`, `/zones/attic/quiet`);
  ///  4. the rest stay constants, each templated on its own.
  /// The subtrees of all values merged into a parameter are templated together.
  InferredApi Infer() const;

  uint64_t requests() const { return requests_; }

 private:
  struct Counts;  // trie + per-node, per-method counts (infer.cc)
  InferOptions options_;
  std::unique_ptr<Counts> counts_;
  uint64_t requests_ = 0;
  int64_t first_ns_ = -1, last_ns_ = -1;
};

/// The parameter name for a position under `parent` ("orders" -> "orderId" for an identifier,
/// "reports" + date -> "reportDate", "users" + word -> "userName"); "id" etc. when no parent.
std::string ParameterName(std::string_view parent, SegmentKind kind);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_INFER_H_
