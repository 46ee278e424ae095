#include "backsight/server/history_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

namespace backsight::server {
namespace {

constexpr int64_t kStep = 15 * kNanosPerSecond;

TEST(HistoryClientTest, SelectorMatchesEveryLabelWithEscapedValues) {
  const Labels labels = {{"__name__", "http_requests"}, {"path", "a\"b\\c\nd"}, {"x", ""}};
  EXPECT_EQ(SelectorFor(labels), R"({__name__="http_requests",path="a\"b\\c\nd",x=""})");
}

TEST(HistoryClientTest, SplitRangeKeepsEveryQueryWithinPrometheusPointLimit) {
  // 3 days at 15 s: 17,280 points -> 11,000 + 6,280, contiguous, one step apart.
  const TimestampNs end = (17'280 - 1) * kStep;
  const auto r = SplitRange(0, end, kStep);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].first, 0);
  EXPECT_EQ(r[0].second, (kMaxPointsPerQuery - 1) * kStep);
  EXPECT_EQ(r[1].first, r[0].second + kStep);
  EXPECT_EQ(r[1].second, end);
  for (const auto& [s, e] : r) EXPECT_LE((e - s) / kStep + 1, kMaxPointsPerQuery);
  // Exactly 11,000 points: one query; end before start: none.
  EXPECT_EQ(SplitRange(0, (kMaxPointsPerQuery - 1) * kStep, kStep).size(), 1u);
  EXPECT_TRUE(SplitRange(10, 0, kStep).empty());
}

TEST(HistoryClientTest, ParseKeepsOnlyTheSeriesWithExactlyOurLabels) {
  const Labels ours = {{"__name__", "m"}, {"job", "a"}};
  const std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"__name__":"m","job":"a","extra":"1"},"values":[[1700000000,"9"]]},
    {"metric":{"job":"a","__name__":"m"},"values":[[1700000000.25,"1.5"],[1700000015,"NaN"]]}
  ]}})";
  std::vector<Sample> out;
  ASSERT_TRUE(ParseQueryRange(body, ours, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ts, 1'700'000'000'250 * kNanosPerMilli);
  EXPECT_EQ(out[0].value, 1.5);
  EXPECT_TRUE(std::isnan(out[1].value));
}

TEST(HistoryClientTest, ParseReportsApiErrorsAndBadShapes) {
  std::vector<Sample> out;
  Status st = ParseQueryRange(
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\""})", {},
      &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("bad_data: invalid parameter"), std::string::npos) << st.message();
  st = ParseQueryRange(R"({"status":"success","data":{"resultType":"vector","result":[]}})", {},
                       &out);
  EXPECT_EQ(st.reason(), Reason::kJson);
  st = ParseQueryRange(R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{},"values":[[1,"x"]]}]}})",
                       {}, &out);
  EXPECT_EQ(st.reason(), Reason::kJson);
  EXPECT_NE(st.message().find("'x' is not a number"), std::string::npos) << st.message();
  EXPECT_EQ(ParseQueryRange("not json", {}, &out).reason(), Reason::kJson);
  EXPECT_TRUE(out.empty());
}

// A fake query API on 127.0.0.1: records the form parameters, answers with `status`.
class FakeApi {
 public:
  explicit FakeApi(int status) {
    server_.Post("/prefix/api/v1/query_range",
                 [this, status](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard<std::mutex> lock(mu);
                   queries.push_back({req.get_param_value("query"), req.get_param_value("start"),
                                      req.get_param_value("end"), req.get_param_value("step")});
                   res.status = status;
                   res.set_content(status == 200 ? R"({"status":"success","data":{
                       "resultType":"matrix","result":[{"metric":{"__name__":"m"},
                       "values":[[1700000000,"1"]]}]}})"
                                                 : R"({"status":"error","errorType":"bad_data",
                                                      "error":"nope"})",
                                   "application/json");
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeApi() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/prefix/"; }
  std::mutex mu;
  std::vector<std::vector<std::string>> queries;  // query, start, end, step

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HistoryClientTest, FetchPostsOneQueryPerPieceAtTheStep) {
  FakeApi api(200);
  PrometheusHistoryClient client(api.url(), 2000);
  std::vector<Sample> out;
  const TimestampNs start = 1'700'000'000 * kNanosPerSecond;
  ASSERT_TRUE(
      client.Fetch({{"__name__", "m"}}, start, start + (17'280 - 1) * kStep, 15'000, &out).ok());
  ASSERT_EQ(api.queries.size(), 2u);
  EXPECT_EQ(api.queries[0][0], R"({__name__="m"})");
  EXPECT_EQ(api.queries[0][1], "1700000000.000");
  EXPECT_EQ(api.queries[0][2], "1700164985.000");  // + 10,999 steps
  EXPECT_EQ(api.queries[1][1], "1700165000.000");
  EXPECT_EQ(api.queries[0][3], "15.000");
  EXPECT_EQ(out.size(), 2u);  // one point per piece from the fake
}

TEST(HistoryClientTest, FetchErrorsSayWhetherToRetry) {
  std::vector<Sample> out;
  FakeApi unavailable(503);
  EXPECT_EQ(
      PrometheusHistoryClient(unavailable.url(), 2000).Fetch({}, 0, kStep, 15'000, &out).code(),
      Status::Code::kUnavailable);
  FakeApi bad(400);
  const Status st = PrometheusHistoryClient(bad.url(), 2000).Fetch({}, 0, kStep, 15'000, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("bad_data: nope"), std::string::npos) << st.message();
  // Nothing listens on port 1: connection refused, retryable.
  EXPECT_EQ(
      PrometheusHistoryClient("http://127.0.0.1:1", 500).Fetch({}, 0, kStep, 15'000, &out).code(),
      Status::Code::kUnavailable);
}

}  // namespace
}  // namespace backsight::server
