#!/usr/bin/env bash
# Starts vcsim (tools/vcsim, built by setup.sh) on a free port of 127.0.0.1
# with a generated username and password, from a fresh state, and writes
# vcsim.env for the tests (VMs report VMware Tools data a second after they
# power on: tools/vcsim/guest_tools.go): the SDK URL, the credentials, the server
# certificate (a CA file) and its SHA-256 thumbprint, and the template name.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
dir=$VIRTRIGAUD_TESTBED/vcsim
started=$(date +%s%N)
[ -x "$dir/bin/vcsim" ] || { log "vcsim: not built; run tools/testbed/vcsim/setup.sh"; exit 1; }

"$here/stop.sh"
rm -rf "$dir/run"
mkdir -p "$dir/run"
chmod 700 "$dir/run"
username="vrtg-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')@vsphere.local"
# XML metacharacters on purpose: the password must reach vCenter escaped.
password="P&<w>'\"$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
port=$(free_port)
template=vrtg-template

VCSIM_USERNAME=$username VCSIM_PASSWORD=$password "$dir/bin/vcsim" \
  -listen "127.0.0.1:$port" \
  -cert-out "$dir/run/ca.pem" \
  -info-out "$dir/run/info.json" \
  -templates "$template" \
  -guest-tools -tools-boot 1s \
  >"$dir/run/vcsim.log" 2>&1 &
track_pid vcsim $!

for _ in $(seq 300); do
  [ -s "$dir/run/info.json" ] && break
  kill -0 "$!" 2>/dev/null || break
  sleep 0.05
done
[ -s "$dir/run/info.json" ] || { log "vcsim: did not start"; cat "$dir/run/vcsim.log" >&2; exit 1; }
info=$(cat "$dir/run/info.json")
field() { node -e 'const i=JSON.parse(process.argv[1]);process.stdout.write(String(i[process.argv[2]]))' "$info" "$1"; }

write_env vcsim \
  "VIRTRIGAUD_VCSIM_URL=$(field url)" \
  "VIRTRIGAUD_VCSIM_USERNAME=$username" \
  "VIRTRIGAUD_VCSIM_PASSWORD=$password" \
  "VIRTRIGAUD_VCSIM_CA_FILE=$(field certFile)" \
  "VIRTRIGAUD_VCSIM_THUMBPRINT=$(field thumbprint)" \
  "VIRTRIGAUD_VCSIM_TEMPLATE=$template" \
  "VIRTRIGAUD_VCSIM_BIN=$dir/bin/vcsim"
chmod 600 "$VIRTRIGAUD_TESTBED/vcsim.env"
log "vcsim: serving $(field url) in $((($(date +%s%N) - started) / 1000000)) ms"
