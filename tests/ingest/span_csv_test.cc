#include "backsight/ingest/span_csv.h"

#include <gtest/gtest.h>

namespace backsight::ingest {
namespace {

TEST(SpanCsv, BacksightHeader) {
  SpanBatch b;
  Status st = ReadSpanCsv(
      "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,end_unix_nano,"
      "status\n"
      "t1,a,,frontend,fe-0,GET /,100,400,ok\n"
      "t1,b,a,cart,cart-0,\"Get, cart\",150,300,error\n"
      "t1,c,b,redis,,GET,160,170,\n",
      &b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(b.spans.size(), 3u);
  EXPECT_EQ(b.spans[0].parent_span_id, "");
  EXPECT_EQ(b.spans[0].status, SpanStatus::kOk);
  EXPECT_EQ(b.spans[1].name, "Get, cart");
  EXPECT_EQ(b.spans[1].status, SpanStatus::kError);
  EXPECT_EQ(b.spans[1].duration_ns(), 150);
  EXPECT_EQ(b.spans[2].status, SpanStatus::kUnset);
  EXPECT_EQ(b.spans[2].instance, "");
}

TEST(SpanCsv, NezhaHeaderMapsPodToService) {
  SpanBatch b;
  ASSERT_TRUE(ReadSpanCsv("TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,"
                          "EndTimeUnixNano,Duration\n"
                          "df84,1444,root,ts-gateway-service-6f6cfc45b-d9pnv,/*,1000,3000,2\n"
                          "df84,22f7,1444,ts-food-service-f5756978c-k8vqf,get,1100,2000,0\n",
                          &b)
                  .ok());
  ASSERT_EQ(b.spans.size(), 2u);
  EXPECT_EQ(b.spans[0].parent_span_id, "");
  EXPECT_EQ(b.spans[0].service, "ts-gateway-service");
  EXPECT_EQ(b.spans[1].service, "ts-food-service");
  EXPECT_EQ(b.spans[1].instance, "ts-food-service-f5756978c-k8vqf");
  EXPECT_EQ(ServiceOfPod("redis"), "redis");
}

TEST(SpanCsv, ErrorsNameTheLineAndAppendNothing) {
  const std::string head =
      "trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,end_unix_nano,"
      "status\n";
  SpanBatch b;
  Status st = ReadSpanCsv(head + "t,a,,s,i,op,100,50,\n", &b);
  EXPECT_EQ(st.reason(), Reason::kTimestamp);
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st.message();
  st = ReadSpanCsv(head + "t,a,,s,i,op,100,200,ok\nt,b,,s,i,op,1x,200,ok\n", &b);
  EXPECT_NE(st.message().find("line 3: start time"), std::string::npos) << st.message();
  st = ReadSpanCsv(head + "t,a,,s,i,op,100,200,bad\n", &b);
  EXPECT_NE(st.message().find("unknown status"), std::string::npos);
  st = ReadSpanCsv("trace_id,span_id\n", &b);
  EXPECT_NE(st.message().find("lacks column parent_span_id"), std::string::npos) << st.message();
  st = ReadSpanCsv(head + "t,a,,s\n", &b);
  EXPECT_NE(st.message().find("expected 9 fields, got 4"), std::string::npos) << st.message();
  EXPECT_TRUE(b.spans.empty());
}

}  // namespace
}  // namespace backsight::ingest
