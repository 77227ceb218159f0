#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (`make test` runs the whole suite on
# it after the SQLite run). It never touches a PostgreSQL cluster already on the
# machine (Debian's 15/main on port 5432 and its data stay as they are):
#
#   1. installs Debian's `postgresql` package when no PostgreSQL server is found
#      (as root, or with sudo; see scripts/apt.sh)
#   2. creates a fresh cluster in a folder of its own (initdb; owned by the
#      `postgres` user when run as root, by you otherwise) and starts it with
#      pg_ctl on 127.0.0.1 only, on a free port, its socket inside that folder.
#      Durability is off (fsync, synchronous_commit): it is for tests only.
#   3. creates the role `kam_test` (LOGIN, CREATEDB, a random password; pytest-django
#      creates test_kam_test, test_kam_test_gw0 … with it) and its database
#   4. prints the settings as shell lines:
#        export KAM_PG_DIR=/tmp/kam-test-pg.XXXXXX
#        export KAM_DATABASE_URL=postgres://kam_test:…@127.0.0.1:PORT/kam_test
#
# Usage:
#   scripts/postgres.sh start [DIR]   steps 1-4; DIR defaults to a new temporary folder.
#                                     Starting a DIR whose server runs just prints its lines.
#   scripts/postgres.sh stop DIR      stops that server and deletes DIR
#   scripts/postgres.sh run CMD...    start, run CMD with KAM_DATABASE_URL exported, stop;
#                                     exits with CMD's status
#
#   eval "$(scripts/postgres.sh start)"   # then: .venv/bin/pytest …; scripts/postgres.sh stop "$KAM_PG_DIR"
#
# Environment: KAM_PG_BIN (a folder with initdb, pg_ctl and psql; default the newest
# /usr/lib/postgresql/*/bin), KAM_PG_OS_USER (who owns the cluster when run as root;
# default postgres). Messages go to stderr, the settings to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/apt.sh
source "$ROOT/scripts/apt.sh"

MARKER=.kam-test-postgres
ROLE=kam_test
OS_USER="${KAM_PG_OS_USER:-postgres}"

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'postgres.sh: %s\n' "$*" >&2
  exit 1
}

pg_bin() {
  if [ -n "${KAM_PG_BIN:-}" ]; then
    [ -x "$KAM_PG_BIN/initdb" ] || die "KAM_PG_BIN=$KAM_PG_BIN holds no initdb."
    printf '%s\n' "$KAM_PG_BIN"
    return
  fi
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && printf '%s\n' "$dir"
  return 0
}

# The server's binaries; installs Debian's postgresql package when there are none.
find_or_install() {
  BIN="$(pg_bin)"
  if [ -z "$BIN" ]; then
    say "no PostgreSQL server found: installing Debian's postgresql package"
    apt_install_missing "the PostgreSQL half of the tests needs it" postgresql >&2 \
      || die "PostgreSQL is not installed and could not be installed (see above)."
    BIN="$(pg_bin)"
    [ -n "$BIN" ] || die "the postgresql package is installed but no /usr/lib/postgresql/*/bin/initdb was found."
  fi
}

is_root() { [ "$(id -u)" = 0 ]; }

# Run a PostgreSQL program as the cluster's owner: initdb and postgres refuse root.
as_owner() {
  if is_root; then
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

running() { as_owner "$BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

print_settings() {
  printf 'export KAM_PG_DIR=%q\n' "$1"
  printf 'export KAM_DATABASE_URL=%q\n' "$(cat "$1/url")"
}

psql_admin() {
  local dir="$1" port
  shift
  port="$(cat "$dir/port")"
  as_owner "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"
}

new_cluster() {
  local dir="$1" locale_args=(--no-locale)
  if is_root; then
    id "$OS_USER" >/dev/null 2>&1 \
      || die "run as root, but there is no '$OS_USER' user to own the cluster (set KAM_PG_OS_USER)."
    chmod 755 "$dir"
    chown "$OS_USER:" "$dir"
    runuser -u "$OS_USER" -- test -w "$dir" \
      || die "the '$OS_USER' user cannot write to $dir; point TMPDIR at a folder it can reach."
  fi
  # C.UTF-8: byte-order sorting like SQLite's, Unicode upper/lower for iexact/icontains.
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
    locale_args=(--locale=C.UTF-8)
  fi
  say "creating a PostgreSQL cluster for the tests in $dir ($("$BIN/postgres" --version))"
  as_owner "$BIN/initdb" -D "$dir/data" -U postgres -E UTF8 "${locale_args[@]}" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
    || die "initdb failed; its output is in $dir/initdb.log: $(tail -n 5 "$dir/initdb.log")"
  # Only the owner may use the socket (its connections are trusted); TCP needs the password.
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF

# scripts/postgres.sh: a throw-away server for the tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  touch "$dir/$MARKER"
}

start_server() {
  local dir="$1" try port
  for try in 1 2 3; do
    port="$(free_port)"
    printf '%s\n' "$port" >"$dir/port"
    if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port" start >/dev/null; then
      say "PostgreSQL for the tests listens on 127.0.0.1:$port"
      return 0
    fi
    say "the server did not start on port $port (try $try of 3)"
  done
  die "PostgreSQL did not start; its log is $dir/server.log: $(tail -n 5 "$dir/server.log" 2>/dev/null)"
}

ensure_role() {
  local dir="$1" password port
  port="$(cat "$dir/port")"
  if [ ! -f "$dir/password" ]; then
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/password")
  fi
  password="$(cat "$dir/password")"
  if [ "$(psql_admin "$dir" -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_admin "$dir" -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$password'"
  fi
  if [ "$(psql_admin "$dir" -c "SELECT 1 FROM pg_database WHERE datname = '$ROLE'")" != 1 ]; then
    psql_admin "$dir" -c "CREATE DATABASE $ROLE OWNER $ROLE"
  fi
  (umask 077 && printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$password" "$port" "$ROLE" \
    >"$dir/url")
}

cmd_start() {
  local dir="${1:-}"
  find_or_install
  if [ -z "$dir" ]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/kam-test-pg.XXXXXX")"
  else
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
  fi
  if [ ! -f "$dir/$MARKER" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and was not made by this script."
    new_cluster "$dir"
  fi
  if running "$dir"; then
    say "PostgreSQL for the tests already runs in $dir"
  else
    start_server "$dir"
  fi
  ensure_role "$dir"
  print_settings "$dir"
}

cmd_stop() {
  local dir="${1:?usage: scripts/postgres.sh stop DIR}"
  [ -d "$dir" ] || return 0
  [ -f "$dir/$MARKER" ] || die "$dir was not made by this script; not touching it."
  BIN="$(pg_bin)"
  if [ -n "$BIN" ] && running "$dir"; then
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null \
      || say "WARNING: pg_ctl stop failed for $dir"
  fi
  rm -rf "$dir"
  say "stopped the test PostgreSQL and removed $dir"
}

cmd_run() {
  [ $# -gt 0 ] || die "usage: scripts/postgres.sh run CMD..."
  local settings status=0
  settings="$(cmd_start)"
  eval "$settings"
  # shellcheck disable=SC2064
  trap "cmd_stop '$KAM_PG_DIR'" EXIT
  "$@" || status=$?
  return "$status"
}

case "${1:-}" in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  run) shift && cmd_run "$@" ;;
  -h | --help) sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *)
    echo "usage: scripts/postgres.sh start [DIR] | stop DIR | run CMD... (--help for more)" >&2
    exit 2
    ;;
esac
