#include "backsight/server/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <limits>
#include <optional>

#include "backsight/core/grow_to_limit.h"
#include "backsight/core/inflater.h"
#include "backsight/server/http_status.h"

namespace backsight::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Body bytes moved from the socket per read; also the per-connection body buffer (allocated on
// the first request with a body, so idle connections do not hold it).
constexpr size_t kBodyChunk = 64 * 1024;
// After `Connection: close` on a request whose body was not read, the rest is read and dropped
// for at most this long / this many bytes, so the client sees our answer instead of a reset
// (the "lingering close" of Apache httpd and nginx).
constexpr int64_t kLingerMs = 2'000;
constexpr uint64_t kLingerMaxBytes = 4ull << 20;
// Pause before accepting again when out of file descriptors (EMFILE/ENFILE).
constexpr int64_t kAcceptRetryMs = 50;
// Deadline for writing the 503 to a connection over the cap.
constexpr int64_t kRefuseWriteMs = 1'000;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

void ParseTarget(std::string_view target, HttpRequest* req) {
  const size_t q = target.find('?');
  req->path = PercentDecode(target.substr(0, q), false);
  req->params.clear();
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view kv = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (kv.empty()) continue;
    const size_t eq = kv.find('=');
    req->params.emplace_back(
        PercentDecode(kv.substr(0, eq), true),
        eq == std::string_view::npos ? std::string() : PercentDecode(kv.substr(eq + 1), true));
  }
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

bool HttpRequest::has_param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return true;
  }
  return false;
}

std::string HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return "";
}

uint64_t RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

// True when a request path matches a route's path: equal, or, for a pattern ending in "/*",
// the pattern's prefix followed by one non-empty segment (e.g. /api/v1/incidents/* matches
// /api/v1/incidents/12).
bool PathMatches(const std::string& pattern, const std::string& path) {
  const size_t n = pattern.size();
  if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '/') {
    return path.size() > n - 1 && path.compare(0, n - 1, pattern, 0, n - 1) == 0 &&
           path.find('/', n - 1) == std::string::npos;
  }
  return pattern == path;
}

struct RouteEntry {
  std::string method, path;
  HttpHandler handler;
  RouteOptions options;
};

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : opt(std::move(o)) {}

  HttpServerOptions opt;
  std::vector<RouteEntry> routes;
  HttpPreRoute pre_route;
  HttpObserver observer;
  // Counters first: sessions destroyed with the io_context still update them.
  std::atomic<uint64_t> open{0}, accepted{0}, refused{0}, timeouts{0}, too_large{0},
      inflight_refusals{0}, inflight_bytes{0};
  std::atomic<bool> stopping{false};
  int port = 0;
  bool started = false;
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> accept_retry;
  std::unique_ptr<net::thread_pool> pool;
  std::vector<std::thread> threads;

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  // Accounts `n` more bytes of request bodies held; false (nothing accounted) past the cap.
  bool Reserve(uint64_t n) {
    uint64_t cur = inflight_bytes.load();
    do {
      if (cur + n > opt.max_inflight_body_bytes) return false;
    } while (!inflight_bytes.compare_exchange_weak(cur, cur + n));
    return true;
  }
  void Release(uint64_t n) { inflight_bytes -= n; }
};

namespace {

// Writes a fixed 503 to a connection over max_connections, then closes it.
class Refuser : public std::enable_shared_from_this<Refuser> {
 public:
  explicit Refuser(tcp::socket s) : stream_(std::move(s)) {}
  void Run() {
    static constexpr std::string_view kBody = "503 too many connections (limits.max_connections)\n";
    static const std::string kMsg =
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
        "Retry-After: 1\r\nContent-Type: text/plain\r\n"
        "Content-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
    stream_.expires_after(std::chrono::milliseconds(kRefuseWriteMs));
    net::async_write(stream_, net::buffer(kMsg),
                     [self = shared_from_this()](beast::error_code, size_t) {
                       beast::error_code ec;
                       self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                       self->stream_.close();
                     });
  }

