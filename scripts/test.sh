#!/usr/bin/env bash
# `make test`: set-up with the test tools, the Debian packages the tests need,
# ruff, then the whole pytest suite in two runs: the unit suite (parallel), then
# the end-to-end browser flows (Playwright driving /usr/bin/chromium against
# pytest-django's live server). Every check runs even if an earlier one failed;
# the exit status is non-zero if any did. Screenshots land in artifacts/.
#
# Usage: scripts/test.sh [--lint-only] [extra pytest arguments for both runs]
# Environment: KAM_TEST_WORKERS (default 2; 0 = no parallelism in the unit run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LINT_ONLY=0
if [ "${1:-}" = "--lint-only" ]; then
  LINT_ONLY=1
  shift
fi

step() { printf '==> %s\n' "$*"; }

bash scripts/setup.sh --dev

# --- Debian packages the tests use ---------------------------------------------
# chromium: the browser the e2e flows drive; fonts-noto-cjk: Chinese text in
# screenshots; gettext: msgfmt/xgettext for the makemessages checks.
system_packages() {
  local wanted=(chromium fonts-noto-cjk gettext) missing=() pkg
  for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" = 0 ]; then
    step "Debian packages for the tests are installed (${wanted[*]})"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    step "WARNING: cannot install ${missing[*]}: no apt-get on this machine. Install them by hand; the e2e tests fail without chromium."
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
      sudo=(sudo)
    else
      step "WARNING: cannot install ${missing[*]}: not root and no usable sudo."
      echo "    Run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
      echo "    (the e2e tests fail without chromium)"
      return 0
    fi
  fi
  step "installing Debian packages for the tests: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get update -qq; then
    step "WARNING: apt-get update failed; trying the install with the package lists as they are"
  fi
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; then
    step "WARNING: apt-get install ${missing[*]} failed (see above); the tests that need them will fail."
  fi
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
trap 'rm -rf "$KAM_DATA_DIR"' EXIT
# Create the secret key once here, before parallel workers race to create it.
.venv/bin/python -c 'import kam.config.settings' >/dev/null

# Screenshots are this run's: drop those of earlier runs.
rm -rf artifacts/screenshots
mkdir -p artifacts/screenshots
workers="${KAM_TEST_WORKERS:-2}"
unit_parallel=()
[ "$workers" != 0 ] && unit_parallel=(-n "$workers")

# pytest exits 5 when it collected nothing: fine for one half, not for both.
ran=0
run_pytest() {
  local name="$1"
  shift
  local status=0
  .venv/bin/python -m pytest "$@" || status=$?
  case "$status" in
    0) ran=$((ran + 1)) ;;
    5) echo "    ($name: no tests collected)" ;;
    *) failed+=("$name") ;;
  esac
}

step "unit tests (pytest -m 'not e2e', $workers workers)"
run_pytest "unit tests" -m "not e2e" --ignore=e2e "${unit_parallel[@]}" \
  --junitxml=artifacts/junit-unit.xml "$@"

step "end-to-end tests (pytest -m e2e, Playwright + /usr/bin/chromium; screenshots in artifacts/screenshots/)"
run_pytest "e2e tests" -m e2e --junitxml=artifacts/junit-e2e.xml "$@"

if [ "$ran" = 0 ] && [ "${#failed[@]}" = 0 ]; then
  failed+=("no tests were collected at all")
fi

if [ "${#failed[@]}" != 0 ]; then
  printf '==> FAILED: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
  exit 1
fi
step "all checks passed"
