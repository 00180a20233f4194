#!/usr/bin/env bash
# Runs inside `unshare -m -n` (see start.sh): binds the scratch directory over
# libvirt's paths, brings up loopback, and runs virtlogd and libvirtd,
# restarting libvirtd when it exits until this script is stopped.
set -euo pipefail
dir=$1
cache=$2
# stop.sh stops every process of this network namespace, and only those:
# libvirtd, virtlogd, the guests (QEMU gets a mount namespace of its own, not
# a network one), dnsmasq and the SSH sessions entered into it.
readlink /proc/self/ns/net >"$dir/netns"
for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt; do
  mkdir -p "${pair#*:}"
  mount --bind "$dir/${pair%%:*}" "${pair#*:}"
done
mkdir -p /var/cache/libvirt
mount --bind "$cache" /var/cache/libvirt
ip link set lo up
# A plain host bridge, for NICs of type bridge.
ip link add vrtgbr1 type bridge
ip link set vrtgbr1 up
# Daemon pid files in the scratch directory: the defaults (/run/virtlogd.pid,
# /run/libvirtd.pid) are the host's, and a second test bed would find them taken.
virtlogd --pid-file "$dir/virtlogd.daemon.pid" &
echo $! >"$dir/virtlogd.pid"
child=
stopping=
trap 'stopping=1; [ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
while [ -z "$stopping" ]; do
  libvirtd --pid-file "$dir/libvirtd.daemon.pid" &
  child=$!
  echo "$child" >"$dir/libvirtd.pid"
  wait "$child" || true
  [ -n "$stopping" ] && break
  sleep 0.1
done