 private:
  beast::tcp_stream stream_;
};

// One connection: reads requests one at a time, runs their handler, writes the response.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl* srv, tcp::socket s)
      : srv_(srv), stream_(std::move(s)), buffer_(srv->opt.max_header_bytes + kBodyChunk) {}
  ~Session() {
    ReleaseBody();
    --srv_->open;
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  using Parser = http::request_parser<http::buffer_body>;

  // Keep-alive: waits up to idle_timeout for the first bytes of the next request.
  void WaitNext() {
    if (buffer_.size() > 0) return ReadHeader();  // pipelined request already here
    // Going idle: keep only the socket and a small buffer.
    buffer_.shrink_to_fit();
    chunk_.reset();
    stream_.expires_after(std::chrono::milliseconds(srv_->opt.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(512),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Fail(ec);
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(srv_->opt.max_header_bytes);
    // Checked by us once the header is in (413 with reason). Not boost::none: Beast 1.74 compares
    // the declared length with the optional, and anything compares greater than none.
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    req_ = HttpRequest();
    res_ = HttpResponse();
    route_ = nullptr;
    early_ = false;
    server_made_ = false;
    inflater_.reset();
    stream_.expires_after(std::chrono::milliseconds(srv_->opt.header_timeout_ms));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      server_made_ = true;
      res_.Set(431, "431 request header larger than " + std::to_string(srv_->opt.max_header_bytes) +
                        " bytes\n");
      return Finish(/*close=*/true);
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == beast::error::timeout) {
      return Fail(ec);
    }
    if (ec) {
      server_made_ = true;
      SetErrorResponse(Status::InvalidArgument(Reason::kMalformed, ec.message()),
                       "400 bad request: " + ec.message() + "\n", "text/plain", &res_);
      return Finish(true);
    }
    const auto& h = parser_->get();
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    for (const auto& f : h) req_.headers.emplace_back(f.name_string(), f.value());
    ParseTarget(req_.target, &req_);

    const auto declared = parser_->content_length();
    const bool has_body = parser_->chunked() || (declared && *declared > 0);
    const uint64_t max_body = srv_->opt.max_body_bytes;
    if (declared && *declared > max_body) {
      ++srv_->too_large;
      server_made_ = true;
      const std::string why = "body of " + std::to_string(*declared) +
                              " bytes exceeds limits.max_body_bytes (" + std::to_string(max_body) +
                              ")";
      SetErrorResponse(Status::ResourceExhausted(Reason::kTooLarge, why),
                       "413 payload too large: " + why + "\n", "text/plain", &res_);
      return Finish(true);
    }
    if (srv_->stopping) {
      server_made_ = true;
      SetErrorResponse(Status::Unavailable("shutting down"), "503 shutting down\n", "text/plain",
                       &res_);
      return Finish(true);
    }
    if (srv_->pre_route && srv_->pre_route(req_, &res_)) {
      early_ = true;
    } else {
      std::vector<std::string> allowed;
      for (const auto& r : srv_->routes) {
        if (!PathMatches(r.path, req_.path)) continue;
        if (r.method == req_.method) route_ = &r;
        allowed.push_back(r.method);
      }
      if (!route_) {
        early_ = true;
        if (allowed.empty()) {
          server_made_ = true;
          res_.Set(404, "404 not found: " + req_.path + "\n");
        } else {
          server_made_ = true;
          res_.Set(405, "405 method " + req_.method + " not allowed on " + req_.path + "\n");
          res_.headers.emplace_back("Allow", Join(allowed));
        }
      }
    }
    if (!early_) {
      const std::string enc = Lower(Trim(req_.header("Content-Encoding")));
      const RouteOptions& ro = route_->options;
      if (enc.empty() || enc == "identity") {
      } else if (Contains(ro.inflate_encodings, enc)) {
        inflater_.emplace(Inflater::Options{Inflater::Framing::kGzipOrZlib,
                                            srv_->opt.max_decompressed_bytes, "compressed body",
                                            "limits.max_decompressed_bytes"});
      } else if (Contains(ro.passthrough_encodings, enc)) {
        req_.content_encoding = enc;
      } else {
        std::vector<std::string> ok = ro.passthrough_encodings;
        ok.insert(ok.end(), ro.inflate_encodings.begin(), ro.inflate_encodings.end());
        server_made_ = true;
        const std::string why = "unsupported Content-Encoding '" + enc + "' on " + req_.path +
                                " (accepted: " + (ok.empty() ? "none" : Join(ok)) + ")";
        SetErrorResponse(Status::InvalidArgument(Reason::kUnsupportedEncoding, why),
                         "415 " + why + "\n", "text/plain", &res_);
        early_ = true;
      }
    }
    if (!has_body) return Dispatch();
    if (early_ && IEquals(req_.header("Expect"), "100-continue")) {
      return Finish(true);  // the client waits for us before sending the body: do not read it
    }
    if (!early_ && IEquals(req_.header("Expect"), "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      stream_.expires_after(std::chrono::milliseconds(srv_->opt.body_timeout_ms));
      return http::async_write(stream_, *cont,
                               [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                                 if (ec) return self->Fail(ec);
                                 self->StartBody(self->parser_->content_length());
                               });
    }
    StartBody(declared);
  }

  void StartBody(boost::optional<uint64_t> declared) {
    if (!chunk_) chunk_ = std::make_unique<char[]>(kBodyChunk);
    // Beast reads at most the buffer's free capacity per call: without this, 512-byte reads.
    buffer_.reserve(kBodyChunk);
    parser_->body_limit(srv_->opt.max_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(srv_->opt.body_timeout_ms));
    if (declared && !early_ && !inflater_) {
      if (!Account(*declared)) return;
      req_.body.reserve(*declared);
    }
    ReadBody();
  }

  // Accounts body bytes up to `size` held by this request; answers 503 and returns false past
  // the server-wide cap.
  bool Account(uint64_t size) {
    if (size <= reserved_) return true;
    if (!srv_->Reserve(size - reserved_)) {
      ++srv_->inflight_refusals;
      ReleaseBody();
      res_ = HttpResponse();
      server_made_ = true;
      const std::string why =
          "too many request bytes in flight (limits.max_inflight_body_bytes = " +
          std::to_string(srv_->opt.max_inflight_body_bytes) + "); retry later";
      SetErrorResponse(Status::ResourceExhausted(why), "503 " + why + "\n", "text/plain", &res_);
      Finish(true);
      return false;
    }
    reserved_ = size;
    return true;
  }

  void ReleaseBody() {
    if (reserved_) srv_->Release(reserved_);
    reserved_ = 0;
    std::string().swap(req_.body);
  }

  void ReadBody() {
    auto& b = parser_->get().body();
    b.data = chunk_.get();
    b.size = kBodyChunk;
    b.more = true;
    http::async_read_some(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) {
      ++srv_->too_large;
      res_ = HttpResponse();
      server_made_ = true;
      const std::string why =
          "body exceeds limits.max_body_bytes (" + std::to_string(srv_->opt.max_body_bytes) + ")";
      SetErrorResponse(Status::ResourceExhausted(Reason::kTooLarge, why),
                       "413 payload too large: " + why + "\n", "text/plain", &res_);
      return Finish(true);
    }
    if (ec) return Fail(ec);
    const size_t got = kBodyChunk - parser_->get().body().size;
    if (!early_ && got > 0) {
      const std::string_view piece(chunk_.get(), got);
      if (inflater_) {
        Status st = inflater_->Feed(piece, &req_.body);
        if (!st.ok()) return BodyError(st);
      } else {
        GrowToLimit(&req_.body, piece.size(), srv_->opt.max_body_bytes);
        req_.body.append(piece);
      }
      if (!Account(req_.body.size())) return;
    }
    if (!parser_->is_done()) return ReadBody();
    if (inflater_ && !early_) {
      Status st = inflater_->Finish();
      if (!st.ok()) return BodyError(st);
    }
    Dispatch();
  }

  void BodyError(const Status& st) {
    res_ = HttpResponse();
    server_made_ = true;
    const int code = HttpStatusFor(st);
    if (code == 413) ++srv_->too_large;
    SetErrorResponse(st,
                     std::to_string(code) +
                         (code == 413 ? " payload too large: " : " bad request body: ") +
                         st.message() + "\n",
                     "text/plain", &res_);
    Finish(true);
  }

  void Dispatch() {
    if (early_) return Finish(false);
    const RouteOptions& ro = route_->options;
    const bool pooled =
        ro.dispatch == Dispatch::kPool && !(ro.inline_if && ro.inline_if(req_)) && !srv_->stopping;
    if (!pooled) {
      RunHandler();
      return Finish(false);
    }
    net::post(*srv_->pool, [self = shared_from_this()] {
      self->RunHandler();
      net::post(self->stream_.get_executor(), [self] { self->Finish(false); });
    });
  }

  void RunHandler() {
    try {
      route_->handler(req_, &res_);
    } catch (const std::exception& e) {
      res_ = HttpResponse();
      res_.Set(500, std::string("500 internal error: ") + e.what() + "\n");
    } catch (...) {
      res_ = HttpResponse();
      res_.Set(500, "500 internal error\n");
    }
  }

  // Writes res_; `close` when the rest of the request was not read.
  void Finish(bool close) {
    if (close) res_.close = true;
    if (server_made_ && srv_->observer) srv_->observer(req_, res_);
    ReleaseBody();
    const bool keep_alive = !res_.close && parser_ && parser_->is_header_done() &&
                            parser_->get().keep_alive() && !srv_->stopping;
    close_after_ = !keep_alive;
    unread_body_ = close && parser_ && parser_->is_header_done() && !parser_->is_done();
    out_.emplace();
    out_->version(11);
    out_->result(static_cast<unsigned>(res_.status));
    for (const auto& [k, v] : res_.headers) out_->set(k, v);
    if (!res_.content_type.empty()) out_->set(http::field::content_type, res_.content_type);
    out_->body() = std::move(res_.body);
    out_->keep_alive(keep_alive);
    if (res_.status != 204 && res_.status != 304) out_->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(srv_->opt.body_timeout_ms));
    http::async_write(stream_, *out_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->out_.reset();
      if (ec) return self->Fail(ec);
      if (self->close_after_) return self->Linger();
      self->parser_.reset();
      self->WaitNext();
    });
  }

  // Half-closes, then drops what the client still sends (bounded) so it can read our answer.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!unread_body_) return stream_.close();
    if (!chunk_) chunk_ = std::make_unique<char[]>(kBodyChunk);
    stream_.expires_after(std::chrono::milliseconds(kLingerMs));
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(chunk_.get(), kBodyChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerMaxBytes) {
                                return self->stream_.close();
                              }
                              self->DrainSome();
                            });
  }

  void Fail(beast::error_code ec) {
    if (ec == beast::error::timeout) ++srv_->timeouts;
    stream_.close();
  }

  HttpServer::Impl* srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::unique_ptr<char[]> chunk_;
  std::optional<Inflater> inflater_;
  std::optional<http::response<http::string_body>> out_;
  HttpRequest req_;
  HttpResponse res_;
  const RouteEntry* route_ = nullptr;
  bool early_ = false;        // res_ was set before the body was read
  bool server_made_ = false;  // res_ is the server's own refusal, not a handler's answer
  bool close_after_ = false;
  bool unread_body_ = false;
  uint64_t reserved_ = 0;  // bytes accounted in Impl::inflight_bytes
  uint64_t drained_ = 0;
};

}  // namespace

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
    OnAccept(ec, std::move(s));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  if (ec) {
    if (ec.value() == EMFILE || ec.value() == ENFILE) {
      accept_retry->expires_after(std::chrono::milliseconds(kAcceptRetryMs));
      accept_retry->async_wait([this](beast::error_code wec) {
        if (!wec && !stopping) DoAccept();
      });
      return;
    }
    return DoAccept();
  }
  ++accepted;
  if (open.load() >= opt.max_connections) {
    ++refused;
    std::make_shared<Refuser>(std::move(socket))->Run();
  } else {
    ++open;
    beast::error_code oec;
    socket.set_option(tcp::no_delay(true), oec);
    std::make_shared<Session>(this, std::move(socket))->Start();
  }
  DoAccept();
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, HttpHandler handler,
                       RouteOptions options) {
  impl_->routes.push_back({method, path, std::move(handler), std::move(options)});
}

