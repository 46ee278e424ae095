#include "backsight/analyze/api/access_log.h"

#include <gtest/gtest.h>

namespace backsight::api {
namespace {

TEST(AccessLogTest, CombinedLine) {
  AccessLogParser p;
  AccessRecord r;
  ASSERT_TRUE(
      p.Parse("127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /orders/3?expand=items&x "
              "HTTP/1.0\" 404 2326 \"http://ref/\" \"Mozilla/4.08\"",
              &r)
          .ok());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/orders/3");
  EXPECT_EQ(r.query, "expand=items&x");
  EXPECT_EQ(r.status, 404);
  // 2000-10-10T20:55:36Z
  EXPECT_EQ(r.time_ns, 971211336LL * 1000000000LL);
}

TEST(AccessLogTest, CommonLineAndAbsoluteTarget) {
  AccessLogParser p;
  AccessRecord r;
  ASSERT_TRUE(p.Parse("::1 - - [01/Jan/2026:00:00:00 +0000] \"DELETE http://api.example.com/a/b "
                      "HTTP/1.1\" 204 -",
                      &r)
                  .ok());
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.status, 204);
}

TEST(AccessLogTest, JsonLinesDefaultAndConfiguredFields) {
  AccessLogParser p;
  AccessRecord r;
  ASSERT_TRUE(p.Parse(R"({"method":"POST","path":"/x?a=1","status":"201"})", &r).ok());
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/x");
  EXPECT_EQ(r.query, "a=1");
  EXPECT_EQ(r.status, 201);
  // nginx-style escape=json log with $request.
  ASSERT_TRUE(
      p.Parse(R"({"request":"GET /y HTTP/1.1","status":200,"time":"2026-01-01T00:00:01Z"})", &r)
          .ok());
  EXPECT_EQ(r.path, "/y");
  EXPECT_EQ(r.time_ns, 1767225601LL * 1000000000LL);
  AccessLogOptions o;
  o.json_method = "verb";
  o.json_path = "route";
  o.json_status = "code";
  AccessLogParser custom(o);
  ASSERT_TRUE(custom.Parse(R"({"verb":"PUT","route":"/z","code":500})", &r).ok());
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.status, 500);
}

TEST(AccessLogTest, ClientUserAndUserAgent) {
  AccessLogParser p;
  AccessRecord r;
  // A referer with escaped quotes (as a scanner's payload is logged) before the user agent.
  ASSERT_TRUE(p.Parse(R"(203.0.113.9 - bob [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/1.1" )"
                      R"(401 12 "'\"--></style>" "sqlmap/1.7")",
                      &r)
                  .ok());
  EXPECT_EQ(r.client, "203.0.113.9");
  EXPECT_EQ(r.user, "bob");
  EXPECT_EQ(r.user_agent, "sqlmap/1.7");
  ASSERT_TRUE(p.Parse("::1 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5", &r).ok());
  EXPECT_EQ(r.client, "::1");
  EXPECT_EQ(r.user, "");
  EXPECT_EQ(r.user_agent, "");
  ASSERT_TRUE(p.Parse(R"({"remote_addr":"198.51.100.7","request":"GET /a HTTP/1.1","status":200,)"
                      R"("http_user_agent":"curl/8.0","remote_user":"-"})",
                      &r)
                  .ok());
  EXPECT_EQ(r.client, "198.51.100.7");
  EXPECT_EQ(r.user_agent, "curl/8.0");
  EXPECT_EQ(r.user, "");
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.method, "GET");
}

TEST(AccessLogTest, ErrorsSayWhy) {
  AccessLogParser p;
  AccessRecord r;
  Status st = p.Parse("127.0.0.1 - - 10/Oct/2000:13:55:36 -0700 \"GET / HTTP/1.0\" 200 1", &r);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.reason(), Reason::kMalformed);
  EXPECT_NE(st.message().find("expected '['"), std::string::npos) << st.message();
  st = p.Parse("h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 2000 1", &r);
  EXPECT_NE(st.message().find("three-digit"), std::string::npos) << st.message();
  st = p.Parse("h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 999 1", &r);
  EXPECT_NE(st.message().find("100..599"), std::string::npos) << st.message();
  st = p.Parse("h - - [10/Oct/2000:13:55:36 -0700] \"GET\" 200 1", &r);
  EXPECT_NE(st.message().find("request line"), std::string::npos) << st.message();
  st = p.Parse("h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0", &r);
  EXPECT_NE(st.message().find("closing the request line"), std::string::npos) << st.message();
  st = p.Parse(R"({"method":"GET","path":"/"})", &r);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_NE(st.message().find("no status"), std::string::npos) << st.message();
  st = p.Parse("{\"method\":", &r);
  EXPECT_EQ(st.reason(), Reason::kJson);
  st = p.Parse(R"({"method":"GET","path":"nope","status":200})", &r);
  EXPECT_NE(st.message().find("does not start with '/'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace backsight::api
