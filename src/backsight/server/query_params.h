// Query parameters of the JSON API of `backsight serve` (private to server/), one parser each so
// every endpoint answers a bad value the same way: 400 with {"error": "..."}.
#ifndef BACKSIGHT_SERVER_QUERY_PARAMS_H_
#define BACKSIGHT_SERVER_QUERY_PARAMS_H_

#include <cstddef>

#include "backsight/server/http_server.h"

namespace backsight::server {

/// Reads `?limit=` (a whole number in 1..`max`) into `*limit` when present (else leaves it).
/// On a bad value answers 400 with {"error": "limit must be 1..max, got '...'"} and returns
/// false.
bool LimitParam(const HttpRequest& req, unsigned long long max, size_t* limit, HttpResponse* res);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_QUERY_PARAMS_H_
