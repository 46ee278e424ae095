// A small app instrumented with the OpenTelemetry JS SDK (@opentelemetry/sdk-trace-node 2.x),
// exporting its spans to Backsight over OTLP/HTTP. Usage:
//   node otel_traces.js <base url> <mode> <exporter> <requests>
// mode: healthy  (one db query and one reservation call per request),
//       nplus1   (the handler loads each order line with its own query: 12 sequential
//                 `SELECT ... WHERE id = <n>` db spans with db.system / db.statement),
//       retry    (the reservation call fails 4 times and succeeds on the 5th try; the handler
//                 recovers),
//       cascade  (the inventory service fails and the handler fails with it);
// exporter: proto (@opentelemetry/exporter-trace-otlp-proto) or http (-otlp-http, JSON).
// Two services: shop-api (the handler, its db client spans and its client calls) and inventory
// (the server side of the reservation calls). Flushes, prints "sent <n> requests", exits 0.
'use strict';
const { context, trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { resourceFromAttributes } = require('@opentelemetry/resources-v2');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeProvider(url, exporterKind, service) {
  const { OTLPTraceExporter } = exporterKind === 'proto'
    ? require('@opentelemetry/exporter-trace-otlp-proto')
    : require('@opentelemetry/exporter-trace-otlp-http');
  return new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'test-host' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: url + '/v1/traces' }))],
  });
}

// Runs `fn(span)` inside a span of `tracer` that is a child of `parent` (explicit contexts, so no
// global context manager is needed); sets ERROR status when fn throws.
async function inSpan(tracer, name, kind, parent, attributes, fn) {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const span = tracer.startSpan(name, { kind, attributes }, ctx);
  try {
    return await fn(span);
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(e.message) });
    throw e;
  } finally {
    span.end();
  }
}

async function query(shop, parent, statement) {
  await inSpan(shop, 'SELECT shop.items', SpanKind.CLIENT, parent,
    { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': statement },
    () => sleep(1));
}

// One reservation call from shop-api to inventory; `fail` makes the inventory side fail.
async function reserve(shop, inventory, parent, fail) {
  await inSpan(shop, 'POST /reserve', SpanKind.CLIENT, parent,
    { 'http.request.method': 'POST', 'url.full': 'http://inventory/reserve' },
    (client) => inSpan(inventory, 'POST /reserve', SpanKind.SERVER, client,
      { 'http.request.method': 'POST', 'http.route': '/reserve' },
      async () => {
        await sleep(1);
        if (fail) throw new Error('inventory unavailable');
      }));
}

async function handle(mode, shop, inventory, i) {
  await inSpan(shop, 'GET /orders/:id', SpanKind.SERVER, null,
    { 'http.request.method': 'GET', 'http.route': '/orders/:id' },
    async (root) => {
      if (mode === 'nplus1') {
        for (let line = 0; line < 12; line++) {
          await query(shop, root, `SELECT * FROM items WHERE id = ${1000 * i + line}`);
        }
      } else {
        await query(shop, root, `SELECT * FROM items WHERE order_id = ${i}`);
      }
      if (mode === 'retry') {
        for (let attempt = 0; ; attempt++) {
          try {
            await reserve(shop, inventory, root, attempt < 4);
            break;
          } catch (e) {
            await sleep(1);  // back off, then retry
          }
        }
      } else {
        await reserve(shop, inventory, root, mode === 'cascade');
      }
    }).catch(() => {});  // a failed request (cascade) is answered 500; the span says so
}

async function main() {
  const [url, mode, exporterKind, requests] = process.argv.slice(2);
  if (!['healthy', 'nplus1', 'retry', 'cascade'].includes(mode) ||
      !['proto', 'http'].includes(exporterKind)) {
    throw new Error('usage: otel_traces.js <url> healthy|nplus1|retry|cascade proto|http <n>');
  }
  const shopProvider = makeProvider(url, exporterKind, 'shop-api');
  const invProvider = makeProvider(url, exporterKind, 'inventory');
  const shop = shopProvider.getTracer('backsight-test', '1.0.0');
  const inventory = invProvider.getTracer('backsight-test', '1.0.0');
  for (let i = 0; i < Number(requests); i++) await handle(mode, shop, inventory, i);
  await Promise.all([shopProvider.forceFlush(), invProvider.forceFlush()]);
  await Promise.all([shopProvider.shutdown(), invProvider.shutdown()]);
  console.log(`sent ${requests} requests`);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
