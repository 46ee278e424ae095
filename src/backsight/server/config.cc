#include "backsight/server/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "backsight/ingest/exposition.h"
#include "backsight/logs/pipeline.h"

namespace backsight::server {
namespace {

// Upper bound on limits.max_connections: 1 M sockets is past any sane single-process setting
// (and past the default hard RLIMIT_NOFILE of Debian, 1,048,576).
constexpr uint64_t kMaxConnectionsCap = 1'000'000;
// Upper bound on history.concurrency: one thread per fetch in flight; 64 is past what one
// Prometheus serves well at once (its --query.max-concurrency defaults to 20).
constexpr int kMaxHistoryConcurrency = 64;

Status KeyError(const std::string& source, const std::string& key, const std::string& why,
                const YAML::Node& node = YAML::Node()) {
  std::string msg = source;
  if (node.IsDefined() && node.Mark().line >= 0) {
    msg.append(":").append(std::to_string(node.Mark().line + 1));
  }
  msg.append(": key '").append(key).append("': ").append(why);
  return Status::InvalidArgument(std::move(msg));
}

// Walks a YAML map, rejecting keys not in `allowed`.
Status CheckKeys(const YAML::Node& map, const std::string& source, const std::string& prefix,
                 const std::set<std::string>& allowed) {
  if (!map.IsMap())
    return KeyError(source, prefix.empty() ? "(root)" : prefix, "must be a map", map);
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>("");
    if (!allowed.count(k)) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return KeyError(source, prefix.empty() ? k : prefix + "." + k,
                      "unknown key (known: " + known + ")", kv.first);
    }
  }
  return Status::OK();
}

struct Reader {
  const std::string& source;

  Status Str(const YAML::Node& n, const std::string& key, std::string* out) {
    if (!n) return Status::OK();
    if (!n.IsScalar()) return KeyError(source, key, "must be a string", n);
    *out = n.Scalar();
    return Status::OK();
  }
  Status Bool(const YAML::Node& n, const std::string& key, bool* out) {
    if (!n) return Status::OK();
    bool v;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      return KeyError(source, key, "must be true or false", n);
    }
    *out = v;
    return Status::OK();
  }
  Status Uint(const YAML::Node& n, const std::string& key, uint64_t min, uint64_t* out) {
    if (!n) return Status::OK();
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    uint64_t v = 0;
    bool ok = !s.empty() && s.size() <= 19;
    for (char c : s) ok = ok && std::isdigit(static_cast<unsigned char>(c));
    if (ok) v = std::stoull(s);
    if (!ok || v < min) {
      return KeyError(source, key,
                      "must be a whole number >= " + std::to_string(min) + ", got '" + s + "'", n);
    }
    *out = v;
    return Status::OK();
  }
  Status Duration(const YAML::Node& n, const std::string& key, int64_t min_ms, int64_t* out) {
    if (!n) return Status::OK();
    if (!n.IsScalar()) return KeyError(source, key, "must be a duration like 15s", n);
    int64_t ms;
    Status st = ParseDurationMs(n.Scalar(), &ms);
    if (!st.ok()) return KeyError(source, key, st.message(), n);
    if (ms < min_ms) {
      return KeyError(source, key, "must be at least " + std::to_string(min_ms) + "ms", n);
    }
    *out = ms;
    return Status::OK();
  }
};

// Bounds of a capacity rule: replicas (a sanity cap, far above any HPA maxReplicas in use) and
// forecast steps (the forecast is recomputed per bucket, so its length bounds that cost).
constexpr uint64_t kMaxReplicas = 100'000;
constexpr int64_t kMaxHorizonSteps = 10'000;
// Shortest logs.security_retention: one second, the finding times' unit (a shorter one would
// round to 0 and expire every finding at once).
constexpr int64_t kMinSecurityRetentionMs = 1000;

