// Pushes logs to Backsight through winston + winston-loki (Loki push API), as an application
// would. Usage: node loki_winston.js <base url> <service> <normal rounds> <json|proto>
// Each round logs two templates at info level; then three error lines of a new template.
// Prints "json=<bool>" (the encoding winston-loki actually used) and exits 0 once every batch
// was acknowledged (non-zero on a push error).
'use strict';
const winston = require('winston');
const LokiTransport = require('winston-loki');

async function main() {
  const [url, service, rounds, mode] = process.argv.slice(2);
  const transport = new LokiTransport({
    host: url,
    labels: { service_name: service },
    json: mode === 'json',
    batching: true,
    interval: 0.2,
    onConnectionError: (err) => {
      console.error('push failed:', err && err.message);
      process.exitCode = 3;
    },
  });
  const logger = winston.createLogger({ level: 'info', transports: [transport] });
  console.log('json=' + transport.batcher.options.json);
  const n = Number(rounds);
  for (let i = 0; i < n; i++) {
    logger.info(`user ${i} logged in from 10.0.${i % 256}.${i % 7}`);
    logger.info(`GET /api/items/${i} 200 in ${i % 17} ms`);
  }
  for (let i = 0; i < 3; i++) logger.error(`disk /dev/sd${'abc'[i]} failed: I/O error`);
  await transport.flush();
  await transport.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