void HttpServer::SetPreRoute(HttpPreRoute fn) { impl_->pre_route = std::move(fn); }
void HttpServer::SetObserver(HttpObserver fn) { impl_->observer = std::move(fn); }
int HttpServer::port() const { return impl_->port; }

Status HttpServer::Bind(const std::string& host, int port) {
  Impl& m = *impl_;
  if (m.ioc) return Status::Internal("HttpServer bound twice");
  m.ioc = std::make_unique<net::io_context>(std::max(1, m.opt.io_threads));
  beast::error_code ec;
  const auto addr = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Status::IoError("listen " + host + ": not an IP address: " + ec.message());
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  m.acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*m.ioc));
  m.acceptor->open(ep.protocol(), ec);
  if (!ec) m.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor->bind(ep, ec);
  if (!ec) m.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    m.acceptor.reset();
    m.ioc.reset();
    return Status::IoError("listen " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  m.port = m.acceptor->local_endpoint().port();
  return Status::OK();
}

Status HttpServer::Start() {
  Impl& m = *impl_;
  if (!m.ioc) return Status::Internal("HttpServer::Start before Bind");
  if (m.started) return Status::Internal("HttpServer started twice");
  m.accept_retry = std::make_unique<net::steady_timer>(m.acceptor->get_executor());
  m.pool = std::make_unique<net::thread_pool>(std::max(1, m.opt.pool_threads));
  m.stopping = false;
  m.DoAccept();
  for (int i = 0; i < std::max(1, m.opt.io_threads); ++i) {
    m.threads.emplace_back([&m] { m.ioc->run(); });
  }
  m.started = true;
  return Status::OK();
}

void HttpServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.stopping = true;
  net::post(m.acceptor->get_executor(), [&m] {
    beast::error_code ec;
    m.acceptor->close(ec);
    m.accept_retry->cancel();
  });
  m.pool->join();  // running and queued pooled handlers finish and post their responses
  m.ioc->stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  m.accept_retry.reset();
  m.acceptor.reset();
  m.ioc.reset();  // destroys the pending operations, hence the sessions and their sockets
  m.pool.reset();
}

HttpServerStats HttpServer::stats() const {
  const Impl& m = *impl_;
  HttpServerStats s;
  s.connections_open = m.open;
  s.connections_accepted = m.accepted;
  s.connections_refused = m.refused;
  s.timeouts = m.timeouts;
  s.bodies_too_large = m.too_large;
  s.inflight_refusals = m.inflight_refusals;
  s.inflight_body_bytes = m.inflight_bytes;
  return s;
}

}  // namespace backsight::server