// Parses `name` or `name{label="value",...}` (equality matchers only) into labels with
// `__name__`, using the exposition parser (a selector is a sample line without its value).
Status ParseDemandSelector(const std::string& text, Labels* out) {
  std::vector<TimeSeries> series;
  Status st = ingest::ParseExposition(text + " 0\n", 0, &series);
  if (!st.ok() || series.size() != 1 || GetLabel(series[0].labels, "__name__").empty()) {
    return Status::InvalidArgument(
        "must be a metric name with optional label matchers, e.g. "
        "http_requests_rate{service=\"api\"}, got '" +
        text + "'");
  }
  *out = series[0].labels;
  return Status::OK();
}

Status ValidateUrl(const std::string& url, const std::string& key) {
  if (url.empty()) return Status::OK();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("key '" + key +
                                   "': URL must start with http:// or https://, got '" + url + "'");
  }
  std::string rest = url.substr(url.find("://") + 3);
  std::string hostport = rest.substr(0, rest.find('/'));
  if (hostport.empty()) return Status::InvalidArgument("key '" + key + "': URL has no host");
  return Status::OK();
}

}  // namespace

bool ItemAlertsOn(const ServeConfig& c) {
  return !c.alertmanager_url.empty() && (!c.incidents_enabled || c.incidents_series_alerts);
}

Status ParseDurationMs(const std::string& text, int64_t* ms) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"ms", 1},         {"s", 1000},        {"m", 60'000},        {"h", 3'600'000},
      {"d", 86'400'000}, {"w", 604'800'000}, {"y", 31'536'000'000}};
  size_t i = 0;
  int64_t total = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j - i > 12) {
      return Status::InvalidArgument("bad duration '" + text +
                                     "' (expected e.g. 500ms, 15s, 1m30s)");
    }
    int64_t n = std::stoll(text.substr(i, j - i));
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    std::string unit = text.substr(j, k - j);
    int64_t mult = 0;
    for (const auto& [u, m] : kUnits) {
      if (unit == u) mult = m;
    }
    if (mult == 0) {
      return Status::InvalidArgument("bad duration '" + text + "': unknown unit '" + unit +
                                     "' (ms, s, m, h, d, w, y)");
    }
    total += n * mult;
    i = k;
  }
  *ms = total;
  return Status::OK();
}

Status SplitHostPort(const std::string& hp, std::string* host, int* port) {
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon + 1 == hp.size()) {
    return Status::InvalidArgument("'" + hp + "' is not HOST:PORT");
  }
  std::string h = hp.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return Status::InvalidArgument("'" + hp + "' has an empty host");
  std::string p = hp.substr(colon + 1);
  if (p.size() > 5) return Status::InvalidArgument("'" + hp + "': bad port");
  for (char c : p) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument("'" + hp + "': port is not a number");
    }
  }
  int v = std::stoi(p);
  if (v > 65535) return Status::InvalidArgument("'" + hp + "': port above 65535");
  *host = h;
  *port = v;
  return Status::OK();
}

Status ValidateConfig(const ServeConfig& c) {
  std::string host;
  int port;
  Status st = SplitHostPort(c.listen, &host, &port);
  if (!st.ok()) return Status::InvalidArgument("key 'listen': " + st.message());
  if (c.max_series == 0) return Status::InvalidArgument("key 'series.max_active': must be >= 1");
  if (c.workers < 0 || c.workers > 256) {
    return Status::InvalidArgument("key 'workers': must be 0..256");
  }
  if (c.queue_max_samples < 1000) {
    return Status::InvalidArgument("key 'limits.queue_max_samples': must be >= 1000");
  }
  if (c.max_connections < 1 || c.max_connections > kMaxConnectionsCap) {
    return Status::InvalidArgument("key 'limits.max_connections': must be 1.." +
                                   std::to_string(kMaxConnectionsCap));
  }
  if (c.max_inflight_body_bytes < std::max(c.max_body_bytes, c.max_decompressed_bytes)) {
    return Status::InvalidArgument(
        "key 'limits.max_inflight_body_bytes': must be at least max_body_bytes and "
        "max_decompressed_bytes (else a single largest request could never be accepted)");
  }
  BACKSIGHT_RETURN_IF_ERROR(ValidateUrl(c.alertmanager_url, "alerting.alertmanager_url"));
  BACKSIGHT_RETURN_IF_ERROR(ValidateUrl(c.output_remote_write_url, "output_remote_write.url"));
  BACKSIGHT_RETURN_IF_ERROR(ValidateUrl(c.history_url, "history.url"));
  if (c.history_concurrency < 1 || c.history_concurrency > kMaxHistoryConcurrency) {
    return Status::InvalidArgument("key 'history.concurrency': must be 1.." +
                                   std::to_string(kMaxHistoryConcurrency));
  }
  if (!c.log_files.empty() && !c.logs_enabled) {
    return Status::InvalidArgument("key 'log_files': needs logs.enabled: true");
  }
  for (size_t i = 0; i < c.scrape_jobs.size(); ++i) {
    const auto& j = c.scrape_jobs[i];
    const std::string key = "scrape_configs[" + std::to_string(i) + "]";
    if (j.job_name.empty()) return Status::InvalidArgument("key '" + key + ".job_name': required");
    if (j.metrics_path.empty() || j.metrics_path[0] != '/') {
      return Status::InvalidArgument("key '" + key + ".metrics_path': must start with /");
    }
    for (size_t t = 0; t < j.targets.size(); ++t) {
      Status ts = SplitHostPort(j.targets[t], &host, &port);
      if (!ts.ok()) {
        return Status::InvalidArgument("key '" + key + ".static_configs.targets[" +
                                       std::to_string(t) + "]': " + ts.message());
      }
    }
  }
  return Status::OK();
}

