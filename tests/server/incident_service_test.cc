// MemberFromSeries: the engine's series as incident members (signal, indicator, service, labels).
#include "backsight/server/incident_service.h"

#include <gtest/gtest.h>

namespace backsight::server {
namespace {

TEST(MemberFromSeries, NamesSignalIndicatorServiceAndGroupingLabels) {
  incidents::Member m = MemberFromSeries({{"__name__", "backsight_trace_p99_seconds"},
                                          {"service_name", "cart"},
                                          {"span_name", "GET /cart"}},
                                         0xabc);
  EXPECT_EQ(m.signal, incidents::Signal::kTrace);
  EXPECT_EQ(m.indicator, "p99 latency of GET /cart");
  EXPECT_EQ(m.service, "cart");
  EXPECT_EQ(m.labels, (Labels{{"service", "cart"}}));
  EXPECT_EQ(m.key, "series:" + FormatFingerprint(0xabc));

  m = MemberFromSeries(
      {{"__name__", "backsight_log_template_count"}, {"service", "api"}, {"template_id", "7"}}, 1);
  EXPECT_EQ(m.signal, incidents::Signal::kLog);
  EXPECT_EQ(m.indicator, "count of log template 7");

  m = MemberFromSeries({{"__name__", "http_latency"},
                        {"instance", "10.0.0.1:80"},
                        {"job", "web"},
                        {"path", "/x"},
                        {"pod", "web-1"}},
                       2);
  EXPECT_EQ(m.signal, incidents::Signal::kMetric);
  EXPECT_EQ(m.indicator, "http_latency");
  EXPECT_EQ(m.service, "");
  EXPECT_EQ(m.labels, (Labels{{"instance", "10.0.0.1:80"}, {"job", "web"}, {"pod", "web-1"}}));
}

}  // namespace
}  // namespace backsight::server
