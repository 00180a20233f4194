#!/usr/bin/env bash
# Runs vcts, as the CLI, against provider-mock as a running process: the
# conformance check CI makes of the reference provider. Reports go to
# $VIRTRIGAUD_TESTBED/reports (JUnit and JSON). Exit status: vcts's.
# shellcheck source=tools/testbed/lib.sh
. "$(dirname "$0")/testbed/lib.sh"
cd "$repo_root"
reports=$VIRTRIGAUD_TESTBED/reports
mkdir -p "$reports"
port=$(free_port)

# node itself, not npx: npx does not pass a SIGTERM on to the server, which
# would outlive this script.
node apps/provider-mock/bin/virtrigaud-provider-mock.js --listen "127.0.0.1:$port" --ops-listen off --insecure \
  >"$reports/provider-mock.log" 2>&1 &
mock=$!
trap 'kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true' EXIT

# Wait until it serves (its first log line says so).
for _ in $(seq 100); do
  grep -q '"provider serving"' "$reports/provider-mock.log" && break
  kill -0 "$mock" 2>/dev/null || { cat "$reports/provider-mock.log" >&2; exit 1; }
  sleep 0.1
done

npx --no -- vcts run --endpoint "http://127.0.0.1:$port" --insecure \
  --junit "$reports/vcts-provider-mock.xml" --json "$reports/vcts-provider-mock.json"
