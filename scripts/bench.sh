#!/usr/bin/env bash
# `make bench`: KAM's benchmarks from a clean clone, on SQLite and on PostgreSQL
# (issue 10; what each measures: bench/README.md, results: docs/benchmarks.md).
#
#   1. the set-up (scripts/setup.sh: .venv, pinned dependencies, KAM itself)
#   2. SQLite: `kam bench generate --opportunities $OPPORTUNITIES` into a fresh data
#      folder ./bench-data/sqlite-N (kept: a later run with the same N reuses it), then
#      `kam bench run`
#   3. PostgreSQL: a throw-away server (scripts/postgres.sh, stopped at the end), the
#      same generate and run on it
#
# Each run's output is also written to ./bench-data/results-<database>-N.txt.
#
# Usage: scripts/bench.sh [options for `kam bench run`, e.g. --only dashboard,risks]
# Environment: OPPORTUNITIES (default 1000000; e.g. 20000 for a quick run), SEED
# (default 1), KAM_BENCH_DATABASES (both, the default; sqlite; or postgres),
# KAM_BENCH_DIR (default ./bench-data), KAM_BENCH_FRESH=1 (regenerate the SQLite data).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OPPORTUNITIES="${OPPORTUNITIES:-1000000}"
SEED="${SEED:-1}"
DIR="${KAM_BENCH_DIR:-$ROOT/bench-data}"
case "${KAM_BENCH_DATABASES:-both}" in
  both) databases=(sqlite postgres) ;;
  sqlite | postgres) databases=("$KAM_BENCH_DATABASES") ;;
  *)
    echo "bench.sh: KAM_BENCH_DATABASES=$KAM_BENCH_DATABASES: use both, sqlite or postgres" >&2
    exit 2
    ;;
esac

step() { printf '==> %s\n' "$*"; }

bash scripts/setup.sh
mkdir -p "$DIR"
KAM="$ROOT/.venv/bin/kam"
unset KAM_DATABASE_URL
failed=()

# generate (unless $1's folder already holds this data set) and run on the database
# the environment names; $1 is the database's name for the results file.
bench_on() {
  local db="$1" results="$DIR/results-$1-$OPPORTUNITIES.txt" status=0
  shift
  if [ -f "$KAM_DATA_DIR/.kam-bench-$OPPORTUNITIES-$SEED" ] && [ -z "${KAM_DATABASE_URL:-}" ]; then
    step "$db: reusing the data set in $KAM_DATA_DIR (KAM_BENCH_FRESH=1 regenerates it)"
  else
    step "$db: generating $OPPORTUNITIES opportunities (seed $SEED) through the import"
    "$KAM" bench generate --opportunities "$OPPORTUNITIES" --seed "$SEED" || return 1
    [ -n "${KAM_DATABASE_URL:-}" ] || touch "$KAM_DATA_DIR/.kam-bench-$OPPORTUNITIES-$SEED"
  fi
  step "$db: kam bench run $*"
  "$KAM" bench run "$@" | tee "$results" || status=$?
  step "$db: results in $results"
  return "$status"
}

for db in "${databases[@]}"; do
  if [ "$db" = sqlite ]; then
    export KAM_DATA_DIR="$DIR/sqlite-$OPPORTUNITIES"
    if [ "${KAM_BENCH_FRESH:-0}" = 1 ] || [ ! -f "$KAM_DATA_DIR/.kam-bench-$OPPORTUNITIES-$SEED" ]; then
      rm -rf "$KAM_DATA_DIR"
    fi
    mkdir -p "$KAM_DATA_DIR"
    bench_on sqlite "$@" || failed+=(SQLite)
    continue
  fi
  step "starting a throw-away PostgreSQL (scripts/postgres.sh)"
  if ! pg_settings="$(bash scripts/postgres.sh start)"; then
    failed+=("PostgreSQL could not be started (KAM_BENCH_DATABASES=sqlite runs without it)")
    continue
  fi
  eval "$pg_settings"
  trap 'bash scripts/postgres.sh stop "$KAM_PG_DIR" || true' EXIT
  # The data folder still holds the secret key and uploads; the data is in PostgreSQL.
  export KAM_DATA_DIR="$DIR/postgres-settings"
  mkdir -p "$KAM_DATA_DIR"
  bench_on postgres "$@" || failed+=(PostgreSQL)
  bash scripts/postgres.sh stop "$KAM_PG_DIR" || true
  trap - EXIT
  unset KAM_DATABASE_URL
done

if [ "${#failed[@]}" != 0 ]; then
  printf '==> FAILED on: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
  exit 1
fi
step "done: the ratios are in the summaries above (and in $DIR/results-*-$OPPORTUNITIES.txt)"
