// A three-service shop instrumented with the OpenTelemetry JS SDK, exporting traces
// (@opentelemetry/sdk-trace-node, exporter-trace-otlp-proto), logs (sdk-logs 0.223,
// exporter-logs-otlp-http) and metrics (sdk-metrics 2.12, exporter-metrics-otlp-proto) to
// Backsight's /v1/traces, /v1/logs and /v1/metrics. Used by
// tests/server/incident_live_integration_test.cc. Usage:
//   node incident_app.js <base url> <phase> <requests> [first request id] [pause ms]
// phase: healthy (every request succeeds) or fault (the payment gateway times out: payment's
// latency x10, its server span ERROR, an ERROR log "payment gateway timeout for order <id>";
// checkout's call to payment fails, checkout logs and answers "payment pending", so no error
// reaches frontend and its callers see the added latency). pause ms: between requests (2).
// One request: frontend (POST /orders) -> checkout (POST /checkout) -> payment (POST /pay), in
// process, one Resource (service.name) per service, parent links through the span context and
// CLIENT/SERVER pairs for the service graph. Each service's handler time comes from a seeded
// latency model (no sleeps, so runs are fast and identical on a loaded machine); its spans
// carry those times. After each request every service records its handler duration on the gauge
// `app.request.duration` (seconds) and its metrics are exported (one sample per request per
// series). Flushes everything, prints "sent <n> <phase> requests", exits 0 (2 on an error).
'use strict';
const { context, trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources-v2');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs-v2');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http-v2');
const { SeverityNumber } = require('@opentelemetry/api-logs-v2');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');

// Mean handler time of each service in ms, without its callees (a typical small web shop).
const OWN_MS = { frontend: 3, checkout: 5, payment: 20 };
// Relative jitter of a handler time: uniform in [1 - JITTER, 1 + JITTER].
const JITTER = 0.1;
// The injected fault: payment's gateway call takes this many times longer and fails.
const FAULT_FACTOR = 10;
// Batch processors: export every 200 ms, queues large enough for a whole run (no drops).
const BATCH = { scheduledDelayMillis: 200, maxQueueSize: 100000, maxExportBatchSize: 2000 };
// Metric export only when forced (after each request).
const METRIC_INTERVAL_MS = 3600 * 1000;
// Default pause between requests (ms): the SDK's data point times have millisecond resolution,
// and two samples of one series with the same time would be refused as duplicates.
const PAUSE_MS = 2;

// mulberry32: a small seeded PRNG (public domain, Tommy Ettinger), so the jitter of request i of
// a service is the same in every run.
function random(seed) {
  let t = (seed + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function ownMs(service, id) {
  const salt = { frontend: 1, checkout: 2, payment: 3 }[service];
  return OWN_MS[service] * (1 - JITTER + 2 * JITTER * random(id * 4 + salt));
}

// One service: its tracer, logger and latency gauge, each under its own Resource.
function makeService(url, name) {
  const resource = resourceFromAttributes({ 'service.name': name, 'host.name': 'test-host' });
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: url + '/v1/traces' }), BATCH),
    ],
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: url + '/v1/logs' }), ...BATCH }),
    ],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: url + '/v1/metrics' }),
        exportIntervalMillis: METRIC_INTERVAL_MS,
      }),
    ],
  });
  const meter = meterProvider.getMeter('backsight-incident-app', '1.0.0');
  return {
    name,
    tracerProvider,
    loggerProvider,
    meterProvider,
    tracer: tracerProvider.getTracer('backsight-incident-app', '1.0.0'),
    logger: loggerProvider.getLogger('backsight-incident-app', '1.0.0'),
    duration: meter.createGauge('app.request.duration', {
      unit: 's',
      description: 'Handler time of the latest request, callees included',
    }),
  };
}

function log(svc, atMs, severityNumber, severityText, body) {
  svc.logger.emit({ timestamp: atMs, severityNumber, severityText, body });
}

// A span of `svc` from `startMs` to `endMs` under `parent` (null: a root span).
function span(svc, name, kind, parent, startMs, endMs, attributes, error) {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const s = svc.tracer.startSpan(name, { kind, attributes, startTime: startMs }, ctx);
  if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: error });
  return s;
}

