#!/usr/bin/env bash
# Installs every system package Backsight needs to build, test and benchmark (Debian 12).
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev clang-format        # fuzzers (libFuzzer) and formatting
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and micro-benchmarks
  libcli11-dev                                 # command-line parsing
  nlohmann-json3-dev                           # JSON in/out (NAB labels, JSON lines, REST)
  libyaml-cpp-dev                              # YAML configuration
  libboost-dev                                 # HTTP server (Boost.Beast + Asio, header-only)
  libcpp-httplib-dev libssl-dev                # HTTP clients (scrape, Alertmanager, push, tests)
  libprotobuf-dev protobuf-compiler libsnappy-dev  # remote_write (snappy + protobuf)
  libsqlite3-dev                               # embedded state store
  prometheus-cpp-dev                           # registry of the server's own /metrics
  libcairo2-dev fonts-dejavu-core              # --plot PNG/SVG rendering (and its font)
  zlib1g-dev                                   # gzip log input
  libsimdjson-dev                              # JSON-lines access logs at > 1 M lines/s
  libpq-dev libpg-query-dev                    # `db advise`: PostgreSQL client, its SQL parser
  libprotobuf-c-dev                            # the header of libpg_query's protobuf parse tree
  libmodsecurity-dev modsecurity-crs           # `backsight security`: OWASP CRS via ModSecurity v3
)
if [[ "${1:-}" == "--test" ]]; then
  # Real peers for the integration tests of `backsight serve` (started by the tests on 127.0.0.1).
  PKGS+=(prometheus prometheus-alertmanager prometheus-node-exporter curl)
  # A real PostgreSQL 15 with HypoPG and pg_qualstats for the `db` tests and the TPC-H benchmark.
  PKGS+=(postgresql-15 postgresql-15-hypopg postgresql-15-pg-qualstats)
  # Real log clients from npm (winston-loki, OpenTelemetry JS SDK) for the log tests.
  # (Debian's npm only when no npm is on PATH: a NodeSource nodejs bundles its own.)
  PKGS+=(nodejs)
  if ! command -v npm >/dev/null; then PKGS+=(npm); fi
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" == "--test" ]]; then
  "$(dirname "$0")/install-js-test-deps.sh"
fi
