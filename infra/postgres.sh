#!/usr/bin/env bash
# A private PostgreSQL 15 server for one checkout (or one test run): Debian's postgresql binaries run
# directly (no systemd, no system cluster), listening on 127.0.0.1 only, with the data directory, the
# socket and the log under a folder of ours, so it never collides with a system server or another run.
#
#   infra/postgres.sh install          install Debian's postgresql when missing (idempotent)
#   infra/postgres.sh start            initialise (first time) and start the server (idempotent), wait until it
#                                      takes connections; role `maas` and database `maas` exist afterwards
#   infra/postgres.sh stop             stop it (pg_ctl, by the server's own PID file)
#   infra/postgres.sh status           exit 0 when it runs
#
# Settings (environment): MAAS_POSTGRES_PORT (default 5432), MAAS_POSTGRES_DIR (default
# .maas/postgres-<port> under the checkout). Connection string once started:
#   Host=127.0.0.1;Port=<port>;Username=maas;Database=maas   (no password: trust on loopback)
#
# PostgreSQL refuses to run as root. Run as root (CI, containers), the server runs as the `postgres`
# system user and the data folder is handed to it; run as anyone else, it runs as that user.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${MAAS_POSTGRES_PORT:-5432}
dir=${MAAS_POSTGRES_DIR:-$root/.maas/postgres-$port}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac  # the server binaries run from /
bin=/usr/lib/postgresql/15/bin
data="$dir/data"
run_dir="$dir/run"
logfile="$dir/postgres.log"

log() { printf '[postgres] %s\n' "$*" >&2; }

install_server() {
  if [ -x "$bin/postgres" ]; then return 0; fi
  log "installing Debian's postgresql (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq postgresql >/dev/null
  # The package may create and try to start a system cluster; we only ever run our private one.
}

# Runs a server binary as the user that owns the data directory.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

prepare_dir() {
  mkdir -p "$dir" "$run_dir"
  touch "$logfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir" "$run_dir" "$logfile"
    [ -d "$data" ] && chown -R postgres:postgres "$data"
    # The server must reach its folder; a parent only root may enter (e.g. a 0700 home) would stop it.
    if ! runuser -u postgres -- test -w "$dir"; then
      log "user postgres cannot reach $dir (a parent folder is closed to other users); choose MAAS_POSTGRES_DIR elsewhere"
      exit 1
    fi
  fi
}

running() {
  [ -f "$data/postmaster.pid" ] || return 1
  as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

init_cluster() {
  [ -f "$data/PG_VERSION" ] && return 0
  log "initialising a cluster in $data"
  rm -rf "$data"
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
  chmod 700 "$data"
  # C collation: byte order, the same as SQLite's default, so both stores page names identically.
  as_owner "$bin/initdb" -D "$data" -U postgres --encoding=UTF8 --locale=C \
    --auth-local=trust --auth-host=trust >> "$logfile" 2>&1 || {
      log "initdb failed; last log lines:"; tail -20 "$logfile" >&2; exit 1; }
  # Trust only over the private socket and loopback: the server listens nowhere else.
  cat > "$data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data/pg_hba.conf"
  return 0
}

write_settings() {
  # Rewritten at every start so a changed port or folder is picked up; included last, so it wins.
  cat > "$data/maas.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run_dir'
max_connections = 200
logging_collector = off
log_min_messages = warning
CONF
  grep -q "^include_if_exists = 'maas.conf'" "$data/postgresql.conf" \
    || echo "include_if_exists = 'maas.conf'" >> "$data/postgresql.conf"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data/maas.conf" "$data/postgresql.conf"
  return 0
}

psql_admin() {
  as_owner "$bin/psql" -h "$run_dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

ensure_role_and_database() {
  if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'maas'")" != "1" ]; then
    # CREATEDB: tests give each test class its own database.
    psql_admin -c "CREATE ROLE maas LOGIN CREATEDB" >/dev/null
  fi
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'maas'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE maas OWNER maas" >/dev/null
  fi
}

start_server() {
  install_server
  prepare_dir
  init_cluster
  if running; then
    log "already running on 127.0.0.1:$port"
  else
    write_settings
    log "starting PostgreSQL 15 on 127.0.0.1:$port (data in $data)"
    # -w: return once the server takes connections; the server's output goes to its log, not to our caller.
    if ! as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null 2>&1; then
      log "server did not start; last log lines:"; tail -20 "$logfile" >&2 || true
      exit 1
    fi
  fi
  ensure_role_and_database
  log "ready on 127.0.0.1:$port (user maas, database maas)"
}

stop_server() {
  [ -d "$data" ] || return 0
  if running; then
    log "stopping the server on port $port"
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  install) install_server ;;
  start) start_server ;;
  stop) stop_server ;;
  status) running ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
