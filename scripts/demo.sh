#!/usr/bin/env bash
# `make demo` (and `make serve` with --no-demo): set-up, a migrated SQLite database
# in the data folder ($KAM_DATA_DIR, default ./data), the demo data, then the web
# UI and API on http://127.0.0.1:8000/ in the foreground (Ctrl+C stops it).
#
# Usage: scripts/demo.sh [--no-demo] [--host HOST] [--port PORT]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LOAD_DEMO=1
HOST=127.0.0.1
PORT=8000
while [ $# -gt 0 ]; do
  case "$1" in
    --no-demo) LOAD_DEMO=0 ;;
    --host) HOST="${2:?--host needs a value}"; shift ;;
    --port) PORT="${2:?--port needs a value}"; shift ;;
    *) echo "demo.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/setup.sh

KAM=.venv/bin/kam
echo "==> migrating the database (data folder: ${KAM_DATA_DIR:-./data})"
"$KAM" manage migrate --no-input

if [ "$LOAD_DEMO" = 1 ]; then
  echo "==> loading the demo data"
  status=0
  "$KAM" demo || status=$?
  if [ "$status" != 0 ]; then
    cat >&2 <<MSG

ERROR: the demo was not loaded (kam demo exited $status): the database already holds
other data, and the demo never writes over real data. Either serve that database as
it is with 'make serve', or try the demo in a separate data folder:
    KAM_DATA_DIR=/tmp/kam-demo make demo
MSG
    exit "$status"
  fi
fi

echo "==> serving KAM on http://$HOST:$PORT/ (Ctrl+C stops it)"
if [ "$LOAD_DEMO" = 1 ]; then
  echo "    log in as manager, password kam-demo-manager"
fi
exec "$KAM" serve --host "$HOST" --port "$PORT"
