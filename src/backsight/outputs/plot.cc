#include "backsight/outputs/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numbers>
#include <string_view>

#include "backsight/core/markup_escape.h"

namespace backsight::outputs {

// ---------------------------------------------------------------------------------------------
// PlotSeries

PlotSeries::PlotSeries(std::string title, size_t max_buckets)
    : title_(std::move(title)), max_buckets_(std::max<size_t>(max_buckets, 16)) {
  buckets_.reserve(max_buckets_ + 1);
}

void PlotSeries::Add(TimestampNs ts, double value, double yhat_lower, double yhat_upper,
                     double anomaly_score, bool is_anomaly) {
  if (!std::isfinite(value)) return;
  ++points_;
  if (buckets_.empty() || buckets_.back().n >= per_bucket_) {
    if (buckets_.size() >= max_buckets_) Merge();
    if (buckets_.empty() || buckets_.back().n >= per_bucket_) {
      Bucket b;
      b.t_first = ts;
      b.v_first = b.v_min = b.v_max = value;
      buckets_.push_back(b);
    }
  }
  Bucket& b = buckets_.back();
  b.t_last = ts;
  b.v_last = value;
  b.v_min = std::min(b.v_min, value);
  b.v_max = std::max(b.v_max, value);
  if (std::isfinite(yhat_lower) && std::isfinite(yhat_upper)) {
    if (!b.has_band) {
      b.band_lo = yhat_lower;
      b.band_hi = yhat_upper;
      b.has_band = true;
    } else {
      b.band_lo = std::min(b.band_lo, yhat_lower);
      b.band_hi = std::max(b.band_hi, yhat_upper);
    }
  }
  if (std::isfinite(anomaly_score)) b.score_max = std::max(b.score_max, anomaly_score);
  if (is_anomaly) {
    b.anomaly = true;
    if (anomaly_score > b.anomaly_score) {
      b.anomaly_score = anomaly_score;
      b.anomaly_ts = ts;
      b.anomaly_value = value;
    }
  }
  ++b.n;
}

void PlotSeries::Merge() {
  size_t w = 0;
  for (size_t i = 0; i < buckets_.size(); i += 2, ++w) {
    Bucket m = buckets_[i];
    if (i + 1 < buckets_.size()) {
      const Bucket& o = buckets_[i + 1];
      m.t_last = o.t_last;
      m.v_last = o.v_last;
      m.v_min = std::min(m.v_min, o.v_min);
      m.v_max = std::max(m.v_max, o.v_max);
      if (o.has_band) {
        m.band_lo = m.has_band ? std::min(m.band_lo, o.band_lo) : o.band_lo;
        m.band_hi = m.has_band ? std::max(m.band_hi, o.band_hi) : o.band_hi;
        m.has_band = true;
      }
      m.score_max = std::max(m.score_max, o.score_max);
      if (o.anomaly && o.anomaly_score > m.anomaly_score) {
        m.anomaly_ts = o.anomaly_ts;
        m.anomaly_value = o.anomaly_value;
        m.anomaly_score = o.anomaly_score;
      }
      m.anomaly = m.anomaly || o.anomaly;
      m.n += o.n;
    }
    buckets_[w] = m;
  }
  buckets_.resize(w);
  per_bucket_ *= 2;
}

// ---------------------------------------------------------------------------------------------
// Drawing

std::string UnitFromName(std::string_view name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto strip = [&n](std::string_view suffix) {
    if (n.size() > suffix.size() && n.ends_with(suffix)) {
      n.resize(n.size() - suffix.size());
      return true;
    }
    return false;
  };
  if (strip("_count") || strip("_bucket")) return "";  // counts of observations
  if (!strip("_total")) strip("_sum");
  // Prometheus base units and common non-base ones.
  static constexpr std::string_view kUnits[] = {
      "seconds", "milliseconds", "microseconds", "nanoseconds", "bytes",  "bits",
      "ratio",   "percent",      "celsius",      "fahrenheit",  "kelvin", "meters",
      "volts",   "amperes",      "joules",       "grams",       "watts",  "hertz"};
  for (std::string_view u : kUnits) {
    if (n.size() > u.size() && n.ends_with(u) && n[n.size() - u.size() - 1] == '_') {
      return std::string(u);
    }
  }
  return "";
}

std::string ValueAxisLabel(std::string_view column, std::string_view file) {
  std::string name(column);
  std::string lower;
  for (char c : column) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if ((lower.empty() || lower == "value" || lower == "y") && !file.empty() && file != "-" &&
      file != "<stdin>") {
    std::string_view stem = file.substr(file.find_last_of('/') + 1);  // npos + 1 == 0
    if (const size_t dot = stem.rfind('.'); dot != std::string_view::npos && dot > 0) {
      stem = stem.substr(0, dot);
    }
    name = std::string(stem);
  }
  if (name.empty()) name = "value";
  const std::string unit = UnitFromName(name);
  return unit.empty() ? name : name + " (" + unit + ")";
}

namespace {

constexpr const char* kFont = "DejaVu Sans";

struct Rgb {
  double r, g, b;
};
constexpr Rgb kInk{0.13, 0.13, 0.15};
constexpr Rgb kMuted{0.42, 0.42, 0.46};
constexpr Rgb kGrid{0.89, 0.89, 0.91};
constexpr Rgb kLine{0.14, 0.36, 0.66};
constexpr Rgb kBand{0.55, 0.72, 0.92};
constexpr Rgb kRed{0.84, 0.11, 0.11};
constexpr Rgb kScore{0.45, 0.33, 0.65};

void SetColor(cairo_t* cr, Rgb c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

// Selects the plot font at `size` px (bold or not) and returns the extents of `str` in it.
cairo_text_extents_t SelectFontAndMeasure(cairo_t* cr, const std::string& str, double size,
                                          bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, str.c_str(), &ext);
  return ext;
}

void Text(cairo_t* cr, double x, double y, std::string_view s, double size, Rgb color,
          double align_x = 0.0, bool bold = false) {
  const std::string str(s);
  const cairo_text_extents_t ext = SelectFontAndMeasure(cr, str, size, bold);
  SetColor(cr, color);
  cairo_move_to(cr, x - align_x * ext.x_advance, y);
  cairo_show_text(cr, str.c_str());
}

double TextWidth(cairo_t* cr, std::string_view s, double size, bool bold = false) {
  return SelectFontAndMeasure(cr, std::string(s), size, bold).x_advance;
}

// "Nice" tick step (1, 2, 2.5 or 5 x 10^k) giving about `target` ticks over `span`.
double NiceStep(double span, int target) {
  if (!(span > 0) || !std::isfinite(span)) return 1;
  const double raw = span / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  double nice = 10;
  if (f <= 1)
    nice = 1;
  else if (f <= 2)
    nice = 2;
  else if (f <= 2.5)
    nice = 2.5;
  else if (f <= 5)
    nice = 5;
  return nice * mag;
}

std::string FormatTick(double v, double step) {
  char buf[48];
  const double a = std::max(std::fabs(v), std::fabs(step));
  if (a >= 1e7 || (a > 0 && a < 1e-4)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    if (std::fabs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) >
        1e-6) {
      ++decimals;  // e.g. 2.5
    }
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 8),
                  std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return buf;
}

std::tm Utc(int64_t secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// A time tick: position (seconds) and its two label lines.
struct TimeTick {
  int64_t secs;
  std::string top, bottom;
};

// Chooses ticks between [t0, t1] (seconds) for about `target` labels.
std::vector<TimeTick> TimeTicks(int64_t t0, int64_t t1, int target) {
  std::vector<TimeTick> ticks;
  const int64_t span = std::max<int64_t>(t1 - t0, 1);
  static const int64_t kSteps[] = {1,     2,     5,     10,    15,     30,    60,
                                   120,   300,   600,   900,   1800,   3600,  7200,
                                   10800, 21600, 43200, 86400, 172800, 604800};
  int64_t step = 0;
  for (int64_t s : kSteps) {
    if (span / s <= target) {
      step = s;
      break;
    }
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  if (step != 0) {
    int64_t first;
    if (step == 604800) {
      // Weeks start on Monday (1970-01-05 was a Monday).
      const int64_t monday = 4 * 86400;
      first = t0 + ((monday - t0) % step + step) % step;
    } else {
      first = (t0 / step) * step;
      if (first < t0) first += step;
    }
    int last_day = -1, last_year = -1;
    for (int64_t t = first; t <= t1 && ticks.size() < 200; t += step) {
      const std::tm tm = Utc(t);
      TimeTick tick{t, "", ""};
      const int day_key = tm.tm_year * 400 + tm.tm_yday;
      if (step < 86400) {
        std::snprintf(buf, sizeof buf, step < 60 ? "%02d:%02d:%02d" : "%02d:%02d", tm.tm_hour,
                      tm.tm_min, tm.tm_sec);
        tick.top = buf;
        if (day_key != last_day) {
          std::snprintf(buf, sizeof buf, "%s %d %d", kMonths[tm.tm_mon], tm.tm_mday,
                        tm.tm_year + 1900);
          tick.bottom = buf;
        }
      } else {
        std::snprintf(buf, sizeof buf, "%s %d", kMonths[tm.tm_mon], tm.tm_mday);
        tick.top = buf;
        if (tm.tm_year != last_year) tick.bottom = std::to_string(tm.tm_year + 1900);
      }
      last_day = day_key;
      last_year = tm.tm_year;
      ticks.push_back(std::move(tick));
    }
    return ticks;
  }
  // Months (1, 2, 3, 6) or years (1, 2, 5, 10, ...).
  const std::tm a = Utc(t0);
  const double months_span = span / (86400.0 * 30.44);
  int month_step = 0;
  for (int m : {1, 2, 3, 6, 12, 24, 60, 120, 240, 600}) {
    if (months_span / m <= target) {
      month_step = m;
      break;
    }
  }
  if (month_step == 0) month_step = 1200;
  int64_t ym = (a.tm_year + 1900) * 12LL + a.tm_mon;
  ym = ((ym + month_step - 1) / month_step) * month_step;
  int last_year = -1;
  for (; ticks.size() < 200; ym += month_step) {
    std::tm tm{};
    tm.tm_year = static_cast<int>(ym / 12 - 1900);
    tm.tm_mon = static_cast<int>(ym % 12);
    tm.tm_mday = 1;
    const int64_t t = timegm(&tm);
    if (t < t0) continue;
    if (t > t1) break;
    TimeTick tick{t, "", ""};
    if (month_step >= 12) {
      tick.top = std::to_string(tm.tm_year + 1900);
    } else {
      tick.top = kMonths[tm.tm_mon];
      if (tm.tm_year != last_year) tick.bottom = std::to_string(tm.tm_year + 1900);
    }
    last_year = tm.tm_year;
    ticks.push_back(std::move(tick));
  }
  return ticks;
}

struct Rect {
  double x, y, w, h;
};

// Maps time (ns) and value to pixels within a rectangle.
struct Mapping {
  Rect r;
  double t0, t1;  // seconds (double keeps sub-second spans)
  double v0, v1;
  double X(TimestampNs ts) const {
    return r.x + (static_cast<double>(ts) * 1e-9 - t0) / (t1 - t0) * r.w;
  }
  // Halves keep the arithmetic finite even for a +-1e308 range.
  double Y(double v) const {
    return r.y + r.h - (v * 0.5 - v0 * 0.5) / (v1 * 0.5 - v0 * 0.5) * r.h;
  }
};

void DrawFrame(cairo_t* cr, const Rect& r) {
  cairo_set_line_width(cr, 1.0);
  SetColor(cr, {0.72, 0.72, 0.75});
  cairo_rectangle(cr, r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
  cairo_stroke(cr);
}

void DrawValueAxis(cairo_t* cr, const Mapping& m, int target_ticks, double font) {
  const double step = NiceStep(m.v1 - m.v0, target_ticks);
  if (!std::isfinite(m.v1 - m.v0) || !((m.v1 - m.v0) / step < 100)) return;  // no sane ticks
  cairo_set_line_width(cr, 1.0);
  const double first = std::ceil(m.v0 / step) * step;
  for (int i = 0; i < 100; ++i) {
    const double v = first + i * step;
    if (v > m.v1 + step * 1e-9) break;
    const double y = std::round(m.Y(v)) + 0.5;
    SetColor(cr, kGrid);
    cairo_move_to(cr, m.r.x, y);
    cairo_line_to(cr, m.r.x + m.r.w, y);
    cairo_stroke(cr);
    Text(cr, m.r.x - 8, y + font * 0.35, FormatTick(v, step), font, kMuted, 1.0);
  }
}

void DrawTimeGrid(cairo_t* cr, const Mapping& m, const std::vector<TimeTick>& ticks) {
  cairo_set_line_width(cr, 1.0);
  SetColor(cr, kGrid);
  for (const TimeTick& t : ticks) {
    const double x = std::round(m.X(t.secs * kNanosPerSecond)) + 0.5;
    cairo_move_to(cr, x, m.r.y);
    cairo_line_to(cr, x, m.r.y + m.r.h);
  }
  cairo_stroke(cr);
}

void DrawTimeLabels(cairo_t* cr, const Mapping& m, const std::vector<TimeTick>& ticks,
                    double font) {
  for (const TimeTick& t : ticks) {
    const double x = m.X(t.secs * kNanosPerSecond);
    SetColor(cr, kMuted);
    cairo_move_to(cr, std::round(x) + 0.5, m.r.y + m.r.h);
    cairo_line_to(cr, std::round(x) + 0.5, m.r.y + m.r.h + 5);
    cairo_stroke(cr);
    // Keep labels inside the image: at most 20 px past the chart's right edge.
    const double right = m.r.x + m.r.w + 20;
    const double wt = TextWidth(cr, t.top, font), wb = TextWidth(cr, t.bottom, font) * 1.1;
    Text(cr, std::min(x, right - wt / 2), m.r.y + m.r.h + 7 + font, t.top, font, kMuted, 0.5);
    if (!t.bottom.empty()) {
      Text(cr, std::min(x, right - wb / 2), m.r.y + m.r.h + 10 + 2 * font, t.bottom, font, kInk,
           0.5, true);
    }
  }
}

// Legend entries drawn right-aligned at (right, y).
void DrawLegend(cairo_t* cr, double right, double y, double font, bool warmup) {
  struct Entry {
    const char* label;
    int kind;
  };
  std::vector<Entry> entries = {{"value", 0}, {"expected band", 1}, {"anomaly", 2}};
  if (warmup) entries.push_back({"warm-up", 3});
  double x = right;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const double w = TextWidth(cr, it->label, font);
    x -= w;
    Text(cr, x, y, it->label, font, kMuted);
    x -= 24;
    const double cy = y - font * 0.35;
    // An 18 px wide filled rectangle `height` px high, centred on cy.
    auto swatch = [&](Rgb color, double alpha, double height) {
      SetColor(cr, color, alpha);
      cairo_rectangle(cr, x, cy - height / 2, 18, height);
      cairo_fill(cr);
    };
    switch (it->kind) {
      case 0:
        SetColor(cr, kLine);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, x, cy);
        cairo_line_to(cr, x + 18, cy);
        cairo_stroke(cr);
        break;
      case 1:
        swatch(kBand, 0.45, 12);
        break;
      case 2:
        swatch(kRed, 0.15, 14);
        SetColor(cr, kRed);
        cairo_arc(cr, x + 9, cy, 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
        break;
      case 3:
        swatch(kMuted, 0.14, 14);
        break;
    }
    x -= 18;
  }
}

// Shades the intervals in red over the rectangle of `m` (at least 3 px wide).
void ShadeIntervals(cairo_t* cr, const Mapping& m, const PlotSeries& s) {
  SetColor(cr, kRed, 0.13);
  for (const AnomalyInterval& iv : s.intervals()) {
    double x0 = m.X(iv.start_ns), x1 = m.X(iv.end_ns);
    if (x1 - x0 < 3) {
      const double c = (x0 + x1) / 2;
      x0 = c - 1.5;
      x1 = c + 1.5;
    }
    cairo_rectangle(cr, x0, m.r.y, x1 - x0, m.r.h);
  }
  cairo_fill(cr);
}

void ShadeWarmup(cairo_t* cr, const Mapping& m, const PlotSeries& s, bool label, double font) {
  if (!s.has_warmup() || s.buckets().empty()) return;
  const double x0 = m.X(s.buckets().front().t_first);
  const double x1 = std::min(m.X(s.warmup_end_ns()), m.r.x + m.r.w);
  if (x1 <= x0) return;
  SetColor(cr, kMuted, 0.10);
  cairo_rectangle(cr, x0, m.r.y, x1 - x0, m.r.h);
  cairo_fill(cr);
  if (label && x1 - x0 > TextWidth(cr, "warm-up", font) + 8) {
    Text(cr, x0 + 4, m.r.y + font + 4, "warm-up", font, kMuted);
  }
}

// Saves the cairo state, clips to the panel rectangle of `m` and paints its background: white,
// the warm-up shade (labelled when `label_warmup`) and the time grid. The caller draws the
// panel's content and calls cairo_restore.
void BeginPanel(cairo_t* cr, const Mapping& m, const PlotSeries& s, bool label_warmup,
                const std::vector<TimeTick>& ticks) {
  cairo_save(cr);
  cairo_rectangle(cr, m.r.x, m.r.y, m.r.w, m.r.h);
  cairo_clip(cr);
  SetColor(cr, {1, 1, 1});
  cairo_paint(cr);
  ShadeWarmup(cr, m, s, label_warmup, 11);
  DrawTimeGrid(cr, m, ticks);
}

// The value-axis label, rotated a quarter turn, centred on the chart's height in the left margin
// (left of the tick labels); cut with "..." to the chart's height.
void DrawValueLabel(cairo_t* cr, const Rect& chart, std::string label, double font) {
  if (label.empty()) return;
  const double room = chart.h - 8;
  if (TextWidth(cr, label, font) > room) {
    while (!label.empty() && TextWidth(cr, label + "...", font) > room) label.pop_back();
    // Do not end inside a UTF-8 sequence.
    while (!label.empty() && (static_cast<unsigned char>(label.back()) & 0xC0) == 0x80) {
      label.pop_back();
    }
    if (!label.empty() && (static_cast<unsigned char>(label.back()) & 0x80)) label.pop_back();
    label += "...";
  }
  cairo_save(cr);
  cairo_translate(cr, 16, chart.y + chart.h / 2);
  cairo_rotate(cr, -std::numbers::pi / 2);
  Text(cr, 0, 0, label, font, kMuted, 0.5);
  cairo_restore(cr);
}

// Height of one panel (title, value chart, score strip, time labels) in pixels.
double PanelHeight(const PlotOptions& o) {
  return 34 + o.main_height_px + (o.score_height_px > 0 ? 10 + o.score_height_px : 0) + 46;
}

void DrawPanel(cairo_t* cr, const PlotSeries& s, const PlotOptions& o, double top) {
  const double font = 12;
  const double left = 78, right = 24;
  const double width = o.width_px - left - right;
  // Title line.
  Text(cr, left, top + 20, s.title(), 15, kInk, 0.0, true);
  if (!s.subtitle().empty()) {
    Text(cr, left + TextWidth(cr, s.title(), 15, true) + 12, top + 20, s.subtitle(), 12.5, kMuted);
  }
  DrawLegend(cr, left + width, top + 20, 12, s.has_warmup());

  Rect main{left, top + 34, width, static_cast<double>(o.main_height_px)};
  Rect score{left, main.y + main.h + 10, width, static_cast<double>(o.score_height_px)};
  const auto& b = s.buckets();
  if (b.empty()) {
    DrawFrame(cr, main);
    Text(cr, main.x + main.w / 2, main.y + main.h / 2, "no data", 14, kMuted, 0.5);
    return;
  }
  // Ranges. The value range follows the data (the band may be clipped), padded by 6%.
  double vmin = b[0].v_min, vmax = b[0].v_max, smax = 0;
  for (const auto& k : b) {
    vmin = std::min(vmin, k.v_min);
    vmax = std::max(vmax, k.v_max);
    // Warm-up scores are not meaningful; they do not set the score scale.
    if (!s.has_warmup() || k.t_first > s.warmup_end_ns()) smax = std::max(smax, k.score_max);
  }
  if (vmax - vmin < 1e-12 * std::max(1.0, std::fabs(vmax))) {
    const double pad = std::max(1.0, std::fabs(vmax) * 0.05);
    vmin -= pad;
    vmax += pad;
  }
  const double vpad = (vmax - vmin) * 0.06;
  double t0 = static_cast<double>(b.front().t_first) * 1e-9;
  double t1 = static_cast<double>(b.back().t_last) * 1e-9;
  if (t1 - t0 < 1e-6) {
    t0 -= 1;
    t1 += 1;
  }
  Mapping mm{main, t0, t1, vmin - vpad, vmax + vpad};
  DrawValueLabel(cr, main, s.value_label(), 11.5);
  const int target_time_ticks = std::max(2, static_cast<int>(width / 95));
  const auto ticks = TimeTicks(static_cast<int64_t>(std::ceil(t0)),
                               static_cast<int64_t>(std::floor(t1)), target_time_ticks);

  // Value chart.
  BeginPanel(cr, mm, s, /*label_warmup=*/true, ticks);
  cairo_restore(cr);
  DrawValueAxis(cr, mm, std::max(3, o.main_height_px / 60), font);
  cairo_save(cr);
  cairo_rectangle(cr, main.x, main.y, main.w, main.h);
  cairo_clip(cr);
  ShadeIntervals(cr, mm, s);
  // Expected band: one polygon per run of buckets that have a band.
  SetColor(cr, kBand, 0.42);
  for (size_t i = 0; i < b.size();) {
    if (!b[i].has_band) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < b.size() && b[j].has_band) ++j;
    cairo_move_to(cr, mm.X(b[i].t_first), mm.Y(b[i].band_hi));
    for (size_t k = i; k < j; ++k) {
      cairo_line_to(cr, mm.X(b[k].t_first), mm.Y(b[k].band_hi));
      cairo_line_to(cr, mm.X(b[k].t_last), mm.Y(b[k].band_hi));
    }
    for (size_t k = j; k-- > i;) {
      cairo_line_to(cr, mm.X(b[k].t_last), mm.Y(b[k].band_lo));
      cairo_line_to(cr, mm.X(b[k].t_first), mm.Y(b[k].band_lo));
    }
    cairo_close_path(cr);
    cairo_fill(cr);
    i = j;
  }
  // Series line (first, min/max, last of each bucket).
  SetColor(cr, kLine);
  cairo_set_line_width(cr, 1.3);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (size_t i = 0; i < b.size(); ++i) {
    const double xf = mm.X(b[i].t_first), xl = mm.X(b[i].t_last);
    if (i == 0)
      cairo_move_to(cr, xf, mm.Y(b[i].v_first));
    else
      cairo_line_to(cr, xf, mm.Y(b[i].v_first));
    if (b[i].n > 2) {
      const double xm = (xf + xl) / 2;
      const bool rising = b[i].v_last >= b[i].v_first;
      cairo_line_to(cr, xm, mm.Y(rising ? b[i].v_min : b[i].v_max));
      cairo_line_to(cr, xm, mm.Y(rising ? b[i].v_max : b[i].v_min));
    }
    cairo_line_to(cr, xl, mm.Y(b[i].v_last));
  }
  cairo_stroke(cr);
  // Few points: mark each one, so that single points are visible.
  if (s.points() <= 200) {
    SetColor(cr, kLine);
    for (const auto& k : b) {
      cairo_arc(cr, mm.X(k.t_last), mm.Y(k.v_last), 2.2, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  // Anomalous points.
  for (const auto& k : b) {
    if (!k.anomaly) continue;
    const double x = mm.X(k.anomaly_ts), y = mm.Y(k.anomaly_value);
    SetColor(cr, {1, 1, 1});
    cairo_arc(cr, x, y, 4.2, 0, 2 * M_PI);
    cairo_fill(cr);
    SetColor(cr, kRed);
    cairo_arc(cr, x, y, 3.2, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  DrawFrame(cr, main);

  Rect axis_rect = main;
  if (o.score_height_px > 0) {
    // Score strip: max score per bucket as an area; threshold 1 dashed. Scale 0..max(2, peak),
    // capped at 10 (larger scores are clipped at the top).
    const double top_score = std::min(10.0, std::max(2.0, smax * 1.1));
    Mapping ms{score, t0, t1, 0, top_score};
    BeginPanel(cr, ms, s, /*label_warmup=*/false, ticks);
    ShadeIntervals(cr, ms, s);
    SetColor(cr, kScore, 0.35);
    cairo_move_to(cr, ms.X(b.front().t_first), ms.Y(0));
    for (const auto& k : b) {
      const double y = ms.Y(std::min(k.score_max, top_score * 1.02));
      cairo_line_to(cr, ms.X(k.t_first), y);
      cairo_line_to(cr, ms.X(k.t_last), y);
    }
    cairo_line_to(cr, ms.X(b.back().t_last), ms.Y(0));
    cairo_close_path(cr);
    cairo_fill_preserve(cr);
    SetColor(cr, kScore, 0.9);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    const double dash[] = {5, 4};
    cairo_set_dash(cr, dash, 2, 0);
    SetColor(cr, kRed, 0.8);
    cairo_set_line_width(cr, 1.2);
    cairo_move_to(cr, score.x, std::round(ms.Y(1)) + 0.5);
    cairo_line_to(cr, score.x + score.w, std::round(ms.Y(1)) + 0.5);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_restore(cr);
    Text(cr, score.x - 8, ms.Y(1) + font * 0.35, "1", font, kRed, 1.0);
    Text(cr, score.x - 8, ms.Y(0) + font * 0.35, "0", font, kMuted, 1.0);
    // Further ticks at even steps (2, 4, ...) when there is room above the threshold.
    const double sstep = std::max(2.0, std::ceil(NiceStep(top_score, 3)));
    for (double v = sstep; v <= top_score + 1e-9; v += sstep) {
      Text(cr, score.x - 8, ms.Y(v) + font * 0.35, FormatTick(v, 1), font, kMuted, 1.0);
    }
    Text(cr, score.x + 6, score.y + font + 3, "anomaly score", 11, kMuted);
    DrawFrame(cr, score);
    axis_rect = score;
  }
  Mapping ma{axis_rect, t0, t1, 0, 1};
  DrawTimeLabels(cr, ma, ticks, font);
}

void Draw(cairo_t* cr, const std::vector<const PlotSeries*>& series, const PlotOptions& o) {
  SetColor(cr, {0.985, 0.985, 0.99});
  cairo_paint(cr);
  Text(cr, 78, 28, o.title, 18, kInk, 0.0, true);
  double top = 40;
  for (const PlotSeries* s : series) {
    DrawPanel(cr, *s, o, top);
    top += PanelHeight(o) + 8;
  }
}

int ImageHeight(size_t panels, const PlotOptions& o) {
  return static_cast<int>(40 + panels * (PanelHeight(o) + 8) + 4);
}

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status WriteFile(const std::string& path, const std::string& data) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IoError("cannot write plot '" + path + "'");
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  if (std::fclose(f) != 0 || !ok) return Status::IoError("cannot write plot '" + path + "'");
  return Status::OK();
}

Status RenderSvg(const std::vector<const PlotSeries*>& series, const PlotOptions& o,
                 std::string* svg) {
  const int h = ImageHeight(series.size(), o);
  cairo_surface_t* surface =
      cairo_svg_surface_create_for_stream(AppendToString, svg, o.width_px, h);
  cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
  cairo_t* cr = cairo_create(surface);
  Draw(cr, series, o);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t st = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (st != CAIRO_STATUS_SUCCESS) {
    return Status::Internal(std::string("cairo SVG rendering failed: ") +
                            cairo_status_to_string(st));
  }
  return Status::OK();
}

std::string HtmlPage(const std::vector<const PlotSeries*>& series, const PlotOptions& o,
                     std::string_view svg) {
  // Drop the XML declaration so the SVG can be inlined.
  if (svg.substr(0, 5) == "<?xml") {
    const size_t end = svg.find("?>");
    if (end != std::string_view::npos) svg.remove_prefix(end + 2);
  }
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  html += XmlEscape(o.title);
  html +=
      "</title>\n<style>\n"
      "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px;color:#222;"
      "background:#fbfbfc}\n"
      "svg{max-width:100%;height:auto;display:block;margin-bottom:16px}\n"
      "table{border-collapse:collapse;margin:4px 0 24px 0;font-size:13px}\n"
      "th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}\n"
      "th{color:#555}\ntd.num{text-align:right}\nh2{font-size:16px;margin:18px 0 4px 0}\n"
      ".muted{color:#777}\n</style>\n</head>\n<body>\n";
  html += svg;
  html += "\n";
  char buf[64];
  for (const PlotSeries* s : series) {
    html +=
        "<h2>" + XmlEscape(s->title()) + "</h2>\n<p class=\"muted\">" + XmlEscape(s->subtitle());
    if (!s->value_label().empty()) html += "; values: " + XmlEscape(s->value_label());
    html += "</p>\n";
    if (s->intervals().empty()) {
      html += "<p>No anomalous intervals.</p>\n";
      continue;
    }
    html +=
        "<table>\n<tr><th>start (UTC)</th><th>end (UTC)</th><th>peak score</th>"
        "<th>peak at</th><th>rows</th></tr>\n";
    for (const AnomalyInterval& iv : s->intervals()) {
      std::snprintf(buf, sizeof buf, "%.3f", iv.peak_score);
      html += "<tr><td>" + FormatTimestamp(iv.start_ns) + "</td><td>" + FormatTimestamp(iv.end_ns) +
              "</td><td class=\"num\">" + buf + "</td><td>" + FormatTimestamp(iv.peak_ns) +
              "</td><td class=\"num\">" + std::to_string(iv.rows) + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace

PlotFormat PlotFormatOf(const std::string& path) {
  const size_t dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : Lower(path.substr(dot));
  if (ext == ".png") return PlotFormat::kPng;
  if (ext == ".svg") return PlotFormat::kSvg;
  if (ext == ".html" || ext == ".htm") return PlotFormat::kHtml;
  return PlotFormat::kUnknown;
}

Status WritePlot(const std::vector<const PlotSeries*>& series, const PlotOptions& options,
                 const std::string& path) {
  if (series.empty()) return Status::InvalidArgument("plot: no series to draw");
  const PlotFormat format = PlotFormatOf(path);
  if (format == PlotFormat::kSvg || format == PlotFormat::kHtml) {
    std::string svg;
    BACKSIGHT_RETURN_IF_ERROR(RenderSvg(series, options, &svg));
    return WriteFile(path, format == PlotFormat::kSvg ? svg : HtmlPage(series, options, svg));
  }
  if (format != PlotFormat::kPng) {
    return Status::InvalidArgument("plot: unknown file type '" + path +
                                   "' (use .png, .svg or .html)");
  }
  const int h = ImageHeight(series.size(), options);
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, options.width_px, h);
  cairo_t* cr = cairo_create(surface);
  Draw(cr, series, options);
  cairo_destroy(cr);
  const cairo_status_t st = cairo_surface_write_to_png(surface, path.c_str());
  cairo_surface_destroy(surface);
  if (st != CAIRO_STATUS_SUCCESS) {
    return Status::IoError("cannot write plot '" + path + "': " + cairo_status_to_string(st));
  }
  return Status::OK();
}

}  // namespace backsight::outputs
