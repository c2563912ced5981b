#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs before the mesh builds and runs: Debian packages
# (RabbitMQ, curl, Python gRPC, PostgreSQL, Node.js), the S3 test server (s3rver from npm), the Node.js client's
# packages (@grpc/grpc-js from npm) and a Release build of the solution. Idempotent: a second run only rebuilds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/python3 ] || need+=(python3)
# The Python client example and its end-to-end test use Debian's gRPC for Python.
/usr/bin/python3 -c 'import grpc' 2>/dev/null || need+=(python3-grpcio)
/usr/bin/python3 -c 'import grpc_tools' 2>/dev/null || need+=(python3-grpc-tools)
# The registry's store tests run against a real PostgreSQL server, its S3 tests against s3rver (Node.js).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "[setup] the .NET 10 SDK is required (dotnet on PATH)" >&2
  exit 1
fi

infra/s3.sh install

# The Node.js client example (tests/clients/node) and its end-to-end test: its pinned packages, once.
if [ ! -d tests/clients/node/node_modules ]; then
  echo "[setup] installing the Node.js client's packages (npm ci in tests/clients/node)"
  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

echo "[setup] building MaaS.Mesh (Release)"
dotnet build MaaS.Mesh.sln -c Release -nologo -v quiet -clp:ErrorsOnly
