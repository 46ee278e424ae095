#!/usr/bin/env bash
# ctest fixture for tests/db: one throw-away PostgreSQL 15 cluster (pg_scratch.sh) shared by every
# db test of a ctest run, instead of one per test process.
#   pg_fixture.sh start PG_SCRATCH SCHEMA URI_FILE   start it; its URI goes to URI_FILE
#                                                    (empty when PostgreSQL 15 is not installed:
#                                                    the tests then skip with a message)
#   pg_fixture.sh stop PG_SCRATCH URI_FILE           stop it and remove its files
set -euo pipefail
dir=/tmp/bs-dbtest-fixture-$(id -u)
case $1 in
  start)
    : > "$4"
    [ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL 15 not installed"; exit 0; }
    [ -x "$2" ] || { echo "$2 not found (the shared tools folder next to the repository)"; exit 0; }
    [ ! -e "$dir" ] || "$2" stop "$dir" --rm 2>/dev/null || rm -rf "$dir"
    "$2" start "$dir" --schema "$3" > "$4.tmp"
    tail -n 1 "$4.tmp" > "$4"
    rm -f "$4.tmp"
    ;;
  stop)
    [ ! -e "$dir" ] || "$2" stop "$dir" --rm
    rm -f "$3"
    ;;
esac
