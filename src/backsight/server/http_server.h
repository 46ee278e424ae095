// A small event-driven HTTP/1.1 server on Boost.Beast + Asio, independent of the engine.
//
// Model: one acceptor and every connection live on an io_context run by a few threads; each
// connection is a session on its own strand, so any free io thread serves any ready connection
// and an idle keep-alive connection costs a socket and a small buffer, not a thread. Handlers
// registered as kInline run on the io thread (cheap ones: health, readiness); kPool handlers run
// on a bounded worker pool and their response is posted back to the session's strand, so slow
// handlers never hold up the io threads.
//
// Limits, enforced while bytes arrive (nothing is buffered past them):
//   - the request header must arrive within header_timeout (slowloris), a kept-alive connection
//     is closed after idle_timeout without a new request, a body must arrive and a response be
//     written within body_timeout;
//   - a declared Content-Length above max_body_bytes is answered 413 before the body is read; a
//     chunked body is cut with 413 once it passes max_body_bytes;
//   - `Content-Encoding: gzip|deflate` bodies (on routes that allow them) are inflated by us in
//     16 KiB steps as they arrive, cut with 413 past max_decompressed_bytes; encodings a route
//     does not accept get 415;
//   - at most max_connections open connections: one more gets `503` + `Connection: close`;
//   - at most max_inflight_body_bytes of request bodies held over all connections: past it, 503
//     with Retry-After.
// Every refusal carries a one-line reason in its body and closes the connection when the rest
// of the request was not read.
#ifndef BACKSIGHT_SERVER_HTTP_SERVER_H_
#define BACKSIGHT_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "backsight/core/status.h"

namespace backsight::server {

/// A request as handlers see it. Header names are matched case-insensitively.
struct HttpRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent, e.g. "/metrics?outputs=false"
  std::string path;    ///< percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> params;   ///< decoded query, in order
  std::vector<std::pair<std::string, std::string>> headers;  ///< as sent
  std::string body;              ///< after gzip/deflate decoding when the route allows it
  std::string content_encoding;  ///< the encoding left for the handler ("" or e.g. "snappy")

  /// Value of the first header named `name` (any case), or "".
  std::string header(std::string_view name) const;
  bool has_param(std::string_view name) const;
  /// Value of the first query parameter `name`, or "".
  std::string param(std::string_view name) const;
};

/// A response filled by a handler. status 200 and no body by default.
struct HttpResponse {
  int status = 200;
  /// Why the request was refused (set by SetErrorResponse); what the observer counts.
  Reason reason = Reason::kNone;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  bool close = false;  ///< send `Connection: close` and close after writing

  /// Sets body and Content-Type, keeping the status.
  void SetContent(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  /// Sets status, body and Content-Type in one call.
  void Set(int code, std::string text, std::string type = "text/plain") {
    status = code;
    body = std::move(text);
    content_type = std::move(type);
  }
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse*)>;

/// Where a handler runs.
enum class Dispatch {
  kInline,  ///< on the io thread: must be fast and never block
  kPool,    ///< on the worker pool
};

/// Per-route options.
struct RouteOptions {
  Dispatch dispatch = Dispatch::kPool;
  /// When set and true for a request, that request runs inline even though dispatch is kPool
  /// (e.g. /metrics?outputs=false).
  std::function<bool(const HttpRequest&)> inline_if;
  /// Content-Encodings decoded by the server (subset of "gzip", "deflate").
  std::vector<std::string> inflate_encodings;
  /// Content-Encodings passed to the handler untouched (e.g. "snappy", framed by the payload).
  std::vector<std::string> passthrough_encodings;
};

/// Limits and sizes; units in the names. Defaults suit a metrics ingest endpoint.
struct HttpServerOptions {
  int io_threads = 2;
  int pool_threads = 4;
  uint64_t max_connections = 4096;
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_decompressed_bytes = 32ull << 20;
  uint64_t max_inflight_body_bytes = 512ull << 20;
  uint32_t max_header_bytes = 16 * 1024;
  int64_t header_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 30'000;
  int64_t body_timeout_ms = 60'000;
};

/// Counters of the server itself (for /metrics). All monotonic except the gauges noted.
struct HttpServerStats {
  uint64_t connections_open = 0;  ///< gauge
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  ///< over max_connections
  uint64_t timeouts = 0;             ///< connections closed by a header/idle/body deadline
  uint64_t bodies_too_large = 0;     ///< 413s
  uint64_t inflight_refusals = 0;    ///< 503s for max_inflight_body_bytes
  uint64_t inflight_body_bytes = 0;  ///< gauge
};

/// Called after the header is read, before the body: returns true when it answered the request
/// itself (e.g. 401); the body is then read and dropped within the limits.
using HttpPreRoute = std::function<bool(const HttpRequest&, HttpResponse*)>;
/// Called for each refusal the server makes itself (400 unreadable request or body, 404, 405,
/// 413, 415, 431, 503), not for handlers' answers; from any io thread.
using HttpObserver = std::function<void(const HttpRequest&, const HttpResponse&)>;

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Registers `handler` for `method` + exact `path`, or, when `path` ends in "/*", for that
  /// prefix followed by one non-empty path segment (the handler reads it from req.path). Call
  /// before Start().
  void Route(const std::string& method, const std::string& path, HttpHandler handler,
             RouteOptions options = {});
  void SetPreRoute(HttpPreRoute fn);
  void SetObserver(HttpObserver fn);

  /// Binds and listens on host:port (an IP address or "localhost"; port 0 = any free port).
  /// Returns IoError when the address cannot be bound. Connections queue until Start().
  Status Bind(const std::string& host, int port);
  /// Starts accepting: the io threads and the worker pool.
  Status Start();
  /// Stops accepting, lets running pooled handlers finish, closes every connection. Idempotent.
  void Stop();
  /// The port bound by Bind().
  int port() const;
  HttpServerStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Percent-decodes `s` (RFC 3986 §2.1); `plus_is_space` also turns '+' into ' ' (HTML form
/// encoding, used in query strings). Malformed escapes are kept as they are.
std::string PercentDecode(std::string_view s, bool plus_is_space);
/// Splits a request target into the decoded path and query parameters of `*req`.
void ParseTarget(std::string_view target, HttpRequest* req);

/// Raises the soft RLIMIT_NOFILE to the hard limit (so max_connections sockets can be open);
/// returns the resulting soft limit.
uint64_t RaiseFileLimit();

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_HTTP_SERVER_H_
