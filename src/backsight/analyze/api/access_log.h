// Access-log line parsers for `backsight api infer` and `backsight security`: combined/common log
// format (Apache, nginx) and JSON lines. One line in, one AccessRecord (views into the line) or an
// error that says why.
#ifndef BACKSIGHT_ANALYZE_API_ACCESS_LOG_H_
#define BACKSIGHT_ANALYZE_API_ACCESS_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

namespace simdjson::dom {
class parser;
}  // namespace simdjson::dom

namespace backsight::api {

/// One HTTP request as an access log shows it. The views point into the parsed line (or, for JSON
/// lines, into the parser's scratch buffer) and are valid until the next Parse call.
struct AccessRecord {
  std::string_view method;      // "GET", upper case as logged
  std::string_view path;        // request target before '?', e.g. "/orders/3"
  std::string_view query;       // after '?' without it; empty when none
  int status = 0;               // HTTP status code, 100..599
  int64_t time_ns = -1;         // request time, ns since the Unix epoch; -1 when the line has none
  std::string_view client;      // remote host as logged (CLF first field, JSON client fields)
  std::string_view user;        // authenticated user (CLF authuser); empty for "-" or none
  std::string_view user_agent;  // combined: the last quoted field; empty for "-" or none
};

/// The line formats ParseAccessLine accepts.
enum class AccessLogFormat {
  kAuto,      // JSON when the line starts with '{', else combined/common
  kCombined,  // NCSA common and combined (Apache httpd mod_log_config, nginx `combined`)
  kJson,      // one JSON object per line
};

/// Field names for JSON lines. Defaults cover the common shapes: flat `method`/`path`/`status`,
/// nginx/Envoy-style `request_method`/`request_uri`/`response_code`, and ECS-like dotted names
/// looked up as flat keys. The first name present wins.
struct AccessLogOptions {
  AccessLogFormat format = AccessLogFormat::kAuto;
  std::string json_method = "method,request_method,http.request.method,verb";
  std::string json_path = "path,request_uri,uri,url,url.original,request_path,target";
  std::string json_status = "status,response_code,status_code,http.response.status_code,code";
  std::string json_time = "time,timestamp,@timestamp,time_local,ts";
  std::string json_client = "remote_addr,client_ip,clientip,client.ip,source.ip,remote_ip,ip";
  std::string json_user = "remote_user,user,user.name";
  std::string json_user_agent = "http_user_agent,user_agent,user_agent.original,userAgent,ua";
  /// A JSON `request` field holding "METHOD TARGET PROTO" (nginx $request) is used when no
  /// method/path field is present.
  std::string json_request = "request";
};

/// Parses access-log lines. Not thread-safe (one scratch buffer); cheap to construct.
class AccessLogParser {
 public:
  explicit AccessLogParser(AccessLogOptions options = {});
  ~AccessLogParser();
  AccessLogParser(AccessLogParser&&) noexcept;
  AccessLogParser& operator=(AccessLogParser&&) noexcept;

  /// Parses `line` into *out. Errors (InvalidArgument, Reason::kMalformed or kJson) say what is
  /// wrong and at which byte, e.g. "byte 27: expected '\"' before the request line"; the caller
  /// prefixes file:line. Combined/common grammar (Apache httpd docs, "Common Log Format"):
  ///   host ident authuser [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD TARGET PROTO" status bytes ...
  Status Parse(std::string_view line, AccessRecord* out);

 private:
  Status ParseCombined(std::string_view line, AccessRecord* out) const;
  Status ParseJson(std::string_view line, AccessRecord* out);

  AccessLogOptions options_;
  std::string scratch_;  // JSON: copies of the fields the record points to
  std::vector<std::vector<std::string>> json_names_;  // options' JSON name lists, split
  std::string json_buf_;                              // the line plus simdjson's padding
  std::unique_ptr<simdjson::dom::parser> json_parser_;
  // The last CLF time text and its value: consecutive lines mostly share their second.
  mutable char last_time_[32] = {};
  mutable size_t last_time_len_ = 0;
  mutable int64_t last_time_ns_ = -1;
};

/// Splits a request target "/a/b?x=1" into path and query (views into `target`). A target in
/// absolute form ("http://host/a?x") keeps only its path ("/a").
void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query);

/// Parses a CLF time "10/Oct/2000:13:55:36 -0700" into ns since the Unix epoch; false if malformed.
bool ParseClfTime(std::string_view s, int64_t* ns);

}  // namespace backsight::api

#endif  // BACKSIGHT_ANALYZE_API_ACCESS_LOG_H_
