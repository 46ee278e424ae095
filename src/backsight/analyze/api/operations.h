// The operations of an OpenAPI document, keyed so that equivalent documents give equal keys.
#ifndef BACKSIGHT_ANALYZE_API_OPERATIONS_H_
#define BACKSIGHT_ANALYZE_API_OPERATIONS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/analyze/api/document.h"

namespace backsight::api {

/// The HTTP methods an OpenAPI path item can hold, lower case (OpenAPI 3.0.3, "Path Item Object").
inline constexpr std::string_view kHttpMethods[] = {"get",     "put",  "post",  "delete",
                                                    "options", "head", "patch", "trace"};

/// Switches of ListOperations (the differ's DiffOptions of the same names).
struct OperationListOptions {
  bool follow_refs = true;             // path items and operations behind `$ref` followed
  bool join_server_prefix = true;      // servers[0].url's path joined in front of every path
  bool positional_path_params = true;  // keys with parameter names erased: "/pets/{}"
};

/// One operation of a document.
struct SpecOperation {
  std::string display;                   // "/v1/pets/{id}" (server prefix joined)
  std::vector<std::string> param_names;  // path parameter names in order
  const Node* path_item = nullptr;
  const Node* op = nullptr;
};

/// Every operation under `paths` (key "get /v1/pets/{}") and OpenAPI 3.1 `webhooks` (key
/// "post webhook:NAME"), sorted by key. A path item's own `servers` replaces the document's.
/// Anything that is not a map is skipped; never fails.
std::map<std::string, SpecOperation> ListOperations(const Node* root,
                                                    const OperationListOptions& options = {});

/// The path part of a server URL ("https://h/api/v1" -> "/api/v1"), with `{var}`s replaced by
/// their defaults; "" for the root or nullptr.
std::string ServerPath(const Node* server);

/// "/pets/{id}/toys/" -> "/pets/{}/toys", appending the parameter names in order ("id") to
/// `names` when it is not nullptr.
std::string TemplateKey(std::string_view path, std::vector<std::string>* names);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_OPERATIONS_H_