Status LoadConfigText(const std::string& yaml, const std::string& source, ServeConfig* c) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": YAML syntax: " + e.msg);
  }
  if (!root || root.IsNull()) return ValidateConfig(*c);
  Reader r{source};
  try {
    BACKSIGHT_RETURN_IF_ERROR(CheckKeys(root, source, "",
                                        {"listen",
                                         "state_dir",
                                         "checkpoint_interval",
                                         "series",
                                         "workers",
                                         "limits",
                                         "auth",
                                         "alerting",
                                         "global",
                                         "scrape_configs",
                                         "output_remote_write",
                                         "counters_as_rates",
                                         "wal",
                                         "history",
                                         "logs",
                                         "log_files",
                                         "traces",
                                         "exhaustion",
                                         "postgres",
                                         "capacity",
                                         "incidents"}));
    BACKSIGHT_RETURN_IF_ERROR(r.Str(root["listen"], "listen", &c->listen));
    BACKSIGHT_RETURN_IF_ERROR(r.Str(root["state_dir"], "state_dir", &c->state_dir));
    BACKSIGHT_RETURN_IF_ERROR(r.Duration(root["checkpoint_interval"], "checkpoint_interval", 100,
                                         &c->checkpoint_interval_ms));
    BACKSIGHT_RETURN_IF_ERROR(
        r.Bool(root["counters_as_rates"], "counters_as_rates", &c->counters_as_rates));
    uint64_t workers = static_cast<uint64_t>(c->workers);
    BACKSIGHT_RETURN_IF_ERROR(r.Uint(root["workers"], "workers", 0, &workers));
    if (workers > 256) return KeyError(source, "workers", "must be at most 256", root["workers"]);
    c->workers = static_cast<int>(workers);
    if (YAML::Node s = root["series"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(s, source, "series", {"max_active", "stale_after"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(s["max_active"], "series.max_active", 1, &c->max_series));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(s["stale_after"], "series.stale_after", 1000, &c->series_stale_after_ms));
    }
    if (YAML::Node w = root["wal"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(w, source, "wal", {"enabled", "fsync"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(w["enabled"], "wal.enabled", &c->wal_enabled));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(w["fsync"], "wal.fsync", &c->wal_fsync));
    }
    if (YAML::Node g = root["logs"]) {
      BACKSIGHT_RETURN_IF_ERROR(
          CheckKeys(g, source, "logs",
                    {"enabled", "max_services", "max_templates", "bucket", "max_events",
                     "template_series", "security", "security_deny_list", "security_retention"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(g["enabled"], "logs.enabled", &c->logs_enabled));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(g["max_services"], "logs.max_services", 1, &c->logs_max_services));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(g["max_templates"], "logs.max_templates", 1, &c->logs_max_templates));
      if (c->logs_max_templates > UINT32_MAX) {
        return KeyError(source, "logs.max_templates", "must be below 2^32", g["max_templates"]);
      }
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(g["bucket"], "logs.bucket", 1000, &c->logs_bucket_ms));
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(g["max_events"], "logs.max_events", 1, &c->logs_max_events));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Bool(g["template_series"], "logs.template_series", &c->logs_template_series));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(g["security"], "logs.security", &c->logs_security));
      if (YAML::Node d = g["security_deny_list"]) {
        if (!d.IsScalar()) return KeyError(source, "logs.security_deny_list", "must be a path", d);
        c->logs_security_deny_list = d.as<std::string>();
      }
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(g["security_retention"], "logs.security_retention",
                                           kMinSecurityRetentionMs,
                                           &c->logs_security_retention_ms));
    }
    if (YAML::Node t = root["traces"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(
          t, source, "traces", {"findings", "trace_wait", "max_open_traces", "max_findings"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(t["findings"], "traces.findings", &c->trace_findings));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(t["trace_wait"], "traces.trace_wait", 100, &c->trace_wait_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(t["max_open_traces"], "traces.max_open_traces", 1, &c->trace_max_open_traces));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(t["max_findings"], "traces.max_findings", 1, &c->trace_max_findings));
    }
    if (YAML::Node x = root["exhaustion"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(
          x, source, "exhaustion", {"enabled", "default_rules", "horizon", "max_series", "rules"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(x["enabled"], "exhaustion.enabled", &c->exhaustion_enabled));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Bool(x["default_rules"], "exhaustion.default_rules", &c->exhaustion_default_rules));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(x["horizon"], "exhaustion.horizon", 1000, &c->exhaustion_horizon_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(x["max_series"], "exhaustion.max_series", 1, &c->exhaustion_max_series));
      if (YAML::Node rules = x["rules"]) {
        if (!rules.IsSequence())
          return KeyError(source, "exhaustion.rules", "must be a list", rules);
        for (size_t i = 0; i < rules.size(); ++i) {
          const std::string key = "exhaustion.rules[" + std::to_string(i) + "]";
          const YAML::Node n = rules[i];
          BACKSIGHT_RETURN_IF_ERROR(
              CheckKeys(n, source, key, {"usage", "capacity", "limit", "usage_is_free", "on"}));
          forecast::ExhaustionRule rule;
          BACKSIGHT_RETURN_IF_ERROR(r.Str(n["usage"], key + ".usage", &rule.usage_metric));
          BACKSIGHT_RETURN_IF_ERROR(r.Str(n["capacity"], key + ".capacity", &rule.capacity_metric));
          BACKSIGHT_RETURN_IF_ERROR(
              r.Bool(n["usage_is_free"], key + ".usage_is_free", &rule.usage_is_free));
          if (YAML::Node l = n["limit"]) {
            if (!l.IsScalar() || !YAML::convert<double>::decode(l, rule.limit)) {
              return KeyError(source, key + ".limit", "must be a number", l);
            }
          }
          if (YAML::Node on = n["on"]) {
            if (!on.IsSequence())
              return KeyError(source, key + ".on", "must be a list of labels", on);
            for (size_t j = 0; j < on.size(); ++j) {
              std::string label;
              BACKSIGHT_RETURN_IF_ERROR(r.Str(on[j], key + ".on", &label));
              rule.on.push_back(label);
            }
          }
          Status vs = forecast::ValidateExhaustionRule(rule);
          if (!vs.ok()) return KeyError(source, key, vs.message(), n);
          c->exhaustion_rules.push_back(std::move(rule));
        }
      }
    }
    if (YAML::Node cap = root["capacity"]) {
      if (!cap.IsSequence()) return KeyError(source, "capacity", "must be a list", cap);
      for (size_t i = 0; i < cap.size(); ++i) {
        const std::string key = "capacity[" + std::to_string(i) + "]";
        const YAML::Node n = cap[i];
        if (!n.IsMap()) return KeyError(source, key, "must be a map with a demand", n);
        BACKSIGHT_RETURN_IF_ERROR(
            CheckKeys(n, source, key,
                      {"demand", "per_replica", "capacity_metric", "target_utilization", "min",
                       "max", "horizon", "startup", "step"}));
        CapacityRule rule;
        BACKSIGHT_RETURN_IF_ERROR(r.Str(n["demand"], key + ".demand", &rule.demand));
        Status ps = ParseDemandSelector(rule.demand, &rule.demand_matchers);
        if (!ps.ok()) return KeyError(source, key + ".demand", ps.message(), n["demand"]);
        BACKSIGHT_RETURN_IF_ERROR(
            r.Str(n["capacity_metric"], key + ".capacity_metric", &rule.capacity_metric));
        const bool has_per = static_cast<bool>(n["per_replica"]);
        if (has_per == !rule.capacity_metric.empty()) {
          return KeyError(source, key, "needs exactly one of per_replica and capacity_metric", n);
        }
        for (auto [field, out] : {std::pair{"per_replica", &rule.options.per_replica},
                                  {"target_utilization", &rule.options.target_utilization}}) {
          if (YAML::Node v = n[field]) {
            if (!v.IsScalar() || !YAML::convert<double>::decode(v, *out)) {
              return KeyError(source, key + "." + field, "must be a number", v);
            }
          }
        }
        uint64_t mn = static_cast<uint64_t>(rule.options.min_replicas);
        uint64_t mx = static_cast<uint64_t>(rule.options.max_replicas);
        BACKSIGHT_RETURN_IF_ERROR(r.Uint(n["min"], key + ".min", 1, &mn));
        BACKSIGHT_RETURN_IF_ERROR(r.Uint(n["max"], key + ".max", 1, &mx));
        if (mx > kMaxReplicas) return KeyError(source, key + ".max", "must be at most 100000", n);
        rule.options.min_replicas = static_cast<int>(std::min<uint64_t>(mn, kMaxReplicas));
        rule.options.max_replicas = static_cast<int>(mx);
        BACKSIGHT_RETURN_IF_ERROR(r.Duration(n["step"], key + ".step", 1000, &rule.step_ms));
        BACKSIGHT_RETURN_IF_ERROR(
            r.Duration(n["horizon"], key + ".horizon", 1000, &rule.horizon_ms));
        BACKSIGHT_RETURN_IF_ERROR(r.Duration(n["startup"], key + ".startup", 0, &rule.startup_ms));
        if (rule.horizon_ms / rule.step_ms > kMaxHorizonSteps) {
          return KeyError(source, key + ".horizon", "covers more than 10000 steps", n);
        }
        rule.options.horizon = static_cast<int>(
            std::max<int64_t>(1, (rule.horizon_ms + rule.step_ms - 1) / rule.step_ms));
        rule.options.startup = static_cast<int>(std::min<int64_t>(
            kMaxHorizonSteps, (rule.startup_ms + rule.step_ms - 1) / rule.step_ms));
        if (!has_per) rule.options.per_replica = 1;  // replaced by the capacity series' value
        Status vs = forecast::ValidateCapacityOptions(rule.options);
        if (!vs.ok()) return KeyError(source, key, vs.message(), n);
        c->capacity.push_back(std::move(rule));
      }
    }
    if (YAML::Node n = root["incidents"]) {
      BACKSIGHT_RETURN_IF_ERROR(
          CheckKeys(n, source, "incidents",
                    {"enabled", "gap", "resolve_after", "max_open", "max_members", "series_alerts",
                     "trace_window_spans", "service_graph"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(n["enabled"], "incidents.enabled", &c->incidents_enabled));
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(n["gap"], "incidents.gap", 1, &c->incidents_gap_ms));
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(n["resolve_after"], "incidents.resolve_after", 1,
                                           &c->incidents_resolve_after_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(n["max_open"], "incidents.max_open", 1, &c->incidents_max_open));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(n["max_members"], "incidents.max_members", 1, &c->incidents_max_members));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Bool(n["series_alerts"], "incidents.series_alerts", &c->incidents_series_alerts));
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(n["trace_window_spans"], "incidents.trace_window_spans", 0,
                                       &c->incidents_trace_window_spans));
      if (YAML::Node g = n["service_graph"]) {
        if (!g.IsSequence()) {
          return KeyError(source, "incidents.service_graph", "must be a list of {caller, callee}",
                          g);
        }
        for (size_t i = 0; i < g.size(); ++i) {
          const std::string key = "incidents.service_graph[" + std::to_string(i) + "]";
          const YAML::Node e = g[i];
          if (!e.IsMap()) return KeyError(source, key, "must be a map {caller, callee}", e);
          BACKSIGHT_RETURN_IF_ERROR(CheckKeys(e, source, key, {"caller", "callee"}));
          std::pair<std::string, std::string> edge;
          BACKSIGHT_RETURN_IF_ERROR(r.Str(e["caller"], key + ".caller", &edge.first));
          BACKSIGHT_RETURN_IF_ERROR(r.Str(e["callee"], key + ".callee", &edge.second));
          if (edge.first.empty() || edge.second.empty()) {
            return KeyError(source, key, "caller and callee are required service names", e);
          }
          c->incidents_service_graph.push_back(std::move(edge));
        }
      }
    }
    if (YAML::Node lf = root["log_files"]) {
      if (!lf.IsSequence()) return KeyError(source, "log_files", "must be a list", lf);
      std::set<std::string> services, paths;
      for (size_t i = 0; i < lf.size(); ++i) {
        const std::string key = "log_files[" + std::to_string(i) + "]";
        const YAML::Node f = lf[i];
        if (!f.IsMap()) return KeyError(source, key, "must be a map with a path", f);
        BACKSIGHT_RETURN_IF_ERROR(
            CheckKeys(f, source, key, {"path", "header", "multiline", "service"}));
        LogFile file;
        BACKSIGHT_RETURN_IF_ERROR(r.Str(f["path"], key + ".path", &file.path));
        BACKSIGHT_RETURN_IF_ERROR(r.Str(f["header"], key + ".header", &file.header));
        BACKSIGHT_RETURN_IF_ERROR(r.Str(f["multiline"], key + ".multiline", &file.multiline));
        BACKSIGHT_RETURN_IF_ERROR(r.Str(f["service"], key + ".service", &file.service));
        if (file.path.empty() || file.path.back() == '/') {
          return KeyError(source, key + ".path", "required, a file name", f);
        }
        logs::HeaderLayout layout;
        Status hs = logs::ParseHeaderSpec(file.header, &layout);
        if (!hs.ok()) return KeyError(source, key + ".header", hs.message(), f["header"]);
        if (file.multiline != "indent" && file.multiline != "none") {
          return KeyError(source, key + ".multiline", "must be indent or none", f["multiline"]);
        }
        if (file.service.empty()) file.service = file.path.substr(file.path.rfind('/') + 1);
        if (!paths.insert(file.path).second) {
          return KeyError(source, key + ".path", "duplicate path '" + file.path + "'", f["path"]);
        }
        if (!services.insert(file.service).second) {
          return KeyError(source, key + ".service",
                          "duplicate service '" + file.service + "' (set service: to tell apart)",
                          f);
        }
        c->log_files.push_back(std::move(file));
      }
    }
    if (YAML::Node pg = root["postgres"]) {
      if (!pg.IsSequence()) return KeyError(source, "postgres", "must be a list", pg);
      for (size_t i = 0; i < pg.size(); ++i) {
        const std::string key = "postgres[" + std::to_string(i) + "]";
        const YAML::Node t = pg[i];
        if (!t.IsMap()) return KeyError(source, key, "must be a map with a dsn", t);
        BACKSIGHT_RETURN_IF_ERROR(CheckKeys(t, source, key, {"dsn", "interval"}));
        PostgresTarget target;
        BACKSIGHT_RETURN_IF_ERROR(r.Str(t["dsn"], key + ".dsn", &target.dsn));
        if (target.dsn.empty()) return KeyError(source, key + ".dsn", "required", t);
        // 1 s at least: each snapshot reads pg_stat_statements and EXPLAINs what ran.
        BACKSIGHT_RETURN_IF_ERROR(
            r.Duration(t["interval"], key + ".interval", 1000, &target.interval_ms));
        c->postgres.push_back(std::move(target));
      }
    }
    if (YAML::Node l = root["limits"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(
          l, source, "limits",
          {"queue_max_samples", "max_body_bytes", "max_decompressed_bytes", "max_connections",
           "max_inflight_body_bytes", "header_timeout", "idle_timeout", "body_timeout"}));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(l["queue_max_samples"], "limits.queue_max_samples", 1000, &c->queue_max_samples));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(l["max_body_bytes"], "limits.max_body_bytes", 1024, &c->max_body_bytes));
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(l["max_decompressed_bytes"], "limits.max_decompressed_bytes",
                                       1024, &c->max_decompressed_bytes));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Uint(l["max_connections"], "limits.max_connections", 1, &c->max_connections));
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(l["max_inflight_body_bytes"],
                                       "limits.max_inflight_body_bytes", 1024,
                                       &c->max_inflight_body_bytes));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(l["header_timeout"], "limits.header_timeout", 100, &c->header_timeout_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(l["idle_timeout"], "limits.idle_timeout", 100, &c->idle_timeout_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(l["body_timeout"], "limits.body_timeout", 100, &c->body_timeout_ms));
    }
    if (YAML::Node a = root["auth"]) {
      BACKSIGHT_RETURN_IF_ERROR(
          CheckKeys(a, source, "auth", {"bearer_token", "bearer_token_file"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Str(a["bearer_token"], "auth.bearer_token", &c->bearer_token));
      std::string file;
      BACKSIGHT_RETURN_IF_ERROR(r.Str(a["bearer_token_file"], "auth.bearer_token_file", &file));
      if (!file.empty()) {
        std::ifstream in(file);
        if (!in) {
          return KeyError(source, "auth.bearer_token_file", "cannot read '" + file + "'",
                          a["bearer_token_file"]);
        }
        std::getline(in, c->bearer_token);
        while (!c->bearer_token.empty() &&
               std::isspace(static_cast<unsigned char>(c->bearer_token.back()))) {
          c->bearer_token.pop_back();
        }
        if (c->bearer_token.empty()) {
          return KeyError(source, "auth.bearer_token_file", "file '" + file + "' is empty",
                          a["bearer_token_file"]);
        }
      }
    }
    if (YAML::Node a = root["alerting"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(
          a, source, "alerting", {"alertmanager_url", "for", "resend_interval", "external_url"}));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Str(a["alertmanager_url"], "alerting.alertmanager_url", &c->alertmanager_url));
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(a["for"], "alerting.for", 0, &c->alert_for_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(a["resend_interval"], "alerting.resend_interval", 100, &c->alert_resend_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Str(a["external_url"], "alerting.external_url", &c->external_url));
      Status st = ValidateUrl(c->alertmanager_url, "alerting.alertmanager_url");
      if (!st.ok()) return KeyError(source, "alerting.alertmanager_url", st.message(), a);
    }
    if (YAML::Node g = root["global"]) {
      BACKSIGHT_RETURN_IF_ERROR(
          CheckKeys(g, source, "global", {"scrape_interval", "scrape_timeout"}));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(g["scrape_interval"], "global.scrape_interval", 100, &c->scrape_interval_ms));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(g["scrape_timeout"], "global.scrape_timeout", 10, &c->scrape_timeout_ms));
    }
    if (YAML::Node sc = root["scrape_configs"]) {
      if (!sc.IsSequence()) return KeyError(source, "scrape_configs", "must be a list", sc);
      std::set<std::string> names;
      for (size_t i = 0; i < sc.size(); ++i) {
        const std::string key = "scrape_configs[" + std::to_string(i) + "]";
        const YAML::Node j = sc[i];
        BACKSIGHT_RETURN_IF_ERROR(CheckKeys(j, source, key,
                                            {"job_name", "metrics_path", "scrape_interval",
                                             "scrape_timeout", "honor_labels", "static_configs"}));
        ScrapeJob job;
        BACKSIGHT_RETURN_IF_ERROR(r.Str(j["job_name"], key + ".job_name", &job.job_name));
        if (job.job_name.empty()) return KeyError(source, key + ".job_name", "required", j);
        if (!names.insert(job.job_name).second) {
          return KeyError(source, key + ".job_name", "duplicate job_name '" + job.job_name + "'",
                          j["job_name"]);
        }
        BACKSIGHT_RETURN_IF_ERROR(
            r.Str(j["metrics_path"], key + ".metrics_path", &job.metrics_path));
        BACKSIGHT_RETURN_IF_ERROR(
            r.Duration(j["scrape_interval"], key + ".scrape_interval", 100, &job.interval_ms));
        BACKSIGHT_RETURN_IF_ERROR(
            r.Duration(j["scrape_timeout"], key + ".scrape_timeout", 10, &job.timeout_ms));
        BACKSIGHT_RETURN_IF_ERROR(
            r.Bool(j["honor_labels"], key + ".honor_labels", &job.honor_labels));
        if (YAML::Node st = j["static_configs"]) {
          if (!st.IsSequence())
            return KeyError(source, key + ".static_configs", "must be a list", st);
          for (size_t s = 0; s < st.size(); ++s) {
            const std::string skey = key + ".static_configs[" + std::to_string(s) + "]";
            BACKSIGHT_RETURN_IF_ERROR(CheckKeys(st[s], source, skey, {"targets"}));
            const YAML::Node t = st[s]["targets"];
            if (!t || !t.IsSequence())
              return KeyError(source, skey + ".targets", "must be a list", st[s]);
            for (size_t k = 0; k < t.size(); ++k) {
              const std::string tkey = skey + ".targets[" + std::to_string(k) + "]";
              std::string target;
              BACKSIGHT_RETURN_IF_ERROR(r.Str(t[k], tkey, &target));
              std::string host;
              int port;
              Status hs = SplitHostPort(target, &host, &port);
              if (!hs.ok()) return KeyError(source, tkey, hs.message(), t[k]);
              job.targets.push_back(target);
            }
          }
        }
        if (job.metrics_path.empty() || job.metrics_path[0] != '/') {
          return KeyError(source, key + ".metrics_path", "must start with /", j);
        }
        c->scrape_jobs.push_back(std::move(job));
      }
    }
    if (YAML::Node h = root["history"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(
          h, source, "history", {"url", "lookback", "concurrency", "timeout", "step", "capacity"}));
      BACKSIGHT_RETURN_IF_ERROR(r.Str(h["url"], "history.url", &c->history_url));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(h["lookback"], "history.lookback", 1000, &c->history_lookback_ms));
      uint64_t conc = static_cast<uint64_t>(c->history_concurrency);
      BACKSIGHT_RETURN_IF_ERROR(r.Uint(h["concurrency"], "history.concurrency", 1, &conc));
      if (conc > kMaxHistoryConcurrency) {
        return KeyError(source, "history.concurrency",
                        "must be at most " + std::to_string(kMaxHistoryConcurrency),
                        h["concurrency"]);
      }
      c->history_concurrency = static_cast<int>(conc);
      BACKSIGHT_RETURN_IF_ERROR(
          r.Duration(h["timeout"], "history.timeout", 10, &c->history_timeout_ms));
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(h["step"], "history.step", 1000, &c->history_step_ms));
      BACKSIGHT_RETURN_IF_ERROR(r.Bool(h["capacity"], "history.capacity", &c->history_capacity));
      Status st = ValidateUrl(c->history_url, "history.url");
      if (!st.ok()) return KeyError(source, "history.url", st.message(), h);
    }
    if (YAML::Node o = root["output_remote_write"]) {
      BACKSIGHT_RETURN_IF_ERROR(CheckKeys(o, source, "output_remote_write", {"url", "interval"}));
      BACKSIGHT_RETURN_IF_ERROR(
          r.Str(o["url"], "output_remote_write.url", &c->output_remote_write_url));
      BACKSIGHT_RETURN_IF_ERROR(r.Duration(o["interval"], "output_remote_write.interval", 100,
                                           &c->output_remote_write_interval_ms));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Status st = ValidateConfig(*c);
  if (!st.ok()) return st.WithContext(source);
  return Status::OK();
}

Status LoadConfigFile(const std::string& path, ServeConfig* c) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path, c);
}

}  // namespace backsight::server
