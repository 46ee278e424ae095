// JSON response bodies of `backsight serve` (private to server/): one dump style for every
// endpoint that answers JSON.
#ifndef BACKSIGHT_SERVER_JSON_BODY_H_
#define BACKSIGHT_SERVER_JSON_BODY_H_

#include <nlohmann/json.hpp>
#include <string>

namespace backsight::server {

/// `j` on one line plus a newline; invalid UTF-8 in strings is replaced (U+FFFD), never thrown on.
inline std::string JsonDump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_JSON_BODY_H_