// payment's POST /pay from `startMs` under the caller's CLIENT span; returns its end time and
// whether it failed.
function pay(svc, clientSpan, id, startMs, fault) {
  const ms = ownMs('payment', id) * (fault ? FAULT_FACTOR : 1);
  const end = startMs + ms;
  const s = span(svc, 'POST /pay', SpanKind.SERVER, clientSpan, startMs, end,
    { 'http.request.method': 'POST', 'http.route': '/pay' },
    fault ? 'payment gateway timeout' : null);
  if (fault) {
    log(svc, end, SeverityNumber.ERROR, 'ERROR', `payment gateway timeout for order ${id}`);
  } else {
    log(svc, end, SeverityNumber.INFO, 'INFO', `charged order ${id} amount ${(id % 97) + 3}.50 EUR`);
  }
  s.end(end);
  svc.last = ms / 1000;
  return { end, failed: fault };
}

// checkout's POST /checkout: its own work around the call to payment.
function checkout(svcs, clientSpan, id, startMs, fault) {
  const svc = svcs.checkout;
  const own = ownMs('checkout', id);
  const s = span(svc, 'POST /checkout', SpanKind.SERVER, clientSpan, startMs, 0,
    { 'http.request.method': 'POST', 'http.route': '/checkout' }, null);
  const callStart = startMs + own / 2;
  const call = span(svc, 'POST /pay', SpanKind.CLIENT, s, callStart, 0,
    { 'http.request.method': 'POST', 'url.full': 'http://payment/pay' }, null);
  const paid = pay(svcs.payment, call, id, callStart + 0.1, fault);
  if (paid.failed) call.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 504' });
  call.end(paid.end + 0.1);
  const end = paid.end + 0.1 + own / 2;
  log(svc, end, SeverityNumber.INFO, 'INFO',
    paid.failed ? `order ${id} accepted, payment pending` : `order ${id} checked out`);
  s.end(end);
  svc.last = (end - startMs) / 1000;
  return end;
}

// frontend's POST /orders: one whole request.
function order(svcs, id, fault) {
  const svc = svcs.frontend;
  const own = ownMs('frontend', id);
  const startMs = Date.now();
  const s = span(svc, 'POST /orders', SpanKind.SERVER, null, startMs, 0,
    { 'http.request.method': 'POST', 'http.route': '/orders' }, null);
  const callStart = startMs + own / 2;
  const call = span(svc, 'POST /checkout', SpanKind.CLIENT, s, callStart, 0,
    { 'http.request.method': 'POST', 'url.full': 'http://checkout/checkout' }, null);
  const done = checkout(svcs, call, id, callStart + 0.1, fault);
  call.end(done + 0.1);
  const end = done + 0.1 + own / 2;
  log(svc, end, SeverityNumber.INFO, 'INFO', `order ${id} placed in ${Math.round(end - startMs)} ms`);
  s.end(end);
  svc.last = (end - startMs) / 1000;
}

async function main() {
  const [url, phase, requests, first, pause] = process.argv.slice(2);
  const pauseMs = Number(pause || PAUSE_MS);
  if (!url || !['healthy', 'fault'].includes(phase) || !(Number(requests) > 0) ||
      !(pauseMs >= 1)) {
    throw new Error(
      'usage: incident_app.js <url> healthy|fault <requests> [first request id] [pause ms >= 1]');
  }
  const svcs = {};
  for (const name of ['frontend', 'checkout', 'payment']) svcs[name] = makeService(url, name);
  const all = Object.values(svcs);
  const firstId = Number(first || 1000);
  for (let i = 0; i < Number(requests); i++) {
    order(svcs, firstId + i, phase === 'fault');
    for (const svc of all) svc.duration.record(svc.last);
    await Promise.all(all.map((svc) => svc.meterProvider.forceFlush()));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  await Promise.all(all.flatMap((svc) => [svc.tracerProvider.forceFlush(),
    svc.loggerProvider.forceFlush()]));
  await Promise.all(all.flatMap((svc) => [svc.tracerProvider.shutdown(),
    svc.loggerProvider.shutdown(), svc.meterProvider.shutdown()]));
  console.log(`sent ${requests} ${phase} requests`);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
