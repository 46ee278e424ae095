#include "backsight/outputs/plot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace backsight::outputs {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A sine series with a spike; band NaN for the first 50 points (no band yet).
PlotSeries MakeSeries(int n) {
  PlotSeries s("cpu.csv", 256);
  AnomalyIntervalTracker tracker;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int i = 0; i < n; ++i) {
    const TimestampNs ts = (1404172800LL + i * 300LL) * kNanosPerSecond;
    const bool spike = i >= n / 2 && i < n / 2 + 3;
    const double v = 50 + 10 * std::sin(i * 0.05) + (spike ? 40 : 0);
    const double score = spike ? 3.0 : 0.2;
    s.Add(ts, v, i < 50 ? nan : v - 8, i < 50 ? nan : v + 8, score, spike);
    tracker.Add(ts, score, spike);
  }
  tracker.Finish();
  s.set_intervals(tracker.intervals());
  s.set_warmup_end((1404172800LL + 49 * 300LL) * kNanosPerSecond);
  s.set_subtitle(std::to_string(n) + " rows");
  return s;
}

TEST(PlotSeriesTest, BucketsStayBoundedAndKeepExtremes) {
  PlotSeries s = MakeSeries(10000);
  EXPECT_EQ(s.points(), 10000u);
  EXPECT_LE(s.buckets().size(), 256u);
  double vmax = -1e300;
  uint64_t n = 0;
  bool anomaly = false;
  for (const auto& b : s.buckets()) {
    vmax = std::max(vmax, b.v_max);
    n += b.n;
    anomaly = anomaly || b.anomaly;
  }
  EXPECT_EQ(n, 10000u);
  EXPECT_TRUE(anomaly);
  EXPECT_GT(vmax, 75);  // the spike (>= 80; otherwise <= 60) survives aggregation
  EXPECT_EQ(s.intervals().size(), 1u);
}

TEST(PlotSeriesTest, IgnoresNonFiniteValues) {
  PlotSeries s("x");
  s.Add(1, std::numeric_limits<double>::quiet_NaN(), 0, 1, 0, false);
  s.Add(2, std::numeric_limits<double>::infinity(), 0, 1, 0, false);
  s.Add(3, 1.0, 0, 2, 0.1, false);
  EXPECT_EQ(s.points(), 1u);
  ASSERT_EQ(s.buckets().size(), 1u);
  EXPECT_DOUBLE_EQ(s.buckets()[0].v_min, 1.0);
}

TEST(PlotTest, WritesValidPng) {
  PlotSeries s = MakeSeries(2000);
  const std::string path = TempPath("plot.png");
  ASSERT_TRUE(WritePlot({&s}, PlotOptions{}, path).ok());
  const std::string data = ReadFile(path);
  ASSERT_GT(data.size(), 1000u);
  EXPECT_EQ(data.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::remove(path.c_str());
}

TEST(PlotTest, WritesSvgAndHtmlWithSeveralPanels) {
  PlotSeries a = MakeSeries(500);
  PlotSeries b("empty.csv");  // no points: drawn as "no data"
  const std::string svg_path = TempPath("plot.SVG");
  ASSERT_TRUE(WritePlot({&a, &b}, PlotOptions{}, svg_path).ok());
  const std::string svg = ReadFile(svg_path);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);

  const std::string html_path = TempPath("plot.html");
  ASSERT_TRUE(WritePlot({&a, &b}, PlotOptions{}, html_path).ok());
  const std::string html = ReadFile(html_path);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(html.find("cpu.csv"), std::string::npos);
  EXPECT_NE(html.find("<table>"), std::string::npos);  // interval table
  std::remove(svg_path.c_str());
  std::remove(html_path.c_str());
}

TEST(PlotTest, DegenerateSeriesDoNotCrashOrHang) {
  PlotSeries one("one");
  one.Add(1404172800LL * kNanosPerSecond, 5, 4, 6, 0.1, false);
  PlotSeries flat("flat");
  PlotSeries huge("huge");
  PlotSeries tiny("tiny");
  for (int i = 0; i < 100; ++i) {
    flat.Add(i * kNanosPerSecond, 3, 3, 3, 0, false);
    huge.Add(i * kNanosPerSecond, (i % 2 ? 1 : -1) * 1e308, -1e308, 1e308, 1e300, i == 50);
    tiny.Add(i, 1e-300 * i, 0, 1e-299, 0.5, false);  // 100 ns span
  }
  const std::string path = TempPath("degenerate.png");
  if (std::getenv("BACKSIGHT_KEEP_PLOTS")) std::fprintf(stderr, "%s\n", path.c_str());
  ASSERT_TRUE(WritePlot({&one, &flat, &huge, &tiny}, PlotOptions{}, path).ok());
  EXPECT_GT(ReadFile(path).size(), 1000u);
  if (!std::getenv("BACKSIGHT_KEEP_PLOTS")) std::remove(path.c_str());
}

