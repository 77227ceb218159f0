#!/usr/bin/env bash
# Set-up for KAM, shared by `make demo`, `make test`, `make setup` and `make serve`:
#
#   1. a virtualenv at .venv from python3 (3.11 or newer)
#   2. the pinned Python dependencies (requirements.txt, plus requirements-dev.txt
#      with --dev), every version fixed by constraints.txt, then KAM itself in
#      editable mode
#   3. npm ci from package-lock.json (htmx and ECharts)
#   4. the static build: their dist files copied into kam/web/static/vendor/
#   5. the gettext catalogues (kam/**/locale/*/LC_MESSAGES/*.po) compiled to .mo
#
# Every step is skipped when nothing it depends on changed: the Python and npm
# steps keep a stamp (a hash of their input files) inside .venv and node_modules,
# so deleting either folder redoes its step; the copy and the compile compare files.
#
# Usage: scripts/setup.sh [--dev]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h | --help)
      sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (use --dev or --help)" >&2
      exit 2
      ;;
  esac
done

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '\nERROR: %s\n' "$*" >&2
  exit 1
}

# A hash of the given files' names and contents plus a label, for the stamps.
fingerprint() {
  local label="$1"
  shift
  {
    printf '%s\n' "$label"
    for f in "$@"; do
      printf '%s\n' "$f"
      cat "$f"
    done
  } | sha256sum | cut -d' ' -f1
}

# Run pip, leaving out the warnings some machines print for every package about
# configured package folders that do not exist (noise, not a problem).
pip_run() {
  "$VENV/bin/python" -m pip --disable-pip-version-check --quiet "$@" 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  return "${PIPESTATUS[0]}"
}

# --- 0. tools this needs -----------------------------------------------------
check_tools() {
  command -v "$PYTHON" >/dev/null 2>&1 \
    || die "$PYTHON not found. KAM needs Python 3.11 or newer: install it (Debian: apt-get install python3 python3-venv) or point PYTHON= at one."
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); KAM needs 3.11 or newer. Install a newer Python or run with PYTHON=/path/to/python3.11."
  command -v node >/dev/null 2>&1 \
    || die "node not found. KAM's web assets (htmx, ECharts) come from npm: install Node.js 18 or newer with npm (Debian: apt-get install nodejs npm)."
  command -v npm >/dev/null 2>&1 \
    || die "npm not found. Install npm (Debian: apt-get install npm) next to Node.js $(node --version)."
}

# --- 1 + 2. virtualenv and Python packages -----------------------------------
venv_ok() {
  [ -x "$VENV/bin/python" ] \
    && "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

python_deps() {
  if ! venv_ok; then
    if [ -e "$VENV" ]; then
      step "recreating .venv (it is broken or older than Python 3.11)"
      rm -rf "$VENV"
    else
      step "creating the virtualenv .venv with $("$PYTHON" --version 2>&1)"
    fi
    "$PYTHON" -m venv "$VENV" \
      || die "could not create .venv with '$PYTHON -m venv' (Debian: apt-get install python3-venv)."
  fi

  local pyver want stamp_file inputs
  pyver="$("$VENV/bin/python" -c 'import sys; print(sys.version)')"
  inputs=(requirements.txt constraints.txt pyproject.toml)
  [ "$DEV" = 1 ] && inputs+=(requirements-dev.txt)
  want="$(fingerprint "$pyver dev=$DEV" "${inputs[@]}")"
  stamp_file="$VENV/.kam-setup-python-dev$DEV"
  # The dev install is a superset of the runtime one.
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ]; then
    step "Python dependencies are up to date"
    return
  fi
  if [ "$DEV" = 0 ] && [ -f "$VENV/.kam-setup-python-dev1" ] \
    && [ "$(cat "$VENV/.kam-setup-python-dev1")" = "$(fingerprint "$pyver dev=1" "${inputs[@]}" requirements-dev.txt)" ]; then
    step "Python dependencies are up to date"
    return
  fi

  local reqs=requirements.txt
  [ "$DEV" = 1 ] && reqs=requirements-dev.txt
  step "installing Python dependencies ($reqs, pinned by constraints.txt)"
  rm -f "$VENV"/.kam-setup-python-dev*
  pip_run install -c constraints.txt setuptools \
    || die "pip could not install setuptools (is PyPI reachable?)"
  pip_run install -c constraints.txt -r "$reqs" \
    || die "pip could not install $reqs (is PyPI reachable? see the error above)"
  step "installing KAM itself (editable)"
  # --no-build-isolation: build with the pinned setuptools just installed instead
  # of fetching whatever setuptools is newest into a throw-away build environment.
  pip_run install -c constraints.txt --no-deps --no-build-isolation -e . \
    || die "pip could not install KAM in editable mode (see the error above)"
  printf '%s\n' "$want" >"$stamp_file"
}

# --- 3. npm packages ----------------------------------------------------------
npm_deps() {
  local want stamp_file=node_modules/.kam-setup-npm
  want="$(fingerprint "$(node --version)" package.json package-lock.json)"
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
    && [ -f node_modules/htmx.org/dist/htmx.min.js ] && [ -f node_modules/echarts/dist/echarts.min.js ]; then
    step "npm packages are up to date"
    return
  fi
  step "installing npm packages (npm ci from package-lock.json)"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
    || die "npm ci failed (is the npm registry reachable? see the error above)"
  printf '%s\n' "$want" >"$stamp_file"
}

# --- 4. static build ----------------------------------------------------------
static_build() {
  local dest=kam/web/static/vendor changed=0 src name
  mkdir -p "$dest"
  for src in node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js; do
    [ -f "$src" ] || die "$src is missing after npm ci; delete node_modules and run again."
    name="$(basename "$src")"
    if ! cmp -s "$src" "$dest/$name"; then
      cp "$src" "$dest/$name"
      changed=1
    fi
  done
  if [ "$changed" = 1 ]; then
    step "static build: copied htmx.min.js and echarts.min.js into $dest/"
  else
    step "static files are up to date"
  fi
}

# --- 5. translations ----------------------------------------------------------
compile_messages() {
  step "compiling translations (.po -> .mo, only those that changed)"
  "$VENV/bin/python" scripts/compile_messages.py
}

check_tools
python_deps
npm_deps
static_build
compile_messages
step "set-up done"
