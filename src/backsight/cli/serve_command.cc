// `backsight serve`: the live service (see server/server.h for endpoints, server/config.h for
// the configuration).
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "backsight/cli/commands.h"
#include "backsight/server/config.h"
#include "backsight/server/server.h"

namespace backsight::cli {

namespace {

// The configuration file reference (keys and defaults from server/config.h; README "Config file").
constexpr const char* kFooter = R"(
Config file (YAML, Prometheus style; every key optional, unknown keys rejected; durations like
500ms, 15s, 1m30s, 2h, 1d):
  listen: 127.0.0.1:9465              HOST:PORT of the HTTP endpoints (port 0 = any free port)
  state_dir: backsight-state          SQLite state directory ("" = no persistence)
  checkpoint_interval: 60s            periodic checkpoint of detector states
  workers: 0                          engine threads (0 = number of cores, at most 256)
  series:
    max_active: 1000000               new series past this are refused and counted
    stale_after: 1h                   series idle this long are evicted
  limits:
    queue_max_samples: 1000000        samples queued before requests get 429
    max_body_bytes: 33554432          largest request body (32 MiB)
    max_decompressed_bytes: 33554432  largest decompressed body (32 MiB), checked while inflating
    max_connections: 4096             one more connection gets 503 + Connection: close
    max_inflight_body_bytes: 536870912  bodies held at once, all connections (512 MiB); then 503
    header_timeout: 10s               whole request header must arrive within this
    idle_timeout: 30s                 kept-alive connection closed after this without a request
    body_timeout: 60s                 reading one body / writing one response
  auth:
    bearer_token: ""                  when set, every endpoint requires it
    bearer_token_file: ""             or read the token from this file
  alerting:
    alertmanager_url: ""              e.g. http://127.0.0.1:9093 ("" = no alerts)
    for: 1m                           anomalous this long before an alert fires
    resend_interval: 1m               firing alerts are re-sent this often
    external_url: ""                  generatorURL base (default http://<listen>)
  global:
    scrape_interval: 15s
    scrape_timeout: 10s
  scrape_configs:                     Prometheus subset; adds job and instance labels
    - job_name: node                  required, unique
      metrics_path: /metrics
      scrape_interval: (global)
      scrape_timeout: (global, at most the interval)
      honor_labels: false
      static_configs: [{targets: ["127.0.0.1:9100"]}]
  output_remote_write:
    url: ""                           remote_write the output series here ("" = off)
    interval: 15s
  counters_as_rates: true             counters become per-second rates before detection
  history:                            warm start: a new series' past is replayed before scoring
    url: ""                           Prometheus-compatible query API, e.g. http://prometheus:9090
                                      (also VictoriaMetrics, Thanos, Mimir; "" = off)
    lookback: 7d                      how far back to fetch (query_range at the series' step)
    concurrency: 4                    fetches in flight at once (1..64)
    timeout: 10s                      one request; failures retried with back-off, then cold
    step: 15s                         step when a series' first request has one sample
  wal:
    enabled: true                     write-ahead log of accepted samples (<state_dir>/wal)
    fsync: false                      fdatasync every append (survives power loss)
  logs:                               POST /loki/api/v1/push, POST /v1/logs
    enabled: true                     accept logs (templates mined per service)
    max_services: 1000                new services past this get 429
    max_templates: 10000              per service; least recently matched evicted
    bucket: 1m                        template count bucket (step of the count series)
    max_events: 1000                  log anomaly events kept (GET /api/v1/log/anomalies)
    template_series: true             counts -> backsight_log_template_count{service,template_id}
  log_files:                          local files followed like tail -F (rotation, truncation,
    - path: /var/log/app.log          resumed at the checkpointed offset after a restart)
      header: raw                     layout or preset, as `backsight logs --header`
      multiline: indent               indent or none, as `backsight logs --multiline`
      service: app.log                default: the file's base name
  incidents:                          anomalies of every signal grouped; GET /api/v1/incidents
    enabled: false                    on: one BacksightIncident alert per incident
    gap: 2m                           a related anomaly this close joins an open incident
    resolve_after: 5m                 all members normal this long: resolved
    max_open: 1000                    open incidents (past it new ones dropped, counted)
    max_members: 1000                 members per incident
    series_alerts: false              also keep per-series, log, trace finding and query
                                      regression alerts with incidents on

Exit codes: 0 stopped by SIGTERM/SIGINT; 2 bad config or flags (file, line, key and reason
printed) or a damaged state database (move it aside to start fresh); 4 cannot read the config
file or start (e.g. address in use).)";

}  // namespace

void RegisterServe(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string config, listen, state_dir;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the live service: ingest Prometheus remote_write, OTLP metrics and scrapes, score every "
      "series, expose anomaly_score/yhat/yhat_lower/yhat_upper on /metrics, alert Alertmanager, "
      "checkpoint detector state to SQLite. Flags override the config file; with no config it "
      "listens on 127.0.0.1:9465 and keeps state in ./backsight-state. SIGTERM/SIGINT checkpoint "
      "and exit 0.");
  cmd->add_option("--config", o->config, "YAML configuration file (keys below)");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0 = any free port)");
  cmd->add_option("--state-dir", o->state_dir,
                  "directory for the SQLite state database (\"\" disables persistence)");
  cmd->footer(kFooter);
  cmd->callback([o, cmd, exit_code] {
    server::ServeConfig cfg;
    if (!o->config.empty()) {
      Status st = server::LoadConfigFile(o->config, &cfg);
      if (!st.ok()) {
        std::fprintf(stderr, "backsight serve: bad config: %s\n", st.message().c_str());
        *exit_code = st.code() == Status::Code::kIoError ? kExitIoError : kExitUsage;
        return;
      }
    }
    if (cmd->count("--listen")) cfg.listen = o->listen;
    if (cmd->count("--state-dir")) cfg.state_dir = o->state_dir;
    Status st = server::ValidateConfig(cfg);
    if (!st.ok()) {
      std::fprintf(stderr, "backsight serve: bad config: %s\n", st.message().c_str());
      *exit_code = kExitUsage;
      return;
    }
    // Block the stop signals in every thread; this thread waits for them below.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    server::Server srv(cfg);
    st = srv.Start();
    if (!st.ok()) {
      // A damaged state database, or one whose schema version is newer than this build reads
      // (OutOfRange, store::StateStore::Open), is a setup problem, like a bad config (exit 2);
      // their messages say what to do.
      const bool setup =
          st.code() == Status::Code::kCorruption || st.code() == Status::Code::kOutOfRange;
      std::fprintf(stderr, "backsight serve: cannot start: %s\n",
                   setup ? st.message().c_str() : st.ToString().c_str());
      *exit_code = setup ? kExitUsage : kExitIoError;
      return;
    }
    std::string host, ignored;
    int port;
    // Start() bound cfg.listen, so it parses; should it not, the address is shown as written.
    if (!server::SplitHostPort(cfg.listen, &host, &port).ok()) host = cfg.listen;
    std::fprintf(stderr,
                 "backsight serve: listening on %s:%d (state_dir: %s, series restored: %llu)\n",
                 host.c_str(), srv.port(), cfg.state_dir.empty() ? "(none)" : cfg.state_dir.c_str(),
                 static_cast<unsigned long long>(srv.engine()->stats().series_restored));
    std::fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "backsight serve: %s received, checkpointing and stopping\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv.Stop();
    std::fprintf(stderr, "backsight serve: stopped\n");
    *exit_code = kExitOk;
  });
}

}  // namespace backsight::cli
