#!/usr/bin/env bash
# Sets up and runs the local stack from a fresh clone: installs and builds,
# then serves provider-mock with a sample VM on 127.0.0.1:9443 (RPCs) and
# 127.0.0.1:8080 (/healthz, /readyz, /metrics) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false

# npm install rather than npm ci: see tools/test.sh.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx nx run-many -t build --output-style=static

echo
echo "provider-mock: RPCs on http://127.0.0.1:9443 (Connect, gRPC, gRPC-Web), ops on http://127.0.0.1:8080"
echo "try:  curl -s -H 'content-type: application/json' -d '{}' http://127.0.0.1:9443/virtrigaud.provider.v1.ProviderService/ListVMs"
echo "stop: Ctrl-C"
echo
exec node apps/provider-mock/dist/main.js \
  --listen 127.0.0.1:9443 --ops-listen 127.0.0.1:8080 --insecure \
  --inventory tools/stack/sample-inventory.json