TEST(PlotTest, RejectsUnknownExtensionAndUnwritablePath) {
  PlotSeries s = MakeSeries(100);
  Status st = WritePlot({&s}, PlotOptions{}, TempPath("plot.jpg"));
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  st = WritePlot({&s}, PlotOptions{}, "/nonexistent/dir/plot.png");
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("/nonexistent/dir/plot.png"), std::string::npos);
  st = WritePlot({}, PlotOptions{}, TempPath("plot.png"));
  EXPECT_FALSE(st.ok());
}

// The extension picks the format, case-insensitively; the last dot counts, so a directory name
// with a dot or a missing extension is unknown.
TEST(PlotTest, FormatComesFromTheExtension) {
  EXPECT_EQ(PlotFormatOf("a.png"), PlotFormat::kPng);
  EXPECT_EQ(PlotFormatOf("out/A.PNG"), PlotFormat::kPng);
  EXPECT_EQ(PlotFormatOf("a.Svg"), PlotFormat::kSvg);
  EXPECT_EQ(PlotFormatOf("a.html"), PlotFormat::kHtml);
  EXPECT_EQ(PlotFormatOf("a.HTM"), PlotFormat::kHtml);
  EXPECT_EQ(PlotFormatOf("a.png.gz"), PlotFormat::kUnknown);
  EXPECT_EQ(PlotFormatOf("v1.2/plot"), PlotFormat::kUnknown);
  EXPECT_EQ(PlotFormatOf("png"), PlotFormat::kUnknown);
  EXPECT_EQ(PlotFormatOf(""), PlotFormat::kUnknown);
}

TEST(PlotLabelTest, UnitFromPrometheusStyleNames) {
  EXPECT_EQ(UnitFromName("http_request_duration_seconds"), "seconds");
  EXPECT_EQ(UnitFromName("node_cpu_seconds_total"), "seconds");
  EXPECT_EQ(UnitFromName("http_request_duration_seconds_sum"), "seconds");
  EXPECT_EQ(UnitFromName("http_request_duration_seconds_count"), "");
  EXPECT_EQ(UnitFromName("http_request_duration_seconds_bucket"), "");
  EXPECT_EQ(UnitFromName("process_resident_memory_bytes"), "bytes");
  EXPECT_EQ(UnitFromName("cache_hit_ratio"), "ratio");
  EXPECT_EQ(UnitFromName("CPU_Percent"), "percent");
  EXPECT_EQ(UnitFromName("node_hwmon_temp_celsius"), "celsius");
  EXPECT_EQ(UnitFromName("machine_temperature"), "");
  EXPECT_EQ(UnitFromName("seconds"), "");      // a bare unit is no name
  EXPECT_EQ(UnitFromName("lastseconds"), "");  // the unit is a whole word
}

TEST(PlotLabelTest, ValueAxisLabelUsesColumnOrFileStem) {
  EXPECT_EQ(ValueAxisLabel("latency_seconds", "a.csv"), "latency_seconds (seconds)");
  EXPECT_EQ(ValueAxisLabel("value", "data/disk_used_bytes.csv"), "disk_used_bytes (bytes)");
  EXPECT_EQ(ValueAxisLabel("Value", "machine_temperature.csv"), "machine_temperature");
  EXPECT_EQ(ValueAxisLabel("value", "<stdin>"), "value");
  EXPECT_EQ(ValueAxisLabel("", "-"), "value");
  EXPECT_EQ(ValueAxisLabel("temp_celsius", "x/y.tar.csv"), "temp_celsius (celsius)");
}

TEST(PlotLabelTest, HtmlPageNamesTheValueAxis) {
  PlotSeries s = MakeSeries(300);
  s.set_value_label(ValueAxisLabel("value", "cpu_usage_ratio.csv"));
  const std::string path = TempPath("label.html");
  ASSERT_TRUE(WritePlot({&s}, PlotOptions{}, path).ok());
  EXPECT_NE(ReadFile(path).find("values: cpu_usage_ratio (ratio)"), std::string::npos);
  std::remove(path.c_str());
}

TEST(PlotLabelTest, HtmlPageEscapesTitlesAndLabels) {
  PlotSeries s = MakeSeries(300);
  s.set_value_label("p<50> & \"up\"");
  const std::string path = TempPath("escape.html");
  ASSERT_TRUE(WritePlot({&s}, PlotOptions{}, path).ok());
  const std::string html = ReadFile(path);
  EXPECT_NE(html.find("values: p&lt;50&gt; &amp; &quot;up&quot;"), std::string::npos);
  EXPECT_EQ(html.find("p<50>"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace backsight::outputs
