#!/usr/bin/env bash
# Builds tools/govmomi-list (bench/vsphere's baseline) as tools/vcsim is
# built: in GOPATH mode from Debian's golang-go and
# golang-github-vmware-govmomi-dev, nothing fetched, into
# $VIRTRIGAUD_TESTBED/govmomi-list/bin/govmomi-list. Rebuilds only when
# main.go changed or the binary is missing. Idempotent.
. "$(dirname "$0")/../testbed/lib.sh"
started=$(date +%s%N)
ensure_packages golang-go golang-github-vmware-govmomi-dev ca-certificates
dir=$VIRTRIGAUD_TESTBED/govmomi-list
source_dir=$repo_root/tools/govmomi-list
mkdir -p "$dir/bin" "$dir/gopath" "$dir/gocache"
digest=$(cat "$source_dir"/*.go | sha256sum | cut -d' ' -f1)
if [ -x "$dir/bin/govmomi-list" ] && [ "$(cat "$dir/bin/govmomi-list.sha256" 2>/dev/null)" = "$digest" ]; then
  log "govmomi-list: binary up to date"
  exit 0
fi
(
  cd "$source_dir"
  GO111MODULE=off GOPATH="$dir/gopath:/usr/share/gocode" GOCACHE="$dir/gocache" GOFLAGS= \
    go build -o "$dir/bin/govmomi-list.new" .
)
mv "$dir/bin/govmomi-list.new" "$dir/bin/govmomi-list"
echo "$digest" >"$dir/bin/govmomi-list.sha256"
log "govmomi-list: built in $((($(date +%s%N) - started) / 1000000)) ms"
