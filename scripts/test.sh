#!/usr/bin/env bash
# `make test`: set-up with the test tools, the Debian packages the tests need,
# ruff, then the whole pytest suite on SQLite: the unit suite (parallel), then the
# end-to-end browser flows (Playwright driving /usr/bin/chromium against
# pytest-django's live server); then on PostgreSQL (a throw-away server on 127.0.0.1
# that scripts/postgres.sh installs, starts and, at the end, stops) every test whose
# queries can behave differently there (see run_suites). Every check runs even if
# an earlier one failed; the exit status is non-zero if any did, and the summary
# names the database that failed.
# Screenshots land in artifacts/.
#
# Usage: scripts/test.sh [--lint-only] [extra pytest arguments for every run]
# Environment: KAM_TEST_WORKERS (default 2; 0 = no parallelism in the unit and e2e runs),
# KAM_TEST_DATABASES (both, the default; sqlite; or postgres).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LINT_ONLY=0
if [ "${1:-}" = "--lint-only" ]; then
  LINT_ONLY=1
  shift
fi

step() { printf '==> %s\n' "$*"; }

databases="${KAM_TEST_DATABASES:-both}"
case "$databases" in
  both) databases=(sqlite postgres) ;;
  sqlite | postgres) databases=("$databases") ;;
  *)
    echo "test.sh: KAM_TEST_DATABASES=$databases: use both, sqlite or postgres" >&2
    exit 2
    ;;
esac
# shellcheck source=scripts/apt.sh
source scripts/apt.sh

bash scripts/setup.sh --dev

# --- Debian packages the tests use ---------------------------------------------
# chromium: the browser the e2e flows drive; fonts-noto-cjk: Chinese text in
# screenshots; gettext: msgfmt/xgettext for the makemessages checks.
system_packages() {
  local wanted=(chromium fonts-noto-cjk gettext) pkg
  for pkg in "${wanted[@]}"; do
    if ! apt_is_installed "$pkg"; then
      apt_install_missing "the e2e tests fail without chromium" "${wanted[@]}" || true
      return 0
    fi
  done
  step "Debian packages for the tests are installed (${wanted[*]})"
}

if [ "$LINT_ONLY" = 1 ]; then
  step "ruff check"
  exec .venv/bin/ruff check .
fi

system_packages

failed=()
step "ruff check"
if ! .venv/bin/ruff check .; then
  failed+=("ruff")
fi

# The tests get a data folder of their own (secret key, extra playbooks), so a
# developer's ./data never leaks into a test run and vice versa.
KAM_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/kam-test-data.XXXXXX")"
export KAM_DATA_DIR
# The runs choose their database: SQLite, then the server scripts/postgres.sh starts.
if [ -n "${KAM_DATABASE_URL:-}" ]; then
  step "note: KAM_DATABASE_URL is ignored here; the PostgreSQL run uses a server of its own"
  unset KAM_DATABASE_URL
fi
KAM_PG_DIR=""
cleanup() {
  [ -z "$KAM_PG_DIR" ] || bash scripts/postgres.sh stop "$KAM_PG_DIR" || true
  rm -rf "$KAM_DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Create the secret key once here, before parallel workers race to create it.
.venv/bin/python -c 'import kam.config.settings' >/dev/null

# Screenshots are this run's: drop those of earlier runs.
rm -rf artifacts/screenshots
mkdir -p artifacts/screenshots
workers="${KAM_TEST_WORKERS:-2}"
parallel=()
[ "$workers" != 0 ] && parallel=(-n "$workers")

# pytest exits 5 when it collected nothing: fine for one half, not for both.
ran=0
run_pytest() {
  local name="$1"
  shift
  local status=0 started=$SECONDS
  .venv/bin/python -m pytest "$@" || status=$?
  echo "    ($name: $((SECONDS - started)) s)"
  case "$status" in
    0) ran=$((ran + 1)) ;;
    5) echo "    ($name: no tests collected)" ;;
    *) failed+=("$name") ;;
  esac
}

# The unit suite, then the e2e flows, on one database: $1 is its name (sqlite or
# postgres), the rest extra pytest arguments.
run_suites() {
  local db="$1" label
  shift
  label="$([ "$db" = sqlite ] && echo SQLite || echo PostgreSQL)"
  # Tests marked sqlite_cli run `kam` in a subprocess on a SQLite folder of their own
  # whatever the database: once is enough when the SQLite run has them.
  # Tests marked threaded_server race real threads through pytest-django's live
  # server, which needs a database that takes connections from several threads:
  # SQLite's in-memory test database does not (its twins on `kam serve` over a
  # SQLite WAL folder are sqlite_cli tests).
  # When both databases run, the PostgreSQL run repeats what can differ there (the
  # API, services, selectors, security, import and backup tests) and leaves out what
  # ran once already: sqlite_cli, single_db (pages, pure methodology, the demo's
  # loader), the API fuzzing (its PostgreSQL findings, NUL and lengths, have
  # regression tests of their own that do run) and the browser flows.
  local unit="not e2e and not threaded_server" e2e=1
  if [ "$db" = postgres ]; then
    unit="not e2e"
    if [ "${#databases[@]}" = 2 ]; then
      unit="not e2e and not sqlite_cli and not single_db and not fuzz"
      e2e=0
    fi
  fi
  step "unit tests on $label (pytest -m '$unit', $workers workers)"
  run_pytest "unit tests on $label" -m "$unit" --ignore=e2e "${parallel[@]}" \
    --junitxml="artifacts/junit-unit-$db.xml" "$@"
  if [ "$e2e" = 1 ]; then
    # Parallel too: each worker has its own live server, test database and Chromium
    # (8 flows: 121 -> 102 s on 2 cores; the browser waits while the server works).
    step "end-to-end tests on $label (pytest -m e2e, $workers workers, Playwright + /usr/bin/chromium; screenshots in artifacts/screenshots/)"
    run_pytest "e2e tests on $label" -m e2e "${parallel[@]}" \
      --junitxml="artifacts/junit-e2e-$db.xml" "$@"
  fi
}

for db in "${databases[@]}"; do
  if [ "$db" = sqlite ]; then
    run_suites sqlite "$@"
    continue
  fi
  step "starting a throw-away PostgreSQL for the tests (scripts/postgres.sh)"
  if pg_settings="$(bash scripts/postgres.sh start)"; then
    eval "$pg_settings"
    run_suites postgres "$@"
    bash scripts/postgres.sh stop "$KAM_PG_DIR" || true
    KAM_PG_DIR=""
    unset KAM_DATABASE_URL
  else
    failed+=("PostgreSQL could not be started for the tests (see above; KAM_TEST_DATABASES=sqlite runs without it)")
  fi
done

if [ "$ran" = 0 ] && [ "${#failed[@]}" = 0 ]; then
  failed+=("no tests were collected at all")
fi

if [ "${#failed[@]}" != 0 ]; then
  printf '==> FAILED: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
  exit 1
fi
step "all checks passed"
