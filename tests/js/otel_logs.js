// Sends logs to Backsight through the OpenTelemetry JS SDK (@opentelemetry/sdk-logs with the
// OTLP/HTTP exporter, JSON encoding). Usage: node otel_logs.js <base url> <service> <count>
// Logs <count> info records of one template and two warn records of another, flushes, exits 0.
'use strict';
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');
const { Resource } = require('@opentelemetry/resources');
const { SeverityNumber } = require('@opentelemetry/api-logs');

async function main() {
  const [url, service, count] = process.argv.slice(2);
  const provider = new LoggerProvider({
    resource: new Resource({ 'service.name': service, 'host.name': 'test-host' }),
  });
  provider.addLogRecordProcessor(
    new BatchLogRecordProcessor(new OTLPLogExporter({ url: url + '/v1/logs' })));
  const logger = provider.getLogger('backsight-test', '1.0.0');
  for (let i = 0; i < Number(count); i++) {
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: `order ${1000 + i} paid in ${i % 13} ms`,
    });
  }
  for (let i = 0; i < 2; i++) {
    logger.emit({ severityNumber: SeverityNumber.WARN, body: `retrying payment gateway call ${i}` });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
