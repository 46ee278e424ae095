// Tests of the Beast/Asio HTTP server over real sockets on 127.0.0.1: idle and busy connections
// do not delay cheap routes, deadlines cut slow clients, body limits hold while bytes stream in,
// Content-Encoding handling, the connection cap. Also the streaming inflater.
#include "backsight/server/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http_test_util.h"
#include "proc_util.h"

namespace backsight::server {
namespace {

using backsight::testing::CompressZeros;
using backsight::testing::RawConn;
using backsight::testing::WaitFor;

std::string Gzip(const std::string& text) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A pooled handler that blocks until released: occupies pool threads on purpose.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> waiting{0};
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.wait(lock, [this] { return open; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions opt = {}) {
    opt.io_threads = 2;
    opt.pool_threads = 2;
    server_ = std::make_unique<HttpServer>(opt);
    server_->Route(
        "GET", "/-/healthy",
        [](const HttpRequest&, HttpResponse* res) { res->SetContent("ok\n", "text/plain"); },
        Inline());
    server_->Route("GET", "/echo", [](const HttpRequest& req, HttpResponse* res) {
      std::string s = req.path + "\n";
      for (const auto& [k, v] : req.params) s += k + "=" + v + "\n";
      res->SetContent(s, "text/plain");
    });
    RouteOptions inflate;
    inflate.inflate_encodings = {"gzip", "deflate"};
    server_->Route(
        "POST", "/upload",
        [this](const HttpRequest& req, HttpResponse* res) {
          ++uploads_;
          res->SetContent(
              "got " + std::to_string(req.body.size()) + " bytes: " + req.body.substr(0, 32),
              "text/plain");
        },
        inflate);
    RouteOptions snappy;
    snappy.passthrough_encodings = {"snappy"};
    server_->Route(
        "POST", "/snappy",
        [](const HttpRequest& req, HttpResponse* res) {
          res->SetContent("encoding=" + req.content_encoding, "text/plain");
        },
        snappy);
    server_->Route("GET", "/items/*", [](const HttpRequest& req, HttpResponse* res) {
      res->SetContent("item " + req.path.substr(7), "text/plain");
    });
    server_->Route("POST", "/block", [this](const HttpRequest&, HttpResponse* res) {
      gate_.Wait();
      res->status = 204;
    });
    ASSERT_TRUE(server_->Bind("127.0.0.1", 0).ok());
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    gate_.Open();
    if (server_) server_->Stop();
  }
  static RouteOptions Inline() {
    RouteOptions o;
    o.dispatch = Dispatch::kInline;
    return o;
  }
  int port() const { return server_->port(); }
  // GET with a fresh client; status, or 0 when no answer within 5 s.
  int Get(const std::string& path, std::string* body = nullptr) {
    httplib::Client c("127.0.0.1", port());
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(5, 0);
    auto r = c.Get(path.c_str());
    if (r && body) *body = r->body;
    return r ? r->status : 0;
  }

  std::unique_ptr<HttpServer> server_;
  Gate gate_;
  std::atomic<int> uploads_{0};
};

TEST_F(HttpServerTest, IdleKeptAliveConnectionsDoNotDelayHealth) {
  StartServer();
  for (int n : {8, 200}) {
    std::vector<std::unique_ptr<RawConn>> idle;
    for (int i = 0; i < n; ++i) {
      idle.push_back(std::make_unique<RawConn>(port()));
      ASSERT_TRUE(idle.back()->ok());
      // Half of them made one request and stay open (keep-alive); half never sent anything.
      if (i % 2 == 0) {
        ASSERT_TRUE(idle.back()->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_NE(idle.back()->ReadUntil("ok\n").find("200 OK"), std::string::npos);
      }
    }
    // cpp-httplib's 8-thread server did not answer this within the 5 s read timeout.
    EXPECT_EQ(Get("/-/healthy"), 200) << n << " idle connections";
    // The connections of the previous round and of Get() close asynchronously.
    EXPECT_TRUE(WaitFor([&] { return server_->stats().connections_open == uint64_t(n); }, 5'000));
  }
}

TEST_F(HttpServerTest, InlineRoutesAnswerWhileEveryPoolThreadIsBusy) {
  StartServer();
  std::vector<std::thread> blockers;
  for (int i = 0; i < 6; ++i) {  // 2 pool threads busy, 4 requests queued behind them
    blockers.emplace_back([this] {
      httplib::Client c("127.0.0.1", port());
      c.set_read_timeout(30, 0);
      c.Post("/block", "x", "text/plain");
    });
  }
  ASSERT_TRUE(WaitFor([&] { return gate_.waiting >= 2; }, 5'000));
  EXPECT_EQ(Get("/-/healthy"), 200);
  gate_.Open();
  for (auto& t : blockers) t.join();
}

TEST_F(HttpServerTest, PrefixRouteMatchesOneSegment) {
  StartServer();
  std::string body;
  EXPECT_EQ(Get("/items/42?x=1", &body), 200);
  EXPECT_EQ(body, "item 42");
  EXPECT_EQ(Get("/items/"), 404);
  EXPECT_EQ(Get("/items"), 404);
  EXPECT_EQ(Get("/items/1/2"), 404);
  EXPECT_EQ(Get("/itemsx/1"), 404);
}

TEST_F(HttpServerTest, QueryAndPathAreDecodedAndPipeliningWorks) {
  StartServer();
  RawConn c(port());
  ASSERT_TRUE(
      c.Send("GET /ec%68o?a=b%20c&d=e+f&empty HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /echo?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string out = c.ReadAll();
  EXPECT_NE(out.find("/echo\na=b c\nd=e f\nempty=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/echo\nx=1\n"), std::string::npos) << out;
  EXPECT_EQ(Get("/nope"), 404);
  httplib::Client hc("127.0.0.1", port());
  auto r = hc.Post("/echo", "x", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  StartServer();
  RawConn c(port());
  ASSERT_TRUE(c.Send(
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(c.ReadUntil("\r\n\r\n").rfind("HTTP/1.1 100", 0), 0u);
  ASSERT_TRUE(c.Send("hello"));
  EXPECT_NE(c.ReadUntil("hello").find("got 5 bytes: hello"), std::string::npos);
  // Refused from the header alone: the final answer comes at once, no 100, body never read.
  RawConn d(port());
  ASSERT_TRUE(
      d.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Content-Encoding: br\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(d.ReadAll().rfind("HTTP/1.1 415", 0), 0u);
}

TEST_F(HttpServerTest, SlowlorisHeaderIsCutByTheHeaderTimeout) {
  HttpServerOptions opt;
  opt.header_timeout_ms = 300;
  StartServer(opt);
  RawConn c(port());
  ASSERT_TRUE(c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  EXPECT_TRUE(c.PeerClosed());                                    // within the 10 s receive timeout
  // Beast closes the socket on the deadline, then runs the handler that counts it.
  EXPECT_TRUE(WaitFor([&] { return server_->stats().timeouts == 1; }, 5'000));
  EXPECT_TRUE(WaitFor([&] { return server_->stats().connections_open == 0; }, 5'000));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions opt;
  opt.idle_timeout_ms = 300;
  StartServer(opt);
  RawConn c(port());
  ASSERT_TRUE(c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(c.ReadUntil("ok\n").find("200 OK"), std::string::npos);
  EXPECT_TRUE(c.PeerClosed());
  EXPECT_TRUE(WaitFor([&] { return server_->stats().timeouts == 1; }, 5'000));
}

TEST_F(HttpServerTest, DeclaredLengthAboveLimitIs413BeforeTheBody) {
  HttpServerOptions opt;
  opt.max_body_bytes = 64 * 1024;
  StartServer(opt);
  RawConn c(port());
  ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"));
  const std::string out = c.ReadAll();
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find("limits.max_body_bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_EQ(uploads_, 0);
}

TEST_F(HttpServerTest, ChunkedBodyPastLimitIs413WithoutReadingItWhole) {
  HttpServerOptions opt;
  opt.max_body_bytes = 64 * 1024;
  StartServer(opt);
  RawConn c(port());
  ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string response;
  std::thread reader([&] { response = c.ReadAll(); });
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'a') + "\r\n";
  constexpr uint64_t kTry = 1ull << 30;  // 1 GiB offered
  uint64_t sent = 0;
  while (sent < kTry && c.Send(chunk)) sent += 0x4000;
  reader.join();
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_NE(response.find("limits.max_body_bytes"), std::string::npos) << response;
  // The server stopped reading: what went out is the limit, the lingering drain (4 MiB) and
  // the socket buffers, far below the gigabyte offered.
  EXPECT_LT(sent, 64ull << 20);
  EXPECT_EQ(uploads_, 0);
}

TEST_F(HttpServerTest, GzipAndDeflateBodiesAreInflated) {
  StartServer();
  httplib::Client c("127.0.0.1", port());
  httplib::Headers h = {{"Content-Encoding", "gzip"}};
  auto r = c.Post("/upload", h, Gzip("hello, inflated world"), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "got 21 bytes: hello, inflated world");
  h = {{"Content-Encoding", "deflate"}};
  r = c.Post("/upload", h, CompressZeros(100'000, false), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.substr(0, 18), "got 100000 bytes: ");
  h = {{"Content-Encoding", "gzip"}};
  r = c.Post("/upload", h, "not gzip at all", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("compressed body"), std::string::npos) << r->body;
}

TEST_F(HttpServerTest, GzipBombIsCutAtTheDecompressedLimit) {
  HttpServerOptions opt;
  opt.max_decompressed_bytes = 1 << 20;
  StartServer(opt);
  const std::string bomb = CompressZeros(256ull << 20);  // 256 MiB of zeros in ~250 KB
  ASSERT_LT(bomb.size(), 1u << 20);
  httplib::Client c("127.0.0.1", port());
  httplib::Headers h = {{"Content-Encoding", "gzip"}};
  auto r = c.Post("/upload", h, bomb, "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("max_decompressed_bytes"), std::string::npos) << r->body;
  EXPECT_EQ(uploads_, 0);
}

TEST_F(HttpServerTest, UnsupportedEncodingIs415WithReason) {
  StartServer();
  httplib::Client c("127.0.0.1", port());
  for (const char* enc : {"br", "zstd", "gzip"}) {
    httplib::Headers h = {{"Content-Encoding", enc}};
    auto r = c.Post("/snappy", h, std::string(10'000, 'x'), "application/x-protobuf");
    ASSERT_TRUE(r) << enc;
    EXPECT_EQ(r->status, 415) << enc;
    EXPECT_NE(r->body.find(std::string("'") + enc + "'"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("snappy"), std::string::npos) << r->body;
  }
  httplib::Headers h = {{"Content-Encoding", "br"}};
  auto r = c.Post("/upload", h, "x", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  h = {{"Content-Encoding", "snappy"}};
  r = c.Post("/snappy", h, "x", "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "encoding=snappy");
}

TEST_F(HttpServerTest, ConnectionOverTheCapGets503AndIsClosed) {
  HttpServerOptions opt;
  opt.max_connections = 4;
  StartServer(opt);
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawConn>(port()));
  ASSERT_TRUE(WaitFor([&] { return server_->stats().connections_open == 4; }, 5'000));
  RawConn extra(port());
  const std::string out = extra.ReadAll();
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_NE(out.find("max_connections"), std::string::npos) << out;
  EXPECT_EQ(server_->stats().connections_refused, 1u);
  held.clear();  // freed slots are usable again
  ASSERT_TRUE(WaitFor([&] { return server_->stats().connections_open == 0; }, 5'000));
  EXPECT_EQ(Get("/-/healthy"), 200);
}

TEST_F(HttpServerTest, BodiesInFlightAboveTheGlobalCapGet503) {
  HttpServerOptions opt;
  opt.max_body_bytes = 64 * 1024;
  opt.max_decompressed_bytes = 64 * 1024;
  opt.max_inflight_body_bytes = 100 * 1024;
  StartServer(opt);
  // One 60 KiB body held by a blocked handler; a second one does not fit under 100 KiB.
  std::thread first([this] {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(30, 0);
    c.Post("/block", std::string(60 * 1024, 'a'), "text/plain");
  });
  ASSERT_TRUE(WaitFor([&] { return gate_.waiting >= 1; }, 5'000));
  httplib::Client c("127.0.0.1", port());
  auto r = c.Post("/upload", std::string(60 * 1024, 'b'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  gate_.Open();
  first.join();
  ASSERT_TRUE(WaitFor([&] { return server_->stats().inflight_body_bytes == 0; }, 5'000));
  r = c.Post("/upload", std::string(60 * 1024, 'b'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace backsight::server
