// Backsight's own metrics (`backsight_*` on GET /metrics), held in one prometheus-cpp Registry and
// written with its TextSerializer (exposition format 0.0.4).
//
// Two kinds of metric live here:
//   - events the server counts itself (requests, decode errors, scrapes, output pushes): labelled
//     prometheus::Counter families, incremented where the event happens (Count* below);
//   - figures owned elsewhere (engine, HTTP server, alert tracker, durability), read at scrape time
//     and mirrored into registry metrics by SetGauge / SetCounter / SetHistogram. Their owners keep
//     counting with their own lock-free atomics (the engine's latency histogram is on the scoring
//     path, and prometheus::Histogram::Observe takes a mutex per observation); the registry holds
//     the values last read.
// Families appear in the output grouped by type (counters, gauges, histograms: the Registry's
// order), each group in the order its families were first registered.
#ifndef BACKSIGHT_SERVER_SELF_METRICS_H_
#define BACKSIGHT_SERVER_SELF_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace backsight::server {

/// The registry of the server's own metrics. Thread-safe.
class SelfMetrics {
 public:
  SelfMetrics();

  /// Counts one payload refused as undecodable: backsight_decode_errors_total{endpoint, reason}.
  void CountDecodeError(const std::string& endpoint, const std::string& reason);
  /// Counts one request answered with HTTP `code`: backsight_requests_total{endpoint, code}.
  void CountRequest(const std::string& endpoint, int code);
  /// Counts one scrape of `instance` in `job` (backsight_scrapes_total) and, unless `ok`, one
  /// failure (backsight_scrape_errors_total).
  void CountScrape(const std::string& job, const std::string& instance, bool ok);
  /// Counts one output remote_write push (backsight_output_pushes_total) and, unless `ok`, one
  /// failure (backsight_output_push_errors_total).
  void CountOutputPush(bool ok);

  /// Sets the unlabelled gauge `name` (registered with `help` on first use) to `value`.
  void SetGauge(const std::string& name, const std::string& help, double value);
  /// Sets the unlabelled counter `name` (registered with `help` on first use) to `total`, a
  /// running total kept by its owner; a total below the last one is ignored (counters only rise).
  void SetCounter(const std::string& name, const std::string& help, double total);
  /// As SetCounter, for the child of family `name` with the one label `label`=`value`.
  void SetCounter(const std::string& name, const std::string& help, const std::string& label,
                  const std::string& value, double total);
  /// Sets the unlabelled histogram `name` (registered with `help` and `bounds`, the buckets'
  /// upper bounds in increasing order, on first use) from its owner's per-bucket (not
  /// cumulative) counts, `bounds.size() + 1` of them (the last is +Inf), and sum of observations.
  void SetHistogram(const std::string& name, const std::string& help,
                    const std::vector<double>& bounds, const std::vector<uint64_t>& bucket_counts,
                    double sum);

  /// The exposition text (format 0.0.4) of every registered family.
  std::string Serialize() const;

 private:
  struct MirroredHistogram {
    prometheus::Histogram* metric = nullptr;
    std::vector<uint64_t> counts;  // per bucket, as last set
    double sum = 0;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* decode_errors_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* scrapes_;
  prometheus::Family<prometheus::Counter>* scrape_errors_;
  prometheus::Counter* output_pushes_;
  prometheus::Counter* output_push_errors_;

  std::mutex mirrored_mu_;  // guards the maps below and the read-modify-write of SetCounter
  std::map<std::string, prometheus::Gauge*> gauges_;
  std::map<std::string, prometheus::Counter*> counters_;
  std::map<std::string, MirroredHistogram> histograms_;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_SELF_METRICS_H_
