#!/usr/bin/env bash
# Installs the npm clients used by the log and trace integration tests (tests/js/package-lock.json)
# into tests/js/node_modules. Idempotent: `npm ci` runs only when the lock file changed since the last
# install (a stamp holds its hash). Without node/npm it prints why and succeeds: the tests then
# skip with a message.
set -euo pipefail
cd "$(dirname "$0")/../tests/js"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-js-test-deps: node/npm not installed; the npm-client log tests will skip" >&2
  exit 0
fi
stamp=node_modules/.backsight-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "install-js-test-deps: npm ci in tests/js" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
