#!/usr/bin/env bash
# A private S3-compatible server for tests and local runs: s3rver (npm, pinned in infra/s3rver/package-lock.json)
# run with the machine's Node.js, listening on 127.0.0.1 only, its objects and log under a folder of ours.
# No container engine needed.
#
#   infra/s3.sh install       install s3rver into infra/s3rver/node_modules when missing (npm ci; idempotent)
#   infra/s3.sh start         start the server (idempotent), create the bucket, wait until it answers
#   infra/s3.sh stop          stop it (by the PID file this script wrote)
#   infra/s3.sh status        exit 0 when it runs
#
# Settings (environment): MAAS_S3_PORT (default 4568), MAAS_S3_DIR (default .maas/s3-<port> under the
# checkout), MAAS_S3_BUCKET (default maas). Clients: service URL http://127.0.0.1:<port>, path-style
# addressing, access key S3RVER, secret key S3RVER (s3rver's fixed pair; it checks signatures), and
# whole-body signed uploads (AWSSDK.S3: PutObjectRequest.UseChunkEncoding = false — s3rver would store
# the aws-chunked framing as the object's bytes).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${MAAS_S3_PORT:-4568}
dir=${MAAS_S3_DIR:-$root/.maas/s3-$port}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
bucket=${MAAS_S3_BUCKET:-maas}
package="$root/infra/s3rver"
server="$package/node_modules/s3rver/bin/s3rver.js"
pidfile="$dir/s3rver.pid"

log() { printf '[s3] %s\n' "$*" >&2; }

install_server() {
  if [ -f "$server" ]; then return 0; fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "Node.js and npm are required (Debian: apt-get install nodejs npm)"; exit 1
  fi
  log "installing s3rver into $package/node_modules (once)"
  (cd "$package" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

answers() {
  # Any HTTP answer (s3rver says 200 to a bucket listing) means it is up.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

start_server() {
  install_server
  mkdir -p "$dir/data"
  if running; then log "already running on 127.0.0.1:$port"; return 0; fi
  rm -f "$pidfile"
  log "starting s3rver on 127.0.0.1:$port (objects in $dir/data, bucket $bucket)"
  setsid node "$server" --directory "$dir/data" --address 127.0.0.1 --port "$port" \
    --configure-bucket "$bucket" --no-vhost-buckets --silent > "$dir/s3rver.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 150); do
    if ! running; then
      log "s3rver exited while starting; last log lines:"; tail -20 "$dir/s3rver.log" >&2 || true
      rm -f "$pidfile"; exit 1
    fi
    if grep -q "listening on" "$dir/s3rver.log" 2>/dev/null && answers; then
      log "ready on 127.0.0.1:$port"
      return 0
    fi
    sleep 0.2
  done
  log "s3rver did not answer within 30 s; last log lines:"; tail -20 "$dir/s3rver.log" >&2 || true
  stop_server
  exit 1
}

stop_server() {
  if running; then
    local pid; pid=$(cat "$pidfile")
    log "stopping s3rver on port $port (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install_server ;;
  start) start_server ;;
  stop) stop_server ;;
  status) running ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
