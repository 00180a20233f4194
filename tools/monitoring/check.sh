#!/usr/bin/env bash
# Checks the monitoring files under deploy/ for CI:
#   1. promtool check rules, promtool test rules (alerts.test.yml) and
#      promtool check config on deploy/prometheus (promtool from Debian's
#      prometheus package, installed when missing);
#   2. every metric the Grafana dashboard and the alert rules query is one the
#      services export: provider-mock and virtrigaud-manager are started on
#      127.0.0.1, the sample VM is applied and waited Ready (so every series
#      has samples), both /metrics are scraped, and the names compared.
# Needs the build (manager and provider-mock). Stops what it started, by PID.
# shellcheck source=tools/testbed/lib.sh
. "$(dirname "$0")/../testbed/lib.sh"
cd "$repo_root" || exit 1
ensure_packages prometheus

log "monitoring: promtool"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts.test.yml
promtool check config deploy/prometheus/prometheus.yml

dir=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]+"${pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# serve NAME MESSAGE CMD...: starts a server and waits for its start-up log line.
serve() {
  local name=$1 message=$2
  shift 2
  "$@" </dev/null >"$dir/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 300); do
    grep -q "\"msg\":\"$message\"" "$dir/$name.log" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  log "monitoring: $name did not start"
  cat "$dir/$name.log" >&2
  return 1
}

mock_port=$(free_port)
mock_ops=$(free_port)
api_port=$(free_port)
manager_ops=$(free_port)
# The sample Provider names the manager's client certificate (mutual TLS), as in tools/run.sh.
tools/stack/make-tls.sh "$dir/tls"
serve provider-mock "provider serving" node apps/provider-mock/dist/main.js \
  --listen "127.0.0.1:$mock_port" --ops-listen "127.0.0.1:$mock_ops" \
  --tls-cert "$dir/tls/provider/tls.crt" --tls-key "$dir/tls/provider/tls.key" \
  --tls-client-ca "$dir/tls/provider/client-ca.crt"
serve manager "manager serving" node apps/manager/dist/main.js --data "$dir/manager" \
  --listen "127.0.0.1:$api_port" --ops-listen "127.0.0.1:$manager_ops" --insecure \
  --provider-tls-dir "$dir/tls/manager"

log "monitoring: the sample VM, applied and Ready"
mkdir -p "$dir/manifests"
MOCK_ENDPOINT=https://127.0.0.1:$mock_port LIBVIRT_IMAGE=/var/lib/virtrigaud/images/base.qcow2 \
  PROVIDER_CA_FILE=$dir/tls/manager/ca.crt PROVIDER_CERT_FILE=$dir/tls/manager/tls.crt \
  PROVIDER_KEY_FILE=$dir/tls/manager/tls.key \
  node tools/stack/render-manifests.mjs "$dir/manifests" deploy/samples/common.yaml deploy/samples/mock.yaml
vrtg() { node apps/manager/bin/vrtg.js --server "http://127.0.0.1:$api_port" "$@"; }
vrtg apply -f "$dir/manifests" >/dev/null
vrtg wait vm web-mock --for condition=Ready --timeout 60s >/dev/null

scrape() { node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); })' "$1"; }
scrape "http://127.0.0.1:$mock_ops/metrics" >"$dir/provider-mock.metrics"
scrape "http://127.0.0.1:$manager_ops/metrics" >"$dir/manager.metrics"

log "monitoring: metric names of the dashboard and the alerts against /metrics"
node tools/monitoring/check-metric-names.mjs deploy/grafana/virtrigaud.json deploy/prometheus/alerts.yml \
  -- "$dir/provider-mock.metrics" "$dir/manager.metrics"
