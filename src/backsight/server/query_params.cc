#include "backsight/server/query_params.h"

#include <cstdlib>
#include <string>

#include "backsight/server/http_status.h"
#include "backsight/server/json_body.h"

namespace backsight::server {

bool LimitParam(const HttpRequest& req, unsigned long long max, size_t* limit, HttpResponse* res) {
  if (!req.has_param("limit")) return true;
  const std::string v = req.param("limit");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n == 0 || n > max) {
    const std::string msg = "limit must be 1.." + std::to_string(max) + ", got '" + v + "'";
    SetErrorResponse(Status::InvalidArgument(msg), JsonDump({{"error", msg}}), "application/json",
                     res);
    return false;
  }
  *limit = n;
  return true;
}

}  // namespace backsight::server
