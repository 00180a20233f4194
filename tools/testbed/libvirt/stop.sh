#!/usr/bin/env bash
# Stops what start.sh started, and only that: sshd, socat, and every process
# of the private network namespace start.sh made (the supervisor, libvirtd,
# virtlogd, and the QEMU guests, dnsmasq and SSH sessions in it). A PID
# counts only while it still is that process (in that namespace, or with
# sshd's config path on its command line), so a stale PID file never kills
# another process.
. "$(dirname "$0")/../lib.sh"
dir=$VIRTRIGAUD_TESTBED/libvirt
pids_file=$VIRTRIGAUD_TESTBED/libvirt.pids
netns=$(cat "$dir/netns" 2>/dev/null || true)

in_namespace() {
  [ -n "$netns" ] && [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$netns" ]
}

ours() {
  in_namespace "$1" && return 0
  tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "-f $dir/ssh/sshd_config"
}

namespace_pids() {
  local p
  [ -n "$netns" ] || return 0
  for p in /proc/[0-9]*; do
    in_namespace "${p#/proc/}" && echo "${p#/proc/}"
  done
  return 0
}

# Keep only the recorded PIDs that are still ours, for stop_tracked.
if [ -f "$pids_file" ]; then
  kept=()
  while read -r pid; do
    [ -n "$pid" ] && ours "$pid" && kept+=("$pid")
  done <"$pids_file"
  printf '%s\n' "${kept[@]+"${kept[@]}"}" >"$pids_file"
fi
# The supervisor first, so it does not restart libvirtd; then the rest of the namespace.
supervisor=$(head -n1 "$pids_file" 2>/dev/null || true)
if [ -n "$supervisor" ]; then kill "$supervisor" 2>/dev/null || true; fi
for pid in $(namespace_pids); do kill "$pid" 2>/dev/null || true; done
for _ in $(seq 50); do
  [ -z "$(namespace_pids)" ] && break
  sleep 0.1
done
for pid in $(namespace_pids); do kill -9 "$pid" 2>/dev/null || true; done
stop_tracked libvirt
rm -f "$VIRTRIGAUD_TESTBED/libvirt.env" "$dir/netns"
