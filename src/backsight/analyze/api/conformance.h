// The API as served (inferred from access logs) against the API as documented (an OpenAPI
// document): `backsight api infer --spec KNOWN.yaml`.
#ifndef BACKSIGHT_ANALYZE_API_CONFORMANCE_H_
#define BACKSIGHT_ANALYZE_API_CONFORMANCE_H_

#include <string>
#include <vector>

#include "backsight/analyze/api/change.h"
#include "backsight/analyze/api/document.h"
#include "backsight/analyze/api/infer.h"

namespace backsight::api {

/// Compares `served` (ApiInferrer::Infer over the logs named `served_name`) with `documented`
/// and returns the differences as Changes (the `diff` format; base = the document, revision =
/// the logs), ordered by operation. Rule ids (rules.cc):
///  - api-path-undocumented (warning): a served path no documented path matches; paths answered
///    only with 404/405 are skipped (the server does not serve them: scanners, typos);
///  - api-operation-undocumented (warning): the path is documented, the method is not;
///  - api-path-never-called / api-operation-never-called (info): documented, no request seen;
///  - response-success-status-undocumented (error: a client of the contract cannot expect it),
///    response-non-success-status-undocumented (warning): a served status the operation's
///    `responses` do not allow; `default` allows every code and `4XX` (any case) its range.
/// Paths match with parameter names erased, segment by segment: a documented `{}` segment matches
/// any served segment (so an inferred constant such as `/zones/basement` is an instance of
/// `/zones/{zoneId}`), a literal only itself, a mixed one (`{}.json`) by its literal prefix and
/// suffix; the most literal documented match wins. Documented paths match with and without the
/// server prefix (servers[0].url). A served HEAD is documented by a GET.
std::vector<Change> CompareServedWithSpec(const InferredApi& served, const Spec& documented,
                                          const std::string& served_name);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_CONFORMANCE_H_
