#!/usr/bin/env bash
# Installs Go and govmomi's library from Debian (golang-go,
# golang-github-vmware-govmomi-dev) and builds tools/vcsim in GOPATH mode into
# $VIRTRIGAUD_TESTBED/vcsim/bin/vcsim. Rebuilds only when tools/vcsim changed
# or the binary is missing. Idempotent.
. "$(dirname "$0")/../lib.sh"
started=$(date +%s%N)
ensure_packages golang-go golang-github-vmware-govmomi-dev ca-certificates
dir=$VIRTRIGAUD_TESTBED/vcsim
source_dir=$repo_root/tools/vcsim
mkdir -p "$dir/bin" "$dir/gopath" "$dir/gocache"
digest=$(cat "$source_dir"/*.go | sha256sum | cut -d' ' -f1)
if [ -x "$dir/bin/vcsim" ] && [ "$(cat "$dir/bin/vcsim.sha256" 2>/dev/null)" = "$digest" ]; then
  log "vcsim: binary up to date"
  exit 0
fi
# GOPATH mode: Debian ships govmomi and its dependencies as source under
# /usr/share/gocode; nothing is fetched.
(
  cd "$source_dir"
  GO111MODULE=off GOPATH="$dir/gopath:/usr/share/gocode" GOCACHE="$dir/gocache" GOFLAGS= \
    go build -o "$dir/bin/vcsim.new" .
)
mv "$dir/bin/vcsim.new" "$dir/bin/vcsim"
echo "$digest" >"$dir/bin/vcsim.sha256"
log "vcsim: built in $((($(date +%s%N) - started) / 1000000)) ms"
