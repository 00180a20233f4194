#!/usr/bin/env bash
# Restarts the test bed's libvirtd (its supervisor starts a new one) and waits
# until it answers. Guests keep running, as with a real daemon restart.
. "$(dirname "$0")/../lib.sh"
dir=$VIRTRIGAUD_TESTBED/libvirt
old=$(cat "$dir/libvirtd.pid")
kill "$old"
for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
for _ in $(seq 200); do
  new=$(cat "$dir/libvirtd.pid")
  [ "$new" != "$old" ] && virsh -q -c "qemu+unix:///system?socket=$dir/run/libvirt-sock" version >/dev/null 2>&1 && exit 0
  sleep 0.05
done
log "libvirt: libvirtd did not come back"
exit 1
