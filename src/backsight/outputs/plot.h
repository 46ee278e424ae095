// Anomaly plots: a series, its expected band, the anomalies and the anomaly score, drawn with Cairo
// to PNG, SVG, or a self-contained HTML page that embeds the SVG.
#ifndef BACKSIGHT_OUTPUTS_PLOT_H_
#define BACKSIGHT_OUTPUTS_PLOT_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/outputs/anomaly_intervals.h"

namespace backsight::outputs {

/// Streaming, bounded-memory collector of one series for plotting. Points are kept in time buckets
/// (min/max/first/last value, band envelope, max score, anomalies); when there are more than
/// `max_buckets`, neighbouring buckets are merged pairwise, so memory stays O(max_buckets) for any
/// series length and the picture keeps every extreme (M4-style aggregation, Jugel et al.,
/// "M4: A Visualization-Oriented Time Series Data Aggregation", VLDB 2014).
class PlotSeries {
 public:
  /// One time bucket of points.
  struct Bucket {
    TimestampNs t_first = 0, t_last = 0;                   ///< first/last timestamp (ns)
    double v_first = 0, v_last = 0, v_min = 0, v_max = 0;  ///< values (series units)
    /// Envelope of the expected band over the bucket; meaningful only if has_band.
    double band_lo = 0, band_hi = 0;
    bool has_band = false;
    double score_max = 0;        ///< largest finite anomaly_score in the bucket
    bool anomaly = false;        ///< any point with is_anomaly
    TimestampNs anomaly_ts = 0;  ///< time and value of the highest-scoring anomalous point
    double anomaly_value = 0;
    double anomaly_score = -1;
    uint64_t n = 0;  ///< points in the bucket
  };

  /// `title` is drawn above the panel (e.g. the file name). `max_buckets` >= 16.
  explicit PlotSeries(std::string title, size_t max_buckets = 4096);

  /// Adds one scored point in time order: timestamp (ns), value, expected band (NaN = none),
  /// anomaly_score (>= 0) and the is_anomaly decision. Points with a non-finite value are ignored.
  void Add(TimestampNs ts, double value, double yhat_lower, double yhat_upper, double anomaly_score,
           bool is_anomaly);

  /// Marks [first point, warmup_end_ns] as the detector's warm-up (drawn shaded).
  void set_warmup_end(TimestampNs warmup_end_ns) {
    warmup_end_ns_ = warmup_end_ns;
    has_warmup_ = true;
  }
  /// Anomalous intervals to shade (normally from AnomalyIntervalTracker).
  void set_intervals(std::vector<AnomalyInterval> intervals) { intervals_ = std::move(intervals); }
  /// Text drawn after the title (e.g. "22695 rows, 4 anomalous intervals").
  void set_subtitle(std::string subtitle) { subtitle_ = std::move(subtitle); }
  /// Label of the value (y) axis, drawn vertically left of the chart (see ValueAxisLabel()).
  void set_value_label(std::string label) { value_label_ = std::move(label); }

  const std::string& title() const { return title_; }
  const std::string& subtitle() const { return subtitle_; }
  const std::string& value_label() const { return value_label_; }
  const std::vector<Bucket>& buckets() const { return buckets_; }
  const std::vector<AnomalyInterval>& intervals() const { return intervals_; }
  bool has_warmup() const { return has_warmup_; }
  TimestampNs warmup_end_ns() const { return warmup_end_ns_; }
  /// Number of points added (non-finite values excluded).
  uint64_t points() const { return points_; }

 private:
  void Merge();  // halves the number of buckets

  std::string title_;
  std::string subtitle_;
  std::string value_label_;
  size_t max_buckets_;
  uint64_t per_bucket_ = 1;  // points per bucket before a new one starts
  uint64_t points_ = 0;
  std::vector<Bucket> buckets_;
  std::vector<AnomalyInterval> intervals_;
  TimestampNs warmup_end_ns_ = 0;
  bool has_warmup_ = false;
};

/// Unit named by the suffix of a metric name, per the Prometheus naming conventions
/// (https://prometheus.io/docs/practices/naming/, "base units"; `_total` and `_sum` are skipped
/// over, `_count` and `_bucket` carry no unit): "seconds" for `request_duration_seconds`, "bytes"
/// for `heap_bytes_total`, also ratio, percent, celsius, meters, volts, amperes, joules, grams,
/// watts, hertz, bits and milli/microseconds. "" when none applies. Case-insensitive.
std::string UnitFromName(std::string_view name);

/// Value-axis label of a series: `column` (e.g. the CSV value column header), or `file`'s stem
/// when the column has a generic name ("value", "y", "") and a file is given ("-" and "<stdin>"
/// are not), followed by " (<unit>)" when UnitFromName finds one.
/// E.g. ("latency_seconds", "a.csv") -> "latency_seconds (seconds)";
/// ("value", "dir/disk_used_bytes.csv") -> "disk_used_bytes (bytes)".
std::string ValueAxisLabel(std::string_view column, std::string_view file);

/// Layout of a plot.
struct PlotOptions {
  int width_px = 1400;        ///< image width
  int main_height_px = 380;   ///< height of the value chart of each panel
  int score_height_px = 110;  ///< height of the anomaly-score strip (0 = none)
  std::string title = "Backsight anomaly detection";  ///< page title (top of the image)
};

/// The file formats WritePlot writes.
enum class PlotFormat { kUnknown, kPng, kSvg, kHtml };

/// The format named by `path`'s extension (case-insensitive): `.png`, `.svg`, `.html` or `.htm`;
/// kUnknown for any other extension or none. Lets a command refuse a bad --plot before its work.
PlotFormat PlotFormatOf(const std::string& path);

/// Draws one panel per series, stacked, and writes `path`; the format comes from its extension
/// (case-insensitive): `.png`, `.svg`, or `.html`/`.htm` (a self-contained page embedding the SVG
/// and a table of the anomalous intervals). Returns InvalidArgument for another extension or no
/// series, and IoError (naming the path) when the file cannot be written.
Status WritePlot(const std::vector<const PlotSeries*>& series, const PlotOptions& options,
                 const std::string& path);

}  // namespace backsight::outputs

#endif  // BACKSIGHT_OUTPUTS_PLOT_H_
